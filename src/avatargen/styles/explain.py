"""Human-readable tables of a fitted StyleModel: summary, marginals (law of total probability),
conditional tables, Bayes inverse tables, mutual information and the consistency report;
rendered as plain text or Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avatargen.styles.model import StyleModel
from sharedcore.errors import UserError


@dataclass
class Table:
    """A titled table: ``rows`` are dicts keyed by ``columns``."""

    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        x = float(v)
        return f"{x:.4f}" if abs(x) >= 1e-4 or x == 0 else f"{x:.3g}"
    return str(v)


def summary_table(m: StyleModel) -> Table:
    """One-row-per-fact summary of the model."""
    edges = [f"{p} -> {c}" for c, p in m.parents_.items() if p is not None]
    rows: list[dict[str, Any]] = [
        {"item": "data", "value": f"{m.source_} ({m.data_kind_}, {m.n_rows_} people)"},
        {"item": "attributes", "value": f"{len(m.attributes_)}: {', '.join(m.attributes_)}"},
        {
            "item": "structure",
            "value": f"{m.structure}; edges: {', '.join(edges) if edges else 'none (independent)'}",
        },
        {"item": "alpha (Dirichlet pseudo-count per cell)", "value": m.alpha},
        {"item": "hard rules", "value": "; ".join(str(r) for r in m.rules_.rules) or "none"},
        {"item": "entropy of the style distribution (bits)", "value": round(m.entropy(), 4)},
        {"item": "styles with positive probability", "value": m.n_styles()},
        {"item": "value combinations", "value": m.n_possible_styles},
        {
            "item": "distinct training styles",
            "value": len(m.training_keys_) if m.data_kind_ == "rows" else "n/a",
        },
    ]
    return Table("Model", ["item", "value"], rows)


def marginal_tables(m: StyleModel) -> list[Table]:
    """For each attribute: count, MLE share count/N and the model's P(value) by total probability."""
    marg = m.marginals()
    out = []
    for a in m.attributes_:
        counts = m.counts_[a]
        n = max(int(counts.sum()), 1)
        p = m.parents_[a]
        how = f"sum over {p} of P({a} | {p}) P({p})" if p else "smoothed counts"
        rows = [
            {"value": v, "count": int(c), "MLE count/N": float(c / n), "P(value)": float(marg[a][v])}
            for v, c in zip(m.values_[a], counts, strict=True)
        ]
        out.append(Table(f"P({a})", ["value", "count", "MLE count/N", "P(value)"], rows, f"P(value): {how}"))
    return out


def conditional_tables(m: StyleModel) -> list[Table]:
    """P(child | parent) for every edge: one row per parent value, one column per child value."""
    out = []
    for v, a in enumerate(m.attributes_):
        p = m.parents_[a]
        if p is None:
            continue
        cpt = m.network_.cpts[v]
        rows = []
        for i, pv in enumerate(m.values_[p]):
            row: dict[str, Any] = {f"{p} \\ {a}": pv}
            row.update({cv: float(cpt[i, j]) for j, cv in enumerate(m.values_[a])})
            rows.append(row)
        out.append(Table(f"P({a} | {p})", [f"{p} \\ {a}", *m.values_[a]], rows))
    return out


def bayes_tables(m: StyleModel) -> list[Table]:
    """Inverse queries by Bayes' rule for every edge: P(parent | child) = P(child | parent) P(parent) / P(child)."""
    out = []
    for a in m.attributes_:
        p = m.parents_[a]
        if p is None:
            continue
        rows = []
        for cv in m.values_[a]:
            try:
                post = m.posterior(p, {a: cv})
            except UserError:  # a value of probability 0 has no posterior
                continue
            row: dict[str, Any] = {f"{a} \\ {p}": cv}
            row.update({k: float(x) for k, x in post.items()})
            rows.append(row)
        out.append(
            Table(
                f"P({p} | {a}) by Bayes' rule",
                [f"{a} \\ {p}", *m.values_[p]],
                rows,
                "P(p|c) = P(c|p) P(p) / P(c)",
            )
        )
    return out


def mutual_information_table(m: StyleModel, top: int = 15) -> Table | None:
    """The attribute pairs with the highest plug-in mutual information (bits); rows data only."""
    if m.mutual_information_ is None:
        return None
    mi = m.mutual_information_
    k = len(m.attributes_)
    pairs = sorted(((float(mi[i, j]), i, j) for i in range(k) for j in range(i + 1, k)), reverse=True)[:top]
    edges = {(c, p) for c, p in m.parents_.items() if p is not None}
    rows = [
        {
            "attribute A": m.attributes_[i],
            "attribute B": m.attributes_[j],
            "MI (bits)": v,
            "in tree": "yes"
            if (m.attributes_[i], m.attributes_[j]) in edges or (m.attributes_[j], m.attributes_[i]) in edges
            else "",
        }
        for v, i, j in pairs
    ]
    return Table("Mutual information", ["attribute A", "attribute B", "MI (bits)", "in tree"], rows)


def consistency_table(m: StyleModel) -> Table:
    """The consistency report (law of total probability checks) and how problems were resolved."""
    rows = [{"level": n.level, "finding": n.text} for n in m.notes_]
    return Table("Consistency report", ["level", "finding"], rows)


def explain_tables(m: StyleModel) -> list[Table]:
    """Every table of ``styles explain``, in order."""
    tables = [summary_table(m), consistency_table(m), *marginal_tables(m), *conditional_tables(m)]
    tables += bayes_tables(m)
    mi = mutual_information_table(m)
    if mi is not None:
        tables.append(mi)
    return tables


def render_text(tables: list[Table]) -> str:
    """Aligned plain-text rendering."""
    parts = []
    for t in tables:
        cells = [[str(c) for c in t.columns]] + [[_fmt(r.get(c, "")) for c in t.columns] for r in t.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(t.columns))]
        numeric = [
            bool(t.rows) and all(isinstance(r.get(c), int | float | np.number) for r in t.rows)
            for c in t.columns
        ]
        lines = [f"== {t.title}"]
        for n, row in enumerate(cells):
            just = [
                x.rjust(w) if numeric[i] else x.ljust(w)
                for i, (x, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  ".join(just).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        if t.note:
            lines.append(f"({t.note})")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def render_markdown(tables: list[Table], level: int = 3) -> str:
    """Markdown rendering (pipe tables)."""
    parts = []
    for t in tables:
        head = "| " + " | ".join(t.columns) + " |"
        sep = "|" + "|".join("---" for _ in t.columns) + "|"
        body = [
            "| " + " | ".join(_fmt(r.get(c, "")).replace("|", "\\|") for c in t.columns) + " |"
            for r in t.rows
        ]
        note = f"\n\n_{t.note}_" if t.note else ""
        parts.append(f"{'#' * level} {t.title}\n\n" + "\n".join([head, sep, *body]) + note)
    return "\n\n".join(parts) + "\n"
