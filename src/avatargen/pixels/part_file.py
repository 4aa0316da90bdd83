"""The ``.npz`` file of a PartBasedModel: the training parts it keeps (images, role and shade maps,
base colours, usable parts, the consensus face), the layout rows, and the sampling parameters,
written through ``modelfile`` and read back with every array's kind and shape checked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from avatargen.pixels.modelfile import check_arrays, check_param, damaged, read_model_file, write_model_file
from avatargen.pixels.segment import COLOUR_ROLES, N_ROLE_CODES, Layout

METHOD = "parts"
#: The per-model arrays, each kept as the attribute NAME_ of the model.
TRAINING_ARRAYS = ("images", "role", "shade", "bases", "has", "body_ok", "face")
# The arrays of a saved model: dtype kinds and shapes (N images of H x W; see modelfile.check_arrays).
_ARRAYS: dict[str, tuple[str, tuple[int | str, ...]]] = {
    "images": ("u", ("N", "H", "W", 4)),
    "role": ("u", ("N", "H", "W")),
    "shade": ("f", ("N", "H", "W")),
    "bases": ("u", ("N", len(COLOUR_ROLES), 3)),
    "has": ("bu", ("N", len(COLOUR_ROLES))),
    "body_ok": ("bu", ("N",)),
    "template": ("bu", ("H", "W")),
    "face_core": ("bu", ("H", "W")),
    "face": ("bu", ("H", "W")),
}


_BOOL = ("has", "body_ok", "face")


def write_parts(
    path: str | os.PathLike[str],
    params: dict[str, Any],
    layout: Layout,
    arrays: dict[str, np.ndarray],
    force: bool = False,
) -> Path:
    """Write a part model: ``params`` (alpha, keep_hair_colour, ...), the layout, ``TRAINING_ARRAYS``."""
    rows = [layout.top, layout.split, layout.face_top, layout.beard_top]
    stored = {name: arrays[name] for name in TRAINING_ARRAYS if name != "face"}
    stored |= {"template": layout.template, "face_core": layout.face_core, "face": arrays["face"]}
    return write_model_file(path, METHOD, {**params, "rows": rows}, stored, force)


def read_parts(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Layout, dict[str, np.ndarray]]:
    """(checked constructor parameters, layout, ``TRAINING_ARRAYS``) of a file written by
    ``write_parts``; a damaged file -> UserError naming it."""
    _, params, arr = read_model_file(path, METHOD)
    size = check_arrays(path, arr, _ARRAYS)
    if arr["images"].dtype != np.uint8 or arr["role"].dtype != np.uint8:
        raise damaged(path, "arrays 'images' and 'role' must be uint8")
    if int(arr["role"].max()) >= N_ROLE_CODES:
        raise damaged(path, f"array 'role' holds the role code {int(arr['role'].max())}, not one of 0..4")
    checked = {
        "alpha": check_param(path, params, "alpha", 0.0),
        "keep_hair_colour": check_param(path, params, "keep_hair_colour", 0.0, 1.0),
        "max_identical": check_param(path, params, "max_identical", 0.0, 1.0, optional=True),
        "min_distance": check_param(path, params, "min_distance", 0.0, optional=True),
        "max_tries": check_param(path, params, "max_tries", 1, 10_000, integer=True),
    }
    rows = params.get("rows")
    if not isinstance(rows, list) or len(rows) != 4:
        raise damaged(path, "parameter 'rows' is not [top, split, face_top, beard_top]")
    top, split, face_top, beard_top = (
        check_param(path, {"rows": v}, "rows", 0, size["H"] - 1, integer=True) for v in rows
    )
    if not face_top <= split:
        raise damaged(path, f"parameter 'rows': face_top {face_top} is below the split row {split}")
    layout = Layout(
        arr["template"].astype(bool), top, split, face_top, beard_top, arr["face_core"].astype(bool)
    )
    arrays = {name: arr[name].astype(bool) if name in _BOOL else arr[name] for name in TRAINING_ARRAYS}
    return checked, layout, arrays
