from __future__ import annotations

import numpy as np

from avatargen.pixels import metrics
from avatargen.pixels.evaluate import target_reliability


def test_target_reliability_reports_each_seed_and_the_shares(drawn_avatars: np.ndarray) -> None:
    rows, rates = target_reliability(drawn_avatars, range(3), n_samples=3)
    assert [r["seed"] for r in rows] == [0, 1, 2]
    assert set(rates) == {*metrics.TARGETS, "all"}
    for k in metrics.TARGETS:
        # each share is the mean of the per-seed flags, and each flag agrees with the figure
        assert rates[k] == np.mean([r[f"{k}_met"] for r in rows])
        assert all(r[f"{k}_met"] == metrics.TARGETS[k].met(r[k]) for r in rows)
    assert rates["all"] <= min(rates[k] for k in metrics.TARGETS)
    # the same seeds give the same figures
    again, _ = target_reliability(drawn_avatars, range(1), n_samples=3)
    assert again[0]["pairwise_distance"] == rows[0]["pairwise_distance"]
