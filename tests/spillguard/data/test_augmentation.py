"""Training augmentations (lighting, shift, reframing): shapes, ranges, determinism, and that they change images."""

from __future__ import annotations

import torch

from spillguard.data.augmentation import augment_lighting, augment_reframe, augment_shift


def test_augmentations() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 3, 32, 48)
    assert torch.equal(augment_shift(x, 0, g), x)
    s = augment_shift(x, 2, g)
    assert s.shape == x.shape and not torch.equal(s, x)
    y = augment_lighting(x, 0.2, g)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1


def test_reframe_keeps_shape_is_seeded_and_moves_pixels() -> None:
    x = torch.rand(6, 3, 16, 24)
    a = augment_reframe(x, torch.Generator().manual_seed(1))
    b = augment_reframe(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.equal(a, x)
    assert set(a.unique().tolist()) <= set(x.unique().tolist())  # nearest sampling: no new values
