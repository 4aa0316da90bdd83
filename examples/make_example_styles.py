"""Make the built-in example styles table `src/avatargen/data/example_styles.csv`.

Deterministic: a fixed seed and a small hand-written Bayesian network (documented in
`src/avatargen/data/README.md`); values are lowercase names of python_avatars' enums.

    python examples/make_example_styles.py            # rewrites the CSV (same bytes every time)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

SEED = 20261126
N_ROWS = 160
OUT = Path(__file__).resolve().parents[1] / "src" / "avatargen" / "data" / "example_styles.csv"
COLUMNS = [
    "hairstyle",
    "hair_color",
    "accessory",
    "clothes",
    "clothes_color",
    "facial_hair",
    "eyes",
    "mouth",
    "skin",
]

# roots: P(value)
HAIRSTYLE = {
    "none": 0.10,
    "short_flat": 0.14,
    "long_not_too_long": 0.13,
    "bun": 0.07,
    "curly": 0.08,
    "bob": 0.07,
    "fro": 0.06,
    "shaggy": 0.07,
    "short_waved": 0.10,
    "straight_1": 0.09,
    "dreads": 0.04,
    "buzzcut": 0.05,
}
CLOTHES = {
    "hoodie": 0.20,
    "overall": 0.10,
    "shirt_crew_neck": 0.22,
    "shirt_v_neck": 0.12,
    "blazer_shirt": 0.14,
    "graphic_shirt": 0.14,
    "collar_sweater": 0.08,
}
EYES = {"default": 0.40, "happy": 0.25, "wink": 0.10, "squint": 0.15, "surprised": 0.10}
SKIN = {
    "light": 0.22,
    "pale": 0.16,
    "tanned": 0.16,
    "yellow": 0.14,
    "brown": 0.14,
    "dark_brown": 0.10,
    "black": 0.08,
}

HAIR_COLORS = ["black", "blonde", "brown", "auburn", "red", "silver_gray", "pastel_pink", "platinum"]
LONG = {"long_not_too_long", "bun", "curly", "bob", "straight_1"}
SHORT = {"short_flat", "short_waved", "buzzcut", "shaggy"}


def hair_color(style: str) -> dict[str, float]:
    """Hair colour given hairstyle; 'none' exactly when there is no hair (a hard rule)."""
    if style == "none":
        return {"none": 1.0}
    if style in ("fro", "dreads"):
        w = [0.60, 0.02, 0.30, 0.04, 0.0, 0.02, 0.02, 0.0]
    elif style in LONG:
        w = [0.15, 0.25, 0.20, 0.12, 0.10, 0.03, 0.08, 0.07]
    else:  # short styles
        w = [0.35, 0.10, 0.30, 0.05, 0.05, 0.12, 0.01, 0.02]
    return dict(zip(HAIR_COLORS, w, strict=True))


def facial_hair(style: str) -> dict[str, float]:
    """Facial hair given hairstyle: long styles rarely have beards, short and bald ones often."""
    if style in LONG:
        w = [0.92, 0.04, 0.02, 0.02]
    elif style in SHORT or style == "none":
        w = [0.45, 0.25, 0.20, 0.10]
    else:
        w = [0.70, 0.15, 0.10, 0.05]
    return dict(zip(["none", "beard_light", "beard_medium", "moustache_fancy"], w, strict=True))


def clothes_color(clothes: str) -> dict[str, float]:
    """Clothes colour given clothes: blazers are dark, graphic shirts and hoodies colourful."""
    names = [
        "black",
        "blue_01",
        "gray_01",
        "pastel_green",
        "pastel_orange",
        "pink",
        "red",
        "white",
        "heather",
    ]
    table = {
        "blazer_shirt": [0.40, 0.30, 0.20, 0, 0, 0, 0, 0.05, 0.05],
        "collar_sweater": [0.15, 0.25, 0.25, 0.05, 0, 0, 0.10, 0.05, 0.15],
        "hoodie": [0.20, 0.10, 0.15, 0.15, 0.10, 0.10, 0.10, 0.05, 0.05],
        "overall": [0.05, 0.50, 0.10, 0.10, 0.05, 0.05, 0.05, 0.05, 0.05],
        "graphic_shirt": [0.05, 0.05, 0.05, 0.20, 0.20, 0.20, 0.15, 0.05, 0.05],
        "shirt_crew_neck": [0.15, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.20, 0.05],
        "shirt_v_neck": [0.10, 0.15, 0.10, 0.10, 0.05, 0.15, 0.10, 0.20, 0.05],
    }
    return dict(zip(names, table[clothes], strict=True))


def accessory(clothes: str) -> dict[str, float]:
    """Glasses given clothes: blazers and sweaters wear prescription glasses, hoodies sunglasses."""
    names = ["none", "round", "prescription_1", "sunglasses", "wayfarers"]
    if clothes in ("blazer_shirt", "collar_sweater"):
        w = [0.30, 0.20, 0.40, 0.02, 0.08]
    elif clothes in ("hoodie", "graphic_shirt"):
        w = [0.45, 0.05, 0.05, 0.25, 0.20]
    else:
        w = [0.60, 0.15, 0.10, 0.08, 0.07]
    return dict(zip(names, w, strict=True))


def mouth(eyes: str) -> dict[str, float]:
    """Mouth given eyes: happy eyes smile, squinting ones look serious, surprised ones concerned."""
    names = ["default", "smile", "serious", "twinkle", "concerned"]
    table = {
        "default": [0.50, 0.20, 0.15, 0.10, 0.05],
        "happy": [0.10, 0.65, 0.0, 0.25, 0.0],
        "wink": [0.10, 0.30, 0.0, 0.60, 0.0],
        "squint": [0.20, 0.0, 0.65, 0.0, 0.15],
        "surprised": [0.20, 0.0, 0.10, 0.0, 0.70],
    }
    return dict(zip(names, table[eyes], strict=True))


def draw(rng: np.random.Generator, dist: dict[str, float]) -> str:
    """One value from a {value: probability} mapping."""
    names = list(dist)
    p = np.asarray([dist[k] for k in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def make_rows(n: int = N_ROWS, seed: int = SEED) -> list[dict[str, str]]:
    """n styles drawn one by one (ancestral sampling) from the network above."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        hs = draw(rng, HAIRSTYLE)
        cl = draw(rng, CLOTHES)
        ey = draw(rng, EYES)
        rows.append(
            {
                "hairstyle": hs,
                "hair_color": draw(rng, hair_color(hs)),
                "accessory": draw(rng, accessory(cl)),
                "clothes": cl,
                "clothes_color": draw(rng, clothes_color(cl)),
                "facial_hair": draw(rng, facial_hair(hs)),
                "eyes": ey,
                "mouth": draw(rng, mouth(ey)),
                "skin": draw(rng, SKIN),
            }
        )
    return rows


def main() -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(make_rows())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(buf.getvalue(), encoding="utf-8")
    print(f"wrote {OUT} ({N_ROWS} rows)")


if __name__ == "__main__":
    main()
