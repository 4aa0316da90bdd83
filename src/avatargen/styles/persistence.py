"""A fitted StyleModel on disk: one JSON file with ``format_version`` and ``kind``, written atomically.

The training styles are kept compactly (base64 little-endian int64 keys, or int32 codes when the
keys would overflow) so that ``--unique`` sampling can exclude them after loading."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from avatargen.styles.consistency import Note
from avatargen.styles.data import read_json
from avatargen.styles.network import TreeNetwork
from avatargen.styles.rules import Rules, rules_from_mapping
from avatargen.styles.sample import unique_keys
from sharedcore.atomic import write_text
from sharedcore.errors import UserError

FORMAT_VERSION = 1
MODEL_KIND = "avatargen.styles.StyleModel"


class SavedModel(Protocol):
    """What a model file holds: the parameters and the learned state of ``StyleModel``."""

    alpha: float
    structure: str
    edge_pvalue: float | None
    rules: Any
    attributes_: list[str]
    values_: dict[str, list[str]]
    parents_: dict[str, str | None]
    network_: TreeNetwork
    tables_: list[np.ndarray]
    counts_: dict[str, np.ndarray]
    mutual_information_: np.ndarray | None
    n_rows_: int
    data_kind_: str
    source_: str
    rules_: Rules
    notes_: list[Note]
    training_keys_: np.ndarray

    @property
    def training_codes_(self) -> np.ndarray: ...


M = TypeVar("M", bound=SavedModel)


def model_to_json(model: SavedModel) -> dict[str, Any]:
    """A fitted model as a JSON-ready mapping (with ``format_version`` and ``kind``)."""
    keys = model.training_keys_
    if keys.dtype == np.int64:  # compact: one little-endian int64 mixed-radix key per style
        training = {
            "count": len(keys),
            "int64_keys_base64": base64.b64encode(keys.astype("<i8").tobytes()).decode(),
        }
    else:
        tc = np.ascontiguousarray(model.training_codes_.astype("<i4"))
        training = {"shape": list(tc.shape), "int32_base64": base64.b64encode(tc.tobytes()).decode()}
    return {
        "format_version": FORMAT_VERSION,
        "kind": MODEL_KIND,
        "params": {"alpha": model.alpha, "structure": model.structure, "edge_pvalue": model.edge_pvalue},
        "source": model.source_,
        "data_kind": model.data_kind_,
        "n_rows": model.n_rows_,
        "attributes": model.attributes_,
        "values": model.values_,
        "parents": model.parents_,
        "counts": {a: c.tolist() for a, c in model.counts_.items()},
        "tables": [t.tolist() for t in model.tables_],
        "cpts": [c.tolist() for c in model.network_.cpts],
        "mutual_information": None
        if model.mutual_information_ is None
        else model.mutual_information_.tolist(),
        "rules": model.rules_.to_json(),
        "notes": [{"level": n.level, "text": n.text} for n in model.notes_],
        "training_styles": training,
    }


def model_from_json(make: Callable[..., M], obj: Any, source: str = "<model>") -> M:
    """Rebuild a fitted model from ``model_to_json`` output; ``make(alpha=, structure=, edge_pvalue=)``
    gives the unfitted model (the class). Wrong kind, version or shapes -> UserError."""
    if not isinstance(obj, dict) or obj.get("kind") != MODEL_KIND:
        raise UserError(
            f"{source}: not a style model file (no kind '{MODEL_KIND}'); run `avatargen styles fit` first"
        )
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise UserError(
            f"{source}: model format_version {version!r} found, {FORMAT_VERSION} expected; refit the model"
        )
    try:
        params = obj["params"]
        m = make(alpha=params["alpha"], structure=params["structure"], edge_pvalue=params.get("edge_pvalue"))
        attrs = [str(a) for a in obj["attributes"]]
        m.attributes_ = attrs
        m.values_ = {a: [str(v) for v in obj["values"][a]] for a in attrs}
        m.parents_ = {a: obj["parents"][a] for a in attrs}
        parents = np.array([attrs.index(p) if p is not None else -1 for p in (m.parents_[a] for a in attrs)])
        cpts = [np.asarray(c, dtype=np.float64) for c in obj["cpts"]]
        for i, a in enumerate(attrs):
            kp = 1 if parents[i] < 0 else len(m.values_[attrs[parents[i]]])
            if cpts[i].shape != (kp, len(m.values_[a])) or not np.allclose(cpts[i].sum(axis=1), 1.0):
                raise ValueError(f"table of '{a}' has the wrong shape or does not sum to 1")
        m.network_ = TreeNetwork(parents, cpts)
        m.tables_ = [np.asarray(t, dtype=np.int64) for t in obj["tables"]]
        m.counts_ = {a: np.asarray(obj["counts"][a], dtype=np.int64) for a in attrs}
        mi = obj.get("mutual_information")
        m.mutual_information_ = None if mi is None else np.asarray(mi, dtype=np.float64)
        m.n_rows_ = int(obj["n_rows"])
        m.data_kind_ = "counts" if obj["data_kind"] == "counts" else "rows"
        m.source_ = str(obj["source"])
        m.rules_ = rules_from_mapping(obj.get("rules"), f"{source} (rules)")
        m.rules = m.rules_
        m.notes_ = [Note(str(n["level"]), str(n["text"])) for n in obj.get("notes", [])]
        ts = obj["training_styles"]
        if "int64_keys_base64" in ts:
            keys = np.frombuffer(base64.b64decode(ts["int64_keys_base64"]), dtype="<i8").astype(np.int64)
            if len(keys) != int(ts["count"]):
                raise ValueError("training_styles: wrong number of keys")
            m.training_keys_ = np.sort(keys)
        else:
            raw = base64.b64decode(ts["int32_base64"])
            tcodes = np.frombuffer(raw, dtype="<i4").reshape(ts["shape"]).astype(np.int64)
            m.training_keys_ = unique_keys(tcodes, m.network_.cards)
    except UserError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UserError(
            f"{source}: damaged model file ({type(exc).__name__}: {exc}); refit the model"
        ) from None
    return m


def save_model(model: SavedModel, path: str | os.PathLike[str], force: bool = False) -> Path:
    """Write ``model`` as JSON atomically; an existing file is replaced only with ``force``."""
    return write_text(path, json.dumps(model_to_json(model), ensure_ascii=False) + "\n", force=force)


def load_model(make: Callable[..., M], path: str | os.PathLike[str]) -> M:
    """Read a model file written by ``save_model``; a missing file, another version or damage -> UserError."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such model file; run `avatargen styles fit DATA -o {p.name}` first")
    return model_from_json(make, read_json(p), str(p))
