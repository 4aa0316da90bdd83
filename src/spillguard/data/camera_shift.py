"""Simulated camera and lighting shift, to choose settings without test labels.

The test normals of the real data are known to be more varied than the training normals (lighting,
saturation and contrast, reframed crops, occlusions). ``perturb`` applies such changes at random to
uint8 images; scoring perturbed validation normals against perturbed known spills gives a
"shifted validation" AUC that rewards robustness to that kind of shift. No test image is used.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def perturb(images: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Randomly relight, re-saturate, reframe and partly occlude (N, H, W, 3) uint8 images."""
    n, h, w, _ = images.shape
    x = images.astype(np.float32) / 255

    def u(lo: float, hi: float) -> np.ndarray:
        return rng.uniform(lo, hi, (n, 1, 1, 1)).astype(np.float32)

    grey = x.mean(axis=3, keepdims=True)
    x = grey + (x - grey) * (1 + strength * u(-0.3, 0.8))  # saturation
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    x = (x - mean) * (1 + strength * u(-0.2, 0.5)) + mean  # contrast
    x = x * (1 + strength * u(-0.25, 0.25))  # brightness
    x = np.clip(x, 0, 1) ** np.exp(strength * u(-0.25, 0.25))  # gamma
    out = (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
    for i in range(n):  # reframing: crop 80-100 % at a random place, resize back
        s = 1 - strength * rng.uniform(0, 0.2)
        ch, cw = max(2, round(h * s)), max(2, round(w * s))
        y0, x0 = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = Image.fromarray(out[i, y0 : y0 + ch, x0 : x0 + cw]).resize((w, h), Image.Resampling.BILINEAR)
        out[i] = np.asarray(crop)
        if rng.random() < 0.25 * strength:  # occlusion: a dark band at an edge
            k = int(rng.integers(2, max(3, h // 4)))
            out[i, :k] = (out[i, :k] * 0.35).astype(np.uint8)
    return out
