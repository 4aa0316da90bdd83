"""Scores and threshold rules."""

from __future__ import annotations

import numpy as np
import torch

from spillguard.post_processing.scores import score_local, score_mse
from spillguard.post_processing.thresholds import choose_thresholds, threshold_balanced, threshold_fpr


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


def test_local_score_finds_a_small_blob_the_mean_dilutes() -> None:
    diffuse = torch.full((1, 32, 48), 0.1)
    blob = torch.zeros(1, 32, 48)
    blob[0, 10:15, 20:25] = 5.0  # same total error as... much less than diffuse, but concentrated
    assert score_mse(blob).item() < score_mse(diffuse).item()
    assert score_local(blob, 5).item() > score_local(diffuse, 5).item()
    assert score_local(blob, 5).item() == 5.0
