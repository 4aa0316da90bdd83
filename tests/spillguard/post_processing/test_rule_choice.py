"""The data-chosen verdict rule (``choose_rule``) on constructed held-out scores, and ``fpr_bound``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta

from spillguard.config import TrainConfig
from spillguard.metrics.gate import gate_lines, validation_gate
from spillguard.post_processing.thresholds import (
    BOUND_FPR,
    PRIOR_THRESHOLD,
    choose_rule,
    choose_thresholds,
    threshold_fpr,
    threshold_fpr_bound,
)

P = PRIOR_THRESHOLD  # ln 2


def normals(n: int, seed: int = 0, centre: float = 0.05) -> np.ndarray:
    """Head scores of validation normals: well below p = 0.5 (softplus of negative logits)."""
    return np.random.default_rng(seed).uniform(0.0, 2 * centre, n)


def test_prior_is_kept_when_held_out_known_anomalies_and_normals_support_it() -> None:
    val = normals(60)
    known = np.r_[np.full(11, 3.0), 0.1]  # 11 of 12 above ln 2
    c = choose_rule(val, val[:30], known, head=True)
    assert c["value"] == "prior" and c["reason"] == "prior_supported"
    assert c["prior_known_tpr"] == pytest.approx(11 / 12) and c["prior_val_fpr"] == 0.0
    assert "11 of 12 known anomalies" in c["how"]


def test_prior_collapsing_below_real_defects_falls_back_to_fpr_bound() -> None:
    # the failure: the ranking is fine (known above every normal) but p(spill) < 0.5 for most
    val = normals(60)
    known = np.r_[np.full(10, 0.5), np.full(2, 2.0)]  # above every normal (<= 0.1), only 2 above ln 2
    c = choose_rule(val, val[:30], known, head=True)
    assert c["value"] == "fpr_bound" and c["reason"] == "prior_misses"
    assert c["prior_known_tpr"] == pytest.approx(2 / 12) and c["fpr_bound_known_tpr"] == 1.0
    assert "only 2 of 12" in c["how"] and "fpr_bound flags 12" in c["how"]


def test_prior_is_kept_at_half_the_held_out_known_even_when_fpr_bound_would_flag_more() -> None:
    # quantile rules lose their false-alarm rate under shift; p = 0.5 is kept whenever it is adequate
    val = normals(60)
    known = np.r_[np.full(6, 3.0), np.full(6, 0.5)]  # half above ln 2, all above every normal
    c = choose_rule(val, val[:30], known, head=True)
    assert c["prior_known_tpr"] == 0.5 and c["fpr_bound_known_tpr"] == 1.0
    assert c["value"] == "prior"
    c = choose_rule(val, val[:30], np.r_[np.full(5, 3.0), np.full(7, 0.5)], head=True)  # 5 of 12
    assert c["value"] == "fpr_bound" and c["reason"] == "prior_misses"


def test_prior_flagging_too_many_validation_normals_falls_back() -> None:
    val = np.r_[normals(54), np.full(6, 1.0)]  # 10% of validation normals above ln 2
    known = np.full(12, 3.0)
    c = choose_rule(val, val[::2], known, head=True)
    assert c["value"] == "fpr_bound" and c["reason"] == "prior_false_alarms"
    assert c["prior_val_fpr"] == pytest.approx(0.1)


@pytest.mark.parametrize("n_known", [0, 3, 9])
def test_too_few_held_out_known_anomalies_pick_the_safe_fpr_bound(n_known: int) -> None:
    val = normals(60)
    c = choose_rule(val, val[:30], np.full(n_known, 3.0), head=True)  # even if all are flagged
    assert c["value"] == "fpr_bound" and c["reason"] == "too_few_known"
    assert f"only {n_known} known anomalies" in c["how"]


def test_without_a_head_there_is_no_prior() -> None:
    val = normals(60)
    c = choose_rule(val, val[:30], np.full(12, 3.0), head=False)
    assert c["value"] == "fpr_bound" and c["reason"] == "no_head" and "prior_val_fpr" not in c


@pytest.mark.parametrize("n", [20, 35, 50, 70, 450])
def test_fpr_bound_keeps_the_expected_false_alarm_rate_at_most_5_percent(n: int) -> None:
    rng = np.random.default_rng(n)
    # exact: the k-th highest of n exchangeable normals is exceeded by a new one with prob k / (n + 1)
    s = rng.standard_normal(n)
    t = threshold_fpr_bound(s)
    k = int((s >= t).sum())
    assert k >= 1 and k / (n + 1) <= BOUND_FPR + 1e-12 and (k + 1) / (n + 1) > BOUND_FPR
    # Monte Carlo: the mean false-alarm rate on fresh normals is k / (n + 1); the fpr rule at 5% is
    # biased above it for small n (floor quantile), which is why the fallback does not use it
    draws = rng.standard_normal((4000, n))
    fresh = rng.standard_normal((4000, 200))
    t_b = np.array([threshold_fpr_bound(d) for d in draws])
    t_f = np.array([threshold_fpr(d, BOUND_FPR) for d in draws])
    fa_b = (fresh > t_b[:, None]).mean()
    assert fa_b == pytest.approx(k / (n + 1), abs=0.004)
    assert (fresh > t_f[:, None]).mean() >= fa_b - 0.004
    # and the rate of one run's threshold follows Beta(k, n + 1 - k): P(> 10%) as the README states
    p_over = float(((fresh > t_b[:, None]).mean(axis=1) > 0.10).mean())
    assert p_over == pytest.approx(float(beta.sf(0.10, k, n + 1 - k)), abs=0.03)


def test_fpr_bound_with_few_normals_is_the_highest() -> None:
    assert threshold_fpr_bound(np.array([0.3, 0.1, 0.2])) == 0.3


def test_fpr_bound_threshold_is_stored_only_when_asked() -> None:
    val = normals(40)
    assert set(choose_thresholds(val, None, 0.01, head=True)) == {"fpr", "prior"}
    t = choose_thresholds(val, None, 0.01, head=True, bound=True)
    assert set(t) == {"fpr", "prior", "fpr_bound"} and t["fpr_bound"] == threshold_fpr_bound(val)


def test_config_leaves_the_rule_open_by_default_and_keeps_an_explicit_one() -> None:
    assert TrainConfig().threshold_rule is None
    for rule in ("prior", "fpr", "balanced", "fpr_bound"):
        assert TrainConfig(threshold_rule=rule).validate().threshold_rule == rule


def test_the_gate_says_when_verdicts_fell_back() -> None:
    known = {"roc_auc": 0.95, "roc_auc_ci": (0.9, 1.0)}
    synth = {"roc_auc": 0.97, "roc_auc_ci": (0.95, 0.99)}
    val = normals(60)
    fell = choose_rule(val, val[:30], np.r_[np.full(10, 0.5), np.full(2, 2.0)], head=True)
    gate = validation_gate(known, 12, synth, rule_choice=fell)
    assert gate["passed"] and "fpr_bound" in gate["rule_note"]
    lines = gate_lines(gate)
    assert lines[0].startswith("validation gate passed") and lines[-1].startswith(
        "WARNING: verdicts do not use"
    )
    kept = choose_rule(val, val[:30], np.full(12, 3.0), head=True)
    assert validation_gate(known, 12, synth, rule_choice=kept)["rule_note"] == ""
    assert validation_gate(known, 12, synth)["rule_note"] == ""  # the config fixed the rule
