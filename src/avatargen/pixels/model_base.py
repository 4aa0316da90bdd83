"""What the pixel models share: the checks of their inputs, and the per-pixel likelihood surface of the
models that have one (literal, joint; the part-based model draws but gives no likelihood)."""

from __future__ import annotations

from typing import Self

import numpy as np

from sharedcore.errors import UserError
from sharedcore.validate import check_float

#: Largest smoothing pseudo-count: beyond it every sampled value is (almost surely) noise.
ALPHA_MAX = 1e9


def check_alpha(alpha: float, name: str = "--alpha") -> float:
    """Validate an additive-smoothing pseudo-count (0 = plain MLE) and return it as a float."""
    return check_float(alpha, name, 0.0, ALPHA_MAX, fix="0 is plain MLE")


def check_images(images: np.ndarray) -> np.ndarray:
    """Validate a (N, H, W, 4) uint8 stack of RGBA images and return it."""
    arr = np.asarray(images)
    if arr.ndim != 4 or arr.shape[3] != 4 or arr.dtype != np.uint8 or arr.shape[0] < 1:
        raise UserError(
            f"images: got dtype {arr.dtype} and shape {arr.shape}; pass uint8 RGBA images of shape (N, H, W, 4)"
        )
    return arr


class PerPixelLikelihood:
    """Base of a fitted model with a likelihood per pixel: subclasses give ``bits_per_pixel`` and set
    ``shape_`` = (H, W) in ``fit``; scores follow from them. ``isinstance`` on it is the capability."""

    alpha: float
    shape_: tuple[int, int]

    def __init__(self, alpha: float = 0.0) -> None:
        self.alpha = check_alpha(alpha)

    def fit(self, images: np.ndarray) -> Self:
        """Estimate from ``images`` (N, H, W, 4) uint8."""
        raise NotImplementedError

    def bits_per_pixel(self, images: np.ndarray) -> np.ndarray:
        """Negative log2-likelihood of each image per pixel -> (n,)."""
        raise NotImplementedError

    def score_samples(self, images: np.ndarray) -> np.ndarray:
        """Mean log2-likelihood per pixel of each image (bits, higher is better) -> (n,); the
        negative of ``bits_per_pixel``."""
        return -self.bits_per_pixel(images)

    def score(self, images: np.ndarray) -> float:
        """Mean log2-likelihood per pixel over ``images``: one number, the mean of ``score_samples``
        (higher is better; -inf if a value was never seen and alpha=0)."""
        return float(self.score_samples(images).mean())

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the images the model draws."""
        return (int(self.shape_[0]), int(self.shape_[1]))
