"""Speed of the pixel models: fit on the 11 course images, sample 100 avatars at 528x560.

Baseline (same run): a straightforward numpy per-channel sampler — for every pixel-channel draw one
training image index (rng.integers) and gather with fancy indexing from the (N, H, W, 4) stack.
Target: the literal method at least 50 avatars/s. Skips cleanly without ../shared.
Run: PYTHONPATH=src python benchmarks/bench_pixels.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from avatargen.pixels.collection import load_collection
from avatargen.pixels.methods import METHODS, make_model

N_SAMPLES = 100


def baseline_sample(images: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Per-channel MLE sampling the plain way: one index per pixel-channel, gathered from the stack."""
    _, h, w, c = images.shape
    out = np.empty((n, h, w, c), np.uint8)
    yy, xx, cc = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    for k in range(n):
        idx = rng.integers(0, images.shape[0], size=(h, w, c))
        out[k] = images[idx, yy, xx, cc]
    return out


def main() -> int:
    shared = Path(os.environ.get("SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))
    course = shared / "data" / "avatars" / "course"
    if not course.is_dir():
        print(f"skip: course images not found at {course} (set SHARED_DIR)")
        return 0
    images = load_collection(course).images
    print(
        f"data: {course} ({images.shape[0]} images, {images.shape[2]}x{images.shape[1]} RGBA); {N_SAMPLES} samples"
    )
    t0 = time.perf_counter()
    baseline_sample(images, N_SAMPLES, np.random.default_rng(0))
    base_rate = N_SAMPLES / (time.perf_counter() - t0)
    rows = [("numpy per-channel baseline", 0.0, base_rate)]
    for method in METHODS:
        t0 = time.perf_counter()
        model = make_model(method).fit(images)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.sample(N_SAMPLES, np.random.default_rng(0))
        rows.append((method, fit_s, N_SAMPLES / (time.perf_counter() - t0)))
    print(f"{'method':28s} {'fit s':>7s} {'avatars/s':>10s} {'vs baseline':>12s}")
    for name, fit_s, rate in rows:
        print(f"{name:28s} {fit_s:7.2f} {rate:10.1f} {rate / base_rate:11.2f}x")
    literal = dict((r[0], r[2]) for r in rows)["literal"]
    print(f"literal target >= 50 avatars/s: {'met' if literal >= 50 else 'NOT met'} ({literal:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
