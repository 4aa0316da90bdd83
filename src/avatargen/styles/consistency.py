"""Counts-only data (no joint rows): pseudo-joint tables for rule-linked attributes, and the
consistency report checked with the law of total probability."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatargen.styles.data import StyleData
from avatargen.styles.rules import Rules


@dataclass
class Note:
    """One line of the consistency report: ``level`` is 'ok', 'note' or 'inconsistent'."""

    level: str
    text: str


def counts_only_table(
    d: StyleData, rules: Rules, attrs: list[str], p: int, v: int, cards: list[int]
) -> np.ndarray:
    """Pseudo-joint counts for counts-only data: each parent row holds the child's marginal counts;
    a rule 'parent=a => child=b' removes the count(parent=a) people it accounts for from the other rows."""
    base = d.counts[attrs[v]].astype(np.int64)
    if p < 0:
        return base[None, :]
    t = np.tile(base, (cards[p], 1))
    for r in rules.rules:
        if r.if_attr == attrs[p] and r.then_attr == attrs[v]:
            a = d.values[attrs[p]].index(r.if_value)
            b = d.values[attrs[v]].index(r.then_value)
            m = int(d.counts[attrs[p]][a])
            others = np.arange(cards[p]) != a
            t[others, b] = np.maximum(t[others, b] - m, 0)
            t[a] = base
            t[a, b] = max(int(base[b]), m)
    return t


def counts_consistency(d: StyleData, rules: Rules) -> list[Note]:
    """Check counts-only data with the law of total probability; say how problems are resolved."""
    notes: list[Note] = []
    totals = {a: int(d.counts[a].sum()) for a in d.attributes}
    if len(set(totals.values())) > 1:
        desc = ", ".join(f"'{a}' {t}" for a, t in totals.items())
        notes.append(
            Note(
                "inconsistent",
                f"attribute totals differ ({desc}): the tables describe different numbers of people; "
                "each table is normalised on its own",
            )
        )
    else:
        notes.append(Note("ok", f"every attribute's counts add up to {next(iter(totals.values()))} people"))
    added = {(r.then_attr, r.then_value) for r in rules.rules}
    for a in d.attributes:
        zero = [v for v, c in zip(d.values[a], d.counts[a], strict=True) if c == 0 and (a, v) not in added]
        if zero:
            notes.append(
                Note(
                    "note",
                    f"'{a}': zero count for {', '.join(repr(z) for z in zero)}; gets probability only through alpha",
                )
            )
    for r in rules.rules:
        na = int(d.counts[r.if_attr][d.values[r.if_attr].index(r.if_value)])
        nb = int(d.counts[r.then_attr][d.values[r.then_attr].index(r.then_value)])
        n_b = totals[r.then_attr]
        if nb < na:
            notes.append(
                Note(
                    "inconsistent",
                    f"rule {r}: {na} of {totals[r.if_attr]} people have {r.if_attr}='{r.if_value}', so at least {na} "
                    f"must have {r.then_attr}='{r.then_value}', yet the {r.then_attr} counts give {nb} and add up "
                    f"to {n_b}. Resolved: the {r.then_attr} counts are read as the distribution among people with "
                    f"{r.if_attr} != '{r.if_value}'; by total probability P({r.then_attr}='{r.then_value}') = "
                    f"P({r.if_attr}='{r.if_value}') = {na}/{totals[r.if_attr]} (with alpha = 0)",
                )
            )
        else:
            notes.append(
                Note(
                    "ok",
                    f"rule {r}: consistent ({nb} people with {r.then_attr}='{r.then_value}' >= {na} with "
                    f"{r.if_attr}='{r.if_value}')",
                )
            )
    if not rules.rules:
        notes.append(
            Note(
                "note",
                "no rules given: cross-attribute consistency (e.g. hair colour of people without hair) "
                "cannot be checked; pass --rules to declare it",
            )
        )
    return notes


def independence_notes(d: StyleData, rules: Rules, parents: np.ndarray) -> list[Note]:
    """Counts-only data: say that declared edges without a rule carry no dependence."""
    ruled = {frozenset((r.if_attr, r.then_attr)) for r in rules.rules}
    notes = []
    for v, a in enumerate(d.attributes):
        p = int(parents[v])
        if p >= 0 and frozenset((d.attributes[p], a)) not in ruled:
            pa = d.attributes[p]
            notes.append(
                Note(
                    "note",
                    f"declared edge {pa} -> {a}: counts-only data has no joint information, "
                    f"so P({a} | {pa}) = P({a}) for every {pa}",
                )
            )
    return notes
