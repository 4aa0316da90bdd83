"""Naming the rules (or the zero counts) behind pins of probability 0."""

from __future__ import annotations

import pandas as pd

from avatargen.serve.impossible import explain_impossible
from avatargen.styles.model import StyleModel


def chained_model() -> StyleModel:
    """a=x => b=y and c=z => b=w: pinning a=x and c=z is impossible through b, which is not pinned."""
    rows = pd.DataFrame(
        {
            "a": ["x", "x", "u", "u", "u", "u"],
            "b": ["y", "y", "w", "w", "y", "w"],
            "c": ["v", "v", "z", "z", "v", "v"],
        }
    )
    rules = {
        "format_version": 1,
        "rules": [{"if": {"a": "x"}, "then": {"b": "y"}}, {"if": {"c": "z"}, "then": {"b": "w"}}],
    }
    return StyleModel(alpha=1.0, rules=rules).fit(rows)


def test_impossible_pins_name_every_rule_of_the_chain() -> None:
    m = chained_model()
    assert m.probability({"a": "x", "c": "z"}) == 0
    message, rule = explain_impossible(m, {"a": "x", "c": "z"})
    assert "rule 1 (a=x => b=y)" in message and "rule 2 (c=z => b=w)" in message
    assert rule is not None and "rule 1" in rule and "rule 2" in rule
    message, rule = explain_impossible(m, {"a": "x", "b": "w"})
    assert rule == "a=x => b=y"


def test_zero_count_without_rule_is_named() -> None:
    rows = pd.DataFrame({"a": ["x", "x", "u"], "b": ["y", "y", "w"]})
    m = StyleModel(
        alpha=0.0, structure="declared", rules={"format_version": 1, "depends_on": {"b": "a"}}
    ).fit(rows)
    assert m.probability({"a": "x", "b": "w"}) == 0
    message, rule = explain_impossible(m, {"a": "x", "b": "w"})
    assert rule is None and "a=x together with b=w" in message
