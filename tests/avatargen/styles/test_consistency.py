"""Counts-only data: smoothing of zero counts, no joint information, consistency notes."""

from __future__ import annotations

import pytest

from avatargen.styles.model import StyleModel


def test_counts_only_declared_edge_is_noted_as_independent() -> None:
    counts = {"attributes": {"x": {"a": 3, "b": 1}, "y": {"u": 2, "v": 2}}}
    m = StyleModel(alpha=0.0, structure="declared", rules={"depends_on": {"y": "x"}}).fit(counts)
    assert m.parents_ == {"x": None, "y": "x"}
    assert any("no joint information" in n.text for n in m.notes_)
    assert m.probability({"x": "a", "y": "u"}) == pytest.approx(0.75 * 0.5)


def test_alpha_zero_is_mle_and_alpha_gives_zero_counts_mass() -> None:
    counts = {"attributes": {"hair": {"none": 7, "bun": 0, "long": 43}}}
    mle = StyleModel(alpha=0.0).fit(counts)
    assert mle.marginals()["hair"] == pytest.approx({"none": 0.14, "bun": 0.0, "long": 0.86})
    smooth = StyleModel(alpha=1.0).fit(counts)
    assert smooth.marginals()["hair"]["bun"] == pytest.approx(1 / 53)


def test_different_totals_and_consistent_rule_are_reported() -> None:
    counts = {"attributes": {"hair": {"none": 2, "long": 8}, "color": {"none": 2, "red": 6}}}
    rules = {"rules": [{"if": {"hair": "none"}, "then": {"color": "none"}}]}
    m = StyleModel(alpha=0.0, rules=rules).fit(counts)
    levels = {n.level for n in m.notes_}
    assert "inconsistent" in levels  # totals 10 vs 8
    assert any("differ" in n.text for n in m.notes_)
    assert any(n.level == "ok" and "consistent" in n.text for n in m.notes_)
    # the colour counts already include the 2 people without hair: they are not counted twice
    assert m.marginals()["color"] == pytest.approx({"none": 0.2, "red": 0.8})
