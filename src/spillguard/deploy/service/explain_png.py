"""The explanation strip of one image as a PNG: input | reconstruction | error map, at the model's
pixel size (pages enlarge it with CSS ``image-rendering: pixelated``; ``scale`` enlarges it here)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib import colormaps
from PIL import Image

_INFERNO = (colormaps["inferno"](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)


def error_colours(err: np.ndarray) -> np.ndarray:
    """(H, W) error -> (H, W, 3) uint8, inferno, scaled to the image's own maximum."""
    top = float(err.max()) or 1.0
    return _INFERNO[np.clip(err / top * 255, 0, 255).astype(np.uint8)]


def explain_strip(x: np.ndarray, rec: np.ndarray, err: np.ndarray, scale: int = 1, gap: int = 2) -> bytes:
    """PNG bytes of input (H, W, 3) [0, 1], reconstruction (H, W, 3) [0, 1] and error (H, W), side by side."""
    h, w = err.shape
    strip = np.full((h, 3 * w + 2 * gap, 3), 255, dtype=np.uint8)
    strip[:, :w] = np.clip(x * 255, 0, 255).astype(np.uint8)
    strip[:, w + gap : 2 * w + gap] = np.clip(rec * 255, 0, 255).astype(np.uint8)
    strip[:, 2 * (w + gap) :] = error_colours(err)
    if scale > 1:
        strip = strip.repeat(scale, axis=0).repeat(scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(strip, "RGB").save(buf, format="PNG")
    return buf.getvalue()


def error_png(err: np.ndarray, scale: int = 1) -> bytes:
    """PNG bytes of the error map alone (H, W), inferno."""
    img = error_colours(err)
    if scale > 1:
        img = img.repeat(scale, axis=0).repeat(scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(img, "RGB").save(buf, format="PNG")
    return buf.getvalue()
