"""Fixtures for the pixel tests: a small collection drawn with python_avatars + resvg (no ../shared)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import python_avatars as pa
import resvg_py
from PIL import Image

_CLOTHES = [
    "BLAZER_SHIRT",
    "BLAZER_SWEATER",
    "COLLAR_SWEATER",
    "HOODIE",
    "OVERALL",
    "SHIRT_CREW_NECK",
    "SHIRT_V_NECK",
]
_TOPS = [
    "SHORT_FLAT",
    "SHORT_ROUND",
    "SHORT_WAVED",
    "BIG_HAIR",
    "BOB",
    "BUN",
    "CURLY",
    "LONG_NOT_TOO_LONG",
    "NONE",
]
_ACCESSORIES = ["NONE", "ROUND", "PRESCRIPTION_2", "SUNGLASSES", "WAYFARERS"]
_FACIAL_HAIR = ["NONE", "BEARD_LIGHT", "BEARD_MEDIUM", "MOUSTACHE_FANCY"]


def _pick(rng: np.random.Generator, enum: type, names: list[str] | None = None) -> object:
    members = list(enum) if names is None else [getattr(enum, n) for n in names if hasattr(enum, n)]  # type: ignore[call-overload]
    return members[int(rng.integers(0, len(members)))]


def render(avatar: pa.Avatar, size: tuple[int, int] = (264, 280)) -> np.ndarray:
    """One python_avatars avatar rasterised by resvg -> RGBA uint8 (H, W, 4)."""
    png = resvg_py.svg_to_bytes(svg_string=str(avatar.render()), width=size[0], height=size[1])
    with Image.open(io.BytesIO(bytes(png))) as im:
        return np.asarray(im.convert("RGBA"))


def draw_avatars(n: int, seed: int, size: tuple[int, int] = (264, 280)) -> np.ndarray:
    """``n`` random classic Avataaars avatars as RGBA uint8 (n, H, W, 4), transparent background."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        hair = _pick(rng, pa.HairColor)
        avatar = pa.Avatar(
            style=pa.AvatarStyle.TRANSPARENT,
            top=_pick(rng, pa.HairType, _TOPS),
            hair_color=hair,
            facial_hair=_pick(rng, pa.FacialHairType, _FACIAL_HAIR),
            facial_hair_color=hair,
            skin_color=_pick(rng, pa.SkinColor),
            clothing=_pick(rng, pa.ClothingType, _CLOTHES),
            clothing_color=_pick(rng, pa.ClothingColor),
            accessory=_pick(rng, pa.AccessoryType, _ACCESSORIES),
            eyes=_pick(rng, pa.EyeType, ["DEFAULT", "HAPPY", "SIDE", "SQUINT", "WINK", "SURPRISED"]),
            mouth=_pick(rng, pa.MouthType, ["DEFAULT", "SMILE", "TWINKLE", "SERIOUS", "EATING"]),
            eyebrows=_pick(rng, pa.EyebrowType, ["DEFAULT", "DEFAULT_NATURAL", "RAISED_EXCITED", "UP_DOWN"]),
        )
        out.append(render(avatar, size))
    return np.stack(out)


@pytest.fixture(scope="session")
def drawn_avatars() -> np.ndarray:
    """12 random avatars at 264x280 drawn by the renderer libraries."""
    return draw_avatars(12, seed=7)
