"""The model file: save/load round trip, other format versions, damaged files as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, counts_from_mapping, load_styles
from avatargen.styles.model import FORMAT_VERSION, StyleModel
from avatargen.styles.rules import rules_from_mapping
from sharedcore.errors import UserError


@pytest.fixture(scope="module")
def example() -> StyleModel:
    return StyleModel(alpha=1.0, rules=EXAMPLE_RULES).fit(load_styles(EXAMPLE_STYLES))


def test_save_load_round_trip(example: StyleModel, tmp_path: Path) -> None:
    path = example.save(tmp_path / "m.json")
    back = StyleModel.load(path)
    a = example.sample(100, np.random.default_rng(4))
    b = back.sample(100, np.random.default_rng(4))
    pd.testing.assert_frame_equal(a, b)
    assert back.entropy() == pytest.approx(example.entropy())
    assert np.array_equal(back.training_codes_, example.training_codes_)
    with pytest.raises(UserError, match="already exists"):
        example.save(path)


def test_load_other_version_names_file_and_versions(example: StyleModel, tmp_path: Path) -> None:
    obj = example.to_json()
    obj["format_version"] = FORMAT_VERSION + 1
    p = tmp_path / "old.json"
    p.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(
        UserError,
        match=rf"old.json: model format_version {FORMAT_VERSION + 1} found, {FORMAT_VERSION} expected",
    ):
        StyleModel.load(p)


def test_damaged_model_files_are_user_errors(example: StyleModel, tmp_path: Path) -> None:
    p = tmp_path / "m.json"
    p.write_text("{}", encoding="utf-8")
    with pytest.raises(UserError, match="not a style model file"):
        StyleModel.load(p)
    obj = example.to_json()
    obj["cpts"][0] = [[0.5, 0.1]]
    p.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(UserError, match=r"damaged model file: .*m\.json: the table of"):
        StyleModel.load(p)
    p.write_text('{"kind": ', encoding="utf-8")
    with pytest.raises(UserError, match="malformed JSON"):
        StyleModel.load(p)


# ---------------------------------------------------------------- issue 10, second hunt (test_hostile_sweep.py found these)


@pytest.fixture(scope="module")
def model_json() -> dict[str, Any]:
    return StyleModel(alpha=1.0).fit(load_styles(EXAMPLE_STYLES)).to_json()


def _load_mutated(tmp_path: Path, obj: dict[str, Any], change: Any) -> StyleModel:
    o = json.loads(json.dumps(obj))
    change(o)
    p = tmp_path / "m.json"
    p.write_text(json.dumps(o), encoding="utf-8")
    return StyleModel.load(p)


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (
            lambda o: o.__setitem__(
                "rules", {"format_version": 1, "rules": [{"if": {"zz": "a"}, "then": {"yy": "b"}}]}
            ),
            "rule (zz=a => yy=b) names zz=a, which is not a value of the model",
        ),
        (
            lambda o: o.__setitem__("rules", {"format_version": 1, "depends_on": {"eyes": "nope"}}),
            "depends_on names 'nope'",
        ),
        (lambda o: o["params"].__setitem__("structure", "bogus"), "params.structure 'bogus' is not one of"),
    ],
    ids=["rule-unknown-attribute", "depends-on-unknown", "structure-unknown"],
)
def test_model_file_contents_named_nowhere_in_the_model_are_damage(
    model_json: dict[str, Any], tmp_path: Path, change: Any, what: str
) -> None:
    with pytest.raises(UserError, match=r"^damaged model file: .*m\.json: ") as err:
        _load_mutated(tmp_path, model_json, change)
    assert what in str(err.value)


def test_format_version_true_is_not_1(model_json: dict[str, Any], tmp_path: Path) -> None:
    # Python's True == 1: a model, rules or counts file saying `true` was accepted as version 1
    with pytest.raises(UserError, match="format_version True found, 1 expected"):
        _load_mutated(tmp_path, model_json, lambda o: o.__setitem__("format_version", True))
    with pytest.raises(UserError, match="format_version True found"):
        rules_from_mapping({"format_version": True}, "r.yaml")
    with pytest.raises(UserError, match=r"c\.json: format_version True found, 1 expected"):
        counts_from_mapping({"format_version": True, "attributes": {"a": {"x": 1}}}, "c.json")
