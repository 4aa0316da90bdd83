from __future__ import annotations

import numpy as np
import pytest

from avatargen.pixels import metrics


def _flat(colour: tuple[int, int, int, int], h: int = 8, w: int = 10) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (h, w, 4)).copy()


def test_distance_and_identity() -> None:
    a = _flat((0, 0, 0, 0))
    b = _flat((3, 4, 0, 0))
    assert metrics.distance(a, b) == pytest.approx(5.0)
    b[:4] = 0
    assert metrics.identical_share(a, b) == pytest.approx(0.5)
    k, d, ident = metrics.nearest_training(a, np.stack([_flat((9, 9, 9, 9)), b]))
    assert k == 1 and d == pytest.approx(2.5) and ident == pytest.approx(0.5)
    assert metrics.mean_pairwise_distance(np.stack([a, b, a])) == pytest.approx((2.5 + 0 + 2.5) / 3)


def test_coherence_figures() -> None:
    img = _flat((10, 20, 30, 255))
    assert metrics.same_as_left_share(img) == 1.0
    img[:, ::2] = (1, 2, 3, 255)
    assert metrics.same_as_left_share(img) == 0.0
    assert metrics.distinct_colours(img) == 2
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 4), dtype=np.uint8)
    assert metrics.png_bits_per_pixel(noise) > 30
    assert metrics.png_bits_per_pixel(_flat((1, 2, 3, 4), 256, 256)) < 0.1


def test_unseen_at_position() -> None:
    train = np.stack([_flat((1, 1, 1, 1)), _flat((2, 2, 2, 2))])
    img = _flat((1, 1, 1, 1))
    img[:2] = (2, 2, 2, 2)
    img[2:4] = (3, 3, 3, 3)
    assert metrics.unseen_at_position_share(img, train) == pytest.approx(0.25)


def test_targets() -> None:
    good = {
        "same_as_left": 0.97,
        "png_bits_per_pixel": 1.0,
        "nearest_distance": 55.0,
        "nearest_identical_share": 0.6,
        "pairwise_distance": 80.0,
    }
    assert all(metrics.targets_met(good).values())
    assert not metrics.targets_met({**good, "nearest_distance": 30.0})["nearest_distance"]
    assert str(metrics.TARGETS["nearest_distance"]) == "40-90"
