"""Per-site value lists: the maximum-likelihood categorical of each site (a pixel-channel or a
pixel) stored as the sorted multiset of its N training values.

Drawing a uniform index into a site's list is exact inverse-CDF sampling from the empirical
(MLE) distribution; with N training images each site has at most N distinct values.
"""

from __future__ import annotations

import numpy as np


def build_table(values: np.ndarray) -> np.ndarray:
    """``values`` (N, S) -> table (S, N): each site's N training values, sorted."""
    return np.ascontiguousarray(np.sort(values, axis=0).T)


def draw(
    table: np.ndarray,
    n: int,
    rng: np.random.Generator,
    smooth_share: float = 0.0,
    smooth_values: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``n`` samples of every site -> (n, S), same dtype as ``table``.

    With ``smooth_share`` > 0 each site value is, with that probability, replaced by a value
    drawn uniformly from ``smooth_values`` (the additive-smoothing part of the categorical).
    """
    sites, width = table.shape
    flat = table.ravel()
    base = np.arange(sites, dtype=np.int64) * width
    out = np.empty((n, sites), dtype=table.dtype)
    for k in range(n):  # one vectorised draw per sample; sites are never looped over
        out[k] = flat[base + rng.integers(0, width, sites, dtype=np.int64)]
        if smooth_share > 0.0 and smooth_values is not None:
            mask = np.asarray(rng.random(sites) < smooth_share)
            out[k, mask] = smooth_values[rng.integers(0, len(smooth_values), int(mask.sum()))]
    return out


def counts(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """How often each site's value in ``x`` (S,) occurs in its training list -> (S,) int."""
    return (table == x[:, None]).sum(axis=1)
