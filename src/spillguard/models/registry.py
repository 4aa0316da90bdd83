"""The model registry: a name in a config maps to an ``nn.Module`` class that reconstructs its input.

A registered class takes ``in_channels`` plus its own keyword parameters, maps (N, C, H, W) to a
reconstruction of the same shape, and may add a training penalty through ``regularisation()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from sharedcore.errors import UserError

MODELS: dict[str, type[nn.Module]] = {}
M = TypeVar("M", bound=type[nn.Module])


def register(name: str) -> Callable[[M], M]:
    """Class decorator: make a model buildable by ``name``."""

    def deco(cls: M) -> M:
        MODELS[name] = cls
        return cls

    return deco


def build_model(name: str, in_channels: int = 3, params: dict[str, Any] | None = None) -> nn.Module:
    """Instantiate a registered model; unknown names or parameters raise UserError."""
    if name not in MODELS:
        raise UserError(f"model '{name}' is unknown; choose one of {', '.join(sorted(MODELS))}")
    try:
        return MODELS[name](in_channels=in_channels, **(params or {}))
    except TypeError as exc:
        raise UserError(f"model '{name}': bad model_params {params} ({exc}); fix the config") from None
