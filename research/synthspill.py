"""Synthetic spill looks pasted onto normal pit images (outlier exposure), vectorised over a batch.

Looks: 'stream' (bright multicolour speckled pour over the pit), 'flood' (pit interior filled with a
smooth bluish-grey metal surface), 'flood+stream'. (A 'tint' look, brown regions, is kept but unused: it taught the
model that brown occluders are spills.)
Images are float32 (B, H, W, 3) in [0, 1].
"""

from __future__ import annotations

import numpy as np

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


def _blur(m: np.ndarray, k: int = 1) -> np.ndarray:
    """Cheap separable box blur over axes (1, 2) of a (B, H, W[, C]) array, radius k."""
    out = m.copy()
    for ax in (1, 2):
        acc = out.copy()
        for s in range(1, k + 1):
            acc += np.roll(out, s, axis=ax) + np.roll(out, -s, axis=ax)
        out = acc / (2 * k + 1)
    return out


def _upsample(noise: np.ndarray, h: int, w: int) -> np.ndarray:
    fy, fx = h // noise.shape[1], w // noise.shape[2]
    return np.repeat(np.repeat(noise, fy, axis=1), fx, axis=2)[:, :h, :w]


def stream(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    b, h, w, _ = x.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy[None] / h, xx[None] / w
    cx = rng.uniform(0.3, 0.7, (b, 1, 1))
    top = rng.uniform(-0.2, 0.35, (b, 1, 1))
    bot = rng.uniform(0.55, 1.05, (b, 1, 1))
    w0 = rng.uniform(0.05, 0.15, (b, 1, 1))
    w1 = rng.uniform(0.1, 0.3, (b, 1, 1))
    t = np.clip((yy - top) / (bot - top), 0, 1)
    half = w0 + (w1 - w0) * t
    slant = rng.uniform(-0.15, 0.15, (b, 1, 1))
    inside = (np.abs(xx - cx - slant * t) < half) & (yy >= top) & (yy <= bot)
    cell = int(rng.choice([1, 2]))
    ch, cw = (h + cell - 1) // cell, (w + cell - 1) // cell
    pick = rng.integers(0, len(PALETTE), (b, ch, cw))
    colours = _upsample(PALETTE[pick], h, w)
    density = rng.uniform(0.3, 0.9, (b, 1, 1))
    speck = _upsample(rng.random((b, ch, cw)), h, w) < density
    alpha = (inside & speck).astype(np.float32) * rng.uniform(0.3, 1.0, (b, 1, 1))
    # the stream also whitens/greys its whole body a bit (foam/smoke)
    haze = _blur(inside.astype(np.float32), 1) * rng.uniform(0.0, 0.4, (b, 1, 1))
    base = x * (1 - haze[..., None]) + haze[..., None] * rng.uniform(0.6, 0.9, (b, 1, 1, 1))
    a = alpha[..., None]
    out = base * (1 - a) + colours * a
    soft = rng.random(b) < 0.5
    out[soft] = _blur(out[soft], 1) * 0.6 + out[soft] * 0.4
    return out


def flood(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    b, h, w, _ = x.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy[None] / h, xx[None] / w
    cx = rng.uniform(0.42, 0.58, (b, 1, 1))
    cy = rng.uniform(0.5, 0.65, (b, 1, 1))
    rx = rng.uniform(0.3, 0.45, (b, 1, 1))
    ry = rng.uniform(0.25, 0.42, (b, 1, 1))
    d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    m = np.clip((1.15 - d) / 0.3, 0, 1)
    mean = x.mean(axis=(1, 2), keepdims=True)
    dark = rng.uniform(0.6, 1.0, (b, 1, 1, 1))
    blue = rng.uniform(0.0, 0.1, (b, 1, 1, 1)) * np.array([-1.0, -0.3, 1.0], np.float32)
    fill = mean * dark + blue
    grad = (rng.normal(0, 0.05, (b, 1, 1, 1)) * (yy - cy)[..., None]) + rng.normal(0, 0.01, (b, h, w, 1))
    fill = np.clip(fill + _blur(grad, 2), 0, 1)
    a = (m * rng.uniform(0.5, 1.0, (b, 1, 1)))[..., None]
    return x * (1 - a) + fill * a


def tint(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    b, h, w, _ = x.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy[None] / h, xx[None] / w
    ang = rng.uniform(0, 2 * np.pi, (b, 1, 1))
    off = rng.uniform(-0.2, 0.3, (b, 1, 1))
    side = np.cos(ang) * (xx - 0.5) + np.sin(ang) * (yy - 0.5) - off
    m = np.clip(side / 0.1, 0, 1)[..., None]
    col = np.array([0.75, 0.7, 0.35], np.float32) * rng.uniform(0.5, 0.9, (b, 1, 1, 1))
    return x * (1 - m) + (x * 0.3 + col * 0.7) * m


def make_spills(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a spilled copy of each normal image in x, with a random look per image."""
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
