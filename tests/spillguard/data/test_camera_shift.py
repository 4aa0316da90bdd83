"""Simulated shift and training augmentations: shapes, ranges, determinism, and that they change images."""

from __future__ import annotations

import numpy as np
import torch

from spillguard.data.augmentation import augment_lighting, augment_shift
from spillguard.data.camera_shift import perturb
from spillguard.data.preprocess import Preprocessor, rgb_to_hsv, to_unit


def test_perturb_is_seeded_and_keeps_shape() -> None:
    imgs = np.random.default_rng(0).integers(60, 200, (6, 32, 48, 3), dtype=np.uint8)
    a = perturb(imgs, np.random.default_rng(1))
    assert a.shape == imgs.shape and a.dtype == np.uint8
    assert np.array_equal(a, perturb(imgs, np.random.default_rng(1)))
    assert np.abs(a.astype(int) - imgs).mean() > 5
    assert np.array_equal(
        perturb(imgs, np.random.default_rng(1), strength=0.0)[:, 1:-1, 1:-1], imgs[:, 1:-1, 1:-1]
    )


def test_augmentations() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 3, 32, 48)
    assert torch.equal(augment_shift(x, 0, g), x)
    s = augment_shift(x, 2, g)
    assert s.shape == x.shape and not torch.equal(s, x)
    y = augment_lighting(x, 0.2, g)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1


def test_colour_spaces_and_standardisation() -> None:
    hsv = rgb_to_hsv(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.5]]).T.reshape(1, 3, 1, 3))
    assert torch.allclose(hsv[0, :, 0, 0], torch.tensor([0.0, 1.0, 1.0]))
    assert torch.allclose(hsv[0, :, 0, 1], torch.tensor([1 / 3, 1.0, 1.0]))
    assert torch.allclose(hsv[0, :, 0, 2], torch.tensor([0.0, 0.0, 0.5]))
    x = to_unit(np.random.default_rng(0).integers(0, 255, (20, 8, 8, 3), dtype=np.uint8))
    for space in ("rgb", "ycbcr", "hsv"):
        p = Preprocessor(space).fit(x)
        z = p(x)
        assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
        assert torch.allclose(Preprocessor.from_state(p.state())(x), z)
