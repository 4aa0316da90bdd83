from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avatargen.pixels.joint import JointColourModel, pack, unpack
from avatargen.pixels.literal import LiteralPixelModel
from avatargen.pixels.metrics import distinct_colours


def _two_colour_images(n: int = 10, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    palette = np.array([[255, 0, 0, 255], [0, 0, 255, 255]], np.uint8)
    which = rng.integers(0, 2, size=(n, 4, 6))
    return palette[which], palette


def test_pack_roundtrip() -> None:
    x = np.random.default_rng(0).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    assert np.array_equal(unpack(pack(x)), x)


def test_joint_keeps_colours_whole_where_literal_mixes_channels() -> None:
    imgs, palette = _two_colour_images()
    joint = JointColourModel().fit(imgs).sample(200, np.random.default_rng(0))
    literal = LiteralPixelModel().fit(imgs).sample(200, np.random.default_rng(0))
    assert distinct_colours(joint.reshape(-1, 1, 4)) == 2
    assert distinct_colours(literal.reshape(-1, 1, 4)) == 4  # red+blue channels mixed: magenta, black
    # per-pixel colour frequencies recovered
    truth = (pack(imgs) == pack(palette[0])).mean(axis=0)
    got = (
        pack(JointColourModel().fit(imgs).sample(3000, np.random.default_rng(1))) == pack(palette[0])
    ).mean(0)
    assert np.abs(truth - got).max() < 0.04


def test_joint_likelihood_and_roundtrip(tmp_path: Path) -> None:
    imgs, _ = _two_colour_images()
    m = JointColourModel(alpha=1.0).fit(imgs)
    x = imgs[:1]
    counts = (pack(imgs) == pack(x)).sum(axis=0)
    p = (counts + 1.0) / (10 + 1.0 * (2 + 1))
    assert m.bits_per_pixel(x)[0] == pytest.approx(-np.log2(p).mean())
    other = np.zeros((1, 4, 6, 4), np.uint8)
    assert np.isfinite(m.bits_per_pixel(other)[0]) and m.bits_per_pixel(other)[0] > 30
    m.save(tmp_path / "j.npz")
    again = JointColourModel.load(tmp_path / "j.npz")
    assert np.array_equal(m.sample(2, np.random.default_rng(4)), again.sample(2, np.random.default_rng(4)))


def test_score_is_one_number_score_samples_one_per_image() -> None:
    imgs = np.random.default_rng(5).integers(0, 3, size=(6, 3, 5, 4), dtype=np.uint8) * 80
    model = JointColourModel(alpha=0.5).fit(imgs[:4])
    per_image = model.score_samples(imgs)
    assert per_image.shape == (6,) and np.array_equal(per_image, -model.bits_per_pixel(imgs))
    assert per_image[:4].mean() > per_image[4:].mean()  # the training images are likelier
    assert isinstance(model.score(imgs), float) and model.score(imgs) == pytest.approx(per_image.mean())
