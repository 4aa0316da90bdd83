"""Estimation: pairwise counts, maximum likelihood and Dirichlet (additive) smoothing of marginal and
conditional tables, mutual information, and the Chow-Liu maximum-MI spanning tree."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

from sharedcore.errors import UserError

FORCED_EDGE_WEIGHT = -1.0e9
#: Most cells (int64, 8 bytes each) of the joint count tables held at once: 2**25 cells = 256 MB.
PAIR_CELLS_MAX = 2**25


def check_pair_cells(
    attributes: Sequence[str], cards: Sequence[int], pairs: Sequence[tuple[int, int]], source: str
) -> None:
    """UserError before allocating when the joint count tables of ``pairs`` (i, j) would hold more
    than ``PAIR_CELLS_MAX`` cells in all; the message names the largest pair and the fix."""
    cells = [(cards[i] * cards[j], i, j) for i, j in pairs]
    total = sum(c for c, _, _ in cells)
    if total <= PAIR_CELLS_MAX:
        return
    big, i, j = max(cells)
    raise UserError(
        f"{source}: columns '{attributes[i]}' and '{attributes[j]}' have {cards[i]:,} and {cards[j]:,} "
        f"distinct values: the pair tables would hold {total:,} cells ({total * 8 / 2**30:.1f} GB; "
        f"this pair {big:,}), over the limit of {PAIR_CELLS_MAX:,}; group rare values of these columns, "
        "drop an identifier-like column, or fit with --structure independent"
    )


def pair_counts(parent: np.ndarray, child: np.ndarray, k_parent: int, k_child: int) -> np.ndarray:
    """Joint counts of two coded columns; shape (k_parent, k_child), int64."""
    flat = parent.astype(np.intp) * k_child
    flat += child
    return np.bincount(flat, minlength=k_parent * k_child).reshape(k_parent, k_child).astype(np.int64)


def pairwise_counts(codes: np.ndarray, cards: Sequence[int]) -> dict[tuple[int, int], np.ndarray]:
    """Joint count tables of every column pair (i < j) of an (n, k) code matrix.

    Works through blocks of rows with one reused index buffer (cache-resident, no per-pair
    allocation): O(n k^2) integer work in numpy.
    """
    n, k = codes.shape
    chunk = 1 << 16
    buf = np.empty(min(n, chunk), dtype=np.intp)
    acc = {(i, j): np.zeros(cards[i] * cards[j], dtype=np.int64) for i in range(k) for j in range(i + 1, k)}
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        cols = [np.ascontiguousarray(codes[s:e, i], dtype=np.intp) for i in range(k)]
        b = buf[: e - s]
        for i in range(k):
            for j in range(i + 1, k):
                np.multiply(cols[i], cards[j], out=b)
                np.add(b, cols[j], out=b)
                acc[(i, j)] += np.bincount(b, minlength=cards[i] * cards[j])
    return {key: t.reshape(cards[key[0]], cards[key[1]]) for key, t in acc.items()}


def smoothed(counts: np.ndarray, alpha: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Dirichlet-smoothed probabilities along the last axis: (n + alpha) / (N + K alpha).

    ``alpha`` = 0 is the MLE. ``mask`` (same shape, bool) marks cells a hard rule allows; forbidden
    cells get probability 0 and no pseudo-count. Rows with no mass become uniform over the allowed
    cells (such a parent value has probability 0, so the row is never used).
    """
    c = np.asarray(counts, dtype=np.float64)
    allowed = np.ones(c.shape, dtype=bool) if mask is None else mask
    w = np.where(allowed, c + alpha, 0.0)
    total = w.sum(axis=-1, keepdims=True)
    uniform = allowed / np.maximum(allowed.sum(axis=-1, keepdims=True), 1)
    return np.where(total > 0, w / np.where(total > 0, total, 1.0), uniform)


def entropy_bits(p: np.ndarray) -> float:
    """Shannon entropy in bits of a probability vector (zeros contribute nothing)."""
    q = np.asarray(p, dtype=np.float64).ravel()
    q = q[q > 0]
    return float(-(q * np.log2(q)).sum())


def mutual_information(joint: np.ndarray) -> float:
    """Plug-in (MLE) mutual information in bits of a joint count table of shape (k_a, k_b)."""
    j = np.asarray(joint, dtype=np.float64)
    n = j.sum()
    if n <= 0:
        return 0.0
    pab = j / n
    pa = pab.sum(axis=1, keepdims=True)
    pb = pab.sum(axis=0, keepdims=True)
    nz = pab > 0
    return float(max((pab[nz] * np.log2(pab[nz] / (pa @ pb)[nz])).sum(), 0.0))


def mutual_information_matrix(
    codes: np.ndarray, cards: Sequence[int], tables: dict[tuple[int, int], np.ndarray] | None = None
) -> np.ndarray:
    """Pairwise plug-in mutual information (bits) between the columns of a code matrix; (k, k).

    ``tables`` (from ``pairwise_counts``) avoids recounting.
    """
    k = codes.shape[1]
    tables = tables if tables is not None else pairwise_counts(codes, cards)
    mi = np.zeros((k, k))
    for (i, j), t in tables.items():
        mi[i, j] = mi[j, i] = mutual_information(t)
    return mi


def g_test_pvalue(mi_bits: float, n: int, k_a: int, k_b: int) -> float:
    """p-value of the G-test of independence: G = 2 N ln2 MI ~ chi2((k_a-1)(k_b-1))."""
    from scipy.stats import chi2

    dof = max((k_a - 1) * (k_b - 1), 1)
    return float(chi2.sf(2.0 * n * np.log(2.0) * mi_bits, dof))


def chow_liu_edges(
    mi: np.ndarray, forced: Sequence[tuple[int, int]] = (), directed: dict[int, int] | None = None
) -> list[tuple[int, int]]:
    """Undirected edges (i < j) of the maximum mutual-information spanning tree (Chow-Liu).

    Computed as scipy's minimum spanning tree on -MI; ``forced`` edges (declared dependencies and
    hard rules) are always included. Pairs with zero MI are not linked, so the result can be a forest.
    """
    if directed:
        return _constrained_chow_liu(mi, forced, directed)
    w = -np.asarray(mi, dtype=np.float64).copy()
    np.fill_diagonal(w, 0.0)
    w[w > -1e-12] = 0.0  # exactly independent pairs: no edge
    for i, j in forced:
        w[i, j] = w[j, i] = FORCED_EDGE_WEIGHT
    tree = minimum_spanning_tree(np.triu(w)).tocoo()
    edges = sorted(
        (min(int(a), int(b)), max(int(a), int(b))) for a, b in zip(tree.row, tree.col, strict=True)
    )
    forced_set = {(min(a, b), max(a, b)) for a, b in forced}
    if not forced_set <= set(edges):
        raise ValueError("forced edges contain a cycle")  # caller checks cycles first
    return edges


def _constrained_chow_liu(
    mi: np.ndarray, forced: Sequence[tuple[int, int]], directed: dict[int, int]
) -> list[tuple[int, int]]:
    k = mi.shape[0]
    edges = sorted({(min(a, b), max(a, b)) for a, b in forced})
    cand = sorted(
        ((float(mi[i, j]), i, j) for i in range(k) for j in range(i + 1, k) if mi[i, j] > 1e-12),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    for _, i, j in cand:
        if (i, j) in edges or find_cycle([*edges, (i, j)], k) is not None:
            continue
        if orient_forest([*edges, (i, j)], k, directed) is not None:
            edges.append((i, j))
    return sorted(edges)


def find_cycle(edges: Sequence[tuple[int, int]], k: int) -> tuple[int, int] | None:
    """Return the first edge that closes a cycle in an undirected edge list, or None (union-find)."""
    parent = list(range(k))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra == rb:
            return (a, b)
        parent[ra] = rb
    return None


def orient_forest(
    edges: Sequence[tuple[int, int]], k: int, directed: dict[int, int] | None = None
) -> np.ndarray | None:
    """Orient an undirected forest into parent pointers (-1 for roots).

    ``directed`` maps child -> parent for edges whose direction is fixed. In each tree the first
    attribute (in column order) that respects every fixed direction becomes the root. Returns
    None when no root satisfies them all (a fixed child would get two parents).
    """
    from scipy.sparse import coo_matrix

    directed = directed or {}
    parents = np.full(k, -1, dtype=np.int64)
    if not edges:
        return parents
    a = np.array([e[0] for e in edges] + [e[1] for e in edges])
    b = np.array([e[1] for e in edges] + [e[0] for e in edges])
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(k, k)).tocsr()
    seen = np.zeros(k, dtype=bool)
    for start in range(k):
        if seen[start]:
            continue
        comp, _ = breadth_first_order(graph, start, directed=False, return_predecessors=True)
        seen[comp] = True
        for root in sorted(int(x) for x in comp):
            _, pred = breadth_first_order(graph, root, directed=False, return_predecessors=True)
            if all(pred[c] == p for c, p in directed.items() if c in comp):
                for v in comp:
                    parents[v] = -1 if v == root else int(pred[v])
                break
        else:
            return None
    return parents
