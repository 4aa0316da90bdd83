"""Grids and captioned montages of RGBA avatars (composited on a light grey background)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from sharedcore.atomic import atomic_path
from sharedcore.figures import save_figure

BACKGROUND = (236, 236, 236)


def on_background(img: np.ndarray, colour: tuple[int, int, int] = BACKGROUND) -> np.ndarray:
    """Composite one RGBA image (H, W, 4) over a flat colour -> RGB uint8 (H, W, 3)."""
    a = img[..., 3:4].astype(np.float32) / 255.0
    rgb = img[..., :3].astype(np.float32) * a + np.array(colour, np.float32) * (1.0 - a)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def grid(images: np.ndarray, ncols: int = 5, pad: int = 8) -> np.ndarray:
    """Tile RGBA images (N, H, W, 4) into one RGB image with ``ncols`` columns and white padding."""
    n, h, w, _ = images.shape
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3), 255, np.uint8)
    for k in range(n):
        r, c = divmod(k, ncols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y : y + h, x : x + w] = on_background(images[k])
    return out


def save_grid(images: np.ndarray, path: str | os.PathLike[str], ncols: int = 5, force: bool = True) -> Path:
    """Write :func:`grid` of ``images`` as a PNG (atomic, reproducible bytes)."""
    with atomic_path(path, force) as tmp:
        Image.fromarray(grid(images, ncols)).save(tmp, format="PNG")
    return Path(path)


def save_png(img: np.ndarray, path: str | os.PathLike[str], force: bool = False) -> Path:
    """Write one RGBA avatar as an optimised PNG (atomic)."""
    with atomic_path(path, force) as tmp:
        Image.fromarray(np.ascontiguousarray(img), "RGBA").save(tmp, format="PNG", optimize=True)
    return Path(path)


def save_montage(
    rows: Sequence[tuple[str, np.ndarray]],
    path: str | os.PathLike[str],
    captions: Sequence[Sequence[str]] | None = None,
    cell: float = 1.9,
) -> Path:
    """One row per (label, images (n, H, W, 4)) side by side, with optional per-image captions."""
    ncols = max(len(imgs) for _, imgs in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(cell * ncols, cell * 1.12 * len(rows)), squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if c < len(imgs):
                ax.imshow(on_background(imgs[c]), interpolation="lanczos")
                if captions is not None and c < len(captions[r]):
                    ax.set_xlabel(captions[r][c], fontsize=7)
        axes[r][0].set_ylabel(label, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
