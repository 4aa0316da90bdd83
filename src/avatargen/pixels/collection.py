"""A collection of avatar images as one RGBA array, loaded from a folder or given in memory.

Images of other sizes are resized to one stated common size (the most frequent size unless
``size`` is given); RGB, RGBA, palette and greyscale images are converted to RGBA; corrupt and
non-image files are listed as skips, never a traceback.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from sharedcore.errors import UserError
from sharedcore.images import convert_mode, open_image, require_images, scan_folder


@dataclass
class Collection:
    """Avatars as a uint8 array ``images`` of shape (N, H, W, 4), with their names.

    ``size`` is (width, height); ``skipped`` lists (file, reason) for files passed over and
    ``resized`` the names of images that were resized to ``size``.
    """

    images: np.ndarray
    names: list[str]
    size: tuple[int, int]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    resized: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _common_size(sizes: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The most frequent (width, height); ties go to the larger area."""
    counts = Counter(sizes)
    return max(counts, key=lambda s: (counts[s], s[0] * s[1], s))


def _resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    return img.resize(size, Image.Resampling.BILINEAR)


def from_images(
    images: Sequence[Image.Image | np.ndarray],
    names: Sequence[str] | None = None,
    size: tuple[int, int] | None = None,
) -> Collection:
    """Build a collection from Pillow images or uint8 arrays ((H,W), (H,W,3) or (H,W,4))."""
    if len(images) == 0:
        raise UserError("no images given; pass at least one avatar image")
    pil: list[Image.Image] = []
    for k, im in enumerate(images):
        if isinstance(im, Image.Image):
            pil.append(convert_mode(im, "RGBA"))
            continue
        arr = np.asarray(im)
        if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
            raise UserError(
                f"image {k}: array of dtype {arr.dtype} and shape {arr.shape} is not an image; "
                "pass uint8 arrays of shape (H, W), (H, W, 3) or (H, W, 4)"
            )
        pil.append(convert_mode(Image.fromarray(arr), "RGBA"))
    labels = list(names) if names is not None else [f"image_{k:03d}" for k in range(len(pil))]
    target = size or _common_size([p.size for p in pil])
    resized = [n for n, p in zip(labels, pil, strict=True) if p.size != target]
    arrs = [np.asarray(p if p.size == target else _resize(p, target), dtype=np.uint8) for p in pil]
    return Collection(np.stack(arrs), labels, target, [], resized)


def load_collection(folder: str | os.PathLike[str], size: tuple[int, int] | None = None) -> Collection:
    """Load every readable image of ``folder`` (sorted by name) as RGBA at a common size.

    Raises UserError when the folder is missing or holds no readable image.
    """
    scan = scan_folder(folder)
    paths = require_images(scan, folder)
    skipped = list(scan.skipped)
    pil: list[Image.Image] = []
    names: list[str] = []
    for p in paths:
        try:
            pil.append(open_image(p, "RGBA", reduce_to=size))  # large images reduced while decoding
        except UserError as exc:  # truncated files pass verify() but fail to decode
            skipped.append((p, str(exc).removeprefix(f"{p}: ")))
            continue
        names.append(p.name)
    if not pil:
        raise UserError(f"{folder}: no readable images found; point to a folder of PNG/JPEG files")
    col = from_images(pil, names, size)
    col.skipped = skipped
    return col
