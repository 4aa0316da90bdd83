"""Fixtures for the style generator tests: a small known tree network and data drawn from it."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.network import TreeNetwork

ATTRS = ["a", "b", "c", "d", "e"]
CARDS = [3, 4, 2, 3, 4]
PARENTS = np.array([-1, 0, 0, 1, 3])  # a -> b, a -> c, b -> d, d -> e


def known_network(seed: int = 7) -> TreeNetwork:
    """A tree a->b, a->c, b->d, d->e with strongly dependent random tables."""
    rng = np.random.default_rng(seed)
    cpts = []
    for v, k in enumerate(CARDS):
        rows = 1 if PARENTS[v] < 0 else CARDS[PARENTS[v]]
        cpts.append(rng.dirichlet(np.full(k, 0.5), size=rows))
    return TreeNetwork(PARENTS.copy(), cpts)


def codes_to_frame(codes: np.ndarray) -> pd.DataFrame:
    """Value names 'a0', 'b2', ... so sorted order equals code order (cards < 10)."""
    return pd.DataFrame({a: [f"{a}{x}" for x in codes[:, i]] for i, a in enumerate(ATTRS)})


def pgmpy_rows(net: TreeNetwork, n: int, seed: int) -> pd.DataFrame:
    """n rows drawn by pgmpy's own forward sampler (an implementation independent of ours)."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.sampling import BayesianModelSampling

    edges = [(ATTRS[p], ATTRS[v]) for v, p in enumerate(PARENTS) if p >= 0]
    bn = DiscreteBayesianNetwork(edges)
    for v, a in enumerate(ATTRS):
        p = PARENTS[v]
        names = {a: [f"{a}{i}" for i in range(CARDS[v])]}
        if p < 0:
            cpd = TabularCPD(a, CARDS[v], net.cpts[v].T, state_names=names)
        else:
            pa = ATTRS[p]
            names[pa] = [f"{pa}{i}" for i in range(CARDS[p])]
            cpd = TabularCPD(
                a, CARDS[v], net.cpts[v].T, evidence=[pa], evidence_card=[CARDS[p]], state_names=names
            )
        bn.add_cpds(cpd)
    df = BayesianModelSampling(bn).forward_sample(size=n, seed=seed, show_progress=False)
    return df[ATTRS].astype(str)


@pytest.fixture(scope="session")
def net() -> TreeNetwork:
    return known_network()


@pytest.fixture(scope="session")
def rows(net: TreeNetwork) -> pd.DataFrame:
    """20,000 rows from the known network, drawn by pgmpy."""
    return pgmpy_rows(net, 20_000, seed=3)


def all_styles() -> np.ndarray:
    """Every style of the known network's attributes, (prod(CARDS), 5) codes."""
    return np.array(list(itertools.product(*[range(k) for k in CARDS])))
