"""Metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from spillguard.metrics.detection import auc_rank, confusion, evaluate_scores, threshold_metrics, wilson_ci


def test_wilson_known_values() -> None:
    assert wilson_ci(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_ci(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_ci(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert all(np.isnan(wilson_ci(0, 0)))


def test_rates_by_hand() -> None:
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.75, 0.3, 0.2, 0.1, 0.05, 0.0])
    m = threshold_metrics(labels, scores, 0.5, np.random.default_rng(0))
    assert m["confusion"] == {"tp": 3, "fp": 1, "tn": 5, "fn": 1}
    assert m["tpr"] == 0.75 and m["tnr"] == pytest.approx(5 / 6) and m["fpr"] == pytest.approx(1 / 6)
    assert m["precision"] == 0.75 and m["f1"] == pytest.approx(0.75)
    assert m["tpr_ci"] == pytest.approx(wilson_ci(3, 4))
    lo, hi = m["f1_ci"]
    assert 0 <= lo <= 0.75 <= hi <= 1


def test_confusion_counts() -> None:
    assert confusion(np.array([1, 0, 1, 0]), np.array([True, True, False, False])) == {
        "tp": 1,
        "fp": 1,
        "tn": 1,
        "fn": 1,
    }


def test_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(size=300) + y, 1)  # many ties
    assert auc_rank(y[None], s[None])[0] == pytest.approx(roc_auc_score(y, s))
    m = evaluate_scores(y, s, {"t": 0.5}, seed=0, n_boot=300)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, s))
    lo, hi = m["roc_auc_ci"]
    assert lo < m["roc_auc"] < hi and hi - lo < 0.2
    assert evaluate_scores(y, s, {"t": 0.5}, seed=0, n_boot=300) == m  # seeded bootstrap is reproducible


def test_perfect_and_single_class() -> None:
    y = np.array([0, 0, 0, 1, 1])
    m = evaluate_scores(y, np.array([0.1, 0.2, 0.3, 0.8, 0.9]), {"t": 0.5}, n_boot=100)
    assert m["roc_auc"] == 1.0 and m["at_threshold"]["t"]["tpr"] == 1.0 and m["tnr_at_tpr_0.98"] == 1.0
    one = evaluate_scores(np.zeros(4), np.arange(4.0), {"t": 1.5}, n_boot=100)
    assert np.isnan(one["roc_auc"]) and one["at_threshold"]["t"]["fpr"] == 0.5


def test_metrics_of_no_images_are_undefined_not_a_crash() -> None:
    """max_train 4 leaves an empty validation check half (found by research/spillguard_sweep.py)."""
    import math

    from spillguard.metrics.detection import evaluate_scores, ranking_metrics

    out = ranking_metrics(np.zeros(0), np.zeros(0), np.random.default_rng(0))
    assert math.isnan(out["roc_auc"]) and math.isnan(out["pr_auc"])
    ev = evaluate_scores(np.zeros(0), np.zeros(0), {"fpr": 0.5})
    assert ev["n"] == 0 and math.isnan(ev["at_threshold"]["fpr"]["tpr"])
