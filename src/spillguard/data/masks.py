"""Defect masks for judging where a model looks: one PNG per image, named as the image (``a.jpg``
-> ``a.png``), nonzero (255) where the defect is. Images without a mask file count as defect-free."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from sharedcore.errors import UserError


def load_masks(
    folder: str | os.PathLike[str], paths: Sequence[str | os.PathLike[str]], labels: np.ndarray
) -> list[np.ndarray]:
    """The mask (H, W) bool of each image of ``paths``, at the image's own size.

    A normal image (label 0) without a mask file is all False; a defect image (label 1) without one,
    a mask of another size than its image, or an unreadable file is a UserError naming it.
    """
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder of masks; give the folder holding <image name>.png masks")
    out = []
    for p, y in zip(paths, np.asarray(labels), strict=True):
        with Image.open(p) as im:
            w, h = im.size
        f = root / f"{Path(p).stem}.png"
        if not f.is_file():
            if y:
                raise UserError(
                    f"{f}: no mask for the defect image {p}; every defect image needs <name>.png in {root}"
                )
            out.append(np.zeros((h, w), bool))
            continue
        try:
            with Image.open(f) as im:
                m = np.asarray(im.convert("L")) > 127
        except Exception:
            raise UserError(f"{f}: not a readable PNG mask; save it as an 8-bit PNG, 255 = defect") from None
        if m.shape != (h, w):
            raise UserError(
                f"{f}: mask is {m.shape[1]}x{m.shape[0]} px, its image {p} {w}x{h}; masks must have their image's size"
            )
        out.append(m)
    return out
