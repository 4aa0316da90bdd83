"""Estimates equal pgmpy's; Chow-Liu recovers a known tree; MI and smoothing on hand-checked numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avatargen.styles.estimate import (
    chow_liu_edges,
    mutual_information,
    mutual_information_matrix,
    smoothed,
)
from avatargen.styles.model import StyleModel

from .conftest import ATTRS, PARENTS

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

DECLARED = {"depends_on": {ATTRS[v]: ATTRS[p] for v, p in enumerate(PARENTS) if p >= 0}}
EDGES = [(ATTRS[p], ATTRS[v]) for v, p in enumerate(PARENTS) if p >= 0]


def test_smoothed_counts_by_hand() -> None:
    c = np.array([[7, 0, 3]])
    assert np.allclose(smoothed(c, 0.0), [[0.7, 0.0, 0.3]])
    assert np.allclose(smoothed(c, 1.0), [[8 / 13, 1 / 13, 4 / 13]])
    mask = np.array([[True, False, True]])
    assert np.allclose(smoothed(c, 1.0, mask), [[8 / 12, 0.0, 4 / 12]])


def test_mutual_information_by_hand() -> None:
    assert mutual_information(np.array([[10, 0], [0, 10]])) == pytest.approx(1.0)
    assert mutual_information(np.array([[5, 5], [5, 5]])) == pytest.approx(0.0)


def _pgmpy_cpds(rows: pd.DataFrame, estimator: str, alpha: float = 0.0) -> dict[str, object]:
    from pgmpy.estimators import BayesianEstimator, MaximumLikelihoodEstimator
    from pgmpy.models import DiscreteBayesianNetwork

    bn = DiscreteBayesianNetwork(EDGES)
    if estimator == "mle":
        cpds = MaximumLikelihoodEstimator(bn, rows).get_parameters()
    else:  # pgmpy's "dirichlet" prior with one pseudo-count per cell is what alpha means here
        cpds = BayesianEstimator(bn, rows).get_parameters(prior_type="dirichlet", pseudo_counts=alpha)
    return {c.variable: c for c in cpds}


def _assert_same_tables(model: StyleModel, cpds: dict[str, object]) -> None:
    for v, a in enumerate(model.attributes_):
        cpd = cpds[a]
        values = cpd.get_values()  # type: ignore[attr-defined]
        names = cpd.state_names  # type: ignore[attr-defined]
        ours = model.network_.cpts[v]
        parent = model.parents_[a]
        for i, child_value in enumerate(names[a]):
            ci = model.values_[a].index(child_value)
            if parent is None:
                assert ours[0, ci] == pytest.approx(values[i, 0], abs=1e-12)
            else:
                for j, pv in enumerate(names[parent]):
                    assert ours[model.values_[parent].index(pv), ci] == pytest.approx(values[i, j], abs=1e-12)


def test_mle_equals_pgmpy(rows: pd.DataFrame) -> None:
    model = StyleModel(alpha=0.0, structure="declared", rules=DECLARED).fit(rows)
    _assert_same_tables(model, _pgmpy_cpds(rows, "mle"))


@pytest.mark.parametrize("alpha", [0.5, 1.0, 5.0])
def test_dirichlet_equals_pgmpy_bayesian_estimator(rows: pd.DataFrame, alpha: float) -> None:
    small = rows.iloc[:300]  # few rows, so the prior matters
    model = StyleModel(alpha=alpha, structure="declared", rules=DECLARED).fit(small)
    _assert_same_tables(model, _pgmpy_cpds(small, "bayes", alpha))


def test_chow_liu_recovers_known_tree_and_matches_pgmpy(rows: pd.DataFrame) -> None:
    from pgmpy.estimators import TreeSearch

    model = StyleModel(alpha=0.0, structure="chow-liu").fit(rows)
    ours = {frozenset((c, p)) for c, p in model.parents_.items() if p is not None}
    assert ours == {frozenset(e) for e in EDGES}
    dag = TreeSearch(rows, root_node="a").estimate(estimator_type="chow-liu", show_progress=False)
    assert ours == {frozenset(e) for e in dag.edges()}


def test_parameters_recovered(rows: pd.DataFrame, net) -> None:  # type: ignore[no-untyped-def]
    model = StyleModel(alpha=0.0, structure="chow-liu").fit(rows)
    # orientation may differ from the generating tree, so compare the joint of every edge
    true_m = net.marginals()
    for v, a in enumerate(ATTRS):
        p = PARENTS[v]
        if p < 0:
            continue
        true_joint = true_m[p][:, None] * net.cpts[v]  # P(parent, child)
        mv, mp = model.attributes_.index(a), model.attributes_.index(ATTRS[p])
        marg = model.network_.marginals()
        if model.network_.parents[mv] == mp:
            est = marg[mp][:, None] * model.network_.cpts[mv]
        else:
            est = (marg[mv][:, None] * model.network_.cpts[mp]).T
        # 20,000 rows: standard error of a cell is at most sqrt(0.25 / 20000) = 0.0035
        assert np.abs(est - true_joint).max() < 0.02


def test_chow_liu_keeps_forced_edges() -> None:
    mi = np.array([[0, 0.9, 0.1], [0.9, 0, 0.8], [0.1, 0.8, 0]])
    assert chow_liu_edges(mi) == [(0, 1), (1, 2)]
    assert chow_liu_edges(mi, forced=[(0, 2)]) == [(0, 1), (0, 2)]


def test_mi_matrix_symmetric_and_zero_for_independent_columns() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, 50_000)
    codes = np.stack([x, x, rng.integers(0, 4, 50_000)], axis=1)
    mi = mutual_information_matrix(codes, [3, 3, 4])
    assert np.allclose(mi, mi.T)
    assert mi[0, 1] == pytest.approx(np.log2(3), abs=0.01)
    assert mi[0, 2] < 0.001
