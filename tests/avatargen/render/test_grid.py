"""Captioned grids: layout size, captions drawn (Cyrillic included), deterministic bytes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from avatargen.render.grid import make_grid, png_bytes


def _tiles(n: int) -> list[Image.Image]:
    return [Image.new("RGBA", (264, 280), (200, 30 * i % 255, 0, 255)) for i in range(n)]


def test_grid_layout_and_captions() -> None:
    caps = [["#1   p = 0.01", "прическа: нет волос"], ["#2", "x"], ["#3", "y"]]
    g = make_grid(_tiles(3), caps, columns=2, cell_width=132, footer=["defaults"])
    assert g.mode == "RGB"
    assert g.width == 2 * (132 + 8) + 8
    a = np.asarray(g)
    # under the first tile (140 px high) the caption area has dark text pixels
    caption = a[8 + 140 : 8 + 140 + 40, 8 : 8 + 132]
    assert (caption.min(axis=-1) < 100).sum() > 50
    # the second row's right cell is empty: pure white
    assert a[8 + 200 : 8 + 300, 160:270].min() == 255


def test_grid_bytes_are_deterministic() -> None:
    caps = [["a: б"]] * 2
    assert png_bytes(make_grid(_tiles(2), caps)) == png_bytes(make_grid(_tiles(2), caps))


def test_grid_rejects_mismatched_captions() -> None:
    with pytest.raises(ValueError, match="one caption"):
        make_grid(_tiles(2), [["a"]])
