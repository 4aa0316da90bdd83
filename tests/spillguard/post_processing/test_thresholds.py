"""Threshold rules: fpr, balanced, stream."""

from __future__ import annotations

import numpy as np
import pytest

from spillguard.post_processing.thresholds import (
    choose_thresholds,
    threshold_balanced,
    threshold_fpr,
    threshold_stream,
)


def test_fpr_rule_keeps_the_false_alarm_rate() -> None:
    rng = np.random.default_rng(0)
    normals = rng.normal(size=1000)
    for target in (0.01, 0.05, 0.2):
        t = threshold_fpr(normals, target)
        assert np.mean(normals > t) <= target
        assert np.mean(normals > t) > target - 0.002  # and not needlessly higher
    assert threshold_fpr(np.arange(10.0), 0.01) == 9.0  # fewer than 100 normals: the maximum


def test_balanced_rule_equalises_rates() -> None:
    normals = np.arange(100.0)  # 0..99
    spills = np.arange(100.0) + 50  # 50..149: overlap of half
    t = threshold_balanced(normals, spills)
    tpr, tnr = np.mean(spills > t), np.mean(normals <= t)
    assert abs(tpr - tnr) <= 0.011 and tpr == tnr == 0.75
    # separable classes: a perfect threshold
    t2 = threshold_balanced(np.array([0.1, 0.2, 0.3]), np.array([0.7, 0.9]))
    assert 0.3 <= t2 < 0.7
    assert set(choose_thresholds(normals, None, 0.01)) == {"fpr"}
    assert set(choose_thresholds(normals, spills, 0.01)) == {"fpr", "balanced"}


def test_threshold_stream_follows_a_shift_of_the_unlabelled_stream() -> None:
    rng = np.random.default_rng(0)
    val = rng.normal(0, 1, 5000)
    same = threshold_stream(val, rng.normal(0, 1, 5000), 0.01)
    shifted = threshold_stream(val, rng.normal(3, 2, 5000), 0.01)
    assert same == pytest.approx(np.quantile(val, 0.99), abs=0.15)
    assert shifted == pytest.approx(3 + 2 * np.quantile(val, 0.99), abs=0.3)
