"""The near-copy test: a training image itself is one, an unrelated image is not."""

from __future__ import annotations

import numpy as np

from avatargen.pixels.joint import pack
from avatargen.pixels.near_copy import identical_shares, too_close


def _training() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 32, 16, 4), dtype=np.uint8)
    return images, pack(images), images[:, ::8, ::8].astype(np.float32)


def test_identical_shares_count_equal_pixels_per_training_image() -> None:
    images, packed, _ = _training()
    img = images[1].copy()
    img[:8] = 0  # a quarter of its rows changed
    shares = identical_shares(packed, img)
    assert shares[1] == 0.75 and shares[0] < 0.01 and shares[2] < 0.01


def test_too_close_finds_a_copy_and_passes_an_unrelated_image() -> None:
    images, packed, small = _training()
    copy = pack(images[2])
    assert too_close(packed, small, copy[::4], copy, 0.7, None) is True
    assert too_close(packed, small, copy[::4], copy, None, 35.0) is True  # distance 0
    other = pack(np.random.default_rng(9).integers(0, 256, (32, 16, 4), dtype=np.uint8))
    assert too_close(packed, small, other[::4], other, 0.7, 35.0) is False
    assert too_close(packed, small, other[::4], None, None, None) is False
