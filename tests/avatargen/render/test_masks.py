"""Flattened colour masks draw the same picture as python_avatars' masks, for every built-in part."""

from __future__ import annotations

import numpy as np

from avatargen.render.draw import png_to_image, style_svg, svg_to_png
from avatargen.render.mapping import load_mapping
from avatargen.render.masks import flatten_masks


def _premultiplied(png: bytes) -> np.ndarray:
    a = np.asarray(png_to_image(png), dtype=float)
    return np.concatenate([a[..., :3] * a[..., 3:] / 255, a[..., 3:]], axis=-1)


def test_flattened_masks_draw_the_same_picture() -> None:
    m = load_mapping("english")
    removed = 0
    for am in m.attributes.values():
        for label in am.labels.values():
            # a beard and a graphic shirt add their masks to every drawing
            style = {"facial_hair": "beard_medium", "clothes": "graphic_shirt", am.name: label}
            svg = style_svg(style, m, flatten=False)
            flat = flatten_masks(svg)
            removed += svg.count("mask=") - flat.count("mask=")
            d = np.abs(
                _premultiplied(svg_to_png(svg, (132, 140))) - _premultiplied(svg_to_png(flat, (132, 140)))
            )
            d = d.max(axis=-1)
            assert d.mean() < 0.1, (am.name, label, d.mean())  # 0..255 scale
            assert (d > 16).mean() < 5e-4, (am.name, label)  # a few anti-aliased edge pixels at most
    assert removed > 300  # most masks go (3+ per drawing)


def test_unknown_structure_is_left_alone() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs><path id="p" d="M0,0 L9,9"/>'
        '<mask id="m"><use href="#p"/><circle r="2"/></mask></defs>'
        '<g mask="url(#m)" fill="red"><rect width="10" height="10"/></g></svg>'
    )
    assert flatten_masks(svg) == svg
