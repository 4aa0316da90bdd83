"""Sampling from the tree: frequencies follow the probabilities (chi-square), evidence, zeros, distinct draws, seeds."""

from __future__ import annotations

import numpy as np
from scipy.stats import chisquare

from avatargen.styles.network import TreeNetwork
from avatargen.styles.sample import ancestral_codes, distinct_codes, unique_keys

from .conftest import CARDS, all_styles


def _chi2_pvalue(codes: np.ndarray, net: TreeNetwork) -> float:
    s = all_styles()
    p = net.probability(s)
    strides = np.cumprod([1, *CARDS[:0:-1]])[::-1]
    observed = np.bincount(codes.astype(np.int64) @ strides, minlength=len(s))
    keep = p > 0
    # group the rare cells so every expected count is >= 5
    expected = p * len(codes)
    order = np.argsort(expected[keep])
    e, o = expected[keep][order], observed[keep][order]
    small = np.cumsum(e) < 5 * 10
    e2 = np.append(e[~small], e[small].sum())
    o2 = np.append(o[~small], o[small].sum())
    assert observed[~keep].sum() == 0
    return float(chisquare(o2, e2).pvalue)


def test_sampled_frequencies_match_probabilities(net: TreeNetwork) -> None:
    codes = ancestral_codes(net, 200_000, np.random.default_rng(1))
    assert _chi2_pvalue(codes, net) > 0.001


def test_conditional_sampling_matches_posterior(net: TreeNetwork) -> None:
    post = net.condition({4: 0})
    codes = ancestral_codes(post, 100_000, np.random.default_rng(2))
    assert (codes[:, 4] == 0).all()
    assert _chi2_pvalue(codes, post) > 0.001


def test_zero_probability_values_are_never_drawn() -> None:
    net = TreeNetwork(
        np.array([-1, 0]), [np.array([[0.5, 0.0, 0.5]]), np.array([[1.0, 0.0], [0.3, 0.7], [0.0, 1.0]])]
    )
    codes = ancestral_codes(net, 50_000, np.random.default_rng(0))
    assert not (codes[:, 0] == 1).any()
    assert not ((codes[:, 0] == 0) & (codes[:, 1] == 1)).any()
    assert not ((codes[:, 0] == 2) & (codes[:, 1] == 0)).any()


def test_distinct_codes_are_distinct_and_avoid_excluded(net: TreeNetwork) -> None:
    excl = ancestral_codes(net, 20, np.random.default_rng(5)).astype(np.int64)
    got = distinct_codes(net, 100, np.random.default_rng(6), exclude_keys=unique_keys(excl, net.cards))
    assert len(got) == 100
    assert len({tuple(r) for r in got.tolist()}) == 100
    assert not ({tuple(r) for r in got.tolist()} & {tuple(r) for r in excl.tolist()})


def test_same_seed_same_sample(net: TreeNetwork) -> None:
    a = ancestral_codes(net, 1000, np.random.default_rng(9))
    b = ancestral_codes(net, 1000, np.random.default_rng(9))
    assert np.array_equal(a, b)


def test_probabilities_filled_while_sampling_and_wide_tables() -> None:
    # parent x child index up to 39 * 200 + 199 overflows the int8/int16 code types: must not wrap
    rng = np.random.default_rng(4)
    parents = np.array([-1, 0, 1])
    cards = [40, 200, 3]
    cpts = [
        rng.dirichlet(np.ones(c), size=1 if parents[v] < 0 else cards[parents[v]])
        for v, c in enumerate(cards)
    ]
    wide = TreeNetwork(parents, cpts)
    prob = np.empty(50_000)
    codes = ancestral_codes(wide, 50_000, np.random.default_rng(5), probability=prob)
    assert codes.dtype == np.int16
    assert np.allclose(prob, wide.probability(codes))
    assert np.allclose(prob, wide.probability(codes.astype(np.int64)))
    # the child's frequencies given the most common parent value follow its table
    top = np.bincount(codes[:, 0], minlength=40).argmax()
    rows = codes[codes[:, 0] == top, 1]
    assert chisquare(np.bincount(rows, minlength=200), cpts[1][top] * len(rows)).pvalue > 0.001
