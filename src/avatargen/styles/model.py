"""StyleModel: a tree Bayesian network over style attributes, fitted by maximum likelihood with
Dirichlet smoothing; exact probabilities, marginals, Bayes queries, sampling and save/load."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avatargen.styles.data import (
    Rules,
    StyleData,
    as_style_data,
    load_rules,
    read_json,
    rules_from_mapping,
)
from avatargen.styles.estimate import (
    chow_liu_edges,
    find_cycle,
    g_test_pvalue,
    mutual_information_matrix,
    pair_counts,
    smoothed,
)
from avatargen.styles.network import TreeNetwork, enumerate_support
from avatargen.styles.sample import ancestral_codes, distinct_codes, style_keys
from sharedcore.atomic import write_text
from sharedcore.errors import UserError

FORMAT_VERSION = 1
MODEL_KIND = "avatargen.styles.StyleModel"
STRUCTURES = ("chow-liu", "independent", "declared")
ENUMERATE_LIMIT = 300_000


@dataclass
class Note:
    """One line of the consistency report: ``level`` is 'ok', 'note' or 'inconsistent'."""

    level: str
    text: str


class StyleModel:
    """Probabilities of styles (one value per attribute) as a tree-shaped Bayesian network.

    alpha: Dirichlet pseudo-count added to every cell of every (conditional) table; 0 = pure MLE.
    structure: "chow-liu" (maximum mutual-information tree, completing declared edges),
    "independent" (only edges that hard rules need) or "declared" (edges of the rules file).
    rules: a rules file path, a ``Rules`` object or a mapping (see ``avatargen.styles.data.load_rules``).
    edge_pvalue: with chow-liu, drop learned edges whose G-test of independence has p above this.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        structure: str = "chow-liu",
        rules: Rules | str | os.PathLike[str] | dict[str, Any] | None = None,
        edge_pvalue: float | None = None,
    ) -> None:
        self.alpha = alpha
        self.structure = structure
        self.rules = rules
        self.edge_pvalue = edge_pvalue

    # ------------------------------------------------------------------------------------- fitting

    def fit(self, data: Any) -> StyleModel:
        """Estimate structure and tables from a per-row table or per-attribute counts.

        ``data``: StyleData, a pandas DataFrame (one column per attribute), a counts mapping
        ``{"attributes": {attr: {value: count}}}`` or a path to a data file. Returns self.
        """
        if not (isinstance(self.alpha, int | float) and self.alpha >= 0 and np.isfinite(self.alpha)):
            raise UserError(f"alpha {self.alpha!r} is invalid; give a number >= 0 (0 = pure MLE)")
        if self.structure not in STRUCTURES:
            raise UserError(f"structure '{self.structure}' is unknown; choose one of {', '.join(STRUCTURES)}")
        d = as_style_data(data)
        rules = _as_rules(self.rules)
        d = _apply_rule_values(d, rules)
        attrs = d.attributes
        idx = {a: i for i, a in enumerate(attrs)}
        k = len(attrs)
        cards = [len(d.values[a]) for a in attrs]
        notes: list[Note] = []
        if d.codes is not None:
            _check_rows_against_rules(d, rules)

        # structure -----------------------------------------------------------------------
        directed = {idx[c]: idx[p] for c, p in rules.depends_on.items()}
        rule_pairs = [(idx[r.if_attr], idx[r.then_attr]) for r in rules.rules]
        forced = sorted({(min(a, b), max(a, b)) for a, b in [*directed.items(), *rule_pairs]})
        if self.structure == "independent":
            forced = sorted({(min(a, b), max(a, b)) for a, b in rule_pairs})
            directed = {}
        cyc = find_cycle(forced, k)
        if cyc is not None:
            raise UserError(
                f"{rules.source}: declared dependencies and rules link '{attrs[cyc[0]]}' and '{attrs[cyc[1]]}' "
                "into a cycle; the model is a tree, remove one link"
            )
        mi = mutual_information_matrix(d.codes, cards) if d.codes is not None else None
        if self.structure == "chow-liu" and mi is not None:
            edges = chow_liu_edges(mi, forced, directed)
            if self.edge_pvalue is not None:
                n = d.n_rows
                fset = set(forced)
                edges = [
                    e
                    for e in edges
                    if e in fset or g_test_pvalue(mi[e], n, cards[e[0]], cards[e[1]]) <= self.edge_pvalue
                ]
        else:
            edges = forced
            if self.structure == "chow-liu":
                notes.append(
                    Note(
                        "note",
                        "counts-only data carries no joint information, so no tree can be learned: "
                        "attributes are independent except where the rules link them",
                    )
                )
        parents = _orient(edges, k, directed, attrs, rules)

        # tables ------------------------------------------------------------------------------
        masks = _rule_masks(parents, rules, d)
        cpts: list[np.ndarray] = []
        tables: list[np.ndarray] = []
        for v in range(k):
            p = int(parents[v])
            if d.codes is not None:
                if p < 0:
                    t = d.counts[attrs[v]][None, :]
                else:
                    t = pair_counts(d.codes[:, p], d.codes[:, v], cards[p], cards[v])
            else:
                t = _counts_only_table(d, rules, attrs, p, v, cards)
            tables.append(np.asarray(t, dtype=np.int64))
            cpts.append(smoothed(t, float(self.alpha), masks[v]))
        if d.kind == "counts":
            notes = _counts_consistency(d, rules) + notes
        else:
            notes.append(Note("ok", f"{d.n_rows} rows, every row has a value for each of the {k} attributes"))

        self.attributes_ = list(attrs)
        self.values_ = {a: list(d.values[a]) for a in attrs}
        self.parents_ = {attrs[v]: (attrs[int(parents[v])] if parents[v] >= 0 else None) for v in range(k)}
        self.network_ = TreeNetwork(parents, cpts)
        self.tables_ = tables
        self.counts_ = {a: d.counts[a].copy() for a in attrs}
        self.mutual_information_ = mi
        self.n_rows_ = d.n_rows
        self.data_kind_ = d.kind
        self.source_ = d.source
        self.rules_ = rules
        self.notes_ = notes
        self.training_codes_ = (
            np.unique(d.codes, axis=0).astype(np.int64)
            if d.codes is not None
            else np.zeros((0, k), dtype=np.int64)
        )
        return self

    # --------------------------------------------------------------------------------- encoding

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise RuntimeError("StyleModel is not fitted; call fit() or StyleModel.load()")

    def encode(self, style: dict[str, str], where: str = "style") -> dict[int, int]:
        """Map {attribute: value} to {attribute index: value index}; unknown names -> UserError."""
        self._check_fitted()
        out: dict[int, int] = {}
        for a, v in style.items():
            if a not in self.attributes_:
                raise UserError(
                    f"{where}: unknown attribute '{a}'; the model has: {', '.join(self.attributes_)}"
                )
            vals = self.values_[a]
            if v not in vals:
                raise UserError(
                    f"{where}: attribute '{a}' has no value '{v}'; known values: {', '.join(vals)}"
                )
            out[self.attributes_.index(a)] = vals.index(v)
        return out

    def encode_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Codes (n, k) of a table with one column per model attribute; unknown values -> -1."""
        self._check_fitted()
        missing = [a for a in self.attributes_ if a not in df.columns]
        if missing:
            raise UserError(
                f"table: column '{missing[0]}' is missing; the model needs {', '.join(self.attributes_)}"
            )
        cols = []
        for a in self.attributes_:
            cat = pd.Categorical(df[a].astype(str).str.strip(), categories=self.values_[a])
            cols.append(np.asarray(cat.codes, dtype=np.int64))
        return np.stack(cols, axis=1)

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        """A table of value names (categorical columns) from an (n, k) code array."""
        return pd.DataFrame(
            {
                a: pd.Categorical.from_codes(codes[:, i], categories=pd.Index(self.values_[a], dtype=object))
                for i, a in enumerate(self.attributes_)
            }
        )

    def _evidence(self, given: dict[str, str] | None, where: str = "--given") -> dict[int, int]:
        ev = self.encode(given or {}, where)
        if ev and self.network_.evidence_probability(ev) <= 0:
            desc = ", ".join(f"{a}={v}" for a, v in (given or {}).items())
            raise UserError(
                f"{where}: {desc} has probability 0 under the model (a hard rule or a zero count); relax it"
            )
        return ev

    # ------------------------------------------------------------------------------ probabilities

    def probability(self, style: dict[str, str]) -> float:
        """P(style). A full style uses the chain rule; a partial one sums over the missing
        attributes (law of total probability)."""
        ev = self.encode(style)
        if len(ev) == len(self.attributes_):
            codes = np.zeros((1, len(ev)), dtype=np.int64)
            for i, x in ev.items():
                codes[0, i] = x
            return float(self.network_.probability(codes)[0])
        return self.network_.evidence_probability(ev)

    def breakdown(self, style: dict[str, str]) -> pd.DataFrame:
        """Per-attribute chain-rule factors of a full style: attribute, value, given, probability.

        The product of the ``probability`` column is P(style).
        """
        ev = self.encode(style)
        missing = [a for a in self.attributes_ if a not in style]
        if missing:
            raise UserError(
                f"style: attribute '{missing[0]}' is not given; a breakdown needs every attribute "
                f"({', '.join(self.attributes_)})"
            )
        net = self.network_
        rows = []
        for v in net.order:
            a = self.attributes_[v]
            p = int(net.parents[v])
            xp = ev[p] if p >= 0 else 0
            given = f"{self.attributes_[p]}={self.values_[self.attributes_[p]][xp]}" if p >= 0 else ""
            rows.append(
                {
                    "attribute": a,
                    "value": style[a],
                    "given": given,
                    "probability": float(net.cpts[v][xp, ev[v]]),
                }
            )
        return pd.DataFrame(rows)

    def log2_probability(self, table: pd.DataFrame) -> np.ndarray:
        """log2 P(style) of each row of a table (-inf for impossible or unknown values); (n,)."""
        codes = self.encode_frame(table)
        bad = (codes < 0).any(axis=1)
        out = self.network_.log2_probability(np.where(codes < 0, 0, codes))
        out[bad] = -np.inf
        return out

    def score(self, table: pd.DataFrame | StyleData) -> float:
        """Mean log2-likelihood per style (bits; higher is better) of a table or StyleData."""
        if isinstance(table, StyleData):
            if table.codes is None:
                raise UserError(f"{table.source}: counts-only data has no rows to score")
            with np.errstate(divide="ignore"):
                return float(self.network_.log2_probability(table.codes).mean())
        return float(self.log2_probability(table).mean())

    def marginals(self) -> dict[str, dict[str, float]]:
        """P(attribute = value) for every attribute, by the law of total probability."""
        self._check_fitted()
        m = self.network_.marginals()
        return {
            a: dict(zip(self.values_[a], m[i].tolist(), strict=True)) for i, a in enumerate(self.attributes_)
        }

    def posterior(self, attribute: str, given: dict[str, str]) -> dict[str, float]:
        """P(attribute | given) for every value of ``attribute`` (Bayes' rule, exact)."""
        ev = self._evidence(given)
        if attribute not in self.attributes_:
            raise UserError(
                f"query: unknown attribute '{attribute}'; the model has: {', '.join(self.attributes_)}"
            )
        post = self.network_.condition(ev).marginals()[self.attributes_.index(attribute)]
        return dict(zip(self.values_[attribute], post.tolist(), strict=True))

    def entropy(self) -> float:
        """Entropy of the style distribution in bits."""
        self._check_fitted()
        return self.network_.entropy()

    def n_styles(self, given: dict[str, str] | None = None) -> int:
        """Number of styles with positive probability (consistent with ``given``)."""
        return self.network_.support_size(self._evidence(given))

    @property
    def n_possible_styles(self) -> int:
        """Number of value combinations: the product of the attributes' value counts."""
        self._check_fitted()
        return int(np.prod([len(self.values_[a]) for a in self.attributes_], dtype=object))

    # ----------------------------------------------------------------------------------- sampling

    def _frame(self, codes: np.ndarray) -> pd.DataFrame:
        df = self.decode(codes)
        df["probability"] = self.network_.probability(codes.astype(np.int64))
        return df

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        given: dict[str, str] | None = None,
        unique: bool = False,
        exclude_training: bool | None = None,
    ) -> pd.DataFrame:
        """Draw n styles; columns: the attributes in order, then ``probability`` = P(style).

        ``given`` conditions on evidence exactly (message passing on the tree). ``unique`` draws
        styles without repeats and, unless ``exclude_training`` is False, none of the training rows.
        """
        self._check_fitted()
        if n < 0:
            raise UserError(f"-n {n}: the number of styles must be >= 0")
        ev = self._evidence(given)
        net = self.network_.condition(ev)
        if not unique:
            return self._frame(ancestral_codes(net, n, rng))
        excl = self.training_codes_ if (exclude_training is None or exclude_training) else None
        if excl is not None and len(excl) and ev:
            keep = np.all([excl[:, i] == x for i, x in ev.items()], axis=0)
            excl = excl[keep]
        if excl is not None and len(excl):
            excl = excl[net.probability(excl) > 0]
        n_excl = 0 if excl is None else len(excl)
        available = net.support_size() - n_excl
        if n > available:
            what = "new (not in the training rows) " if n_excl else ""
            raise UserError(
                f"-n {n}: only {available} distinct {what}styles have positive probability"
                + (" with this --given" if ev else "")
                + "; ask for fewer or drop --unique"
            )
        if net.support_size() <= ENUMERATE_LIMIT:
            codes, prob = enumerate_support(net)
            if excl is not None and len(excl):
                keep = ~np.isin(style_keys(codes, net.cards), style_keys(excl, net.cards))
                codes, prob = codes[keep], prob[keep]
            # Gumbel-top-k: the order of successive draws without replacement, exactly
            g = np.log(prob) + rng.gumbel(size=len(prob))
            pick = np.argsort(-g, kind="stable")[:n]
            return self._frame(codes[pick])
        codes = distinct_codes(net, n, rng, exclude=excl)
        if len(codes) < n:
            raise UserError(
                f"-n {n}: found only {len(codes)} distinct styles after many draws; ask for fewer"
            )
        return self._frame(codes.astype(np.int64))

    def most_probable(self, k: int, given: dict[str, str] | None = None) -> pd.DataFrame:
        """The k most probable styles (consistent with ``given``), best first, with probabilities."""
        codes, _ = self.network_.most_probable(k, self._evidence(given))
        return self._frame(codes)

    def training_keys(self) -> np.ndarray:
        """Keys (see ``sample.style_keys``) of the distinct training styles."""
        return style_keys(self.training_codes_, self.network_.cards)

    # -------------------------------------------------------------------------------- save/load

    def to_json(self) -> dict[str, Any]:
        """The fitted model as a JSON-ready mapping (with ``format_version``)."""
        self._check_fitted()
        tc = np.ascontiguousarray(self.training_codes_.astype(np.int32))
        return {
            "format_version": FORMAT_VERSION,
            "kind": MODEL_KIND,
            "params": {"alpha": self.alpha, "structure": self.structure, "edge_pvalue": self.edge_pvalue},
            "source": self.source_,
            "data_kind": self.data_kind_,
            "n_rows": self.n_rows_,
            "attributes": self.attributes_,
            "values": self.values_,
            "parents": self.parents_,
            "counts": {a: c.tolist() for a, c in self.counts_.items()},
            "tables": [t.tolist() for t in self.tables_],
            "cpts": [c.tolist() for c in self.network_.cpts],
            "mutual_information": None
            if self.mutual_information_ is None
            else self.mutual_information_.tolist(),
            "rules": self.rules_.to_json(),
            "notes": [{"level": n.level, "text": n.text} for n in self.notes_],
            "training_styles": {
                "shape": list(tc.shape),
                "int32_base64": base64.b64encode(tc.tobytes()).decode(),
            },
        }

    def save(self, path: str | os.PathLike[str], force: bool = False) -> Path:
        """Write the model as JSON atomically; an existing file is replaced only with ``force``."""
        return write_text(path, json.dumps(self.to_json(), ensure_ascii=False) + "\n", force=force)

    @classmethod
    def from_json(cls, obj: Any, source: str = "<model>") -> StyleModel:
        """Rebuild a fitted model from ``to_json`` output; wrong versions/shapes -> UserError."""
        if not isinstance(obj, dict) or obj.get("kind") != MODEL_KIND:
            raise UserError(
                f"{source}: not a style model file (no kind '{MODEL_KIND}'); run `avatargen styles fit` first"
            )
        version = obj.get("format_version")
        if version != FORMAT_VERSION:
            raise UserError(
                f"{source}: model format_version {version!r} found, {FORMAT_VERSION} expected; refit the model"
            )
        try:
            params = obj["params"]
            m = cls(
                alpha=params["alpha"], structure=params["structure"], edge_pvalue=params.get("edge_pvalue")
            )
            attrs = [str(a) for a in obj["attributes"]]
            m.attributes_ = attrs
            m.values_ = {a: [str(v) for v in obj["values"][a]] for a in attrs}
            m.parents_ = {a: obj["parents"][a] for a in attrs}
            parents = np.array(
                [attrs.index(p) if p is not None else -1 for p in (m.parents_[a] for a in attrs)]
            )
            cpts = [np.asarray(c, dtype=np.float64) for c in obj["cpts"]]
            for i, a in enumerate(attrs):
                kp = 1 if parents[i] < 0 else len(m.values_[attrs[parents[i]]])
                if cpts[i].shape != (kp, len(m.values_[a])) or not np.allclose(cpts[i].sum(axis=1), 1.0):
                    raise ValueError(f"table of '{a}' has the wrong shape or does not sum to 1")
            m.network_ = TreeNetwork(parents, cpts)
            m.tables_ = [np.asarray(t, dtype=np.int64) for t in obj["tables"]]
            m.counts_ = {a: np.asarray(obj["counts"][a], dtype=np.int64) for a in attrs}
            mi = obj.get("mutual_information")
            m.mutual_information_ = None if mi is None else np.asarray(mi, dtype=np.float64)
            m.n_rows_ = int(obj["n_rows"])
            m.data_kind_ = "counts" if obj["data_kind"] == "counts" else "rows"
            m.source_ = str(obj["source"])
            m.rules_ = rules_from_mapping(obj.get("rules"), f"{source} (rules)")
            m.rules = m.rules_
            m.notes_ = [Note(str(n["level"]), str(n["text"])) for n in obj.get("notes", [])]
            ts = obj["training_styles"]
            raw = base64.b64decode(ts["int32_base64"])
            m.training_codes_ = np.frombuffer(raw, dtype=np.int32).reshape(ts["shape"]).astype(np.int64)
        except UserError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise UserError(
                f"{source}: damaged model file ({type(exc).__name__}: {exc}); refit the model"
            ) from None
        return m

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StyleModel:
        """Read a model saved with ``save``; other versions or damaged files -> UserError."""
        p = Path(path)
        if not p.is_file():
            raise UserError(f"{p}: no such model file; run `avatargen styles fit DATA -o {p.name}` first")
        return cls.from_json(read_json(p), str(p))


# ------------------------------------------------------------------------------------- internals


def _as_rules(rules: Rules | str | os.PathLike[str] | dict[str, Any] | None) -> Rules:
    if rules is None:
        return Rules()
    if isinstance(rules, Rules):
        return rules
    if isinstance(rules, dict):
        return rules_from_mapping(rules)
    return load_rules(rules)


def _apply_rule_values(d: StyleData, rules: Rules) -> StyleData:
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


def _check_rows_against_rules(d: StyleData, rules: Rules) -> None:
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


def _orient(
    edges: list[tuple[int, int]], k: int, directed: dict[int, int], attrs: list[str], rules: Rules
) -> np.ndarray:
    from avatargen.styles.estimate import orient_forest

    parents = orient_forest(edges, k, directed)
    if parents is None:
        named = ", ".join(f"{attrs[c]} <- {attrs[p]}" for c, p in directed.items())
        raise UserError(
            f"{rules.source}: the declared dependencies cannot be oriented as a tree (some attribute would "
            f"get two parents: {named}); declare at most one parent per attribute and no chains that meet"
        )
    return parents


def _rule_masks(parents: np.ndarray, rules: Rules, d: StyleData) -> list[np.ndarray | None]:
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


def _counts_only_table(
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


def _counts_consistency(d: StyleData, rules: Rules) -> list[Note]:
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
