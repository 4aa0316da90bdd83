"""Alpha compositing ("over") of RGBA pixels, and the packed version the part model composes with."""

from __future__ import annotations

import numpy as np

from avatargen.pixels.compositing import over, over_packed
from avatargen.pixels.joint import pack


def test_over_compositing() -> None:
    top = np.array([[[255, 0, 0, 128]]], np.uint8)
    bottom = np.array([[[0, 0, 255, 255]]], np.uint8)
    out = over(top, bottom)[0, 0]
    assert out[3] == 255 and abs(int(out[0]) - 128) <= 1 and abs(int(out[2]) - 127) <= 1
    assert np.array_equal(over(np.zeros_like(top), bottom), bottom)


def test_over_packed_matches_over() -> None:
    rng = np.random.default_rng(0)
    top = rng.integers(0, 256, (50, 4), dtype=np.uint8)
    bottom = rng.integers(0, 256, (50, 4), dtype=np.uint8)
    top[:10, 3], top[10:20, 3], bottom[20:25, 3] = 0, 255, 0
    bottom[:10, 3] = np.maximum(bottom[:10, 3], 1)  # clear over clear keeps the bottom RGB: skipped
    top[20:, 3] = np.maximum(top[20:, 3], 1)
    assert np.array_equal(over_packed(pack(top), pack(bottom)), pack(over(top, bottom)))
