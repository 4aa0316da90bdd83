"""The pixel models by name, and loading any saved one."""

from __future__ import annotations

import os
from typing import Any, Protocol

import numpy as np

from avatargen.choices import DEFAULT_PIXEL_METHOD
from avatargen.pixels.joint import JointColourModel
from avatargen.pixels.literal import LiteralPixelModel
from avatargen.pixels.modelfile import read_model_file
from avatargen.pixels.part_model import PartBasedModel
from sharedcore.errors import UserError


class PixelModel(Protocol):
    """What every pixel model offers."""

    method: str

    @property
    def image_shape(self) -> tuple[int, int]: ...

    def fit(self, images: np.ndarray) -> Any: ...
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray: ...
    def save(self, path: str | os.PathLike[str], force: bool = False) -> Any: ...


METHODS: dict[str, Any] = {
    "literal": LiteralPixelModel,
    "joint": JointColourModel,
    "parts": PartBasedModel,
}
DEFAULT_METHOD = DEFAULT_PIXEL_METHOD
"""The coherent model: used by `pixels fit` and `pixels sample` unless another method is named."""


def make_model(method: str, alpha: float = 0.0) -> PixelModel:
    """A fresh, unfitted model of ``method`` with smoothing ``alpha``."""
    if method not in METHODS:
        raise UserError(f"--method: value '{method}' is unknown; use one of {', '.join(METHODS)}")
    model: PixelModel = METHODS[method](alpha=alpha)
    return model


def load_model(path: str | os.PathLike[str]) -> PixelModel:
    """Load a model file written by any method's ``save``."""
    method, _, _ = read_model_file(path)
    if method not in METHODS:
        raise UserError(f"{path}: holds an unknown method '{method}'; refit it with `avatargen pixels fit`")
    model: PixelModel = METHODS[method].load(path)
    return model
