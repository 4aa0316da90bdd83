from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatargen.pixels.literal import LiteralPixelModel
from avatargen.pixels.modelfile import write_model_file
from sharedcore.errors import UserError


def _synthetic(n: int = 8, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, size=(n, 3, 5, 4), dtype=np.uint8) * 60


def test_recovers_per_pixel_channel_distributions() -> None:
    imgs = _synthetic()
    model = LiteralPixelModel().fit(imgs)
    s = model.sample(4000, np.random.default_rng(0))
    assert s.shape == (4000, 3, 5, 4) and s.dtype == np.uint8
    for y, x, c in [(0, 0, 0), (2, 4, 3), (1, 2, 1)]:
        truth = np.bincount(imgs[:, y, x, c] // 60, minlength=4) / len(imgs)
        got = np.bincount(s[:, y, x, c] // 60, minlength=4) / len(s)
        assert np.abs(truth - got).max() < 0.03
    # only values seen at that pixel-channel appear with alpha=0
    assert all(np.isin(s[:, 1, 1, 2], imgs[:, 1, 1, 2]).all() for _ in [0])


def test_likelihood_matches_counts_and_smoothing() -> None:
    imgs = _synthetic()
    model = LiteralPixelModel(alpha=0.5).fit(imgs)
    x = imgs[:1]
    counts = (imgs == x).sum(axis=0)  # (H, W, 4)
    p = (counts + 0.5) / (len(imgs) + 256 * 0.5)
    expect = -np.log2(p).sum() / (3 * 5)
    assert model.bits_per_pixel(x)[0] == pytest.approx(expect)
    unseen = np.full((1, 3, 5, 4), 7, np.uint8)
    assert np.isinf(LiteralPixelModel().fit(imgs).bits_per_pixel(unseen)[0])
    # smoothing: a share 256a/(N+256a) of values is uniform over 0..255
    s = model.sample(400, np.random.default_rng(3))
    odd = ~np.isin(s, np.arange(0, 256, 60))
    share = 256 * 0.5 / (8 + 256 * 0.5)
    assert abs(odd.mean() - share * 252 / 256) < 0.02


def test_same_seed_same_samples_and_roundtrip(tmp_path: Path) -> None:
    imgs = _synthetic()
    model = LiteralPixelModel(alpha=0.1).fit(imgs)
    a = model.sample(3, np.random.default_rng(5))
    model.save(tmp_path / "m.npz")
    loaded = LiteralPixelModel.load(tmp_path / "m.npz")
    assert loaded.alpha == 0.1
    assert np.array_equal(a, loaded.sample(3, np.random.default_rng(5)))
    with pytest.raises(UserError, match="already exists"):
        model.save(tmp_path / "m.npz")


def test_wrong_version_and_bad_input(tmp_path: Path) -> None:
    import json

    import numpy as np_

    p = tmp_path / "old.npz"
    meta = json.dumps({"method": "literal", "format_version": 99, "params": {}})
    np_.savez(p, __meta__=np_.array(meta))
    with pytest.raises(UserError, match="format_version 99, expected 2"):
        LiteralPixelModel.load(p)
    (tmp_path / "junk.npz").write_text("junk")
    with pytest.raises(UserError, match="not a pixel-model file"):
        LiteralPixelModel.load(tmp_path / "junk.npz")
    write_model_file(tmp_path / "j.npz", "joint", {}, {})
    with pytest.raises(UserError, match="expected 'literal'"):
        LiteralPixelModel.load(tmp_path / "j.npz")
    with pytest.raises(UserError, match="shape"):
        LiteralPixelModel().fit(np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(UserError, match="alpha"):
        LiteralPixelModel(alpha=-1)


def test_score_is_one_number_score_samples_one_per_image() -> None:
    imgs = np.random.default_rng(5).integers(0, 3, size=(6, 3, 5, 4), dtype=np.uint8) * 80
    model = LiteralPixelModel(alpha=0.5).fit(imgs[:4])
    per_image = model.score_samples(imgs)
    assert per_image.shape == (6,) and np.array_equal(per_image, -model.bits_per_pixel(imgs))
    assert per_image[:4].mean() > per_image[4:].mean()  # the training images are likelier
    assert isinstance(model.score(imgs), float) and model.score(imgs) == pytest.approx(per_image.mean())
