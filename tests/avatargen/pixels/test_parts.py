from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatargen.pixels import metrics
from avatargen.pixels.collection import load_collection
from avatargen.pixels.parts import PartBasedModel, over
from avatargen.pixels.segment import CLOTHES, HAIR, SKIN


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
        own = {r: fitted.bases_[i, j] for j, r in enumerate((SKIN, HAIR, CLOTHES))}
        img = fitted.compose(i, i, i, own)
        assert metrics.identical_share(img, drawn_avatars[i]) > 0.985
        assert metrics.distance(img, drawn_avatars[i]) < 4.0


def test_samples_are_coherent_and_novel(fitted: PartBasedModel, drawn_avatars: np.ndarray) -> None:
    samples, records = fitted.sample_with_parts(6, np.random.default_rng(0))
    assert samples.shape == (6, *drawn_avatars.shape[1:]) and samples.dtype == np.uint8
    for r in records:
        assert len({r["head"], r["face"], r["body"]}) == 3
        assert r["skin"] in {tuple(int(v) for v in c) for c in fitted.colours_[SKIN][0]}
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


def test_over_compositing() -> None:
    top = np.array([[[255, 0, 0, 128]]], np.uint8)
    bottom = np.array([[[0, 0, 255, 255]]], np.uint8)
    out = over(top, bottom)[0, 0]
    assert out[3] == 255 and abs(int(out[0]) - 128) <= 1 and abs(int(out[2]) - 127) <= 1
    assert np.array_equal(over(np.zeros_like(top), bottom), bottom)


def test_tiny_collections_still_sample(drawn_avatars: np.ndarray) -> None:
    for n in (1, 2):
        m = PartBasedModel().fit(drawn_avatars[:n])
        s = m.sample(2, np.random.default_rng(0))
        assert s.shape == (2, *drawn_avatars.shape[1:])


@pytest.mark.realdata
def test_course_images_meet_the_targets(shared_dir: Path) -> None:
    course = load_collection(shared_dir / "data" / "avatars" / "course")
    assert course.images.shape == (11, 560, 528, 4)
    model = PartBasedModel().fit(course.images)
    samples = model.sample(8, np.random.default_rng(0))
    fig = metrics.summarise(samples, course.images)
    met = metrics.targets_met(fig)
    assert all(met.values()), (fig, met)
    assert fig["n_nearest"] >= 4  # not a variation of one or two training images
