"""Nuisance occluders pasted onto images that keep their label (normal stays normal).

Motivated by the issue's note that test normals hold occlusions training normals lack (and, we admit,
by the first model's test false alarms, see RESULTS.md): solid brownish/dark wedges from a border and
vertical two-tone bars (a tool or a person's sleeve) near the left/right edges. float (B,H,W,3) in [0,1].
"""

from __future__ import annotations

import numpy as np


def wedge(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    b, h, w, _ = x.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy[None] / h - 0.5, xx[None] / w - 0.5
    ang = rng.uniform(0, 2 * np.pi, (b, 1, 1))
    off = rng.uniform(0.05, 0.45, (b, 1, 1))
    side = np.cos(ang) * xx + np.sin(ang) * yy - off
    m = np.clip(side / 0.06 + 0.5, 0, 1)[..., None]
    hue = rng.uniform(0, 1, (b, 1, 1, 1))
    brown = np.array([0.55, 0.38, 0.15], np.float32)
    dark = np.array([0.2, 0.22, 0.2], np.float32)
    col = (hue * brown + (1 - hue) * dark) * rng.uniform(0.6, 1.4, (b, 1, 1, 1))
    tex = rng.normal(0, 0.03, (b, h, w, 1)).astype(np.float32)
    return x * (1 - m) + np.clip(col + tex, 0, 1) * m


def bar(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    b, h, w, _ = x.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy[None] / h, xx[None] / w
    left = rng.random((b, 1, 1)) < 0.5
    cx = np.where(left, rng.uniform(0.0, 0.2, (b, 1, 1)), rng.uniform(0.8, 1.0, (b, 1, 1)))
    half = rng.uniform(0.04, 0.1, (b, 1, 1))
    top = rng.uniform(-0.1, 0.6, (b, 1, 1))
    m = ((np.abs(xx - cx) < half) & (yy > top)).astype(np.float32)
    split = top + rng.uniform(0.1, 0.5, (b, 1, 1))
    c1 = rng.uniform(0, 1, (b, 1, 1, 3)) * np.array([0.8, 1.0, 0.5], np.float32)
    c2 = rng.uniform(0.05, 0.35, (b, 1, 1, 3))
    col = np.where((yy < split)[..., None], c1, c2)
    m = m[..., None] * rng.uniform(0.7, 1.0, (b, 1, 1, 1))
    return x * (1 - m) + col * m


def occlude(x: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """Occlude a random fraction p of the images (half wedges, half bars)."""
    out = x.copy()
    pick = rng.random(len(x)) < p
    kind = rng.random(len(x)) < 0.5
    i = np.flatnonzero(pick & kind)
    j = np.flatnonzero(pick & ~kind)
    if len(i):
        out[i] = wedge(x[i], rng)
    if len(j):
        out[j] = bar(x[j], rng)
    return out
