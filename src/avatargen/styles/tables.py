"""The tables of a fitted tree network: the count table of every attribute (joint counts with its
parent, or pseudo-joint counts from counts-only data) and its conditional probabilities (MLE with
Dirichlet smoothing, the cells hard rules forbid kept at 0)."""

from __future__ import annotations

import numpy as np

from avatargen.styles.consistency import counts_only_table
from avatargen.styles.data import StyleData
from avatargen.styles.estimate import check_pair_cells, pair_counts, smoothed
from avatargen.styles.rules import Rules, rule_masks
from sharedcore.errors import UserError


def fitted_tables(
    d: StyleData,
    rules: Rules,
    parents: np.ndarray,
    pairs: dict[tuple[int, int], np.ndarray],
    cards: list[int],
    alpha: float,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(count tables, conditional probability tables) of the tree ``parents`` over ``d``; ``pairs``:
    joint counts already computed by structure learning (reused, completed here)."""
    tables = count_tables(d, rules, parents, pairs, cards)
    masks = rule_masks(parents, rules, d)
    with np.errstate(over="ignore", invalid="ignore"):  # a huge alpha: refused just below
        cpts = [smoothed(t, alpha, masks[v]) for v, t in enumerate(tables)]
    check_computable(cpts, alpha, d.attributes)
    return tables, cpts


def check_computable(cpts: list[np.ndarray], alpha: float, attributes: list[str]) -> None:
    """UserError when a table is not a distribution (e.g. ``alpha`` so large that N + K alpha
    overflows to inf and every probability becomes 0: a model in which no style is possible)."""
    for a, c in zip(attributes, cpts, strict=True):
        if not (np.isfinite(c).all() and np.allclose(c.sum(axis=-1), 1.0)):
            raise UserError(
                f"--alpha: {alpha:g} is too large to compute the probabilities of '{a}' (they overflow, "
                "so no style would be possible); use a smaller pseudo-count (e.g. 1)"
            )


def count_tables(
    d: StyleData,
    rules: Rules,
    parents: np.ndarray,
    pairs: dict[tuple[int, int], np.ndarray],
    cards: list[int],
) -> list[np.ndarray]:
    """Count table of every attribute: (1, K) for a root, (K_parent, K) joint counts for a child
    (per-row data), or pseudo-joint counts built from the marginals (counts-only data)."""
    edges = [(min(int(p), v), max(int(p), v)) for v, p in enumerate(parents) if p >= 0]
    check_pair_cells(d.attributes, cards, [e for e in edges if e not in pairs], d.source)
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
