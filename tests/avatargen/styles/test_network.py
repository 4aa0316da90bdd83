"""Exact inference on the tree against brute-force enumeration of every style."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from avatargen.styles.network import TreeNetwork, enumerate_support
from avatargen.styles.sample import ancestral_codes, distinct_codes, unique_keys

from .conftest import CARDS


def all_styles() -> np.ndarray:
    return np.array(list(itertools.product(*[range(k) for k in CARDS])))


def test_probabilities_of_all_styles_sum_to_one(net: TreeNetwork) -> None:
    assert net.probability(all_styles()).sum() == pytest.approx(1.0, abs=1e-12)


def test_marginals_by_total_probability_match_enumeration(net: TreeNetwork) -> None:
    s = all_styles()
    p = net.probability(s)
    for v, m in enumerate(net.marginals()):
        assert np.allclose(m, np.bincount(s[:, v], weights=p, minlength=CARDS[v]))


def test_conditioning_is_bayes_rule(net: TreeNetwork) -> None:
    s = all_styles()
    p = net.probability(s)
    ev = {4: 2, 2: 1}  # evidence on a leaf and on another leaf: needs upward messages
    hit = (s[:, 4] == 2) & (s[:, 2] == 1)
    assert net.evidence_probability(ev) == pytest.approx(p[hit].sum())
    post = net.condition(ev)
    q = post.probability(s)
    assert np.allclose(q, np.where(hit, p / p[hit].sum(), 0.0))
    assert net.support_size(ev) == int((q > 0).sum())


def test_entropy_matches_enumeration(net: TreeNetwork) -> None:
    p = net.probability(all_styles())
    assert net.entropy() == pytest.approx(float(-(p * np.log2(p)).sum()))


def test_most_probable_matches_sorting(net: TreeNetwork) -> None:
    s = all_styles()
    p = net.probability(s)
    codes, probs = net.most_probable(10)
    assert np.allclose(probs, np.sort(p)[::-1][:10])
    assert np.allclose(net.probability(codes), probs)
    codes, probs = net.most_probable(5, {0: 1})
    assert np.allclose(probs, np.sort(p[s[:, 0] == 1])[::-1][:5])


def test_enumerate_support(net: TreeNetwork) -> None:
    codes, p = enumerate_support(net)
    assert len(codes) == net.support_size() == int(np.prod(CARDS))
    assert np.allclose(p, net.probability(codes))


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


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_random_forests_exact_inference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 5))
    cards = [int(c) for c in rng.integers(1, 4, k)]
    parents = np.array([-1] + [int(rng.integers(-1, v)) for v in range(1, k)])
    cpts = [
        rng.dirichlet(np.full(c, 0.3), size=1 if parents[v] < 0 else cards[parents[v]])
        for v, c in enumerate(cards)
    ]
    cpts = [np.where(c < 0.05, 0.0, c) for c in cpts]  # some exact zeros
    cpts = [c / c.sum(axis=1, keepdims=True) for c in cpts]
    net = TreeNetwork(parents, cpts)
    s = np.array(list(itertools.product(*[range(c) for c in cards])))
    p = net.probability(s)
    assert p.sum() == pytest.approx(1.0)
    assert net.support_size() == int((p > 0).sum())
    assert net.entropy() == pytest.approx(float(-(p[p > 0] * np.log2(p[p > 0])).sum()), abs=1e-9)
    _codes, probs = net.most_probable(3)
    assert np.allclose(probs, np.sort(p)[::-1][: len(probs)])
    ev = {k - 1: int(s[np.argmax(p), k - 1])}
    post = net.condition(ev).probability(s)
    hit = s[:, k - 1] == ev[k - 1]
    assert np.allclose(post, np.where(hit, p, 0) / p[hit].sum())
    draws = ancestral_codes(net, 2000, np.random.default_rng(seed))
    assert (net.probability(draws) > 0).all()
