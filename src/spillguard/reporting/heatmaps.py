"""Anomaly maps as pictures: a heat colour map laid over the image, one PNG per image.

``overlay`` blends a map in [0, 1] (p(anomalous), or an error map scaled to it) over an image at
the image's own size, blue-transparent where the map is low and red-opaque where it is high;
``write_maps`` writes one ``<name>.png`` per image into a folder built atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from sharedcore.atomic import atomic_dir


class MapSource(Protocol):
    """What drawing needs of a detector: whether its maps are p(anomalous) in [0, 1]."""

    @property
    def maps_are_probabilities(self) -> bool: ...


#: heat colours at map values 0, 0.25, 0.5, 0.75, 1 (dark blue -> cyan -> yellow -> red)
_STOPS = np.array([[0, 0, 96], [0, 160, 255], [255, 230, 0], [255, 96, 0], [220, 0, 0]], dtype=np.float32)


def heat_colours(m: np.ndarray) -> np.ndarray:
    """Map values (H, W) in [0, 1] -> RGB float32 (H, W, 3) in [0, 255]."""
    t = np.clip(np.asarray(m, np.float32), 0, 1) * (len(_STOPS) - 1)
    lo = np.minimum(t.astype(int), len(_STOPS) - 2)
    f = (t - lo)[..., None]
    return _STOPS[lo] * (1 - f) + _STOPS[lo + 1] * f


def overlay(image: np.ndarray, amap: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with ``amap`` (h, w) in [0, 1] resized to (H, W) and blended over it
    (opacity 0.15 at 0 to 0.65 at 1) -> (H, W, 3) uint8."""
    h, w = image.shape[:2]
    m = np.asarray(
        Image.fromarray(np.asarray(amap, np.float32), mode="F").resize((w, h), Image.Resampling.BILINEAR)
    )
    m = np.clip(m, 0, 1)
    alpha = (0.15 + 0.5 * m)[..., None]
    out = image.astype(np.float32) * (1 - alpha) + heat_colours(m) * alpha
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def upsampled(maps: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    """Each map of (N, h, w) bilinearly resized to its shape (H, W) of ``shapes`` (float32)."""
    return [
        np.asarray(
            Image.fromarray(np.asarray(m, np.float32), mode="F").resize(
                (s[1], s[0]), Image.Resampling.BILINEAR
            )
        )
        for m, s in zip(maps, shapes, strict=True)
    ]


def display_maps(maps: np.ndarray, det: MapSource) -> np.ndarray:
    """Maps (N, h, w) in [0, 1] for drawing: probabilities as they are; error maps divided by the
    largest value of the batch (so the brightest spot of the worst image is red)."""
    if det.maps_are_probabilities:
        return np.clip(maps, 0, 1)
    return maps / max(float(maps.max()), 1e-12)


def map_names(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """One PNG name per image, from its file name (``a.jpg`` -> ``a.png``; a repeated stem gets ``_2``, ...)."""
    seen: dict[str, int] = {}
    out = []
    for p in paths:
        stem = Path(p).stem
        seen[stem] = seen.get(stem, 0) + 1
        out.append(f"{stem}.png" if seen[stem] == 1 else f"{stem}_{seen[stem]}.png")
    return out


def write_maps(
    folder: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    maps: np.ndarray,
    force: bool = False,
) -> Path:
    """Write ``folder``/<name>.png for each image file of ``paths``: its map (N, h, w) in [0, 1] laid
    over the image at its own size; the folder appears complete or not at all."""
    with atomic_dir(folder, force=force) as tmp:
        for p, name, m in zip(paths, map_names(paths), maps, strict=True):
            save_overlay(p, m, tmp / name)
    return Path(folder)


def save_overlay(image: str | os.PathLike[str], amap: np.ndarray, dest: Path) -> None:
    """Write ``amap`` (h, w) in [0, 1] laid over the image file ``image`` at its own size to ``dest`` (PNG)."""
    with Image.open(image) as im:
        rgb = np.asarray(im.convert("RGB"))
    Image.fromarray(overlay(rgb, amap)).save(dest, format="PNG")
