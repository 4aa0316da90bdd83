"""Rules files and hard rules: files read and validated, rules checked against the data, enforced in tables and samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, load_styles
from avatargen.styles.model import StyleModel
from avatargen.styles.rules import load_rules
from sharedcore.errors import UserError


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def example() -> StyleModel:
    return StyleModel(alpha=1.0, rules=EXAMPLE_RULES).fit(load_styles(EXAMPLE_STYLES))


def test_rows_breaking_a_rule_are_named(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("hairstyle,hair_color\nbob,black\nnone,black\n", encoding="utf-8")
    rules = {"rules": [{"if": {"hairstyle": "none"}, "then": {"hair_color": "none"}}]}
    with pytest.raises(UserError, match="does not occur"):
        StyleModel(rules=rules).fit(load_styles(p))
    p.write_text("hairstyle,hair_color\nbob,black\nnone,none\nnone,black\n", encoding="utf-8")
    with pytest.raises(
        UserError, match=r"bad.csv: row 3 \(line 4\), column 'hair_color': value 'black' breaks rule 1"
    ):
        StyleModel(rules=rules).fit(load_styles(p))


def test_declared_two_parents_or_cycle_is_user_error() -> None:
    df = pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"], "c": ["p", "q"]})
    with pytest.raises(UserError, match="cycle"):
        StyleModel(rules={"depends_on": {"a": "b", "b": "c", "c": "a"}}).fit(df)
    with pytest.raises(UserError, match="one other"):
        StyleModel(rules={"depends_on": {"a": ["b", "c"]}}).fit(df)
    with pytest.raises(UserError, match="two parents"):
        StyleModel(rules={"depends_on": {"a": "b", "c": "b", "b": "c"}}).fit(df)


def test_rules_naming_unknown_attributes_or_contradicting_are_user_errors() -> None:
    df = pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]})
    with pytest.raises(UserError, match="depends_on names attribute 'c'"):
        StyleModel(rules={"depends_on": {"c": "a"}}).fit(df)
    with pytest.raises(UserError, match=r"rule 1 \(c=x => b=u\): attribute 'c' is not in"):
        StyleModel(rules={"rules": [{"if": {"c": "x"}, "then": {"b": "u"}}]}).fit(df)
    clash = {"rules": [{"if": {"a": "x"}, "then": {"b": "u"}}, {"if": {"a": "x"}, "then": {"b": "v"}}]}
    with pytest.raises(UserError, match="breaks rule 2"):
        StyleModel(rules=clash).fit(df)
    counts = {"attributes": {"a": {"x": 1, "y": 1}, "b": {"u": 1, "v": 1}}}
    with pytest.raises(UserError, match="contradict each other"):
        StyleModel(rules=clash).fit(counts)


def test_hard_rule_holds_in_model_and_samples(example: StyleModel) -> None:
    df = example.sample(20_000, np.random.default_rng(1))
    assert ((df["hairstyle"] == "none") == (df["hair_color"] == "none")).all()
    style = df.iloc[0].drop("probability").to_dict()
    style.update(hairstyle="none", hair_color="black")
    assert example.probability(style) == 0.0
    assert example.posterior("hairstyle", {"hair_color": "none"})["none"] == pytest.approx(1.0)


def test_rules_file(tmp_path: Path) -> None:
    r = load_rules(
        write(
            tmp_path,
            "r.yaml",
            "depends_on: {color: hair}\nrules:\n  - {if: {hair: none}, then: {color: none}}\n",
        )
    )
    assert r.depends_on == {"color": "hair"} and str(r.rules[0]) == "hair=none => color=none"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - {if: {hair: no}, then: {color: none}}\n",
            r"r.yaml: rule 1, 'if' hair: value False is not text",
        ),
        ("rules:\n  - {if: {hair: a, x: b}, then: {color: none}}\n", r"rule 1: 'if' must hold exactly one"),
        ("rules: [{if: {hair: a}, then: {hair: b}}]\n", r"name the same attribute"),
        ("depends_on: {a: a}\n", r"cannot depend on itself"),
        ("depends: {a: b}\n", r"unknown key 'depends'"),
        ("depends_on: {a: b\n", r"r.yaml: line \d+, column \d+: malformed YAML"),
        ("format_version: 9\n", r"format_version 9 found, 1 expected"),
        ("rules: [{if: {a: x}, then: {b: y}}, {if: {a: x}, then: {b: y}}]\n", r"rule 2: duplicate"),
    ],
)
def test_bad_rules(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load_rules(write(tmp_path, "r.yaml", text))


# ---------------------------------------------------------------- issue 10, second hunt (test_hostile_sweep.py found these)


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
