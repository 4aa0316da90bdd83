"""StyleModel: a tree Bayesian network over style attributes, fitted by maximum likelihood with
Dirichlet smoothing; exact probabilities, marginals, Bayes queries, sampling and save/load."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from avatargen.styles import persistence
from avatargen.styles.codes import StyleCodes
from avatargen.styles.consistency import Note, counts_consistency, independence_notes
from avatargen.styles.data import StyleData, as_style_data
from avatargen.styles.network import TreeNetwork, enumerate_support
from avatargen.styles.persistence import FORMAT_VERSION, MODEL_KIND
from avatargen.styles.rules import Rules, apply_rule_values, as_rules, check_rows_against_rules
from avatargen.styles.sample import (
    OneStyleSampler,
    SamplerCache,
    ancestral_codes,
    chain_probability,
    distinct_codes,
    is_member,
    style_keys,
    unique_keys,
)
from avatargen.styles.structure import STRUCTURES, check_structure, learn_structure
from avatargen.styles.tables import fitted_tables
from sharedcore.errors import UserError
from sharedcore.validate import check_float, check_int

__all__ = [
    "ENUMERATE_LIMIT",
    "FORMAT_VERSION",
    "MODEL_KIND",
    "MOST_PROBABLE_MAX",
    "SAMPLE_MAX",
    "STRUCTURES",
    "StyleModel",
]

ENUMERATE_LIMIT = 300_000
#: Most styles one ``sample`` call draws (-n): a million rows is about 40 MB of codes and text.
SAMPLE_MAX = 1_000_000
#: Most styles one ``most_probable`` call lists (exact best-first search beyond ENUMERATE_LIMIT).
MOST_PROBABLE_MAX = 100_000


def check_n(n: object, name: str = "-n", high: int = SAMPLE_MAX, fix: str = "call again for more") -> int:
    """A number of styles to draw or list: an integer from 0 to ``high``."""
    return check_int(n, name, 0, high, fix=f"at most {high:,} styles per call; {fix}")


# conditioned single-style samplers kept per model (LRU, one per distinct --given), at most this many
# and this many table cells in all (~80 bytes each: ~40 KB per pin set for the example model)
SAMPLER_CACHE, SAMPLER_CACHE_CELLS = 4096, 1 << 20


class StyleModel(StyleCodes):
    """Probabilities of styles (one value per attribute) as a tree-shaped Bayesian network.

    alpha: Dirichlet pseudo-count added to every cell of every (conditional) table; 0 = pure MLE.
    structure: "chow-liu" (maximum mutual-information tree, completing declared edges),
    "independent" (only edges that hard rules need) or "declared" (edges of the rules file);
    learned by ``avatargen.styles.structure``, its tables by ``avatargen.styles.tables``. The learned
    state (``values_``, ``network_``, ...) is declared in ``avatargen.styles.state``, saved and loaded by
    ``avatargen.styles.persistence``; names <-> codes: ``avatargen.styles.codes``.
    rules: a rules file path, a ``Rules`` object or a mapping (see ``avatargen.styles.rules.load_rules``).
    edge_pvalue: with chow-liu, drop learned edges whose G-test of independence has p above this.
    """

    _samplers: SamplerCache  # conditioned one-style samplers (sample_one), not saved

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

    def __getstate__(self) -> dict[str, Any]:
        """Pickled state: everything but the sampler cache (rebuilt on demand; it holds a lock)."""
        state = self.__dict__.copy()
        state.pop("_samplers", None)
        return state

    # ------------------------------------------------------------------------------------- fitting

    def fit(self, data: Any) -> StyleModel:
        """Estimate structure and tables from a per-row table or per-attribute counts.

        ``data``: StyleData, a pandas DataFrame (one column per attribute), a counts mapping
        ``{"attributes": {attr: {value: count}}}`` or a path to a data file. Returns self.
        """
        alpha = check_float(self.alpha, "--alpha", 0.0, fix="a Dirichlet pseudo-count; 0 = pure MLE")
        if self.edge_pvalue is not None:
            check_float(self.edge_pvalue, "--edge-pvalue", 0.0, 1.0, low_open=True, fix="e.g. 0.05")
        check_structure(self.structure)
        rules = as_rules(self.rules)
        d = apply_rule_values(as_style_data(data), rules)
        if d.codes is not None:
            check_rows_against_rules(d, rules)
        k = len(d.attributes)
        cards = [len(d.values[a]) for a in d.attributes]
        tree = learn_structure(d, rules, self.structure, self.edge_pvalue)
        parents, mi, notes = tree.parents, tree.mutual_information, tree.notes
        tables, cpts = fitted_tables(d, rules, parents, tree.pairs, cards, alpha)
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
        return pd.DataFrame(self.breakdown_records(style))

    def breakdown_records(self, style: dict[str, str]) -> list[dict[str, Any]]:
        """The rows of ``breakdown`` as plain dicts (attribute, value, given, probability), in the
        network's topological order, without building a DataFrame."""
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
        return rows

    def log2_probability(self, table: pd.DataFrame) -> np.ndarray:
        """log2 P(style) of each row of a table (-inf for impossible or unknown values); (n,)."""
        codes = self.encode_frame(table)
        bad = (codes < 0).any(axis=1)
        out = self.network_.log2_probability(np.where(codes < 0, 0, codes))
        out[bad] = -np.inf
        return out

    def score_samples(self, table: pd.DataFrame | StyleData) -> np.ndarray:
        """log2 P(style) of each row (bits, -inf for impossible or unknown values) of a table or
        StyleData; (n,). Per-sample, as scikit-learn's ``score_samples``."""
        if isinstance(table, StyleData):
            if table.codes is None:
                raise UserError(f"{table.source}: counts-only data has no rows to score")
            with np.errstate(divide="ignore"):
                return self.network_.log2_probability(table.codes)
        return self.log2_probability(table)

    def score(self, table: pd.DataFrame | StyleData) -> float:
        """Mean log2-likelihood per style (bits; higher is better) of a table or StyleData: one
        number, the mean of ``score_samples`` (scikit-learn's ``score``)."""
        return float(self.score_samples(table).mean())

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
        n = check_n(n)
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

    def sample_one(
        self, rng: np.random.Generator, given: dict[str, str] | None = None
    ) -> tuple[dict[str, str], float]:
        """One style and P(style): exactly the row ``sample(1, rng, given)`` returns (same draw, same
        float), without a DataFrame. The conditioned alias tables are built once per distinct ``given``
        and kept (an LRU of at most SAMPLER_CACHE entries and SAMPLER_CACHE_CELLS table cells), so
        repeated calls cost microseconds. Thread-safe."""
        self._check_fitted()
        ev = self.encode(given or {}, "--given")
        key = tuple(sorted(ev.items()))
        sampler = self._sampler(key, given)
        codes, prob = sampler.draw(rng)
        if ev:  # drawn from the posterior; the probability is the prior P(style), as in sample()
            prob = chain_probability(self.network_, codes)
        style = {a: self.values_[a][codes[i]] for i, a in enumerate(self.attributes_)}
        return style, prob

    def _sampler(self, key: tuple[tuple[int, int], ...], given: dict[str, str] | None) -> OneStyleSampler:
        """The cached OneStyleSampler of the network conditioned on ``key`` (encoded evidence); a refit
        or load (a new ``network_``) starts a fresh cache."""
        cache = self.__dict__.get("_samplers")
        if cache is None or cache.net is not self.network_:
            cache = SamplerCache(self.network_, SAMPLER_CACHE, SAMPLER_CACHE_CELLS)
            self._samplers = cache
        hit = cache.get(key)
        if hit is not None:
            return hit
        ev = self._evidence(given, "--given")  # P(given) = 0 -> UserError, as sample() raises
        sampler = OneStyleSampler(cache.net.condition(ev))
        cache.put(key, sampler)
        return sampler

    def most_probable(self, k: int, given: dict[str, str] | None = None) -> pd.DataFrame:
        """The k most probable styles (consistent with ``given``), best first, with probabilities."""
        k = check_n(k, "-n (with --most-probable)", MOST_PROBABLE_MAX, "the rest are rarer still")
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

    # -------------------------------------------------------------------------------- save/load

    def to_json(self) -> dict[str, Any]:
        """The fitted model as a JSON-ready mapping (with ``format_version``); see ``persistence``."""
        self._check_fitted()
        return persistence.model_to_json(self)

    def save(self, path: str | os.PathLike[str], force: bool = False) -> Path:
        """Write the model as JSON atomically; an existing file is replaced only with ``force``."""
        self._check_fitted()
        return persistence.save_model(self, path, force=force)

    @classmethod
    def from_json(cls, obj: Any, source: str = "<model>") -> StyleModel:
        """Rebuild a fitted model from ``to_json`` output; wrong versions/shapes -> UserError."""
        return persistence.model_from_json(cls, obj, source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StyleModel:
        """Read a model saved with ``save``; other versions or damaged files -> UserError."""
        return persistence.load_model(cls, path)
