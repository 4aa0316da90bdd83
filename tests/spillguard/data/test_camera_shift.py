"""Simulated camera/lighting shift: shape, determinism, and that it changes images."""

from __future__ import annotations

import numpy as np

from spillguard.data.camera_shift import perturb


def test_perturb_is_seeded_and_keeps_shape() -> None:
    imgs = np.random.default_rng(0).integers(60, 200, (6, 32, 48, 3), dtype=np.uint8)
    a = perturb(imgs, np.random.default_rng(1))
    assert a.shape == imgs.shape and a.dtype == np.uint8
    assert np.array_equal(a, perturb(imgs, np.random.default_rng(1)))
    assert np.abs(a.astype(int) - imgs).mean() > 5
    assert np.array_equal(
        perturb(imgs, np.random.default_rng(1), strength=0.0)[:, 1:-1, 1:-1], imgs[:, 1:-1, 1:-1]
    )
