"""The model registry: a name in a config maps to an ``nn.Module`` class that reconstructs its input.

A registered class takes ``in_channels`` plus its own keyword parameters, maps (N, C, H, W) to a
reconstruction of the same shape, and may add a training penalty through ``regularisation()``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from torch import nn

from sharedcore.errors import UserError
from sharedcore.validate import check_float, check_int

MODELS: dict[str, type[nn.Module]] = {}
M = TypeVar("M", bound=type[nn.Module])


def register(name: str) -> Callable[[M], M]:
    """Class decorator: make a model buildable by ``name``."""

    def deco(cls: M) -> M:
        MODELS[name] = cls
        return cls

    return deco


#: Ranges of the integer parameters of registered models, by name (others: 1 .. 4096). Channel
#: widths stay within 1024 (a 3x3 convolution of 1024 -> 1024 channels is 38 MB of float32).
INT_RANGES: dict[str, tuple[int, int]] = {"stem": (0, 1024), "latent": (1, 4096), "items": (1, 100_000)}
WIDTH_MAX = 1024
#: Most stride-2 blocks (``widths`` entries): 2**6 = 64, the largest input side multiple.
DEPTH_MAX = 6
DEFAULT_WIDTHS = (16, 32, 64)


def check_params(name: str, params: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """``model_params`` of model ``name`` checked against its constructor: known names only, each of
    its declared type and range (ints, ``widths`` as 1..DEPTH_MAX channel counts, finite floats
    >= 0, true/false, text); returns them normalised. UserError naming the parameter otherwise."""
    if name not in MODELS:
        raise UserError(f"model '{name}' is unknown; choose one of {', '.join(sorted(MODELS))}")
    init = MODELS[name].__init__
    hints = typing.get_type_hints(init)
    known = [p for p in inspect.signature(init).parameters if p not in ("self", "in_channels")]
    out: dict[str, Any] = {}
    for key, value in params.items():
        field = f"{source}: field 'model_params', parameter '{key}'"
        if key not in known:
            raise UserError(
                f"{field}: model '{name}' has no such parameter; known: {', '.join(known) or 'none'}"
            )
        kind = hints.get(key)
        if kind is int:
            low, high = INT_RANGES.get(key, (1, 4096))
            out[key] = check_int(value, field, low, high)
        elif kind is float:
            out[key] = check_float(value, field, 0.0, 1e6)
        elif kind is bool:
            if not isinstance(value, bool):
                raise UserError(f"{field}: {value!r} is not true or false; write true or false")
            out[key] = value
        elif kind is str:
            if not isinstance(value, str):
                raise UserError(f"{field}: {value!r} is not text")
            out[key] = value
        elif typing.get_origin(kind) in (Sequence, list, tuple) or key == "widths":
            if not isinstance(value, list | tuple) or not 1 <= len(value) <= DEPTH_MAX:
                raise UserError(
                    f"{field}: {str(value)[:40]} is not a list of 1 to {DEPTH_MAX} channel counts; "
                    "e.g. [16, 32, 64]"
                )
            out[key] = [check_int(v, f"{field}[{i}]", 1, WIDTH_MAX) for i, v in enumerate(value)]
        else:  # pragma: no cover - a new model parameter type adds its check here
            raise UserError(f"{field}: parameters of type {kind} cannot be set from a config")
    return out


def depth(params: dict[str, Any]) -> int:
    """Stride-2 blocks of a model with these (checked) parameters: each halves the input size."""
    return len(params.get("widths", DEFAULT_WIDTHS))


def build_model(name: str | None, in_channels: int = 3, params: dict[str, Any] | None = None) -> nn.Module:
    """Instantiate a registered model; unknown names or parameters raise UserError. ``None`` (a
    config's model left open and not yet chosen from data) builds ``conv_ae_head``."""
    name = name or "conv_ae_head"
    params = check_params(name, params or {})
    try:
        return MODELS[name](in_channels=in_channels, **params)
    except TypeError as exc:
        raise UserError(f"model '{name}': bad model_params {params} ({exc}); fix the config") from None
