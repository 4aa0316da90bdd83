"""The false-alarm promise: its interval holds the true rate as often as it says, on a known distribution."""

import numpy as np
import pytest
from scipy.stats import norm

from spillguard.post_processing.false_alarms import (
    check_promise,
    conformal_promise,
    held_out_promise,
    promise_of,
)
from spillguard.post_processing.thresholds import threshold_fpr_bound


def test_conformal_interval_covers_the_true_rate_of_gaussian_normals() -> None:
    # normals ~ N(0, 1): the true false-alarm rate of a threshold t is 1 - Phi(t)
    rng = np.random.default_rng(0)
    true, inside = [], 0
    for _ in range(2000):
        calib = rng.standard_normal(32)
        t = threshold_fpr_bound(calib)
        p = promise_of("fpr_bound", t, calib, np.zeros(0))
        f = 1 - norm.cdf(t)
        true.append(f)
        inside += p["fpr_ci"][0] <= f <= p["fpr_ci"][1]
    assert p["kind"] == "conformal" and p["k"] == 1 and p["fpr"] == pytest.approx(1 / 33)
    assert np.mean(true) == pytest.approx(1 / 33, abs=0.003)  # the promise is the expected rate
    assert 0.93 <= inside / 2000 <= 0.97  # a 95% interval


def test_held_out_interval_is_clopper_pearson() -> None:
    p = held_out_promise(26, 0)
    assert p["fpr"] == 0 and p["fpr_ci"][0] == 0
    assert p["fpr_ci"][1] == pytest.approx(1 - 0.025 ** (1 / 26))  # exact upper bound at k = 0
    rng = np.random.default_rng(1)
    inside = 0
    for _ in range(2000):
        k = int(rng.binomial(200, 0.02))
        lo, hi = held_out_promise(200, k)["fpr_ci"]
        inside += lo <= 0.02 <= hi
    assert inside / 2000 >= 0.95  # exact intervals are conservative


def test_prior_rule_uses_held_out_normals_and_check_says_inside() -> None:
    held = np.r_[np.zeros(95), np.ones(5)]
    p = promise_of("prior", 0.5, np.zeros(10), held)
    assert p["kind"] == "held_out" and p["k"] == 5 and p["n"] == 100
    assert check_promise(p, 6, 100)["inside"]
    bad = check_promise(p, 30, 100)
    assert not bad["inside"] and not bad["kept"] and not bad["consistent"]
    # 0 of 84 against a promise of 3% [0.1%, 10.9%]: outside the interval, but kept and consistent
    zero = check_promise(conformal_promise(32, 1), 0, 84)
    assert not zero["inside"] and zero["kept"] and zero["consistent"]
    with pytest.raises(ValueError):
        conformal_promise(10, 0)
