"""Hard rules and declared dependencies applied to a data set: names checked against the data,
rows checked against the rules, and the cells of conditional tables that the rules forbid."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from avatargen.styles.data import Rules, StyleData, load_rules, rules_from_mapping
from sharedcore.errors import UserError


def as_rules(rules: Rules | str | os.PathLike[str] | dict[str, Any] | None) -> Rules:
    """A Rules object from a path, a mapping, Rules or None (no rules)."""
    if rules is None:
        return Rules()
    if isinstance(rules, Rules):
        return rules
    if isinstance(rules, dict):
        return rules_from_mapping(rules)
    return load_rules(rules)


def apply_rule_values(d: StyleData, rules: Rules) -> StyleData:
    """Check rule/dependency names against the data; a rule's 'then' value that counts-only data
    lacks (e.g. hair colour 'none') is added with count 0."""
    attrs = set(d.attributes)
    for child, parent in rules.depends_on.items():
        for a in (child, parent):
            if a not in attrs:
                raise UserError(
                    f"{rules.source}: depends_on names attribute '{a}', which {d.source} does not have; "
                    f"known: {', '.join(d.attributes)}"
                )
    values = {a: list(v) for a, v in d.values.items()}
    counts = dict(d.counts)
    for i, r in enumerate(rules.rules, start=1):
        for key, a, v in (("if", r.if_attr, r.if_value), ("then", r.then_attr, r.then_value)):
            if a not in attrs:
                raise UserError(
                    f"{rules.source}: rule {i} ({r}): attribute '{a}' is not in {d.source}; known: {', '.join(d.attributes)}"
                )
            if v not in values[a]:
                if key == "then" and d.kind == "counts":
                    values[a].append(v)
                    counts[a] = np.append(counts[a], 0)
                else:
                    raise UserError(
                        f"{rules.source}: rule {i} ({r}): value '{v}' of '{a}' does not occur in {d.source}; "
                        f"known: {', '.join(values[a])}"
                    )
    return StyleData(d.source, d.attributes, values, counts, d.codes, d.kind, d.description)


def check_rows_against_rules(d: StyleData, rules: Rules) -> None:
    assert d.codes is not None
    for i, r in enumerate(rules.rules, start=1):
        a, b = d.attributes.index(r.if_attr), d.attributes.index(r.then_attr)
        xa, xb = d.values[r.if_attr].index(r.if_value), d.values[r.then_attr].index(r.then_value)
        bad = np.flatnonzero((d.codes[:, a] == xa) & (d.codes[:, b] != xb))
        if bad.size:
            row = int(bad[0])
            found = d.values[r.then_attr][int(d.codes[row, b])]
            line = f" (line {row + 2})" if d.source.endswith((".csv", ".tsv")) else ""
            raise UserError(
                f"{d.source}: row {row + 1}{line}, column '{r.then_attr}': value '{found}' breaks rule {i} "
                f"of {rules.source} ({r}); fix the row or the rule ({bad.size} rows break it)"
            )


def rule_masks(parents: np.ndarray, rules: Rules, d: StyleData) -> list[np.ndarray | None]:
    """Allowed cells of each conditional table under the hard rules (None = all allowed).

    A rule X=x => Y=y on the edge parent -> child forbids the cells with X=x and Y != y.
    """
    attrs = d.attributes
    cards = [len(d.values[a]) for a in attrs]
    masks: list[np.ndarray | None] = [None] * len(attrs)
    for r in rules.rules:
        a, b = attrs.index(r.if_attr), attrs.index(r.then_attr)
        child, parent = (b, a) if parents[b] == a else (a, b)
        m = masks[child]
        if m is None:
            m = np.ones((cards[parent], cards[child]), dtype=bool)
        xa = d.values[r.if_attr].index(r.if_value)
        xb = d.values[r.then_attr].index(r.then_value)
        if child == b:  # table rows are X: row X=x allows only child value y
            keep = m[xa, xb]
            m[xa, :] = False
            m[xa, xb] = keep
        else:  # table rows are Y: child value x is allowed only in row Y=y
            keep = m[xb, xa]
            m[:, xa] = False
            m[xb, xa] = keep
        if not m.any(axis=1).all():
            bad = int(np.flatnonzero(~m.any(axis=1))[0])
            raise UserError(
                f"{rules.source}: the rules leave '{attrs[child]}' no allowed value when "
                f"'{attrs[parent]}' = '{d.values[attrs[parent]][bad]}'; the rules contradict each other"
            )
        masks[child] = m
    return masks
