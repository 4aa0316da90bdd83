"""Structure learning of the style tree: which attribute is each attribute's parent.

Three structures: ``chow-liu`` (maximum mutual-information spanning tree that keeps the declared
edges, optionally pruned by a G-test), ``declared`` (the edges of the rules file) and ``independent``
(only the edges that hard rules need)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatargen.choices import STRUCTURES
from avatargen.styles.consistency import Note
from avatargen.styles.data import StyleData
from avatargen.styles.estimate import (
    PAIR_CELLS_MAX,
    check_pair_cells,
    chow_liu_edges,
    find_cycle,
    g_test_pvalue,
    mutual_information_matrix,
    orient_forest,
    pairwise_counts,
)
from avatargen.styles.rules import Rules
from sharedcore.errors import UserError

#: Most attribute pairs whose joint tables are counted (Chow-Liu, or the MI report): 200 attributes.
PAIRS_MAX = 19_900
MI_REPORT_LIMIT = 20_000_000  # rows x attribute pairs counted for the MI report of a given structure


def check_structure(structure: str) -> None:
    """UserError unless ``structure`` is one of ``STRUCTURES``."""
    if structure not in STRUCTURES:
        raise UserError(f"structure '{structure}' is unknown; choose one of {', '.join(STRUCTURES)}")


@dataclass
class Structure:
    """A learned tree: ``parents`` (k,) int parent index per attribute (-1 = root); ``pairs``: the
    pairwise count tables computed on the way, keyed (i, j) with i < j, shape (K_i, K_j); ``mutual_information``
    (k, k) bits or None (counts-only data, or a large table with a given structure); ``notes`` for the report."""

    parents: np.ndarray
    pairs: dict[tuple[int, int], np.ndarray]
    mutual_information: np.ndarray | None
    notes: list[Note]


def learn_structure(
    d: StyleData, rules: Rules, structure: str = "chow-liu", edge_pvalue: float | None = None
) -> Structure:
    """The tree of ``structure`` over the attributes of ``d``, with the links that ``rules`` force.

    ``edge_pvalue`` (chow-liu only): drop learned edges whose G-test of independence has p above it.
    A cycle among the forced links, or an attribute given two parents, is a UserError.
    """
    check_structure(structure)
    attrs = d.attributes
    cards = [len(d.values[a]) for a in attrs]
    idx = {a: i for i, a in enumerate(attrs)}
    k = len(attrs)
    notes: list[Note] = []
    directed = {idx[c]: idx[p] for c, p in rules.depends_on.items()}
    rule_pairs = [(idx[r.if_attr], idx[r.then_attr]) for r in rules.rules]
    if structure == "independent":  # only the links that hard rules need
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
        n_pairs = k * (k - 1) // 2
        cells = (sum(cards) ** 2 - sum(c * c for c in cards)) // 2  # sum of K_i K_j over i < j
        if structure == "chow-liu":  # needs every pair: refuse before listing or allocating them
            if n_pairs > PAIRS_MAX:
                raise UserError(
                    f"{d.source}: {k} columns make {n_pairs:,} column pairs for the Chow-Liu tree, over the "
                    f"limit of {PAIRS_MAX:,} (about {int((2 * PAIRS_MAX) ** 0.5)} columns); drop columns that "
                    "are not attributes, or fit with --structure independent or declared"
                )
            check_pair_cells(attrs, cards, [(i, j) for i in range(k) for j in range(i + 1, k)], d.source)
        if structure == "chow-liu" or (
            n_pairs <= PAIRS_MAX and d.n_rows * n_pairs <= MI_REPORT_LIMIT and cells <= PAIR_CELLS_MAX
        ):
            pairs = pairwise_counts(d.codes, cards)
            mi = mutual_information_matrix(d.codes, cards, pairs)
        else:
            notes.append(Note("note", "mutual information not computed (large table, structure given)"))
    edges = forced
    if structure == "chow-liu" and mi is not None:
        edges = chow_liu_edges(mi, forced, directed)
        if edge_pvalue is not None:
            keep = set(forced)
            edges = [
                e
                for e in edges
                if e in keep or g_test_pvalue(mi[e], d.n_rows, cards[e[0]], cards[e[1]]) <= edge_pvalue
            ]
    elif structure == "chow-liu":
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
    return Structure(parents, pairs, mi, notes)
