"""Simplified SVG (colour masks, drop shadows and plain masks redrawn) draws the same picture, for every part."""

from __future__ import annotations

import numpy as np

from avatargen.render.draw import png_to_image, style_svg, svg_to_png
from avatargen.render.mapping import load_mapping
from avatargen.render.simplify import simplify_svg


def _premultiplied(png: bytes) -> np.ndarray:
    a = np.asarray(png_to_image(png), dtype=float)
    return np.concatenate([a[..., :3] * a[..., 3:] / 255, a[..., 3:]], axis=-1)


def _difference(svg: str, other: str, size: tuple[int, int] = (132, 140)) -> np.ndarray:
    """Per-pixel largest premultiplied RGBA difference (0..255) between the two drawings."""
    return np.abs(_premultiplied(svg_to_png(svg, size)) - _premultiplied(svg_to_png(other, size))).max(
        axis=-1
    )


def test_simplified_svg_draws_the_same_picture() -> None:
    m = load_mapping("english")
    masks = filters = 0
    for am in m.attributes.values():
        for label in am.labels.values():
            # glasses, a beard and a graphic shirt add their masks and shadows to every drawing
            style = {
                "accessory": "round",
                "facial_hair": "beard_medium",
                "clothes": "graphic_shirt",
                am.name: label,
            }
            svg = style_svg(style, m, simplify=False)
            simple = simplify_svg(svg)
            masks += svg.count("mask=") - simple.count("mask=")
            filters += svg.count("filter=") - simple.count("filter=")
            d = _difference(svg, simple)
            assert d.mean() < 0.25, (am.name, label, d.mean())  # of 255: invisible
            assert (d > 16).mean() < 2e-3, (am.name, label)  # a few anti-aliased edge pixels (frida: 24)
    assert masks > 1000 and filters > 140  # of 1017 masks and 157 filters in these drawings


def test_shadow_rewrite_on_a_plain_shape() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="40">'
        '<defs><filter id="f" x="-50%" y="-50%" width="200%" height="200%"><feOffset dx="0" dy="3" '
        'in="SourceAlpha" result="o"/><feColorMatrix in="o" result="s" values="0 0 0 0 0  0 0 0 0 0  '
        '0 0 0 0 0  0 0 0 0.5 0"/><feMerge><feMergeNode in="s"/><feMergeNode in="SourceGraphic"/></feMerge>'
        '</filter></defs><g filter="url(#f)" transform="translate(5, 5)" fill="#FF0000">'
        '<rect x="0" y="0" width="20" height="20"/></g></svg>'
    )
    simple = simplify_svg(svg)
    assert "filter=" not in simple
    a = np.asarray(png_to_image(svg_to_png(simple, (40, 40))))
    assert tuple(a[15, 15]) == (255, 0, 0, 255)  # the red square
    assert tuple(a[26, 15]) == (0, 0, 0, 128)  # its shadow: 3 px lower, black at alpha 0.5
    assert _difference(svg, simple, (40, 40)).max() <= 2


def test_unknown_structure_is_left_alone() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs><path id="p" d="M0,0 L9,9"/>'
        '<mask id="m"><use href="#p"/><circle r="2"/></mask></defs>'
        '<g mask="url(#m)" fill="red"><rect width="10" height="10"/></g></svg>'
    )
    assert simplify_svg(svg) == svg
