"""The pixel-model file: one ``.npz`` holding the method name, a format version, parameters
(as JSON) and the learned arrays. Written atomically; a wrong version is a clear UserError, and so
are contents that pass the version check but are not what the method saves (:func:`check_arrays`:
each method declares its arrays' dtypes and shapes): "damaged model file: <path>: <what>"."""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npformat

from sharedcore.atomic import write_bytes
from sharedcore.errors import UserError

FORMAT_VERSION = 2


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
        arrays = _read_npz(p)
        meta = json.loads(str(arrays.pop("__meta__")))
    except _Damaged as exc:
        raise damaged(p, str(exc)) from None
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        RecursionError,
        NotImplementedError,  # a zip compression method Python does not have
        RuntimeError,  # an encrypted zip member
    ):
        raise UserError(f"{p}: not a pixel-model file; create one with `avatargen pixels fit`") from None
    if not isinstance(meta, dict):
        raise UserError(f"{p}: not a pixel-model file; create one with `avatargen pixels fit`")
    found = meta.get("format_version")
    if type(found) is not int or found != FORMAT_VERSION:  # 2.0 or a string are not the version
        raise UserError(
            f"{p}: model format_version {found}, expected {FORMAT_VERSION}; refit it with `avatargen pixels fit`"
        )
    if method is not None and meta.get("method") != method:
        raise UserError(
            f"{p}: holds a '{meta.get('method')}' model, expected '{method}'; load it with that method"
        )
    params = meta.get("params", {})
    if not isinstance(meta.get("method"), str) or not isinstance(params, dict):
        raise damaged(p, "no method name or parameters")
    return meta["method"], params, arrays


#: Most bytes the arrays of one model file may hold once decompressed (the parts model of 200
#: avatars at 528x560 is about 0.5 GB): a header declaring more is refused before any allocation.
MODEL_BYTES_MAX = 4 * 2**30


class _Damaged(ValueError):
    """An archive member whose header disagrees with its contents (said as "damaged model file")."""


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` archive, each header checked against the bytes it holds before any
    array is allocated (a header declaring 10**11 bytes is an error, not a 93 GB allocation); no pickles."""
    with path.open("rb") as fh:
        if fh.read(4) != b"PK\x03\x04":  # e.g. a bare .npy, a JSON file, random bytes
            raise ValueError("not an npz archive")
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
        total = sum(m.file_size for m in members)
        if total > MODEL_BYTES_MAX:
            raise _Damaged(f"its arrays would take {total:,} bytes, over the limit of {MODEL_BYTES_MAX:,}")
        for m in members:
            name = m.filename.removesuffix(".npy")
            with zf.open(m) as fh:
                version = npformat.read_magic(fh)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f"npy format {version}")
                read_header = (
                    npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(fh)
                if dtype.hasobject:
                    raise ValueError("object arrays (pickles) are not model data")
                want = math.prod(shape) * dtype.itemsize
                got = m.file_size - fh.tell()
                if got != want:
                    raise _Damaged(
                        f"array '{name}' declares shape {shape} ({want:,} bytes) but holds {got:,} bytes"
                    )
                arr = np.frombuffer(fh.read(want), dtype=dtype)
            out[name] = arr.reshape(shape, order="F" if fortran else "C").copy()
    return out


def damaged(path: str | os.PathLike[str], what: str) -> UserError:
    """The one message of a model file that passed the version check but whose contents are wrong."""
    return UserError(f"damaged model file: {path}: {what}; retrain or re-save it (`avatargen pixels fit`)")


#: An array's declared shape: ints are fixed sizes, strings are sizes shared between arrays.
Shape = tuple[int | str, ...]


def check_arrays(
    path: str | os.PathLike[str],
    arrays: Mapping[str, np.ndarray],
    spec: Mapping[str, tuple[str, Shape]],
    sizes: dict[str, int] | None = None,
) -> dict[str, int]:
    """Check the arrays of a model file against ``spec``: name -> (dtype kinds, shape), e.g.
    ``{"table": ("u", ("S", "N"))}``. Dtype kinds are numpy's (``u`` unsigned, ``b`` bool, ``f``
    float); a named size must be the same in every array and at least 1. Returns the sizes found
    (``sizes`` may fix some beforehand); anything else is a "damaged model file" UserError."""
    found = dict(sizes or {})
    extra = sorted(set(arrays) - set(spec))
    if extra:
        raise damaged(path, f"array '{extra[0]}' is not one this method saves ({', '.join(spec)})")
    for name, (kinds, shape) in spec.items():
        if name not in arrays:
            raise damaged(path, f"array '{name}' is missing")
        a = arrays[name]
        if a.dtype.kind not in kinds:
            raise damaged(path, f"array '{name}' has dtype {a.dtype}, expected kind '{kinds}'")
        if a.ndim != len(shape):
            raise damaged(path, f"array '{name}' has {a.ndim} dimensions, expected {len(shape)}")
        for axis, (want, got) in enumerate(zip(shape, a.shape, strict=True)):
            if isinstance(want, str):
                want = found.setdefault(want, got)
            if got != want or got < 1:
                raise damaged(path, f"array '{name}' has shape {a.shape}: axis {axis} should be {want}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise damaged(path, f"array '{name}' holds NaN or infinite values")
    return found


def check_param(
    path: str | os.PathLike[str],
    params: Mapping[str, Any],
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    integer: bool = False,
    optional: bool = False,
) -> Any:
    """A number in ``params`` within [low, high] (None allowed with ``optional``), else "damaged"."""
    if name not in params:
        raise damaged(path, f"parameter '{name}' is missing")
    v = params[name]
    if v is None and optional:
        return None
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and (not integer or float(v).is_integer())
    if not ok or (low is not None and v < low) or (high is not None and v > high):
        raise damaged(path, f"parameter '{name}' is {v!r}, expected a number in [{low}, {high}]")
    return int(v) if integer else v


def check_shape_param(path: str | os.PathLike[str], params: Mapping[str, Any]) -> tuple[int, int]:
    """The image size ``shape`` = [H, W] of a model's parameters."""
    shape = params.get("shape")
    if not isinstance(shape, list) or len(shape) != 2:
        raise damaged(path, "parameter 'shape' is not [height, width]")
    h = check_param(path, {"height": shape[0]}, "height", 1, 65536, integer=True)
    w = check_param(path, {"width": shape[1]}, "width", 1, 65536, integer=True)
    return h, w


def write_table_model(
    path: str | os.PathLike[str],
    method: str,
    alpha: float,
    shape: tuple[int, int],
    arrays: dict[str, np.ndarray],
    force: bool = False,
) -> Path:
    """Write a per-pixel table model (literal, joint): parameters ``alpha`` and ``shape`` (H, W), its arrays."""
    return write_model_file(path, method, {"alpha": alpha, "shape": list(shape)}, arrays, force)


def read_table_model(
    path: str | os.PathLike[str],
    method: str,
    shapes: Callable[[int, int], dict[str, tuple[str, tuple[int | str, ...]]]],
    dtype: type[np.generic],
) -> tuple[float, tuple[int, int], dict[str, np.ndarray]]:
    """(alpha, (H, W), arrays) of a file written by ``write_table_model``: the arrays' kinds and shapes
    as ``shapes(H, W)`` declares them (:func:`check_arrays`), each of exactly ``dtype``."""
    _, params, arrays = read_model_file(path, method)
    h, w = check_shape_param(path, params)
    spec = shapes(h, w)
    check_arrays(path, arrays, spec)
    for name in spec:
        if arrays[name].dtype != dtype:
            raise damaged(path, f"array '{name}' has dtype {arrays[name].dtype}, expected {np.dtype(dtype)}")
    return check_param(path, params, "alpha", 0.0), (h, w), arrays
