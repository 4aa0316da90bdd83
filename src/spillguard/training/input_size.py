"""The network's input size chosen from the data when the config does not fix it.

Rule: the median height and width of the training images (read from file headers, no decoding),
scaled down uniformly (aspect ratio kept) when their product exceeds a pixel budget and then each
rounded down to a multiple of 8 (the model halves the size three times); within the budget each is
rounded to a multiple of 8, up when 3 px or more above one (small images shrink by at most 2 px),
cutting the longer side by 8 while the product still exceeds the budget. The real pit
crops (median 27x48 px) and the procedural pits (27.5x49) come out at 32x48, the size the pit results were measured at.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from sharedcore.images import shown_size

MULTIPLE = 8  # 2**3: three stride-2 blocks of the default model
DEFAULT_PIXELS = 128 * 128  # pixel budget of an automatically chosen input size


@dataclass(frozen=True)
class InputSizeChoice:
    """The chosen input size (pixels) and why: median source size, budget, images read."""

    height: int
    width: int
    median_height: float
    median_width: float
    pixel_budget: int
    n_read: int
    scaled: bool
    multiple: int = MULTIPLE

    def describe(self) -> str:
        """One line for the console and the report."""
        how = (
            f"scaled to fit a budget of {self.pixel_budget} pixels, aspect kept"
            if self.scaled
            else f"within the budget of {self.pixel_budget} pixels"
        )
        return (
            f"input size {self.height}x{self.width} (height x width) chosen from the median image size "
            f"{self.median_height:g}x{self.median_width:g} of {self.n_read} training images ({how}, "
            f"multiples of {self.multiple}); set height/width in a config to fix it"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def _round(v: float, up: bool, m: int = MULTIPLE) -> int:
    return max(m, m * math.floor((v + (m - 3 if up else 0)) / m + 1e-9))


def choose_input_size(
    sizes: Sequence[tuple[int, int]] | np.ndarray,
    pixel_budget: int = DEFAULT_PIXELS,
    multiple: int = MULTIPLE,
) -> InputSizeChoice:
    """Input (height, width) from source image sizes ``sizes`` = [(height, width), ...] in pixels;
    each a multiple of ``multiple`` (2**stride-2 blocks of the model; ``TrainConfig.size_multiple``)."""
    hw = np.asarray(sizes, dtype=np.float64).reshape(-1, 2)
    if len(hw) == 0:
        raise ValueError("no image sizes to choose an input size from")
    mh, mw = (float(v) for v in np.median(hw, axis=0))
    scale = min(1.0, math.sqrt(pixel_budget / (mh * mw)))
    m = multiple
    h, w = _round(mh * scale, scale >= 1.0, m), _round(mw * scale, scale >= 1.0, m)
    while h * w > pixel_budget and max(h, w) > m:  # rounding up may overshoot it
        if h >= w:
            h -= m
        else:
            w -= m
    return InputSizeChoice(h, w, mh, mw, int(pixel_budget), len(hw), scale < 1.0, m)


def image_sizes(
    paths: Sequence[str | os.PathLike[str]], limit: int = 2000, seed: int = 0
) -> list[tuple[int, int]]:
    """(height, width) of up to ``limit`` readable images (an evenly seeded sample), from headers only.

    The size is the one the loader decodes to: an EXIF orientation that turns the image swaps the two.
    """
    idx = np.arange(len(paths))
    if len(idx) > limit:
        idx = np.sort(np.random.default_rng(seed).choice(len(idx), limit, replace=False))
    out = []
    for i in idx:
        try:
            with Image.open(paths[int(i)]) as im:
                w, h = shown_size(im)
                out.append((h, w))
        except Exception:  # unreadable files are reported by the loader; here they are just not counted
            continue
    return out


def is_greyscale(images: np.ndarray, sample: int = 256, tol: int = 2) -> bool:
    """True when (N, H, W, 3) uint8 images have (nearly) equal channels: greyscale sources."""
    x = images[: max(1, sample)].astype(np.int16)
    return bool(len(x)) and int(np.abs(x - x[..., :1]).max()) <= tol
