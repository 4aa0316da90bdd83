"""Synthetic anomalies that do not assume pits, built from the training images themselves.

Every function takes float32 images (N, H, W, 3) in [0, 1] and a ``numpy.random.Generator`` and
returns an anomalous copy of the same shape; sizes are fractions of the image, so they work at any
input size. Looks (after DRAEM, Zavrtanik et al. 2021, and CutPaste, Li et al. 2021, but with no
external texture set: the fill comes from other normal images of the batch):

- ``draem``: a noise-shaped region (thresholded smooth noise under a random envelope, 0.3-6% of the
  image) filled with a transformed patch of another normal image (flipped, shifted, re-lit, gamma),
  blended at 40-100% opacity;
- ``cutpaste``: a thin rotated scar (1.5-6% x 10-35% of the side) or a rectangle (1-8% of the area)
  cut from elsewhere in the same image and pasted with a brightness/contrast change;
- ``crack``: a thin (0.6-2 px) jagged random-walk line, mostly darker, sometimes branched;
- ``hole``: 1-3 small round dark or bright spots (radius 1.5-6% of the side), soft edged;
- ``pit``: the pit spill looks of ``spillguard.data.spill_looks.make_spills`` (streams, floods).

``make_anomalies`` draws one look per image by the weights of a mix such as ``DEFAULT_MIX``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping

import numpy as np

from spillguard.data.spill_looks import make_spills

Look = Callable[[np.ndarray, np.random.Generator], np.ndarray]

GENERIC_MIX: dict[str, float] = {"draem": 0.35, "cutpaste": 0.25, "crack": 0.2, "hole": 0.2}
DEFAULT_MIX: dict[str, float] = {"pit": 0.5, **{k: v / 2 for k, v in GENERIC_MIX.items()}}
PIT_MIX: dict[str, float] = {"pit": 1.0}


def _u(rng: np.random.Generator, lo: float, hi: float, n: int, dims: int = 2) -> np.ndarray:
    return rng.uniform(lo, hi, (n,) + (1,) * dims).astype(np.float32)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in pixels, shapes (1, H, W)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy[None] + 0.5, xx[None] + 0.5


def smooth_noise(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """Two octaves of bicubically upsampled Gaussian grids, (N, H, W), about zero mean, unit scale.

    Each image draws its base scale from 2, 4 or 8 cells across the shorter side.
    """
    import torch  # here, not at import: TrainConfig validates mixes with this module, torch-free
    import torch.nn.functional as F

    out = np.zeros((n, h, w), np.float32)
    cells = rng.choice([2, 4, 8], size=n)
    for c in np.unique(cells):
        idx = np.flatnonzero(cells == c)
        acc = torch.zeros(len(idx), 1, h, w)
        for k, amp in ((int(c), 1.0), (2 * int(c), 0.5)):
            gh = k * max(1, round(h / min(h, w))) + 2
            gw = k * max(1, round(w / min(h, w))) + 2
            g = torch.from_numpy(rng.standard_normal((len(idx), 1, gh, gw)).astype(np.float32))
            acc += amp * F.interpolate(g, size=(h, w), mode="bicubic", align_corners=True)
        out[idx] = acc[:, 0].numpy()
    return out


def _blur(m: np.ndarray) -> np.ndarray:
    """3x3 box blur of (N, H, W) (edges replicated)."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[:, None]
    return F.avg_pool2d(F.pad(t, (1, 1, 1, 1), mode="replicate"), 3, stride=1)[:, 0].numpy()


def region_mask(rng: np.random.Generator, n: int, h: int, w: int, lo: float, hi: float) -> np.ndarray:
    """Soft noise-shaped regions (N, H, W) in [0, 1] covering a log-uniform lo..hi fraction of the image."""
    yy, xx = _grid(h, w)
    cy, cx = _u(rng, 0.15, 0.85, n) * h, _u(rng, 0.15, 0.85, n) * w
    sig = _u(rng, 0.08, 0.35, n) * min(h, w)
    env = np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sig**2)))
    field = env * (1.5 + smooth_noise(rng, n, h, w))
    area = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    flat = np.sort(field.reshape(n, -1), axis=1)
    k = np.clip(((1 - area) * h * w).astype(int), 0, h * w - 1)
    thr = np.take_along_axis(flat, k[:, None], axis=1)[:, :, None]
    return np.clip(_blur((field > thr).astype(np.float32)) * 1.5, 0, 1)


def _relight(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random contrast, brightness and gamma per image; (N, H, W, 3) in [0, 1]."""
    n = len(x)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    y = (x - mean) * _u(rng, 0.4, 1.8, n, 3) + mean + _u(rng, -0.25, 0.25, n, 3)
    return np.clip(y, 0, 1) ** np.exp(_u(rng, -0.5, 0.5, n, 3))


def draem(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noise-shaped regions filled with transformed patches of other images of the batch."""
    n, h, w, _ = x.shape
    donor = x[rng.integers(0, n, n)].copy()
    flip_h, flip_v = rng.random(n) < 0.5, rng.random(n) < 0.5
    donor[flip_h] = donor[flip_h, :, ::-1]
    donor[flip_v] = donor[flip_v, ::-1]
    dy, dx = np.asarray(rng.integers(0, h, size=n)), np.asarray(rng.integers(0, w, size=n))
    rows = (np.arange(h)[None] + dy[:, None]) % h
    cols = (np.arange(w)[None] + dx[:, None]) % w
    donor = donor[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    invert = rng.random(n) < 0.15
    donor[invert] = 1 - donor[invert]
    donor = _relight(donor, rng)
    m = (region_mask(rng, n, h, w, 0.003, 0.06) * _u(rng, 0.4, 1.0, n))[..., None]
    return x * (1 - m) + donor * m


def _rect_mask(
    n: int,
    h: int,
    w: int,
    cy: np.ndarray,
    cx: np.ndarray,
    half_l: np.ndarray,
    half_w: np.ndarray,
    ang: np.ndarray,
) -> np.ndarray:
    yy, xx = _grid(h, w)
    c, s = np.cos(ang), np.sin(ang)
    u = (xx - cx) * c + (yy - cy) * s
    v = -(xx - cx) * s + (yy - cy) * c
    return ((np.abs(u) <= half_l) & (np.abs(v) <= half_w)).astype(np.float32)


def cutpaste(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A thin rotated scar or a rectangle cut from elsewhere in the same image, re-lit and pasted."""
    n, h, w, _ = x.shape
    side = float(min(h, w))
    scar = rng.random((n, 1, 1)) < 0.6
    area = _u(rng, 0.01, 0.08, n) * h * w
    aspect = np.exp(_u(rng, np.log(0.3), np.log(3.3), n))
    half_l = np.where(scar, _u(rng, 0.05, 0.175, n) * side, np.sqrt(area * aspect) / 2)
    half_w = np.where(scar, _u(rng, 0.0075, 0.03, n) * side + 0.5, np.sqrt(area / aspect) / 2)
    ang = np.where(scar, _u(rng, -np.pi / 4, np.pi / 4, n), _u(rng, -0.2, 0.2, n))
    cy, cx = _u(rng, 0.15, 0.85, n) * h, _u(rng, 0.15, 0.85, n) * w
    m = _rect_mask(n, h, w, cy, cx, half_l, half_w, ang)
    dy = rng.integers(h // 6, h - h // 6 + 1, n)
    dx = rng.integers(w // 6, w - w // 6 + 1, n)
    rows = (np.arange(h)[None] + dy[:, None]) % h
    cols = (np.arange(w)[None] + dx[:, None]) % w
    src = _relight(x[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]], rng)
    m = m[..., None]
    return x * (1 - m) + src * m


def _segment_distance(yy: np.ndarray, xx: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    """Distance (N, H, W) of every pixel to the nearest of K segments p0 -> p1, each (N, K, 2) (y, x)."""
    best = np.full((p0.shape[0], *yy.shape[1:]), np.inf, np.float32)
    for k in range(p0.shape[1]):
        a, b = p0[:, k, :, None, None], p1[:, k, :, None, None]  # (N, 2, 1, 1)
        d = b - a
        t = ((yy - a[:, 0]) * d[:, 0] + (xx - a[:, 1]) * d[:, 1]) / np.maximum((d**2).sum(1), 1e-6)
        t = np.clip(t, 0, 1)
        dist = np.hypot(yy - a[:, 0] - t * d[:, 0], xx - a[:, 1] - t * d[:, 1])
        best = np.minimum(best, dist)
    return best


def _walk(rng: np.random.Generator, start: np.ndarray, k: int, step: np.ndarray, turn: float) -> np.ndarray:
    """Random-walk vertices (N, k + 1, 2) from ``start`` (N, 2) with per-image step length (N,)."""
    n = len(start)
    heading = rng.uniform(0, 2 * np.pi, n) + np.cumsum(rng.normal(0, turn, (n, k)), axis=1).T
    moves = np.stack([np.sin(heading), np.cos(heading)], axis=-1).transpose(1, 0, 2) * step[:, None, None]
    return np.concatenate([start[:, None], start[:, None] + np.cumsum(moves, axis=1)], axis=1)


def crack(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A thin jagged line (0.6-2 px wide, 25-70% of the side long), darker (80%) or brighter, maybe branched."""
    n, h, w, _ = x.shape
    yy, xx = _grid(h, w)
    side = float(min(h, w))
    k = 10
    start = np.stack([rng.uniform(0.2, 0.8, n) * h, rng.uniform(0.2, 0.8, n) * w], axis=1)
    main = _walk(rng, start, k, np.asarray(rng.uniform(0.25, 0.7, size=n)) * side / k, 0.45)
    branch = _walk(
        rng,
        main[:, rng.integers(2, k - 1)],
        k // 2,
        np.asarray(rng.uniform(0.08, 0.25, size=n)) * side / k * 2,
        0.5,
    )
    has_branch = np.asarray(rng.random(size=n) < 0.5)
    d = _segment_distance(yy, xx, main[:, :-1], main[:, 1:])
    db = _segment_distance(yy, xx, branch[:, :-1], branch[:, 1:])
    d = np.where(has_branch[:, None, None], np.minimum(d, db), d)
    width = _u(rng, 0.3, 1.0, n)
    m = np.clip(width + 0.5 - d, 0, 1)
    dark = rng.random((n, 1, 1)) < 0.8
    depth = _u(rng, 0.35, 0.85, n)
    m = (m * depth)[..., None]
    return np.where(dark[..., None], x * (1 - m), x + (1 - x) * m).astype(np.float32)


def hole(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1-3 small round spots (radius 1.5-6% of the side), dark (70%) or bright, with soft edges."""
    n, h, w, _ = x.shape
    yy, xx = _grid(h, w)
    side = float(min(h, w))
    out = x.copy()
    count = rng.integers(1, 4, size=n)
    for j in range(3):
        on = np.asarray(count > j)[:, None, None]
        cy, cx = _u(rng, 0.1, 0.9, n) * h, _u(rng, 0.1, 0.9, n) * w
        r = _u(rng, 0.015, 0.06, n) * side + 0.7
        ecc = _u(rng, 0.7, 1.4, n)
        d = np.sqrt(((yy - cy) * ecc) ** 2 + ((xx - cx) / ecc) ** 2)
        m = (np.clip(r - d + 0.5, 0, 1) * on * _u(rng, 0.5, 0.95, n))[..., None]
        dark = (rng.random((n, 1, 1)) < 0.7)[..., None]
        out = np.where(dark, out * (1 - m), out + (1 - out) * m)
    return out.astype(np.float32)


def pit(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The pit spill looks (``spillguard.data.spill_looks.make_spills``)."""
    return make_spills(x, rng)


LOOKS: dict[str, Look] = {"draem": draem, "cutpaste": cutpaste, "crack": crack, "hole": hole, "pit": pit}


def _numeric_text(value: object) -> bool:
    """True for text that reads as a number (YAML 1.1 takes ``1e3`` without a dot as a string)."""
    try:
        return isinstance(value, str) and math.isfinite(float(value))
    except ValueError:
        return False


def check_mix(mix: Mapping[str, float]) -> str | None:
    """None when ``mix`` is a valid look -> weight mapping, else what is wrong (one line)."""
    unknown = sorted(set(mix) - set(LOOKS))
    if unknown:
        return f"unknown anomaly look '{unknown[0]}'; choose from {', '.join(LOOKS)}"
    for name, value in mix.items():  # NaN, inf, true, "1e3" (YAML text), [1]: refused by name
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
            or value < 0
        ):
            shown = repr(value) if isinstance(value, str) else str(value).lower()
            hint = " (YAML reads 1e3 as text: write 1000 or 1.0e+3)" if _numeric_text(value) else ""
            return f"the weight of '{name}' is {shown}, not a finite number >= 0{hint}"
    total = sum(float(v) for v in mix.values())
    if not 0 < total < math.inf:
        return "anomaly weights must be >= 0, not all 0, and sum to a finite number"
    return None


def make_anomalies(
    x: np.ndarray, rng: np.random.Generator, mix: Mapping[str, float] | None = None, grey: bool = False
) -> np.ndarray:
    """An anomalous copy of every image of ``x`` (N, H, W, 3) in [0, 1], one look each by ``mix``.

    ``grey``: return greyscale (equal channels), so that colour is no shortcut on greyscale data.
    """
    mix = dict(DEFAULT_MIX if mix is None else mix)
    names = [k for k in LOOKS if mix.get(k, 0) > 0]
    p = np.array([mix[k] for k in names], np.float64)
    # one look: no draw (pit-only training keeps the random stream, and results, of make_spills)
    kind = rng.choice(len(names), size=len(x), p=p / p.sum()) if len(names) > 1 else np.zeros(len(x), int)
    out = np.asarray(x, np.float32).copy()
    for j, name in enumerate(names):
        idx = np.flatnonzero(kind == j)
        if len(idx):
            out[idx] = LOOKS[name](out[idx], rng)
    out = np.clip(out, 0, 1)
    if grey:
        out[:] = out.mean(axis=3, keepdims=True)
    return out
