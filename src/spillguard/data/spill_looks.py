"""Outlier exposure material: synthetic spill looks pasted onto normal pit images, and nuisance
occluders that keep an image normal. All functions take and return float32 (N, H, W, 3) in [0, 1]
and draw randomness only from the ``numpy.random.Generator`` passed in.

Spill looks (from the issue's description of real spills): ``stream`` (a pour of bright multicolour
speckles over the pit), ``flood`` (the pit interior filled by a smooth bluish-grey metal surface),
and both together. Occluders (test normals hold them, training normals do not): a solid brownish or
dark ``wedge`` entering from a border, and a two-tone vertical ``bar`` near the left/right edge.
"""

from __future__ import annotations

import numpy as np

from spillguard.data.synthetic import SPILL_COLOURS

PALETTE = np.array(
    [
        [1.0, 1.0, 1.0],
        [0.95, 0.95, 0.35],
        [0.45, 0.95, 0.95],
        [0.2, 0.3, 0.85],
        [0.12, 0.16, 0.22],
        [0.7, 0.98, 0.7],
        [1.0, 0.7, 0.85],
        [0.3, 0.8, 0.3],
    ],
    np.float32,
)


def _grid(n: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates as fractions of height and width, shapes (1, H, W)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (yy[None] + 0.5) / h, (xx[None] + 0.5) / w


def _blur(m: np.ndarray, k: int = 1) -> np.ndarray:
    """Separable box blur of radius ``k`` over axes 1 and 2 (wrap-around edges)."""
    out = m
    for ax in (1, 2):
        acc = out.copy()
        for s in range(1, k + 1):
            acc += np.roll(out, s, axis=ax) + np.roll(out, -s, axis=ax)
        out = acc / (2 * k + 1)
    return out


def _cells(a: np.ndarray, cell: int, h: int, w: int) -> np.ndarray:
    """Upsample (N, h/cell, w/cell, ...) blocks to (N, H, W, ...) by repetition."""
    return np.repeat(np.repeat(a, cell, axis=1), cell, axis=2)[:, :h, :w]


def _u(rng: np.random.Generator, lo: float, hi: float, n: int, dims: int = 2) -> np.ndarray:
    return rng.uniform(lo, hi, (n,) + (1,) * dims).astype(np.float32)


def stream(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A widening, slanted pour of multicolour speckles (plus a light haze) over each image."""
    n, h, w, _ = x.shape
    yy, xx = _grid(n, h, w)
    cx, top, bot = _u(rng, 0.3, 0.7, n), _u(rng, -0.2, 0.35, n), _u(rng, 0.55, 1.05, n)
    w0, w1, slant = _u(rng, 0.05, 0.15, n), _u(rng, 0.1, 0.3, n), _u(rng, -0.15, 0.15, n)
    t = np.clip((yy - top) / (bot - top), 0, 1)
    inside = (np.abs(xx - cx - slant * t) < w0 + (w1 - w0) * t) & (yy >= top) & (yy <= bot)
    cell = int(rng.choice([1, 2]))
    ch, cw = -(-h // cell), -(-w // cell)
    colours = _cells(PALETTE[rng.integers(0, len(PALETTE), (n, ch, cw))], cell, h, w)
    speck = _cells(rng.random((n, ch, cw)), cell, h, w) < _u(rng, 0.3, 0.9, n)
    alpha = ((inside & speck) * _u(rng, 0.3, 1.0, n))[..., None]
    haze = (_blur(inside.astype(np.float32), 1) * _u(rng, 0.0, 0.4, n))[..., None]
    base = x * (1 - haze) + haze * _u(rng, 0.6, 0.9, n, 3)
    out = base * (1 - alpha) + colours * alpha
    soft = rng.random(n) < 0.5
    out[soft] = _blur(out[soft], 1) * 0.6 + out[soft] * 0.4
    return out


def flood(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The pit interior (an ellipse near the centre) filled by a smooth, darker, bluish surface."""
    n, h, w, _ = x.shape
    yy, xx = _grid(n, h, w)
    cx, cy = _u(rng, 0.42, 0.58, n), _u(rng, 0.5, 0.65, n)
    rx, ry = _u(rng, 0.3, 0.45, n), _u(rng, 0.25, 0.42, n)
    inside = np.clip((1.15 - ((xx - cx) / rx) ** 2 - ((yy - cy) / ry) ** 2) / 0.3, 0, 1)
    blue = _u(rng, 0.0, 0.1, n, 3) * np.array([-1.0, -0.3, 1.0], np.float32)
    fill = x.mean(axis=(1, 2), keepdims=True) * _u(rng, 0.6, 1.0, n, 3) + blue
    shade = rng.normal(0, 0.05, (n, 1, 1, 1)).astype(np.float32) * (yy - cy)[..., None]
    fill = np.clip(fill + _blur(shade + rng.normal(0, 0.01, (n, h, w, 1)).astype(np.float32), 2), 0, 1)
    a = (inside * _u(rng, 0.5, 1.0, n))[..., None]
    return x * (1 - a) + fill * a


def make_spills(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A spilled copy of every image: 45% stream, 20% flood, 35% flood + stream."""
    out = x.copy()
    kind = rng.choice(3, size=len(x), p=[0.45, 0.2, 0.35])
    for k, fn in ((0, stream), (1, flood)):
        i = np.flatnonzero(kind == k)
        if len(i):
            out[i] = fn(x[i], rng)
    i = np.flatnonzero(kind == 2)
    if len(i):
        out[i] = stream(flood(x[i], rng), rng)
    return np.clip(out, 0, 1)


def wedge(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A solid brownish-to-dark region with a straight soft edge entering from a border."""
    n, h, w, _ = x.shape
    yy, xx = _grid(n, h, w)
    ang, off = _u(rng, 0, 2 * np.pi, n), _u(rng, 0.05, 0.45, n)
    side = np.cos(ang) * (xx - 0.5) + np.sin(ang) * (yy - 0.5) - off
    m = np.clip(side / 0.06 + 0.5, 0, 1)[..., None]
    mix = _u(rng, 0, 1, n, 3)
    col = (mix * np.array([0.55, 0.38, 0.15], np.float32) + (1 - mix) * 0.2) * _u(rng, 0.6, 1.4, n, 3)
    tex = rng.normal(0, 0.03, (n, h, w, 1)).astype(np.float32)
    return x * (1 - m) + np.clip(col + tex, 0, 1) * m


def bar(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A two-tone vertical bar (a tool, a sleeve) rising from the bottom near the left or right edge."""
    n, h, w, _ = x.shape
    yy, xx = _grid(n, h, w)
    left = rng.random((n, 1, 1)) < 0.5
    cx = np.where(left, _u(rng, 0.0, 0.2, n), _u(rng, 0.8, 1.0, n))
    top = _u(rng, -0.1, 0.6, n)
    m = ((np.abs(xx - cx) < _u(rng, 0.04, 0.1, n)) & (yy > top))[..., None] * _u(rng, 0.7, 1.0, n, 3)
    upper = rng.uniform(0, 1, (n, 1, 1, 3)).astype(np.float32) * np.array([0.8, 1.0, 0.5], np.float32)
    lower = rng.uniform(0.05, 0.35, (n, 1, 1, 3)).astype(np.float32)
    col = np.where((yy < top + _u(rng, 0.1, 0.5, n))[..., None], upper, lower)
    return x * (1 - m) + col * m


def occlude(x: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Give a random fraction ``p`` of the images an occluder (half wedges, half bars)."""
    out = x.copy()
    pick = rng.random(len(x)) < p
    kind = rng.random(len(x)) < 0.5
    for fn, sel in ((wedge, pick & kind), (bar, pick & ~kind)):
        i = np.flatnonzero(sel)
        if len(i):
            out[i] = fn(x[i], rng)
    return out


FLOOD_COLOURS = np.array(
    [[150, 190, 230], [235, 240, 245], [245, 200, 120], [190, 225, 215]], dtype=np.float32
)


def paste_spills(images: np.ndarray, rng: np.random.Generator, look: str) -> np.ndarray:
    """Paste procedural spills onto (N, H, W, 3) uint8 pit images, for validation without test labels.

    ``look``: "speckled" (small bright multicolour blobs, like streams of metal) or "flooded" (a large,
    smooth, bright or bluish sheet over much of the pit) — spill looks that known spills may lack.
    """
    n, h, w, _ = images.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = images.astype(np.float32)
    for i in range(n):
        cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.35, 0.75)
        if look == "flooded":
            rx, ry = w * rng.uniform(0.2, 0.4), h * rng.uniform(0.2, 0.4)
            mask = np.clip(1.5 - np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2), 0, 1)
            colour = FLOOD_COLOURS[rng.integers(0, len(FLOOD_COLOURS))] * rng.uniform(0.8, 1.0)
            a = (mask * rng.uniform(0.5, 0.85))[..., None]
        else:
            sx, sy = w * rng.uniform(0.05, 0.12), h * rng.uniform(0.08, 0.2)
            blob = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2) / 2)
            speckle = np.clip(0.55 + 0.6 * rng.standard_normal((h, w)), 0, 1)
            colour = SPILL_COLOURS[rng.integers(0, len(SPILL_COLOURS), size=(h, w))]
            a = (blob * (0.5 + 0.5 * speckle))[..., None]
        out[i] = out[i] * (1 - a) + colour * a
    return np.clip(out, 0, 255).astype(np.uint8)
