"""Exact inference on the tree against brute-force enumeration of every style."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import chisquare

from avatargen.styles.network import TreeNetwork, enumerate_support
from avatargen.styles.sample import ancestral_codes, distinct_codes

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
    got = distinct_codes(net, 100, np.random.default_rng(6), exclude=excl)
    assert len(got) == 100
    assert len({tuple(r) for r in got.tolist()}) == 100
    assert not ({tuple(r) for r in got.tolist()} & {tuple(r) for r in excl.tolist()})


def test_same_seed_same_sample(net: TreeNetwork) -> None:
    a = ancestral_codes(net, 1000, np.random.default_rng(9))
    b = ancestral_codes(net, 1000, np.random.default_rng(9))
    assert np.array_equal(a, b)
