"""Vectorised ancestral sampling from a TreeNetwork, exact conditioning on evidence, and sampling
of distinct (optionally novel) styles."""

from __future__ import annotations

import numpy as np

from avatargen.styles.network import TreeNetwork


def _row_cumsums(cpt: np.ndarray) -> np.ndarray:
    """Row-wise cumulative sums scaled so every row ends at exactly 1.0, then offset by row index
    (row r spans (r, r+1]), so one ``searchsorted`` samples every row's categorical at once."""
    cum = np.cumsum(cpt, axis=1)
    cum = cum / cum[:, -1:]
    return (cum + np.arange(cpt.shape[0])[:, None]).ravel()


def ancestral_codes(net: TreeNetwork, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw n styles as an (n, k) int array: each attribute from P(x_v | x_parent) given its parent.

    Values of probability 0 are never drawn. Cost O(n k log K) with no Python loop over rows.
    """
    k = len(net.cpts)
    dtype = np.int16 if max(net.cards, default=1) < 2**15 else np.int64
    codes = np.empty((n, k), dtype=dtype)
    u = rng.random((k, n))
    for v in net.order:
        cpt = net.cpts[v]
        kv = cpt.shape[1]
        flat = _row_cumsums(cpt)
        p = int(net.parents[v])
        if p < 0:
            x = np.searchsorted(flat, u[v], side="right")
        else:
            pc = codes[:, p]
            x = np.searchsorted(flat, u[v] + pc, side="right") - pc.astype(np.int64) * kv
        np.minimum(x, kv - 1, out=x)
        codes[:, v] = x
    return codes


def style_keys(codes: np.ndarray, cards: list[int]) -> np.ndarray:
    """One sortable key per style: an int64 mixed-radix number when it fits, else raw bytes."""
    if float(np.prod(np.asarray(cards, dtype=np.float64))) < 2.0**62:
        strides = np.cumprod([1, *cards[:0:-1]])[::-1].astype(np.int64)
        return codes.astype(np.int64) @ strides
    c = np.ascontiguousarray(codes.astype(np.int32))
    return c.view(np.dtype((np.void, 4 * c.shape[1]))).ravel()


def distinct_codes(
    net: TreeNetwork,
    n: int,
    rng: np.random.Generator,
    exclude: np.ndarray | None = None,
    max_rounds: int = 50,
) -> np.ndarray:
    """Draw styles one after another, skipping repeats and rows of ``exclude`` (codes (m, k)).

    This equals sampling without replacement in proportion to probability. Draws in growing
    batches; returns fewer than n rows only if the distinct styles run out (the caller checks).
    """
    cards = net.cards
    banned = np.unique(style_keys(exclude, cards)) if exclude is not None and len(exclude) else None
    kept: list[np.ndarray] = []
    kept_keys = np.zeros(0, dtype=np.int64) if banned is None or banned.dtype == np.int64 else None
    have = 0
    batch = max(2 * n, 1024)
    for _ in range(max_rounds):
        codes = ancestral_codes(net, batch, rng)
        keys = style_keys(codes, cards)
        _, first = np.unique(keys, return_index=True)
        first.sort()
        codes, keys = codes[first], keys[first]
        fresh = np.ones(len(keys), dtype=bool)
        if banned is not None:
            fresh &= ~np.isin(keys, banned)
        if kept_keys is not None and kept_keys.size:
            fresh &= ~np.isin(keys, kept_keys)
        elif kept_keys is None and kept:
            prev = np.concatenate([style_keys(c, cards) for c in kept])
            fresh &= ~np.isin(keys, prev)
        codes, keys = codes[fresh], keys[fresh]
        take = min(n - have, len(codes))
        kept.append(codes[:take])
        if kept_keys is not None:
            kept_keys = np.concatenate([kept_keys, keys[:take]])
        have += take
        if have >= n:
            break
        batch *= 2
    if not kept:
        return np.zeros((0, len(cards)), dtype=np.int64)
    return np.concatenate(kept)[:n]
