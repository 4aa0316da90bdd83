from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatargen.pixels import metrics
from avatargen.pixels.collection import load_collection
from avatargen.pixels.part_model import PartBasedModel
from avatargen.pixels.segment import CLOTHES, FACIAL_HAIR, HAIR, SKIN
from tests.avatargen.pixels.conftest import draw_avatars


@pytest.fixture(scope="module")
def fitted(drawn_avatars: np.ndarray) -> PartBasedModel:
    return PartBasedModel().fit(drawn_avatars)


def test_colour_categoricals_are_the_mle(fitted: PartBasedModel) -> None:
    for j, role in enumerate((SKIN, HAIR, CLOTHES)):
        _, counts = fitted.colours_[role]
        assert counts.sum() == fitted.has_[:, j].sum()
        p = fitted.colour_probabilities(role)
        assert np.allclose(p, counts / counts.sum())
    smooth = PartBasedModel(alpha=1.0)
    smooth.colours_ = fitted.colours_
    _, counts = fitted.colours_[SKIN]
    assert np.allclose(smooth.colour_probabilities(SKIN), (counts + 1) / (counts.sum() + len(counts)))


def test_composing_an_image_with_its_own_parts_and_colours_gives_it_back(
    fitted: PartBasedModel, drawn_avatars: np.ndarray
) -> None:
    for i in range(4):
        own = {r: fitted.bases_[i, j] for j, r in enumerate((SKIN, HAIR, CLOTHES, FACIAL_HAIR))}
        img = fitted.compose(i, i, i, own)
        assert metrics.identical_share(img, drawn_avatars[i]) > 0.985
        assert metrics.distance(img, drawn_avatars[i]) < 4.0


def test_samples_are_coherent_and_novel(fitted: PartBasedModel, drawn_avatars: np.ndarray) -> None:
    samples, records = fitted.sample_with_parts(6, np.random.default_rng(0))
    assert samples.shape == (6, *drawn_avatars.shape[1:]) and samples.dtype == np.uint8
    for r in records:
        assert r["head"] != r["face"] and r["head"] != r["body"]
        for name, role in (("skin", SKIN), ("clothes", CLOTHES), ("facial_hair", FACIAL_HAIR)):
            assert r[name] in {tuple(int(v) for v in c) for c in fitted.colours_[role][0]}
    # a batch shows different heads (stratified over the collection)
    assert len({r["head"] for r in records}) == 6
    ref = metrics.training_reference(drawn_avatars)
    fig = metrics.summarise(samples, drawn_avatars)
    # as flat as the training images at this size (the course targets are for 528x560)
    assert fig["same_as_left"] > ref["same_as_left"] - 0.01
    assert fig["png_bits_per_pixel"] < ref["png_bits_per_pixel"] * 1.2
    assert fig["distinct_colours"] < 2 * ref["distinct_colours_max"]
    # novel: no copy of a training image, and not noise
    assert fig["nearest_identical_share"] <= 0.7
    assert 40 < fig["nearest_distance"] < 110
    assert fig["pairwise_distance"] > 60


def test_same_seed_same_bytes_and_roundtrip(fitted: PartBasedModel, tmp_path: Path) -> None:
    a = fitted.sample(2, np.random.default_rng(3))
    fitted.save(tmp_path / "p.npz")
    loaded = PartBasedModel.load(tmp_path / "p.npz")
    assert np.array_equal(a, loaded.sample(2, np.random.default_rng(3)))
    assert not np.array_equal(a, fitted.sample(2, np.random.default_rng(4)))


def test_facial_hair_takes_the_facial_hair_colour_not_the_hair_colour(fitted: PartBasedModel) -> None:
    j = 3  # FACIAL_HAIR column
    bearded = np.flatnonzero(fitted.has_[:, j])
    assert bearded.size >= 2
    f = int(bearded[0])
    a = next(i for i in range(len(fitted.images_)) if i != f)
    colours = {SKIN: fitted.bases_[a, 0], HAIR: np.array([0, 0, 255], np.uint8), CLOTHES: fitted.bases_[a, 2]}
    colours[FACIAL_HAIR] = np.array([200, 30, 30], np.uint8)
    img = fitted.compose(a, f, a, colours)
    beard = fitted.role_[f] == FACIAL_HAIR
    beard &= fitted.face_ & (fitted.role_[a] != HAIR) & (np.abs(fitted.shade_[f].astype(float) - 1) < 0.01)
    px = img[beard, :3].astype(int)
    assert beard.sum() > 100
    # the beard (at full shade) shows its new colour, never the hair's
    assert (np.abs(px - [200, 30, 30]).max(axis=1) <= 2).mean() > 0.8
    assert (np.abs(px - [0, 0, 255]).max(axis=1) <= 2).mean() < 0.01


def test_tiny_collections_still_sample(drawn_avatars: np.ndarray) -> None:
    for n in (1, 2):
        m = PartBasedModel().fit(drawn_avatars[:n])
        s = m.sample(2, np.random.default_rng(0))
        assert s.shape == (2, *drawn_avatars.shape[1:])


@pytest.mark.realdata
def test_course_images_meet_the_targets_over_seeds(shared_dir: Path) -> None:
    course = load_collection(shared_dir / "data" / "avatars" / "course")
    assert course.images.shape == (11, 560, 528, 4)
    model = PartBasedModel().fit(course.images)
    seeds = range(6)
    passed = dict.fromkeys(metrics.TARGETS, 0)
    pairwise = []
    for seed in seeds:
        samples = model.sample(5, np.random.default_rng(seed))
        fig = metrics.summarise(samples, course.images)
        for k, ok in metrics.targets_met(fig).items():
            passed[k] += ok
        pairwise.append(fig["pairwise_distance"])
        assert fig["n_nearest"] >= 3  # not a variation of one or two training images
    # coherence and novelty hold for every seed; the 5-sample mean pairwise distance is noisy
    # (the training images' own 5-subsets miss 60-100 in 5% of cases): at most one miss, and
    # the mean over the seeds well inside the band
    assert all(passed[k] == len(seeds) for k in passed if k != "pairwise_distance"), passed
    assert passed["pairwise_distance"] >= len(seeds) - 1, pairwise
    assert 65 <= float(np.mean(pairwise)) <= 95, pairwise


@pytest.mark.slow
def test_renderer_drawn_collection_at_course_size_gives_coherent_novel_samples() -> None:
    # what the demo does on a fresh machine: fit on avatars drawn by the renderer at 528x560
    drawn = draw_avatars(16, seed=11, size=(528, 560))
    model = PartBasedModel().fit(drawn)
    for seed in range(3):
        samples, records = model.sample_with_parts(5, np.random.default_rng(seed))
        fig = metrics.summarise(samples, drawn)
        assert fig["same_as_left"] >= 0.95 and fig["png_bits_per_pixel"] <= 1.2, fig
        assert fig["nearest_identical_share"] <= 0.7 and 40 <= fig["nearest_distance"] <= 90, fig
        assert fig["pairwise_distance"] >= 60, fig
        assert all(r["tries"] < model.max_tries for r in records)
