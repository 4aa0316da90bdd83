"""A second procedural domain: greyscale textured surfaces (256x256) with defects, in the course layout.

A normal image is a brushed, grainy surface: a base grey level, low-frequency shading, streaks along
a near-horizontal direction, fine grain and sensor noise, under a varying exposure (gain, gamma and a
light gradient). Defects cover 1-3% of the image: ``scratch`` (a long smooth curve, brighter or
darker, with a soft halo), ``crack`` (a dark jagged polyline with branches), ``hole`` (a dark round
pit with a lit rim) and ``stain`` (an irregular low-contrast blob with a darker ring). Test images
are drawn with a wider exposure range than training images, as on a real line. Drawn with Pillow's
ImageDraw and blurs, independently of the training anomalies of ``spillguard.data.anomaly_looks``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy.ndimage import gaussian_filter

from spillguard.data.synthetic import SynthSpec, write_layout

SIZE = 256
DEFECTS = ("scratch", "crack", "hole", "stain")


@dataclass
class SurfaceSpec(SynthSpec):
    """How many images of each kind to draw (defaults: about the size of a new line's first data)."""

    n_train: int = 500
    n_proliv: int = 30
    n_test_normal: int = 200
    n_test_spill: int = 50


def surface_spec(n_train: int | None, n_proliv: int | None, n_test: int | None) -> SurfaceSpec:
    """A spec from optional counts (None: the default); 20% of the test images are defects."""
    base = SurfaceSpec()
    n_t = base.n_test_normal + base.n_test_spill if n_test is None else n_test
    n_def = max(1, n_t // 5)
    return SurfaceSpec(
        base.n_train if n_train is None else n_train,
        base.n_proliv if n_proliv is None else n_proliv,
        max(1, n_t - n_def),
        n_def,
    )


def _noise(rng: np.random.Generator, gh: int, gw: int, size: int = SIZE) -> np.ndarray:
    """A (gh, gw) Gaussian grid upsampled bicubically to (size, size), float32."""
    g = Image.fromarray(rng.standard_normal((gh, gw)).astype(np.float32), mode="F")
    return np.asarray(g.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)


def draw_surface(rng: np.random.Generator, variation: float = 1.0) -> np.ndarray:
    """One normal surface as float32 (256, 256) in [0, 1] before exposure (see ``expose``)."""
    base = rng.uniform(0.38, 0.58)
    img = base + 0.045 * _noise(rng, 4, 4) + 0.03 * _noise(rng, 24, 24)
    streaks = _noise(rng, 96, 5, SIZE + 64)  # long along x: brushing
    angle = rng.normal(0, 4.0 * variation)
    st = Image.fromarray(streaks, mode="F").rotate(angle, Image.Resampling.BILINEAR)
    c = 32
    img += rng.uniform(0.02, 0.05) * np.asarray(st, dtype=np.float32)[c : c + SIZE, c : c + SIZE]
    img += rng.normal(0, rng.uniform(0.008, 0.02), (SIZE, SIZE)).astype(np.float32)
    return img.astype(np.float32)


def expose(img: np.ndarray, rng: np.random.Generator, variation: float = 1.0) -> np.ndarray:
    """Camera exposure: gain, gamma and a linear light gradient; float (256, 256) -> uint8."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE - 0.5
    ang = rng.uniform(0, 2 * np.pi)
    grad = 1 + rng.uniform(0, 0.15) * variation * (np.cos(ang) * xx + np.sin(ang) * yy)
    gain = 1 + rng.uniform(-0.2, 0.2) * variation
    gamma = np.exp(rng.uniform(-0.15, 0.15) * variation)
    out = np.clip(img * grad * gain, 0, 1) ** gamma
    return (out * 255 + 0.5).astype(np.uint8)


def _stroke(points: list[tuple[float, float]], width: float, blur: float) -> np.ndarray:
    """A polyline drawn with ``width`` px and Gaussian-blurred, as float32 (256, 256) in [0, 1]."""
    im = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(im).line(points, fill=255, width=max(1, round(width)), joint="curve")
    if blur > 0:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(im, dtype=np.float32) / 255


def _area(rng: np.random.Generator) -> float:
    return float(rng.uniform(0.01, 0.03)) * SIZE * SIZE


def add_defect(img: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """``img`` (256, 256) float with one defect of ``kind`` (one of DEFECTS) covering 1-3% of the area."""
    a = _area(rng)
    if kind == "scratch":
        length = rng.uniform(110, 230)
        width = float(np.clip(a / length / 2.2, 1.5, 6))  # the halo doubles the visible width
        p0 = rng.uniform(40, 216, 2)
        ang = rng.uniform(0, np.pi)
        d = np.array([np.cos(ang), np.sin(ang)]) * length
        bend = rng.normal(0, 0.15, 2)[::-1] * length
        t = np.linspace(0, 1, 24)[:, None]
        pts = p0 - d / 2 + t * d + 4 * t * (1 - t) * bend
        core = _stroke([tuple(p) for p in pts], width, 0.6)
        halo = _stroke([tuple(p) for p in pts], 2.2 * width, 2.0)
        sign = 1.0 if rng.random() < 0.6 else -1.0
        return img + sign * (rng.uniform(0.12, 0.3) * core + rng.uniform(0.03, 0.07) * halo)
    if kind == "crack":
        path = [tuple(rng.uniform(50, 206, 2))]
        heading = rng.uniform(0, 2 * np.pi)
        total, lines = 0.0, []
        while total < a / 3.5:
            heading += rng.normal(0, 0.6)
            step = rng.uniform(6, 16)
            y, x = path[-1]
            path.append(
                (
                    float(np.clip(y + step * np.sin(heading), 2, 253)),
                    float(np.clip(x + step * np.cos(heading), 2, 253)),
                )
            )
            total += step
            if rng.random() < 0.12:  # a branch
                by, bx = path[-1]
                bh = heading + rng.choice([-1, 1]) * rng.uniform(0.5, 1.2)
                br = [(by, bx)] + [
                    (by + s * np.sin(bh), bx + s * np.cos(bh)) for s in np.cumsum(rng.uniform(5, 10, 3))
                ]
                lines.append(br)
                total += 20
        m = _stroke([(x, y) for y, x in path], rng.uniform(1.5, 3.0), 0.7)
        for br in lines:
            m = np.maximum(m, _stroke([(x, y) for y, x in br], 1.5, 0.6))
        halo = gaussian_filter(m, 2.5)
        return img * (1 - rng.uniform(0.45, 0.75) * m) - 0.05 * halo
    if kind == "hole":
        r = np.sqrt(a / np.pi)
        cy, cx = rng.uniform(r + 8, SIZE - r - 8, 2)
        yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
        e = rng.uniform(0.8, 1.25)
        d = np.sqrt(((yy - cy) * e) ** 2 + ((xx - cx) / e) ** 2) / r
        inside = np.clip((1 - d) * r / 2, 0, 1)
        rim = np.exp(-(((d - 1) * r / 2.0) ** 2)) * np.clip(-((yy - cy) + (xx - cx)) / r, 0, 1)
        depth = rng.uniform(0.35, 0.7)
        return img * (1 - depth * inside * (0.7 + 0.3 * (1 - d).clip(0, 1))) + 0.18 * rim
    if kind == "stain":
        r = np.sqrt(a / np.pi)
        cy, cx = rng.uniform(r + 10, SIZE - r - 10, 2)
        yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
        wobble = 1 + 0.35 * _noise(rng, 6, 6)
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / (r * wobble)
        blob = np.clip((1.0 - d) * 4, 0, 1)
        blob = gaussian_filter(blob, 2.0)
        ring = np.exp(-(((d - 0.95) / 0.08) ** 2))
        sign = -1.0 if rng.random() < 0.7 else 1.0
        return img + sign * (rng.uniform(0.06, 0.14) * blob + rng.uniform(0.02, 0.06) * ring)
    raise ValueError(f"unknown defect kind {kind!r}")


def draw_image(rng: np.random.Generator, defect: bool, variation: float = 1.0) -> np.ndarray:
    """One greyscale surface image as uint8 (256, 256), with a random defect when ``defect``."""
    img = draw_surface(rng, variation)
    if defect:
        img = add_defect(img, rng, DEFECTS[int(rng.integers(0, len(DEFECTS)))])
    return expose(img, rng, variation)


def write_surface(
    out: str | os.PathLike[str], seed: int = 0, spec: SurfaceSpec | None = None, force: bool = False
) -> Path:
    """Write a surface data set in the course layout to ``out`` (atomically); same seed, same bytes."""
    return write_layout(out, draw_image, ("surf", "defect"), seed, spec or SurfaceSpec(), force)
