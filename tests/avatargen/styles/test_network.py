"""Exact inference on the tree against brute-force enumeration of every style."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatargen.styles.data import EXAMPLE_STYLES, counts_from_mapping, load_styles
from avatargen.styles.model import StyleModel
from avatargen.styles.network import TreeNetwork, enumerate_support
from avatargen.styles.sample import ancestral_codes

from .conftest import CARDS, all_styles


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


# ---------------------------------------------------------------- issue 10, second hunt (test_hostile_sweep.py found these)


def test_support_size_beyond_float_range_is_exact() -> None:
    # 3000 two-valued attributes: 2**3000 styles overflowed float64 (OverflowError in `styles fit`)
    d = counts_from_mapping({"attributes": {f"a{j}": {"x": 1, "y": 2} for j in range(3000)}}, "c.json")
    m = StyleModel().fit(d)
    assert m.n_styles() == 2**3000 == m.n_possible_styles
    assert m.n_styles({"a0": "x"}) == 2**2999
    small = StyleModel().fit(load_styles(EXAMPLE_STYLES))
    assert small.n_styles() == small.n_possible_styles  # the float path is unchanged
