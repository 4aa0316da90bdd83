"""Stratified draws over training instances, as a batch of part-model samples uses them: each draw
keeps its MLE probability (count / N) while a batch shows the collection as evenly as it can."""

from __future__ import annotations

import numpy as np


def stratified(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws from ``pool`` as consecutive random permutations of it (-1 each when it is empty)."""
    if len(pool) == 0:
        return np.full(n, -1)
    return np.concatenate([rng.permutation(pool) for _ in range(-(-n // len(pool)))])[:n]


def systematic_heads(hair_area: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` heads by systematic sampling over the images ordered by ``hair_area`` (N,): every image
    has the same chance n/N to be in a batch of n <= N (the uniform MLE), and a batch spreads over
    the hair sizes (never the two biggest hairs together); whole rounds of N are permutations."""
    k = len(hair_area)
    order = np.argsort(hair_area, kind="stable")
    full, rem = divmod(n, k)
    parts = [rng.permutation(k) for _ in range(full)]
    if rem:
        pos = np.floor(rng.random() * k / rem + np.arange(rem) * k / rem).astype(int)
        parts.append(order[np.minimum(pos, k - 1)])
    heads = np.concatenate(parts) if parts else np.zeros(0, int)
    return heads[rng.permutation(len(heads))]


def neighbour_head(planned: int, rank: np.ndarray, used: set[int], rng: np.random.Generator) -> int:
    """A head in place of ``planned``: one not yet ``used`` in the batch (any, when all are), nearest
    in hair-area ``rank`` (N,), at random among the equally near -- the batch keeps its spread."""
    k = len(rank)
    free = np.array([i for i in range(k) if i not in used and i != planned] or range(k))
    gap = np.abs(rank[free] - rank[planned])
    near = free[gap == gap.min()]
    return int(near[rng.integers(0, len(near))])
