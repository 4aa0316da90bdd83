"""Checkpoint files: weights, config, normalisation and thresholds with a format version inside."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from sharedcore.atomic import atomic_path
from sharedcore.errors import UserError

FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any], force: bool = False) -> Path:
    """Write ``payload`` (tensors, dicts, lists, numbers, strings) atomically with the format version."""
    with atomic_path(path, force) as tmp:
        torch.save({**payload, "format_version": FORMAT_VERSION}, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint; UserError if missing, unreadable, or of another format version."""
    p = Path(path)
    if p.is_dir():
        p = p / "checkpoint.pt"
    if not p.is_file():
        raise UserError(f"{p}: no such checkpoint; point to a run folder made by 'spillguard train'")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign or truncated files
        raise UserError(
            f"{p}: not a readable spillguard checkpoint ({type(exc).__name__}); retrain or fix the path"
        ) from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise UserError(
            f"{p}: not a spillguard checkpoint (no format_version); retrain with 'spillguard train'"
        )
    version = data["format_version"]
    if isinstance(version, bool) or not isinstance(version, int) or version != FORMAT_VERSION:
        shown = (
            version if isinstance(version, int) and not isinstance(version, bool) else repr(str(version)[:20])
        )
        raise UserError(
            f"{p}: checkpoint format version {shown} found, version {FORMAT_VERSION} expected; "
            "retrain with this spillguard version"
        )
    return data


def damaged(path: str | os.PathLike[str], what: str) -> UserError:
    """The one message of a checkpoint that passed the version check but whose contents are wrong."""
    return UserError(f"damaged model file: {path}: {what}; retrain or re-save it ('spillguard train')")


def entry(data: dict[str, Any], key: str, kind: type | tuple[type, ...], path: str | os.PathLike[str]) -> Any:
    """``data[key]`` when present and of ``kind``, else a "damaged model file" UserError."""
    if key not in data:
        raise damaged(path, f"entry '{key}' is missing")
    value = data[key]
    if not isinstance(value, kind):
        raise damaged(path, f"entry '{key}' is a {type(value).__name__}, not what spillguard saves")
    return value
