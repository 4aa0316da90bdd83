"""Rules files and what they do to a data set: declared dependencies and hard rules (``Rule``,
``Rules``), reading and validating a rules file (YAML/JSON), names checked against the data, rows
checked against the rules, and the cells of conditional tables that the rules forbid."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avatargen.styles.data import StyleData, read_json
from sharedcore.errors import UserError
from sharedcore.structured import read_yaml

RULES_FORMAT_VERSION = 1


@dataclass
class Rule:
    """A hard rule: whenever ``if_attr == if_value`` then ``then_attr == then_value``."""

    if_attr: str
    if_value: str
    then_attr: str
    then_value: str

    def __str__(self) -> str:
        return f"{self.if_attr}={self.if_value} => {self.then_attr}={self.then_value}"

    def to_json(self) -> dict[str, dict[str, str]]:
        """The rule as written in a rules file."""
        return {"if": {self.if_attr: self.if_value}, "then": {self.then_attr: self.then_value}}


@dataclass
class Rules:
    """Declared dependencies (child -> parent) and hard rules, from a rules file."""

    depends_on: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    source: str = "<rules>"

    def to_json(self) -> dict[str, Any]:
        """The rules as a rules-file mapping (format_version 1)."""
        return {
            "format_version": RULES_FORMAT_VERSION,
            "depends_on": dict(self.depends_on),
            "rules": [r.to_json() for r in self.rules],
        }


# ------------------------------------------------------------------------------------ rules files


def load_rules(path: str | os.PathLike[str]) -> Rules:
    """Load a rules/structure file (YAML or JSON).

    Format::

        format_version: 1
        depends_on: {hair_color: hairstyle}            # child: parent (one parent each)
        rules:
          - {if: {hairstyle: none}, then: {hair_color: none}}
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such rules file; check the path")
    obj = read_json(p) if p.suffix.lower() == ".json" else read_yaml(p)
    if obj is None:  # an empty file, or only comments: almost surely the wrong file
        raise UserError(
            f"{p}: the rules file is empty; give format_version: 1 and depends_on and/or rules, "
            "or leave out --rules"
        )
    return rules_from_mapping(obj, str(p))


def _rule_text(v: object, where: str) -> str:
    if isinstance(v, bool) or v is None:
        raise UserError(
            f"{where}: value {v!r} is not text (YAML reads yes/no/null specially); put it in quotes"
        )
    if isinstance(v, dict | list):
        raise UserError(f"{where}: expected a single name, found {type(v).__name__}")
    text = str(v).strip()
    if not text:
        raise UserError(f"{where}: empty name; give a name")
    return text


def rules_from_mapping(obj: Any, source: str = "<rules>") -> Rules:
    """Validate a rules mapping (see ``load_rules``)."""
    if obj is None:
        return Rules(source=source)
    if not isinstance(obj, dict):
        raise UserError(
            f"{source}: expected a mapping with 'depends_on' and/or 'rules', found {type(obj).__name__}"
        )
    unknown = sorted(set(obj) - {"format_version", "depends_on", "rules", "description"})
    if unknown:
        raise UserError(
            f"{source}: unknown key '{unknown[0]}'; allowed: format_version, depends_on, rules, description"
        )
    version = obj.get("format_version", RULES_FORMAT_VERSION)
    if type(version) is not int or version != RULES_FORMAT_VERSION:  # true == 1 in Python: refused
        raise UserError(f"{source}: format_version {version!r} found, {RULES_FORMAT_VERSION} expected")
    depends: dict[str, str] = {}
    raw_dep = obj.get("depends_on") or {}
    if not isinstance(raw_dep, dict):
        raise UserError(f"{source}: 'depends_on' must map child attribute -> parent attribute")
    for raw_child, raw_parent in raw_dep.items():
        child = _rule_text(raw_child, f"{source}: depends_on")
        where = f"{source}: depends_on '{child}'"
        if isinstance(raw_parent, list):
            if len(raw_parent) != 1:
                raise UserError(
                    f"{where}: {len(raw_parent)} parents given; each attribute may depend on one other "
                    "(the model is a tree), keep the strongest"
                )
            raw_parent = raw_parent[0]
        parent = _rule_text(raw_parent, where)
        if parent == child:
            raise UserError(f"{where}: an attribute cannot depend on itself")
        depends[child] = parent
    rules: list[Rule] = []
    raw_rules = obj.get("rules") or []
    if not isinstance(raw_rules, list):
        raise UserError(f"{source}: 'rules' must be a list of {{if: {{attr: value}}, then: {{attr: value}}}}")
    for i, r in enumerate(raw_rules, start=1):
        where = f"{source}: rule {i}"
        if not isinstance(r, dict) or set(r) != {"if", "then"}:
            raise UserError(f"{where}: expected {{if: {{attr: value}}, then: {{attr: value}}}}, found {r!r}")
        parts = []
        for key in ("if", "then"):
            part = r[key]
            if not isinstance(part, dict) or len(part) != 1:
                raise UserError(
                    f"{where}: '{key}' must hold exactly one attribute: value pair, found {part!r}"
                )
            ((a, v),) = part.items()
            parts.append((_rule_text(a, f"{where}, '{key}'"), _rule_text(v, f"{where}, '{key}' {a}")))
        (ia, iv), (ta, tv) = parts
        if ia == ta:
            raise UserError(
                f"{where}: 'if' and 'then' name the same attribute '{ia}'; a rule links two attributes"
            )
        rule = Rule(ia, iv, ta, tv)
        if any(str(x) == str(rule) for x in rules):
            raise UserError(f"{where}: duplicate of an earlier rule ({rule}); remove one")
        rules.append(rule)
    return Rules(depends, rules, source)


# ------------------------------------------------------------------------------ rules on the data


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
