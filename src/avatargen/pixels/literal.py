"""The literal baseline: every channel of every pixel an independent categorical (MLE).

p(x[i, c] = v) = (count of v among the N training values at (i, c) + alpha) / (N + 256 alpha).
Known to give colour noise: channels of one pixel are drawn independently.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avatargen.pixels import valuelists
from avatargen.pixels.model_base import PerPixelLikelihood, check_images
from avatargen.pixels.modelfile import read_table_model, write_table_model

_ALL_BYTES = np.arange(256, dtype=np.uint8)


class LiteralPixelModel(PerPixelLikelihood):
    """Independent per-pixel-channel categorical distributions estimated by MLE.

    ``alpha`` is additive (Laplace/Dirichlet) smoothing over the 256 values of each channel;
    0 is the plain MLE.
    """

    method = "literal"

    def fit(self, images: np.ndarray) -> LiteralPixelModel:
        """Estimate from ``images`` (N, H, W, 4) uint8."""
        arr = check_images(images)
        self.n_images_, h, w, _ = arr.shape
        self.shape_ = (h, w)
        self.table_ = valuelists.build_table(arr.reshape(arr.shape[0], -1))
        return self

    @property
    def _smooth_share(self) -> float:
        n = self.table_.shape[1]
        return 256 * self.alpha / (n + 256 * self.alpha)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` avatars -> uint8 (n, H, W, 4)."""
        flat = valuelists.draw(self.table_, n, rng, self._smooth_share, _ALL_BYTES)
        return flat.reshape(n, *self.shape_, 4)

    def bits_per_pixel(self, images: np.ndarray) -> np.ndarray:
        """Negative log2-likelihood of each image per pixel (all four channels) -> (n,)."""
        arr = check_images(images)
        n_train = self.table_.shape[1]
        out = np.empty(arr.shape[0])
        with np.errstate(divide="ignore"):
            for k, x in enumerate(arr.reshape(arr.shape[0], -1)):
                p = (valuelists.counts(self.table_, x) + self.alpha) / (n_train + 256 * self.alpha)
                out[k] = -np.log2(p).sum() / (self.shape_[0] * self.shape_[1])
        return out

    def save(self, path: str | os.PathLike[str], force: bool = False) -> Path:
        """Write the model to an ``.npz`` file."""
        return write_table_model(path, self.method, self.alpha, self.shape_, {"table": self.table_}, force)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LiteralPixelModel:
        """Read a model written by :meth:`save`."""
        alpha, shape, arrays = read_table_model(
            path, cls.method, lambda h, w: {"table": ("u", (h * w * 4, "N"))}, np.uint8
        )
        model = cls(alpha=alpha)
        model.table_ = arrays["table"]
        model.shape_ = shape
        model.n_images_ = int(model.table_.shape[1])
        return model
