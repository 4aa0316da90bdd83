"""A procedural pit data set in the course layout, for the demo and tests on machines with no data.

Each image (about 49x28 px, like the real crops) shows greenish metal, an elliptic pit with a dark rim
arc on its far side, varying lighting and camera shift. Spills are bright multicolour speckled blobs.
Test normals are drawn with wider lighting and shift than training normals, as in the real data.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sharedcore.atomic import atomic_dir, check_output
from sharedcore.validate import check_int

SPILL_COLOURS = np.array(
    [[250, 250, 235], [250, 235, 120], [170, 240, 230], [250, 170, 90], [215, 250, 170]], dtype=np.float32
)


#: Most images of one kind ``synth`` draws (about 1.5 kB each, a few minutes per 100,000).
SYNTH_MAX = 1_000_000


@dataclass
class SynthSpec:
    """How many images of each kind to draw."""

    n_train: int = 800
    n_proliv: int = 60
    n_test_normal: int = 270
    n_test_spill: int = 30

    def validate(self) -> SynthSpec:
        """UserError unless every count is a whole number from 0 to ``SYNTH_MAX`` (train at least 1)."""
        options = {
            "n_train": "--n-train",
            "n_proliv": "--n-proliv",
            "n_test_normal": "--n-test",
            "n_test_spill": "--n-test",
        }
        for name, option in options.items():
            low = 1 if name == "n_train" else 0
            fix = f"at most {SYNTH_MAX:,} images of each kind (about 1.5 kB each)"
            setattr(self, name, check_int(getattr(self, name), option, low, SYNTH_MAX, fix=fix))
        return self


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a coarse random grid upsampled bilinearly."""
    gh, gw = h // cell + 2, w // cell + 2
    coarse = rng.uniform(-1, 1, size=(gh, gw)).astype(np.float32)
    img = Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32)


def draw_pit(rng: np.random.Generator, spill: bool, variation: float = 1.0) -> np.ndarray:
    """One pit image as uint8 (H, W, 3); ``variation`` widens lighting and camera shift (1 = training)."""
    h, w = int(rng.integers(25, 31)), int(rng.integers(44, 55))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    metal = np.array([105, 135, 112], dtype=np.float32) + rng.normal(0, 6, 3).astype(np.float32)
    img = metal + 10 * _smooth_noise(rng, h, w, 6)[..., None] + rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    cx = w * (0.5 + rng.uniform(-0.06, 0.06) * variation)
    cy = h * (0.45 + rng.uniform(-0.08, 0.08) * variation)
    rx, ry = w * rng.uniform(0.38, 0.46), h * rng.uniform(0.36, 0.46)
    r = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    inside = r < 1.0
    floor = np.array([120, 150, 118], dtype=np.float32) + 14 * _smooth_noise(rng, h, w, 3)[..., None]
    img = np.where(inside[..., None], floor, img)
    rim = np.exp(-(((r - 1.0) / 0.09) ** 2)) * (yy < cy + 0.3 * ry)  # the dark far-side arc
    img *= (1 - 0.45 * rim)[..., None]
    if spill:
        for _ in range(int(rng.integers(1, 4))):
            bx, by = cx + rng.uniform(-0.6, 0.6) * rx, cy + rng.uniform(-0.3, 0.7) * ry
            sx, sy = rng.uniform(2.0, 6.0), rng.uniform(2.0, 5.0)
            blob = np.exp(-(((xx - bx) / sx) ** 2 + ((yy - by) / sy) ** 2) / 2)
            speckle = np.clip(0.55 + 0.6 * rng.standard_normal((h, w)), 0, 1).astype(np.float32)
            colour = SPILL_COLOURS[rng.integers(0, len(SPILL_COLOURS), size=(h, w))]
            a = (blob * (0.5 + 0.5 * speckle))[..., None]
            img = img * (1 - a) + colour * a
    gain = 1 + rng.uniform(-0.22, 0.22) * variation
    contrast = 1 + rng.uniform(-0.15, 0.15) * variation
    tint = 1 + rng.normal(0, 0.03 * variation, 3)
    mean = img.mean()
    img = ((img - mean) * contrast + mean) * gain * tint
    return np.clip(img, 0, 255).astype(np.uint8)


def _jpeg(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, "L" if arr.ndim == 2 else "RGB").save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def write_layout(
    out: str | os.PathLike[str],
    draw: Callable[[np.random.Generator, bool, float], np.ndarray],
    names: tuple[str, str],
    seed: int = 0,
    spec: SynthSpec | None = None,
    force: bool = False,
) -> Path:
    """Write a data set drawn by ``draw(rng, anomalous, variation)`` (uint8 (H, W, 3) RGB or (H, W) grey)
    in the course layout to ``out`` (atomically); ``names``: file prefixes of train/ and proliv/ images.

    Every procedural domain writes through this one function: same seed, same bytes.
    """
    spec = (spec or SynthSpec()).validate()
    check_output(out, force, kind="dir")
    rng = np.random.default_rng(seed)
    normal_name, anomalous_name = names
    with atomic_dir(out, force=force) as tmp:
        for sub in ("train", "proliv", "test/imgs"):
            (tmp / sub).mkdir(parents=True)
        for i in range(spec.n_train):
            (tmp / "train" / f"{normal_name}_{i:05d}.jpg").write_bytes(_jpeg(draw(rng, False, 1.0)))
        for i in range(spec.n_proliv):
            (tmp / "proliv" / f"{anomalous_name}_{i:04d}.jpg").write_bytes(_jpeg(draw(rng, True, 1.0)))
        labels = np.r_[np.zeros(spec.n_test_normal, int), np.ones(spec.n_test_spill, int)]
        labels = labels[rng.permutation(len(labels))]
        lines = []
        for i, y in enumerate(labels):
            name = f"{rng.integers(0, 2**32):08x}-{i:05d}.jpg"
            (tmp / "test" / "imgs" / name).write_bytes(_jpeg(draw(rng, bool(y), 1.4)))
            lines.append(f"{name} {y}\n")
        (tmp / "test" / "test_annotation.txt").write_text("".join(lines), encoding="utf-8")
    return Path(out)


def write_synth(
    out: str | os.PathLike[str], seed: int = 0, spec: SynthSpec | None = None, force: bool = False
) -> Path:
    """Write a synthetic pit data set in the course layout to ``out`` (atomically); same seed, same bytes."""
    return write_layout(out, draw_pit, ("pit", "spill"), seed, spec, force)
