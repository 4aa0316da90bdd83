"""Drawing styles: PNG size and mode, known colours where they belong, deterministic bytes."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from avatargen.render.draw import (
    DEFAULT_SIZE,
    draw_collection,
    render_styles,
    sample_collection_styles,
    style_svg,
    svg_to_png,
    svgs_to_pngs,
)
from avatargen.render.mapping import load_mapping
from sharedcore.errors import UserError

STYLE = {"hairstyle": "none", "hair_color": "black", "clothes_color": "red", "skin": "brown"}


def test_png_size_mode_and_known_colours() -> None:
    one, two = render_styles([STYLE], "english", (264, 280))[0], render_styles([STYLE], size=DEFAULT_SIZE)[0]
    assert (one.size, one.mode, two.size, two.mode) == ((264, 280), "RGBA", (528, 560), "RGBA")
    a, b = np.asarray(one), np.asarray(two)
    assert tuple(a[270, 132]) == (0xFF, 0x5C, 0x5C, 255)  # ClothingColor.RED on the chest
    assert tuple(a[60, 132]) == (0xD0, 0x8B, 0x5B, 255)  # SkinColor.BROWN on the bald head
    assert tuple(a[20, 20]) == (0, 0, 0, 0)  # transparent background, like the course images
    assert tuple(b[540, 264]) == (0xFF, 0x5C, 0x5C, 255)
    # same drawing at two scales: the 2x image halved is close to the 1x image
    half = np.asarray(two.resize((264, 280), Image.Resampling.BOX), dtype=float)
    assert np.abs(half - a).mean() < 3.0
    assert 0.3 < (a[..., 3] == 0).mean() < 0.7  # 36-60 % transparent, as in the course images


def test_bytes_are_deterministic_and_independent_of_threads() -> None:
    m = load_mapping("english")
    styles = sample_collection_styles(6, np.random.default_rng(3)).to_dict("records")
    svgs = [style_svg(s, m) for s in styles]
    serial = svgs_to_pngs(svgs, (264, 280), workers=1)
    assert serial == svgs_to_pngs(svgs, (264, 280), workers=2)
    assert serial[0] == svg_to_png(style_svg(styles[0], load_mapping("english")), (264, 280))
    assert len(set(serial)) == 6


def test_dataframe_with_probability_column_and_autodetect() -> None:
    df = pd.DataFrame([{"прическа": "длинные прямые", "цвет одежды": "белый", "probability": 0.1}])
    im = render_styles(df, None, (264, 280))[0]
    assert tuple(np.asarray(im)[270, 132]) == (255, 255, 255, 255)  # white clothes
    with pytest.raises(UserError, match="no built-in mapping fits"):
        render_styles([{"hairstyle": "bun", "прическа": "нет волос"}], None, (64, 64))


def test_draw_collection_is_seeded() -> None:
    a = draw_collection(3, seed=5, size=(132, 140))
    b = draw_collection(3, seed=5, size=(132, 140))
    c = draw_collection(3, seed=6, size=(132, 140))
    assert [im.size for im in a] == [(132, 140)] * 3 and all(im.mode == "RGBA" for im in a)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, c, strict=True))


def test_draw_collection_from_a_model() -> None:
    from .conftest import StubStyleModel

    model = StubStyleModel({"hairstyle": {"bun": 1.0}, "clothes_color": {"red": 0.5, "white": 0.5}})
    a = draw_collection(4, seed=1, size=(132, 140), model=model)
    b = render_styles(model.sample(4, np.random.default_rng(1)), "english", (132, 140))
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))


def test_collection_styles_cover_values_uniformly() -> None:
    df = sample_collection_styles(4000, np.random.default_rng(0))
    freq = df["skin"].value_counts(normalize=True)
    assert len(freq) == 7 and np.allclose(freq.to_numpy(), 1 / 7, atol=0.02)


def test_png_decodes_as_written() -> None:
    png = svg_to_png(style_svg(STYLE, load_mapping("english")), (100, 130))
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG" and im.size == (100, 130)  # exact size, even off the 264:280 aspect
