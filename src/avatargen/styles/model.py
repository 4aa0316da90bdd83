"""StyleModel: a tree Bayesian network over style attributes, fitted by maximum likelihood with
Dirichlet smoothing; exact probabilities, marginals, Bayes queries, sampling and save/load."""

from __future__ import annotations

import base64
import json
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avatargen.styles.consistency import Note, counts_consistency, counts_only_table, independence_notes
from avatargen.styles.data import (
    Rules,
    StyleData,
    as_style_data,
    read_json,
    rules_from_mapping,
)
from avatargen.styles.estimate import (
    chow_liu_edges,
    find_cycle,
    g_test_pvalue,
    mutual_information_matrix,
    orient_forest,
    pair_counts,
    pairwise_counts,
    smoothed,
)
from avatargen.styles.network import TreeNetwork, enumerate_support
from avatargen.styles.rules import apply_rule_values, as_rules, check_rows_against_rules, rule_masks
from avatargen.styles.sample import (
    ancestral_codes,
    distinct_codes,
    is_member,
    keys_to_codes,
    style_keys,
    unique_keys,
)
from sharedcore.atomic import write_text
from sharedcore.errors import UserError

FORMAT_VERSION = 1
MODEL_KIND = "avatargen.styles.StyleModel"
STRUCTURES = ("chow-liu", "independent", "declared")
ENUMERATE_LIMIT = 300_000
MI_REPORT_LIMIT = 20_000_000  # rows x attribute pairs counted for the MI report of a given structure


class StyleModel:
    """Probabilities of styles (one value per attribute) as a tree-shaped Bayesian network.

    alpha: Dirichlet pseudo-count added to every cell of every (conditional) table; 0 = pure MLE.
    structure: "chow-liu" (maximum mutual-information tree, completing declared edges),
    "independent" (only edges that hard rules need) or "declared" (edges of the rules file).
    rules: a rules file path, a ``Rules`` object or a mapping (see ``avatargen.styles.data.load_rules``).
    edge_pvalue: with chow-liu, drop learned edges whose G-test of independence has p above this.
    """

    # learned state (set by fit / load)
    attributes_: list[str]
    values_: dict[str, list[str]]
    parents_: dict[str, str | None]
    network_: TreeNetwork
    tables_: list[np.ndarray]
    counts_: dict[str, np.ndarray]
    mutual_information_: np.ndarray | None
    n_rows_: int
    data_kind_: str
    source_: str
    rules_: Rules
    notes_: list[Note]
    training_keys_: np.ndarray

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
        if not (isinstance(self.alpha, numbers.Real) and 0 <= self.alpha < np.inf):
            raise UserError(f"alpha {self.alpha!r} is invalid; give a number >= 0 (0 = pure MLE)")
        if self.structure not in STRUCTURES:
            raise UserError(f"structure '{self.structure}' is unknown; choose one of {', '.join(STRUCTURES)}")
        rules = as_rules(self.rules)
        d = apply_rule_values(as_style_data(data), rules)
        if d.codes is not None:
            check_rows_against_rules(d, rules)
        k = len(d.attributes)
        cards = [len(d.values[a]) for a in d.attributes]
        parents, pairs, mi, notes = self._structure(d, rules, cards)
        tables = _count_tables(d, rules, parents, pairs, cards)
        masks = rule_masks(parents, rules, d)
        cpts = [smoothed(t, float(self.alpha), masks[v]) for v, t in enumerate(tables)]
        if d.kind == "counts":
            notes = counts_consistency(d, rules) + notes + independence_notes(d, rules, parents)
        else:
            notes.append(Note("ok", f"{d.n_rows} rows, every row has a value for each of the {k} attributes"))

        attrs = d.attributes
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
        self.training_keys_ = unique_keys(
            d.codes if d.codes is not None else np.zeros((0, k), dtype=np.int64), cards
        )
        return self

    def _structure(
        self, d: StyleData, rules: Rules, cards: list[int]
    ) -> tuple[np.ndarray, dict[tuple[int, int], np.ndarray], np.ndarray | None, list[Note]]:
        """Parent pointers of the tree, the pairwise count tables computed on the way, the mutual
        information matrix (rows data) and notes for the report."""
        attrs = d.attributes
        idx = {a: i for i, a in enumerate(attrs)}
        k = len(attrs)
        notes: list[Note] = []
        directed = {idx[c]: idx[p] for c, p in rules.depends_on.items()}
        rule_pairs = [(idx[r.if_attr], idx[r.then_attr]) for r in rules.rules]
        if self.structure == "independent":  # only the links that hard rules need
            directed = {}
        forced = sorted({(min(a, b), max(a, b)) for a, b in [*directed.items(), *rule_pairs]})
        cyc = find_cycle(forced, k)
        if cyc is not None:
            raise UserError(
                f"{rules.source}: declared dependencies and rules link '{attrs[cyc[0]]}' and '{attrs[cyc[1]]}' "
                "into a cycle; the model is a tree, remove one link"
            )
        # all pairwise tables: needed by Chow-Liu; otherwise only for the report, skipped when large
        pairs: dict[tuple[int, int], np.ndarray] = {}
        mi = None
        if d.codes is not None:
            if self.structure == "chow-liu" or d.n_rows * k * (k - 1) // 2 <= MI_REPORT_LIMIT:
                pairs = pairwise_counts(d.codes, cards)
                mi = mutual_information_matrix(d.codes, cards, pairs)
            else:
                notes.append(Note("note", "mutual information not computed (large table, structure given)"))
        edges = forced
        if self.structure == "chow-liu" and mi is not None:
            edges = chow_liu_edges(mi, forced, directed)
            if self.edge_pvalue is not None:
                keep = set(forced)
                edges = [
                    e
                    for e in edges
                    if e in keep
                    or g_test_pvalue(mi[e], d.n_rows, cards[e[0]], cards[e[1]]) <= self.edge_pvalue
                ]
        elif self.structure == "chow-liu":
            notes.append(
                Note(
                    "note",
                    "counts-only data carries no joint information, so no tree can be learned: "
                    "attributes are independent except where the rules link them",
                )
            )
        parents = orient_forest(edges, k, directed)
        if parents is None:
            named = ", ".join(f"{attrs[c]} <- {attrs[p]}" for c, p in directed.items())
            raise UserError(
                f"{rules.source}: the declared dependencies cannot be oriented as a tree (some attribute "
                f"would get two parents: {named}); declare at most one parent per attribute"
            )
        return parents, pairs, mi, notes

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
        out = np.empty((len(df), len(self.attributes_)), dtype=np.int64, order="F")
        for i, a in enumerate(self.attributes_):
            col = df[a]
            if isinstance(col.dtype, pd.CategoricalDtype):
                codes = np.asarray(col.cat.codes, dtype=np.int64)
                uniques = [str(c) for c in col.cat.categories]
            else:
                codes, uniq = pd.factorize(col, use_na_sentinel=True)
                uniques = [str(u) for u in uniq]
            index = {v: j for j, v in enumerate(self.values_[a])}
            remap = np.asarray([index.get(u.strip(), -1) for u in uniques] + [-1], dtype=np.int64)
            out[:, i] = remap[codes]  # code -1 (missing) picks the trailing -1
        return out

    def decode(self, codes: np.ndarray, probability: np.ndarray | None = None) -> pd.DataFrame:
        """A table of value names (categorical columns) from valid (n, k) codes, plus an optional
        ``probability`` column."""
        cols: dict[str, Any] = {
            a: pd.Categorical.from_codes(
                codes[:, i], categories=pd.Index(self.values_[a], dtype=object), validate=False
            )
            for i, a in enumerate(self.attributes_)
        }
        if probability is not None:
            cols["probability"] = probability
        return pd.DataFrame(cols, copy=False)

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
        return self.decode(codes, self.network_.probability(codes))

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
            if ev:  # drawn from the posterior; the probability column is the prior P(style)
                return self._frame(ancestral_codes(net, n, rng))
            prob = np.empty(n)
            return self.decode(ancestral_codes(net, n, rng, probability=prob), prob)
        cards = net.cards
        excl = style_keys(np.zeros((0, len(cards)), dtype=np.int64), cards)
        if (exclude_training is None or exclude_training) and len(self.training_keys_):
            if ev:  # only training styles that agree with the evidence are reachable
                tc = self.training_codes_
                tc = tc[np.all([tc[:, i] == x for i, x in ev.items()], axis=0)]
                excl = unique_keys(tc[net.probability(tc) > 0], cards)
            else:  # every training row has positive probability under the fitted model
                excl = self.training_keys_
        support = net.support_size()
        available = support - len(excl)
        if n > available:
            what = "new (not in the training rows) " if len(excl) else ""
            raise UserError(
                f"-n {n}: only {available} distinct {what}styles have positive probability"
                + (" with this --given" if ev else "")
                + "; ask for fewer or drop --unique"
            )
        if support <= ENUMERATE_LIMIT:
            codes, prob = enumerate_support(net)
            keep = ~is_member(style_keys(codes, cards), excl)
            codes, prob = codes[keep], prob[keep]
            # Gumbel-top-k: the order of successive draws without replacement, exactly
            g = np.log(prob) + rng.gumbel(size=len(prob))
            pick = np.argsort(-g, kind="stable")[:n]
            return self._frame(codes[pick])
        codes = distinct_codes(net, n, rng, exclude_keys=excl)
        if len(codes) < n:
            raise UserError(
                f"-n {n}: found only {len(codes)} distinct styles after many draws; ask for fewer"
            )
        return self._frame(codes)

    def most_probable(self, k: int, given: dict[str, str] | None = None) -> pd.DataFrame:
        """The k most probable styles (consistent with ``given``), best first, with probabilities."""
        ev = self._evidence(given)
        if k > 100 and self.network_.support_size(ev) <= ENUMERATE_LIMIT:  # many: sort them all
            codes, _prob = enumerate_support(self.network_.condition(ev))
            order = np.argsort(-self.network_.probability(codes), kind="stable")[:k]
            return self._frame(codes[order])
        codes, _ = self.network_.most_probable(k, ev)
        return self._frame(codes)

    def training_keys(self) -> np.ndarray:
        """Sorted keys (see ``sample.style_keys``) of the distinct training styles."""
        return self.training_keys_

    @property
    def training_codes_(self) -> np.ndarray:
        """The distinct training styles as (m, k) int64 codes (none for counts-only data)."""
        return keys_to_codes(self.training_keys_, self.network_.cards)

    # -------------------------------------------------------------------------------- save/load

    def to_json(self) -> dict[str, Any]:
        """The fitted model as a JSON-ready mapping (with ``format_version``)."""
        self._check_fitted()
        keys = self.training_keys_
        if keys.dtype == np.int64:  # compact: one little-endian int64 mixed-radix key per style
            training = {
                "count": len(keys),
                "int64_keys_base64": base64.b64encode(keys.astype("<i8").tobytes()).decode(),
            }
        else:
            tc = np.ascontiguousarray(self.training_codes_.astype("<i4"))
            training = {"shape": list(tc.shape), "int32_base64": base64.b64encode(tc.tobytes()).decode()}
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
            "training_styles": training,
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
            if "int64_keys_base64" in ts:
                keys = np.frombuffer(base64.b64decode(ts["int64_keys_base64"]), dtype="<i8").astype(np.int64)
                if len(keys) != int(ts["count"]):
                    raise ValueError("training_styles: wrong number of keys")
                m.training_keys_ = np.sort(keys)
            else:
                raw = base64.b64decode(ts["int32_base64"])
                tcodes = np.frombuffer(raw, dtype="<i4").reshape(ts["shape"]).astype(np.int64)
                m.training_keys_ = unique_keys(tcodes, m.network_.cards)
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


def _count_tables(
    d: StyleData,
    rules: Rules,
    parents: np.ndarray,
    pairs: dict[tuple[int, int], np.ndarray],
    cards: list[int],
) -> list[np.ndarray]:
    """Count table of every attribute: (1, K) for a root, (K_parent, K) joint counts for a child
    (per-row data), or pseudo-joint counts built from the marginals (counts-only data)."""
    tables = []
    for v, a in enumerate(d.attributes):
        p = int(parents[v])
        if d.codes is None:
            t = counts_only_table(d, rules, d.attributes, p, v, cards)
        elif p < 0:
            t = d.counts[a][None, :]
        else:
            key = (min(p, v), max(p, v))
            if key not in pairs:
                pairs[key] = pair_counts(d.codes[:, key[0]], d.codes[:, key[1]], cards[key[0]], cards[key[1]])
            t = pairs[key] if p < v else pairs[key].T
        tables.append(np.asarray(t, dtype=np.int64))
    return tables
