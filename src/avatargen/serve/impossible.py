"""Why pins have probability 0: the hard rule (or chain of rules) that forbids them, else the
zero-count pin or pair, as one line a client can act on."""

from __future__ import annotations

from pathlib import Path

from avatargen.styles.model import StyleModel


def explain_impossible(model: StyleModel, pins: dict[str, str]) -> tuple[str, str | None]:
    """Why pins have probability 0: the hard rule(s) that forbid them, found by applying the rules
    forward from the pins until one contradicts a pin or an earlier consequence; else the zero-count
    pin or pair. Returns (one-line message, the rule as text or None)."""
    desc = ", ".join(f"{a}={v}" for a, v in pins.items())
    source = model.rules_.source
    facts: dict[str, tuple[str, list[str]]] = {a: (v, []) for a, v in pins.items()}  # value, rules used
    changed = True
    while changed:
        changed = False
        for i, r in enumerate(model.rules_.rules, start=1):
            fact = facts.get(r.if_attr)
            if fact is None or fact[0] != r.if_value:
                continue
            chain = [*fact[1], f"rule {i} ({r})"]
            have = facts.get(r.then_attr)
            if have is None:
                facts[r.then_attr] = (r.then_value, chain)
                changed = True
            elif have[0] != r.then_value:
                used = list(dict.fromkeys([*have[1], *chain]))
                rule = str(r) if len(used) == 1 else "; ".join(used)
                verb = "forbids" if len(used) == 1 else "together forbid"
                return (
                    f"pins {desc} have probability 0: {' and '.join(used)} of {Path(source).name} "
                    f"{verb} this combination; change or drop a pin",
                    rule,
                )
    for a, v in pins.items():
        if model.probability({a: v}) <= 0:
            return (
                f"pins {desc} have probability 0: {a}={v} has probability 0 under the model "
                "(a zero count with alpha 0); drop that pin",
                None,
            )
    items = list(pins.items())
    for i, (a, v) in enumerate(items):
        for b, w in items[i + 1 :]:
            if model.probability({a: v, b: w}) <= 0:
                return (
                    f"pins {desc} have probability 0: {a}={v} together with {b}={w} has probability 0 "
                    "under the model (a zero count with alpha 0); drop one of them",
                    None,
                )
    return (
        f"pins {desc} have probability 0 under the model (hard rules and zero counts together); drop a pin",
        None,
    )
