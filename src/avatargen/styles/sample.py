"""Vectorised ancestral sampling from a TreeNetwork, exact conditioning on evidence, and sampling
of distinct (optionally novel) styles."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from avatargen.styles.network import TreeNetwork


def alias_tables(cpt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias tables of every row of a (rows, K) table: (keep probability, alias), both
    flattened to (rows * K,). Values of probability 0 keep probability 0 and alias a positive value,
    so they are never drawn."""
    rows, k = cpt.shape
    keep = np.zeros((rows, k))
    alias = np.tile(np.arange(k), (rows, 1))
    for r in range(rows):
        p = cpt[r] / cpt[r].sum() * k
        small = [j for j in range(k) if p[j] < 1.0]
        large = [j for j in range(k) if p[j] >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            keep[r, s], alias[r, s] = p[s], g
            p[g] -= 1.0 - p[s]
            (small if p[g] < 1.0 else large).append(g)
        for j in small + large:  # what is left is 1 up to rounding
            keep[r, j] = 1.0
        zero = cpt[r] <= 0
        if zero.any():  # guard against rounding: a zero value must always defer to its alias
            keep[r, zero] = 0.0
            alias[r, zero & (alias[r] == np.arange(k))] = int(np.argmax(cpt[r]))
    return keep.ravel(), alias.ravel()


CHUNK = 1 << 15  # rows per block: the work buffers stay in the CPU cache


def code_dtype(cards: list[int]) -> type[np.signedinteger]:
    """The smallest signed integer type that holds every value index."""
    top = max(cards, default=1)
    return np.int8 if top <= 127 else np.int16 if top <= 32767 else np.int32


def ancestral_codes(
    net: TreeNetwork, n: int, rng: np.random.Generator, probability: np.ndarray | None = None
) -> np.ndarray:
    """Draw n styles as an (n, k) array of value indices (small int type, column-major): each
    attribute from P(x_v | x_parent) given its parent's value.

    Alias method: one uniform per attribute and row gives a column j (its integer part times K)
    and a coin (its fraction); O(n k), no Python loop over rows (blocks of CHUNK rows keep the work
    buffers in cache). Values of probability 0 are never drawn. If ``probability`` (shape (n,)) is
    given, it is filled with each style's probability under ``net`` on the way.
    """
    k = len(net.cpts)
    codes = np.empty((n, k), dtype=code_dtype(net.cards), order="F")
    tables = []
    for c in net.cpts:
        keep, alias = alias_tables(c)
        delta = alias - np.tile(np.arange(c.shape[1]), c.shape[0])  # alias minus own column
        tables.append((keep, delta, c.ravel()))
    m = min(n, CHUNK)
    uk = np.empty(m)
    kept = np.empty(m)
    j = np.empty(m, dtype=np.intp)
    idx = np.empty(m, dtype=np.intp)
    alt = np.empty(m, dtype=np.intp)
    coin = np.empty(m, dtype=bool)
    if probability is not None:
        probability[:] = 1.0
    for s in range(0, n, CHUNK):
        e = min(n, s + CHUNK)
        b = e - s
        u_, kept_, j_, idx_, alt_, coin_ = uk[:b], kept[:b], j[:b], idx[:b], alt[:b], coin[:b]
        for v in net.order:
            kv = net.cpts[v].shape[1]
            keep, delta, flat = tables[v]
            rng.random(out=u_)
            np.multiply(u_, kv, out=u_)
            np.copyto(j_, u_, casting="unsafe")  # floor (non-negative)
            np.minimum(j_, kv - 1, out=j_)
            np.subtract(u_, j_, out=u_)  # the fraction: a uniform coin
            p = int(net.parents[v])
            if p < 0:
                np.copyto(idx_, j_)
            else:
                np.multiply(codes[s:e, p], kv, out=idx_, dtype=np.intp)
                np.add(idx_, j_, out=idx_)
            np.take(keep, idx_, out=kept_)
            np.greater_equal(u_, kept_, out=coin_)  # True: take the alias
            np.take(delta, idx_, out=alt_)
            np.multiply(alt_, coin_, out=alt_)
            np.add(j_, alt_, out=codes[s:e, v], casting="unsafe")
            if probability is not None:
                np.add(idx_, alt_, out=idx_)  # now parent * K + drawn value
                np.take(flat, idx_, out=kept_)
                np.multiply(probability[s:e], kept_, out=probability[s:e])
    return codes


def style_keys(codes: np.ndarray, cards: list[int]) -> np.ndarray:
    """One sortable key per style: an int64 mixed-radix number when it fits, else raw bytes."""
    if int(np.prod(np.asarray(cards, dtype=object))) < 2**62:  # exact: no float overflow for many attributes
        key = np.zeros(len(codes), dtype=np.int64)
        for i, card in enumerate(cards):
            key *= card
            key += codes[:, i]
        return key
    c32 = np.ascontiguousarray(codes.astype(np.int32))
    return c32.view(np.dtype((np.void, 4 * c32.shape[1]))).ravel()


def unique_keys(codes: np.ndarray, cards: list[int]) -> np.ndarray:
    """Sorted distinct style keys of an (n, k) code matrix (see ``style_keys``)."""
    keys = np.sort(style_keys(codes, cards))
    if len(keys) == 0:
        return keys
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])]


def keys_to_codes(keys: np.ndarray, cards: list[int]) -> np.ndarray:
    """Invert ``style_keys``: (m,) keys -> (m, k) int64 codes."""
    if keys.dtype != np.int64:
        return np.ascontiguousarray(keys).view(np.int32).reshape(len(keys), len(cards)).astype(np.int64)
    out = np.empty((len(keys), len(cards)), dtype=np.int64)
    rest = keys.copy()
    for i in range(len(cards) - 1, -1, -1):
        rest, out[:, i] = np.divmod(rest, cards[i])
    return out


def is_member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """For each key, whether it is in ``sorted_keys`` (sorted, distinct); (n,) bool."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    if keys.dtype == np.int64 and sorted_keys.dtype == np.int64:
        pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
        return np.asarray(sorted_keys[pos] == keys)
    return np.isin(keys, sorted_keys)


def distinct_codes(
    net: TreeNetwork,
    n: int,
    rng: np.random.Generator,
    exclude_keys: np.ndarray | None = None,
    max_rounds: int = 50,
) -> np.ndarray:
    """Draw styles one after another, skipping repeats and styles whose keys are in
    ``exclude_keys`` (sorted, distinct; see ``style_keys``).

    This equals sampling without replacement in proportion to probability. Draws in growing
    batches; returns fewer than n rows only if the distinct styles run out (the caller checks).
    """
    cards = net.cards
    k = len(cards)
    seen = exclude_keys if exclude_keys is not None else style_keys(np.zeros((0, k), dtype=np.int64), cards)
    kept: list[np.ndarray] = []
    have = 0
    batch = max(2 * n, 1024)
    for _ in range(max_rounds):
        codes = ancestral_codes(net, batch, rng)
        keys = style_keys(codes, cards)
        _, first = np.unique(keys, return_index=True)
        first.sort()  # first occurrences, in the order they were drawn
        codes, keys = codes[first], keys[first]
        fresh = ~is_member(keys, seen)
        codes, keys = codes[fresh], keys[fresh]
        take = min(n - have, len(codes))
        kept.append(codes[:take])
        seen = np.sort(np.concatenate([seen, keys[:take]]))
        have += take
        if have >= n:
            break
        batch = min(batch * 2, 1 << 22)
    if not kept:
        return np.zeros((0, k), dtype=np.int64)
    return np.concatenate(kept)[:n]


class OneStyleSampler:
    """Draws single styles from one (conditioned) TreeNetwork with Python scalars: exactly the codes
    ``ancestral_codes(net, 1, rng)`` gives for the same generator state (the same uniform per
    attribute, the same alias tables, the same floor / coin arithmetic in float64), without rebuilding
    the alias tables or allocating arrays per call. Build once per network; immutable after."""

    def __init__(self, net: TreeNetwork) -> None:
        self.k = len(net.cpts)
        self.cells = int(sum(c.size for c in net.cpts))
        steps = []
        for v in net.order:
            c = net.cpts[v]
            kv = int(c.shape[1])
            keep, alias = alias_tables(c)
            delta = alias - np.tile(np.arange(kv), c.shape[0])
            flat = c.ravel()
            steps.append((v, int(net.parents[v]), kv, keep.tolist(), delta.tolist(), flat.tolist()))
        self.steps = tuple(steps)

    def draw(self, rng: np.random.Generator) -> tuple[list[int], float]:
        """One style: (value index per attribute, its probability under this network, multiplied in
        topological order as ``ancestral_codes(..., probability=...)`` does)."""
        codes = [0] * self.k
        prob = 1.0
        for v, p, kv, keep, delta, flat in self.steps:
            u = rng.random() * kv
            j = int(u)  # floor (non-negative)
            if j > kv - 1:
                j = kv - 1
            u -= j  # the fraction: a uniform coin
            idx = j if p < 0 else codes[p] * kv + j
            if u >= keep[idx]:  # take the alias
                j += delta[idx]
                idx = j if p < 0 else codes[p] * kv + j
            codes[v] = j
            prob *= flat[idx]
        return codes, prob


def chain_probability(net: TreeNetwork, codes: list[int]) -> float:
    """P(style) of one full style (value index per attribute) under ``net``: the factors multiplied in
    attribute order from 1.0, as ``TreeNetwork.probability`` does for each row (the same float)."""
    out = 1.0
    for v, c in enumerate(net.cpts):
        p = int(net.parents[v])
        out *= float(c[codes[p] if p >= 0 else 0, codes[v]])
    return out


class SamplerCache:
    """Thread-safe LRU of OneStyleSamplers of one network, keyed by encoded evidence, bounded by
    ``max_entries`` and by ``max_cells`` table cells in all (a sampler holds ~80 bytes per cell)."""

    def __init__(self, net: TreeNetwork, max_entries: int, max_cells: int) -> None:
        self.net = net
        self.max_entries = max_entries
        self.max_cells = max_cells
        self.cells = 0
        self._entries: OrderedDict[tuple[tuple[int, int], ...], OneStyleSampler] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[tuple[int, int], ...]) -> OneStyleSampler | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key: tuple[tuple[int, int], ...], sampler: OneStyleSampler) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.cells -= old.cells
            self._entries[key] = sampler
            self.cells += sampler.cells
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_entries or self.cells > self.max_cells
            ):
                _, gone = self._entries.popitem(last=False)
                self.cells -= gone.cells

    def __len__(self) -> int:
        return len(self._entries)
