"""Joint colour per pixel: RGBA as one categorical value per pixel over the training palette (MLE).

p(x[i] = c) = (count of c among the N training colours at pixel i + alpha) / (N + alpha (K + 1)) for
the K palette colours; the remaining alpha share ("escape") is spread evenly over all other RGBA values.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avatargen.pixels import valuelists
from avatargen.pixels.model_base import PerPixelLikelihood, check_images
from avatargen.pixels.modelfile import read_table_model, write_table_model

_N_RGBA = 2**32


def pack(images: np.ndarray) -> np.ndarray:
    """(…, 4) uint8 RGBA -> (…) uint32 colour codes (byte order preserved)."""
    arr = np.ascontiguousarray(images, dtype=np.uint8)
    return arr.view(np.uint32)[..., 0]


def unpack(codes: np.ndarray) -> np.ndarray:
    """(…) uint32 colour codes -> (…, 4) uint8 RGBA."""
    return np.ascontiguousarray(codes, dtype=np.uint32)[..., None].view(np.uint8)


class JointColourModel(PerPixelLikelihood):
    """Per-pixel categorical over whole RGBA colours, estimated by MLE (optional smoothing ``alpha``)."""

    method = "joint"

    def fit(self, images: np.ndarray) -> JointColourModel:
        """Estimate from ``images`` (N, H, W, 4) uint8."""
        arr = check_images(images)
        self.n_images_, h, w, _ = arr.shape
        self.shape_ = (h, w)
        codes = pack(arr).reshape(arr.shape[0], -1)
        self.table_ = valuelists.build_table(codes)
        self.palette_ = np.unique(codes)
        return self

    def _denominator(self) -> float:
        return self.table_.shape[1] + self.alpha * (len(self.palette_) + 1)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` avatars -> uint8 (n, H, W, 4); smoothing mass goes to palette colours."""
        share = self.alpha * len(self.palette_) / self._denominator()
        codes = valuelists.draw(self.table_, n, rng, share, self.palette_)
        return unpack(codes).reshape(n, *self.shape_, 4)

    def bits_per_pixel(self, images: np.ndarray) -> np.ndarray:
        """Negative log2-likelihood per pixel of each image -> (n,)."""
        arr = check_images(images)
        den = self._denominator()
        escape = self.alpha / den / (_N_RGBA - len(self.palette_))
        out = np.empty(arr.shape[0])
        with np.errstate(divide="ignore"):
            for k, x in enumerate(pack(arr).reshape(arr.shape[0], -1)):
                c = valuelists.counts(self.table_, x)
                in_palette = np.isin(x, self.palette_)
                p = np.where(in_palette, (c + self.alpha) / den, escape)
                out[k] = -np.log2(p).sum() / x.size
        return out

    def save(self, path: str | os.PathLike[str], force: bool = False) -> Path:
        """Write the model to an ``.npz`` file."""
        arrays = {"table": self.table_, "palette": self.palette_}
        return write_table_model(path, self.method, self.alpha, self.shape_, arrays, force)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> JointColourModel:
        """Read a model written by :meth:`save`."""
        alpha, shape, arrays = read_table_model(
            path, cls.method, lambda h, w: {"table": ("u", (h * w, "N")), "palette": ("u", ("K",))}, np.uint32
        )
        model = cls(alpha=alpha)
        model.table_ = arrays["table"]
        model.palette_ = arrays["palette"]
        model.shape_ = shape
        model.n_images_ = int(model.table_.shape[1])
        return model
