"""Generic synthetic anomalies: seeded, in range, local, and each look changes every image."""

from __future__ import annotations

import numpy as np
import pytest

from spillguard.data.anomaly_looks import (
    DEFAULT_MIX,
    LOOKS,
    PIT_MIX,
    check_mix,
    make_anomalies,
    region_mask,
    smooth_noise,
)
from spillguard.data.spill_looks import make_spills


def _images(n: int = 12, h: int = 64, w: int = 96) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.3, 0.6, (n, 1, 1, 1)) + 0.05 * smooth_noise(rng, n, h, w)[..., None]
    return np.clip(np.repeat(base, 3, axis=3), 0, 1).astype(np.float32)


# fraction of pixels a look may change: (at least, at most) for each image
AREA = {
    "draem": (0.001, 0.12),
    "cutpaste": (0.001, 0.15),
    "crack": (0.002, 0.08),
    "hole": (0.0005, 0.12),
    "pit": (0.02, 0.9),
}


@pytest.mark.parametrize("name", list(LOOKS))
def test_each_look_is_seeded_in_range_and_local(name: str) -> None:
    x = _images()
    a = LOOKS[name](x.copy(), np.random.default_rng(5))
    b = LOOKS[name](x.copy(), np.random.default_rng(5))
    assert a.shape == x.shape and a.dtype == np.float32 and np.array_equal(a, b)
    a = np.clip(a, 0, 1)
    changed = (np.abs(a - x).max(axis=3) > 0.02).mean(axis=(1, 2))
    lo, hi = AREA[name]
    assert (changed >= lo).all() and (changed <= hi).all(), changed


def test_region_mask_area_follows_the_request() -> None:
    m = region_mask(np.random.default_rng(1), 40, 64, 64, 0.01, 0.02)
    area = (m > 0.5).mean(axis=(1, 2))
    assert 0.005 < np.median(area) < 0.04 and m.min() >= 0 and m.max() <= 1


def test_make_anomalies_mix_and_greyscale() -> None:
    x = _images(20)
    out = make_anomalies(x, np.random.default_rng(2), {"crack": 1.0})
    assert (np.abs(out - x).max(axis=(1, 2, 3)) > 0.05).all()  # every image got a crack
    grey = make_anomalies(x, np.random.default_rng(2), DEFAULT_MIX, grey=True)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    same = make_anomalies(x, np.random.default_rng(2), DEFAULT_MIX, grey=True)
    assert np.array_equal(grey, same)


def test_check_mix_names_the_problem() -> None:
    assert check_mix(DEFAULT_MIX) is None
    assert "unknown anomaly look 'blob'" in str(check_mix({"blob": 1.0}))
    assert "not all 0" in str(check_mix({"crack": 0.0}))


def test_pit_only_mix_is_exactly_the_pit_looks() -> None:
    # the pit default trains on PIT_MIX: same images and random stream as make_spills before issue 13
    x = _images(10)
    r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
    assert np.array_equal(make_anomalies(x, r1, PIT_MIX), make_spills(x, r2))
    assert r1.random() == r2.random()
