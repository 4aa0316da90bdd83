"""Issue 10, second hunt (tests/avatargen/test_hostile_sweep.py found these): styles data, rules and
model files that were accepted silently or crashed. Each test names the sweep case it came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.data import EXAMPLE_STYLES, counts_from_mapping, frame_to_data, load_styles
from avatargen.styles.diversity import diversity_curve
from avatargen.styles.model import StyleModel
from avatargen.styles.rules import load_rules, rules_from_mapping
from avatargen.styles.structure import PAIRS_MAX
from sharedcore.errors import UserError


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


def test_counts_file_of_another_format_version_is_refused() -> None:
    with pytest.raises(UserError, match=r"c\.json: format_version 99 found, 1 expected"):
        counts_from_mapping({"format_version": 99, "attributes": {"a": {"x": 1}}}, "c.json")
    assert counts_from_mapping({"format_version": 1, "attributes": {"a": {"x": 1}}}, "c.json").attributes == [
        "a"
    ]


def test_a_lone_surrogate_name_is_refused_before_a_model_is_written(tmp_path: Path) -> None:
    # "\ud800" in JSON is legal syntax but no character: saving the model used to crash (UnicodeEncodeError)
    p = tmp_path / "c.json"
    p.write_text('{"attributes": {"a": {"\\ud800": 1, "y": 2}}}', encoding="utf-8")
    with pytest.raises(UserError, match=r"c\.json: attribute 'a': a value name '\\ud800' holds U\+D800"):
        load_styles(p)


@pytest.mark.parametrize(
    ("cells", "kind"), [([[1, 2], [3]], "ndarray"), ([{"k": 1}, {"k": 2}], "dict")], ids=["list", "dict"]
)
def test_parquet_nested_cells_name_the_row(tmp_path: Path, cells: list[Any], kind: str) -> None:
    p = tmp_path / "t.parquet"
    pd.DataFrame({"a": ["x", "y"], "b": cells}).to_parquet(p)
    with pytest.raises(
        UserError, match=rf"t\.parquet: row 1, column 'b': cell holds a {kind}, not a single value"
    ):
        load_styles(p)


def test_too_many_columns_for_chow_liu_is_refused_before_listing_pairs() -> None:
    # 10,000 columns made 50 million pairs (MemoryError); 2,000 ran for minutes
    k = 2000
    df = pd.DataFrame([["x"] * k, ["y"] * k], columns=[f"c{i}" for i in range(k)])
    d = frame_to_data(df, "wide.csv")
    with pytest.raises(
        UserError, match=rf"wide\.csv: 2000 columns make 1,999,000 column pairs .* {PAIRS_MAX:,}"
    ):
        StyleModel().fit(d)
    m = StyleModel(structure="independent").fit(d)  # no pair tables, no MI report: fits at once
    assert m.mutual_information_ is None and m.n_styles() == 2**k


def test_support_size_beyond_float_range_is_exact() -> None:
    # 3000 two-valued attributes: 2**3000 styles overflowed float64 (OverflowError in `styles fit`)
    d = counts_from_mapping({"attributes": {f"a{j}": {"x": 1, "y": 2} for j in range(3000)}}, "c.json")
    m = StyleModel().fit(d)
    assert m.n_styles() == 2**3000 == m.n_possible_styles
    assert m.n_styles({"a0": "x"}) == 2**2999
    small = StyleModel().fit(load_styles(EXAMPLE_STYLES))
    assert small.n_styles() == small.n_possible_styles  # the float path is unchanged


def test_diversity_curve_with_no_size_keeps_its_columns() -> None:
    # one training row and no other possible style: --unique sampling has no size to run at;
    # `styles experiment` crashed with KeyError 'n' drawing the empty curve
    m = StyleModel(alpha=0).fit(pd.DataFrame({"a": ["x"], "b": ["y"]}))
    df = diversity_curve(m, [], np.random.default_rng(0), unique=True)
    assert df.empty and {"n", "distinct_fraction", "novel_fraction", "empirical_entropy"} <= set(df.columns)


def test_experiment_on_a_single_row(tmp_path: Path) -> None:
    from avatargen.styles.experiment import run_experiment

    p = tmp_path / "one.csv"
    p.write_text("a,b\nx,y\n", encoding="utf-8")
    res = run_experiment(p, tmp_path / "x", sizes=[1, 2], alphas=[0.0, 1.0])
    assert res.report.is_file() and (tmp_path / "x" / "diversity.png").is_file()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "format_version: 1\ndepends_on: {hair_color: hairstyle}\ndepends_on: {hair_color: eyes}\n",
            "key 'depends_on' appears twice",
        ),
        (
            "format_version: 1\ndepends_on:\n  hair_color: hairstyle\n  hair_color: eyes\n",
            "key 'hair_color' appears twice",
        ),
        ("", "the rules file is empty"),
        ("# only a comment\n", "the rules file is empty"),
    ],
    ids=["dup-top", "dup-child", "empty", "comment"],
)
def test_rules_files_that_said_something_else_than_was_used(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "r.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=match):
        load_rules(p)


def test_an_attribute_with_100000_values_loads_linearly() -> None:
    # the hunt: duplicate-value checks against a list made 50,000 values take minutes (quadratic);
    # 100,000 would take tens of minutes that way, well under a second now
    table = {f"v{i}": 1 + i % 3 for i in range(100_000)}
    d = counts_from_mapping({"attributes": {"a": table, "b": {"x": 1}}}, "c.json")
    assert len(d.values["a"]) == 100_000 and int(d.counts["a"].sum()) == sum(table.values())
    with pytest.raises(UserError, match=r"value 'v7 ': value listed twice"):
        counts_from_mapping({"attributes": {"a": {**table, "v7 ": 1}}}, "c.json")
    header = [f"c{i}" for i in range(50_000)]
    with pytest.raises(UserError, match=r"column 'c3' appears twice \(columns 4 and 50001\)"):
        frame_to_data(pd.DataFrame([["x"] * 50_001], columns=[*header, "c3"]), "w.csv")
