"""A fitted StyleModel on disk: one JSON file with ``format_version`` and ``kind``, written atomically.

The training styles are kept compactly (base64 little-endian int64 keys, or int32 codes when the
keys would overflow) so that ``--unique`` sampling can exclude them after loading."""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from avatargen.styles.consistency import Note
from avatargen.styles.data import read_json
from avatargen.styles.network import TreeNetwork
from avatargen.styles.rules import Rules, rules_from_mapping
from avatargen.styles.sample import unique_keys
from avatargen.styles.state import StyleModelState
from avatargen.styles.structure import STRUCTURES
from sharedcore.atomic import write_text
from sharedcore.errors import UserError
from sharedcore.validate import check_float, check_int

FORMAT_VERSION = 1
MODEL_KIND = "avatargen.styles.StyleModel"


M = TypeVar("M", bound=StyleModelState)


def model_to_json(model: StyleModelState) -> dict[str, Any]:
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


def damaged(source: str, what: str) -> UserError:
    """The one message of a model file that passed the version check but whose contents are wrong."""
    return UserError(f"damaged model file: {source}: {what}; retrain or re-save it (`avatargen styles fit`)")


def _list(x: Any, what: str) -> list[Any]:
    if not isinstance(x, list):
        raise ValueError(f"{what} is not a list")
    return x


def _check_table(cpt: np.ndarray, counts: np.ndarray, shape: tuple[int, int], attr: str) -> None:
    """A conditional table: the expected shape, probabilities in [0, 1], each row summing to 1;
    its count table: the same shape, whole non-negative counts."""
    if cpt.shape != shape or counts.shape != shape:
        raise ValueError(f"the table of '{attr}' has shape {cpt.shape}, {shape} expected")
    if not np.isfinite(cpt).all() or (cpt < 0).any() or (cpt > 1).any():
        bad = cpt[~(np.isfinite(cpt) & (cpt >= 0) & (cpt <= 1))][0]
        raise ValueError(f"the table of '{attr}' holds the probability {bad:g}, outside [0, 1]")
    if not np.allclose(cpt.sum(axis=1), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"a row of the table of '{attr}' does not sum to 1")
    if not (np.isfinite(counts).all() and (counts >= 0).all() and (counts == np.round(counts)).all()):
        raise ValueError(f"the counts of '{attr}' are not non-negative whole numbers")


def _check_rule_names(rules: Rules, values: dict[str, list[str]]) -> None:
    """Every attribute and value the saved rules name is one of the model's (ValueError if not)."""
    for child, parent in rules.depends_on.items():
        for a in (child, parent):
            if a not in values:
                raise ValueError(f"the rules' depends_on names '{a}', which is not an attribute of the model")
    for r in rules.rules:
        for a, v in ((r.if_attr, r.if_value), (r.then_attr, r.then_value)):
            if a not in values or v not in values[a]:
                raise ValueError(f"rule ({r}) names {a}={v}, which is not a value of the model")


def model_from_json(make: Callable[..., M], obj: Any, source: str = "<model>") -> M:
    """Rebuild a fitted model from ``model_to_json`` output; ``make(alpha=, structure=, edge_pvalue=)``
    gives the unfitted model (the class). Wrong kind, version or shapes -> UserError."""
    if not isinstance(obj, dict) or obj.get("kind") != MODEL_KIND:
        raise UserError(
            f"{source}: not a style model file (no kind '{MODEL_KIND}'); run `avatargen styles fit` first"
        )
    version = obj.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:  # true == 1 in Python: refused
        raise UserError(
            f"{source}: model format_version {version!r} found, {FORMAT_VERSION} expected; refit the model"
        )
    try:
        params = obj["params"]
        alpha = check_float(params["alpha"], "params.alpha", 0.0)
        edge_pvalue = params.get("edge_pvalue")
        if edge_pvalue is not None:
            edge_pvalue = check_float(edge_pvalue, "params.edge_pvalue", 0.0, 1.0, low_open=True)
        if params["structure"] not in STRUCTURES:
            raise ValueError(
                f"params.structure {params['structure']!r} is not one of {', '.join(STRUCTURES)}"
            )
        m = make(alpha=alpha, structure=params["structure"], edge_pvalue=edge_pvalue)
        attrs = [str(a) for a in _list(obj["attributes"], "attributes")]
        if not attrs or len(set(attrs)) != len(attrs):
            raise ValueError("'attributes' is empty or names an attribute twice")
        m.attributes_ = attrs
        m.values_ = {a: [str(v) for v in _list(obj["values"][a], f"values of '{a}'")] for a in attrs}
        for a, vals in m.values_.items():
            if not vals or len(set(vals)) != len(vals):
                raise ValueError(f"the values of '{a}' are empty or repeat a name")
        m.parents_ = {a: obj["parents"][a] for a in attrs}
        parents = np.array([attrs.index(p) if p is not None else -1 for p in (m.parents_[a] for a in attrs)])
        cards = [len(m.values_[a]) for a in attrs]
        cpts = [np.asarray(c, dtype=np.float64) for c in _list(obj["cpts"], "cpts")]
        tables = [np.asarray(t, dtype=np.float64) for t in _list(obj["tables"], "tables")]
        if len(cpts) != len(attrs) or len(tables) != len(attrs):
            raise ValueError(
                f"{len(cpts)} probability and {len(tables)} count tables for {len(attrs)} attributes"
            )
        for i, a in enumerate(attrs):
            kp = 1 if parents[i] < 0 else cards[parents[i]]
            _check_table(cpts[i], tables[i], (kp, cards[i]), a)
        network = TreeNetwork(parents, cpts)  # a cycle among the parents fails here
        if network.support_size({}) == 0:
            raise ValueError("no style has positive probability")
        m.network_ = network
        m.tables_ = [t.astype(np.int64) for t in tables]
        m.counts_ = {}
        for i, a in enumerate(attrs):
            c = np.asarray(obj["counts"][a], dtype=np.float64)
            if c.shape != (cards[i],) or not (
                np.isfinite(c).all() and (c >= 0).all() and (c == np.round(c)).all()
            ):
                raise ValueError(f"the counts of '{a}' are not {cards[i]} non-negative whole numbers")
            m.counts_[a] = c.astype(np.int64)
        mi = obj.get("mutual_information")
        m.mutual_information_ = None if mi is None else np.asarray(mi, dtype=np.float64)
        if m.mutual_information_ is not None and m.mutual_information_.shape != (len(attrs), len(attrs)):
            raise ValueError("mutual_information is not an attributes x attributes table")
        m.n_rows_ = check_int(obj["n_rows"], "n_rows", 0)
        m.data_kind_ = "counts" if obj["data_kind"] == "counts" else "rows"
        m.source_ = str(obj["source"])
        m.rules_ = rules_from_mapping(obj.get("rules"), f"{source} (rules)")
        m.rules = m.rules_
        _check_rule_names(m.rules_, m.values_)
        m.notes_ = [Note(str(n["level"]), str(n["text"])) for n in _list(obj.get("notes", []), "notes")]
        ts = obj["training_styles"]
        n_styles = int(np.prod(cards, dtype=object))
        if "int64_keys_base64" in ts:
            keys = np.frombuffer(base64.b64decode(ts["int64_keys_base64"], validate=True), dtype="<i8")
            keys = keys.astype(np.int64)
            if len(keys) != int(ts["count"]):
                raise ValueError("training_styles: wrong number of keys")
            if len(keys) and (keys.min() < 0 or int(keys.max()) >= n_styles):
                raise ValueError("training_styles: a key names no style")
            m.training_keys_ = np.sort(keys)
        else:
            raw = base64.b64decode(ts["int32_base64"], validate=True)
            shape = [int(x) for x in _list(ts["shape"], "training_styles shape")]
            if len(shape) != 2 or shape[1] != len(attrs):
                raise ValueError("training_styles: shape is not (styles, attributes)")
            tcodes = np.frombuffer(raw, dtype="<i4").reshape(shape).astype(np.int64)
            if len(tcodes) and ((tcodes < 0).any() or (tcodes >= np.asarray(cards)).any()):
                raise ValueError("training_styles: a code names no value")
            m.training_keys_ = unique_keys(tcodes, m.network_.cards)
    except UserError as exc:
        if str(exc).startswith(source):
            raise
        raise damaged(source, str(exc)) from None
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        AttributeError,
        OverflowError,
        binascii.Error,
    ) as exc:
        what = f"missing entry {exc}" if isinstance(exc, KeyError) else f"{exc}"
        raise damaged(source, what or type(exc).__name__) from None
    return m


def save_model(model: StyleModelState, path: str | os.PathLike[str], force: bool = False) -> Path:
    """Write ``model`` as JSON atomically; an existing file is replaced only with ``force``."""
    return write_text(path, json.dumps(model_to_json(model), ensure_ascii=False) + "\n", force=force)


def load_model(make: Callable[..., M], path: str | os.PathLike[str]) -> M:
    """Read a model file written by ``save_model``; a missing file, another version or damage -> UserError."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such model file; run `avatargen styles fit DATA -o {p.name}` first")
    return model_from_json(make, read_json(p), str(p))
