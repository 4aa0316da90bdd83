"""Styles drawn as Avataaars-type avatars: style -> python_avatars SVG -> PNG (resvg) -> Pillow image.

Sizes are (width, height) in pixels; the SVG's own size is 264x280, the course images are 2x (528x560).
The same style and size always give the same PNG bytes.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import python_avatars as pa
import resvg_py
from PIL import Image

from avatargen.render.mapping import StyleMapping, detect_mapping, load_mapping
from avatargen.render.simplify import simplify_svg
from avatargen.render.vocabulary import PartValue
from sharedcore.atomic import write_bytes, write_text
from sharedcore.errors import UserError

DEFAULT_SIZE = (528, 560)

# The "classic" Avataaars values of the english mapping (python_avatars 1.4 adds parts from other art
# sets: astronaut, jedi, wick ...). draw_collection samples these uniformly.
COLLECTION_VALUES: dict[str, list[str]] = {
    "hairstyle": [m.name.lower() for m in pa.HairType][
        : list(pa.HairType).index(pa.HairType.STRAIGHT_STRAND) + 1
    ],
    "hair_color": [m.name.lower() for m in pa.HairColor],
    "accessory": ["none", "kurt", "prescription_1", "prescription_2", "round", "sunglasses", "wayfarers"],
    "clothes": [
        "blazer_shirt",
        "blazer_sweater",
        "collar_sweater",
        "graphic_shirt",
        "hoodie",
        "overall",
        "shirt_crew_neck",
        "shirt_scoop_neck",
        "shirt_v_neck",
    ],
    "clothes_color": [m.name.lower() for m in pa.ClothingColor],
    "facial_hair": [
        "none",
        "beard_light",
        "beard_magestic",
        "beard_medium",
        "moustache_fancy",
        "moustache_magnum",
    ],
    "eyes": [m.name.lower() for m in pa.EyeType],
    "mouth": [m.name.lower() for m in pa.MouthType if m is not pa.MouthType.BIG_SMILE],
    "skin": [m.name.lower() for m in pa.SkinColor],
}


def parts_svg(parts: Mapping[str, PartValue], simplify: bool = True) -> str:
    """The SVG text (264x280 viewBox) of an avatar from python_avatars keyword arguments.

    With ``simplify`` colour masks and drop shadows are redrawn without offscreen layers: the same
    picture, rasterised about 2.5x faster (``avatargen.render.simplify``).
    """
    svg = str(pa.Avatar(**parts).render())
    return simplify_svg(svg) if simplify else svg


def style_svg(style: Mapping[str, Any], mapping: StyleMapping, simplify: bool = True) -> str:
    """The SVG text of one style (``{attribute: value}``, extra ``probability`` ignored)."""
    return parts_svg(mapping.parts_for(style), simplify)


_ROOT_SIZE = re.compile(r'(<svg\b[^>]*?)\swidth="[^"]*"\s+height="[^"]*"')


def sized_svg(svg: str, size: tuple[int, int]) -> str:
    """``svg`` with its root width/height set to ``size`` (w, h); the viewBox keeps the drawing centred."""
    out, n = _ROOT_SIZE.subn(lambda m: f'{m.group(1)} width="{size[0]}" height="{size[1]}"', svg, count=1)
    if n != 1:
        raise ValueError("SVG root has no width/height attributes to set")
    return out


def svg_to_png(svg: str, size: tuple[int, int] = DEFAULT_SIZE) -> bytes:
    """Rasterise SVG text to RGBA PNG bytes of exactly ``size`` = (width, height) with resvg.

    Another aspect ratio than 264:280 centres the drawing. System fonts are not loaded (no text is drawn).
    """
    return bytes(resvg_py.svg_to_bytes(svg_string=sized_svg(svg, size), skip_system_fonts=True))


def svgs_to_pngs(
    svgs: Sequence[str], size: tuple[int, int] = DEFAULT_SIZE, workers: int | None = None
) -> list[bytes]:
    """Rasterise many SVGs, in input order; resvg releases the GIL, so ``workers`` threads run in parallel.

    ``workers`` defaults to min(2, CPUs). The bytes do not depend on the number of workers.
    """
    n = workers or min(2, os.cpu_count() or 1)
    if n <= 1 or len(svgs) <= 1:
        return [svg_to_png(s, size) for s in svgs]
    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(lambda s: svg_to_png(s, size), svgs))


def png_to_image(png: bytes) -> Image.Image:
    """Decode PNG bytes into a loaded RGBA Pillow image."""
    with Image.open(io.BytesIO(png)) as im:
        im.load()
        return im.convert("RGBA")


def styles_records(styles: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Styles as a list of ``{attribute: value}`` dicts (a ``probability`` column is dropped)."""
    records: Sequence[Mapping[Any, Any]] = (
        styles.to_dict("records") if isinstance(styles, pd.DataFrame) else styles
    )
    return [{str(k): v for k, v in r.items() if k not in ("probability", "log_probability")} for r in records]


def resolve_mapping(
    mapping: StyleMapping | str | os.PathLike[str] | None, values: Mapping[str, Sequence[str]]
) -> StyleMapping:
    """A mapping object from a loaded mapping, a built-in name / file path, or None (auto-detect on ``values``)."""
    if mapping is None:
        return detect_mapping(values)
    if isinstance(mapping, StyleMapping):
        return mapping
    return load_mapping(mapping)


def render_styles(
    styles: pd.DataFrame | Sequence[Mapping[str, Any]],
    mapping: StyleMapping | str | os.PathLike[str] | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    workers: int | None = None,
) -> list[Image.Image]:
    """Draw styles (DataFrame rows or dicts of attribute -> value) as RGBA images of ``size`` (w, h).

    ``mapping``: a StyleMapping, a built-in name (``english``, ``course_ru``), a YAML path, or None to
    pick the built-in mapping that covers the styles' values.
    """
    records = styles_records(styles)
    values: dict[str, list[str]] = {}
    for r in records:
        for k, v in r.items():
            values.setdefault(k, []).append(str(v))
    m = resolve_mapping(mapping, {k: sorted(set(v)) for k, v in values.items()})
    svgs = [style_svg(r, m) for r in records]
    return [png_to_image(p) for p in svgs_to_pngs(svgs, size, workers)]


def write_style(
    style: Mapping[str, Any],
    path: str | os.PathLike[str],
    mapping: StyleMapping | str | os.PathLike[str] | None = None,
    size: tuple[int, int] = DEFAULT_SIZE,
    force: bool = False,
) -> Path:
    """Draw one style into ``path``: SVG text when it ends in ``.svg``, else a PNG of ``size`` (w, h)."""
    target = Path(path)
    if target.suffix.lower() not in (".png", ".svg"):
        raise UserError(f"{target}: output must end in .png or .svg")
    m = resolve_mapping(mapping, {k: [str(v)] for k, v in style.items()})
    svg = style_svg(style, m)
    if target.suffix.lower() == ".svg":
        return write_text(target, svg, force=force)
    return write_bytes(target, svg_to_png(svg, size), force=force)


def sample_collection_styles(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` styles in the english mapping's names, each attribute uniform over COLLECTION_VALUES."""
    return pd.DataFrame(
        {
            a: np.asarray(v, dtype=object)[rng.integers(0, len(v), size=n)]
            for a, v in COLLECTION_VALUES.items()
        }
    )


def draw_collection(
    n: int, seed: int = 0, size: tuple[int, int] = DEFAULT_SIZE, model: Any = None
) -> list[Image.Image]:
    """A training collection of ``n`` RGBA avatars of ``size`` (w, h).

    Styles are the classic Avataaars values drawn uniformly, or, with ``model`` (anything with
    ``sample(n, rng)``, e.g. a StyleModel), sampled from it and drawn with the built-in mapping that fits.
    The same arguments give the same images.
    """
    rng = np.random.default_rng(seed)
    if model is None:
        return render_styles(sample_collection_styles(n, rng), "english", size)
    return render_styles(model.sample(n, rng), None, size)
