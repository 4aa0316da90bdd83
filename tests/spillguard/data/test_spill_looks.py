"""Synthetic spill looks and occluders: right shapes, range, determinism, and the intended look."""

from __future__ import annotations

import numpy as np

from spillguard.data.spill_looks import bar, flood, make_spills, occlude, stream, wedge


def _pits(n: int = 16, seed: int = 0) -> np.ndarray:
    """Greenish textured pits (N, 32, 48, 3) in [0, 1]."""
    rng = np.random.default_rng(seed)
    base = np.array([0.42, 0.55, 0.45], np.float32)
    return np.clip(base + rng.normal(0, 0.06, (n, 32, 48, 3)).astype(np.float32), 0, 1)


def _off_colour(x: np.ndarray) -> np.ndarray:
    """Fraction of pixels far (> 0.3 in some channel) from the image's mean colour, per image."""
    return (np.abs(x - x.mean(axis=(1, 2), keepdims=True)).max(axis=3) > 0.3).mean(axis=(1, 2))


def test_make_spills_is_deterministic_in_range_and_changes_every_image() -> None:
    x = _pits()
    a = make_spills(x, np.random.default_rng(3))
    b = make_spills(x, np.random.default_rng(3))
    assert a.shape == x.shape and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    assert (np.abs(a - x).mean(axis=(1, 2, 3)) > 1e-3).all()


def test_stream_adds_saturated_speckles_and_flood_smooths_the_pit() -> None:
    x = _pits(32)
    rng = np.random.default_rng(0)
    assert _off_colour(x).max() < 0.01
    assert (_off_colour(stream(x, rng)) > 0).mean() > 0.75  # some streams are faint by design
    f = flood(x, rng)
    centre = (slice(None), slice(14, 22), slice(18, 30))
    assert f[centre].std(axis=(1, 2)).mean() < 0.5 * x[centre].std(axis=(1, 2)).mean()


def test_occluders_keep_shape_and_occlude_the_requested_fraction() -> None:
    x = _pits(200)
    rng = np.random.default_rng(1)
    assert np.array_equal(occlude(x, rng, 0.0), x)
    changed = (np.abs(occlude(x, rng, 0.5) - x).max(axis=(1, 2, 3)) > 0.05).mean()
    assert 0.35 < changed < 0.65
    for fn in (wedge, bar):
        y = fn(x[:8], rng)
        assert y.shape == (8, 32, 48, 3) and y.min() >= 0 and y.max() <= 1
