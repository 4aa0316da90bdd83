"""The pixel-model file: one ``.npz`` holding the method name, a format version, parameters
(as JSON) and the learned arrays. Written atomically; a wrong version is a clear UserError."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from sharedcore.atomic import write_bytes
from sharedcore.errors import UserError

FORMAT_VERSION = 1


def write_model_file(
    path: str | os.PathLike[str],
    method: str,
    params: dict[str, Any],
    arrays: dict[str, np.ndarray],
    force: bool = False,
) -> Path:
    """Write ``arrays`` plus method, params and FORMAT_VERSION to ``path`` (compressed npz)."""
    buf = io.BytesIO()
    meta = {"method": method, "format_version": FORMAT_VERSION, "params": params}
    payload: dict[str, Any] = {"__meta__": np.array(json.dumps(meta, sort_keys=True)), **arrays}
    np.savez_compressed(buf, **payload)
    return write_bytes(path, buf.getvalue(), force=force)


def read_model_file(
    path: str | os.PathLike[str], method: str | None = None
) -> tuple[str, dict[str, Any], dict[str, np.ndarray]]:
    """Read a model file; return (method, params, arrays).

    Raises UserError if the file is missing, not a model file, of another format version, or
    (when ``method`` is given) holds another method.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such model file; create one with `avatargen pixels fit`")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("__meta__")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
        raise UserError(f"{p}: not a pixel-model file; create one with `avatargen pixels fit`") from None
    found = meta.get("format_version")
    if found != FORMAT_VERSION:
        raise UserError(
            f"{p}: model format_version {found}, expected {FORMAT_VERSION}; refit it with `avatargen pixels fit`"
        )
    if method is not None and meta.get("method") != method:
        raise UserError(
            f"{p}: holds a '{meta.get('method')}' model, expected '{method}'; load it with that method"
        )
    return str(meta["method"]), dict(meta.get("params", {})), arrays
