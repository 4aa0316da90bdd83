"""The renderer's vocabulary: which python_avatars parts a mapping may set, and their allowed values.

A part is a keyword of ``python_avatars.Avatar`` (``top``, ``hair_color``, ``clothing`` ...). Its value is
written as the lowercase name of a python_avatars enum member (``short_flat``, ``silver_gray``); colour
parts also accept a ``#RRGGBB`` hex colour.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import python_avatars as pa

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

PartValue = enum.Enum | str
"""A resolved part value: an enum member, or a ``#RRGGBB`` string for colour parts."""


@dataclass(frozen=True)
class PartSpec:
    """One settable part: the enums its names come from (searched in order) and whether hex is allowed."""

    enums: tuple[type[enum.Enum], ...]
    colour: bool = False
    excluded: tuple[str, ...] = ()

    def names(self) -> list[str]:
        """All allowed lowercase member names, in enum order, without duplicates."""
        seen: dict[str, None] = {}
        for e in self.enums:
            for m in e:
                if m.name.lower() not in self.excluded:
                    seen.setdefault(m.name.lower(), None)
        return list(seen)

    def resolve(self, name: str) -> PartValue | None:
        """The enum member (or hex colour) called ``name``; None when it is not allowed."""
        key = str(name).strip()
        if self.colour and HEX_COLOUR.match(key):
            return key.upper()
        key = key.lower()
        if key in self.excluded:
            return None
        for e in self.enums:
            member = e.__members__.get(key.upper())
            if member is not None:
                return member
        return None


PARTS: dict[str, PartSpec] = {
    "top": PartSpec((pa.HairType, pa.HatType)),
    "hat_color": PartSpec((pa.ClothingColor,), colour=True),
    "hair_color": PartSpec((pa.HairColor,), colour=True),
    "facial_hair": PartSpec((pa.FacialHairType,)),
    "facial_hair_color": PartSpec((pa.HairColor,), colour=True),
    "accessory": PartSpec((pa.AccessoryType,)),
    "eyebrows": PartSpec((pa.EyebrowType,)),
    "eyes": PartSpec((pa.EyeType,)),
    "nose": PartSpec((pa.NoseType,)),
    "mouth": PartSpec((pa.MouthType,)),
    "skin_color": PartSpec((pa.SkinColor,), colour=True),
    "clothing": PartSpec((pa.ClothingType,)),
    "clothing_color": PartSpec((pa.ClothingColor,), colour=True),
    # custom_text needs system fonts, which would make the PNG bytes machine-dependent.
    "shirt_graphic": PartSpec((pa.ClothingGraphic,), excluded=("custom_text",)),
    "style": PartSpec((pa.AvatarStyle,)),
    "background_color": PartSpec((pa.BackgroundColor,), colour=True),
}

BASE_DEFAULTS: dict[str, str] = {
    "style": "transparent",
    "background_color": "default",
    "top": "short_flat",
    "hat_color": "heather",
    "hair_color": "brown",
    "facial_hair": "none",
    "facial_hair_color": "brown",
    "accessory": "none",
    "eyebrows": "default",
    "eyes": "default",
    "nose": "default",
    "mouth": "smile",
    "skin_color": "light",
    "clothing": "shirt_crew_neck",
    "clothing_color": "heather",
    "shirt_graphic": "none",
}
"""Parts nobody set: the look of the course images (transparent background, smiling, light skin)."""
