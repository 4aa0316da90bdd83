"""The validation gate: does this run detect anything, judged without test labels?

Two checks on held-out data: the ROC AUC of held-out known anomalies (the check half, never trained
on) against held-out validation normals, and the ROC AUC of held-out synthetic anomalies (the run's
own looks of ``spillguard.data.anomaly_looks``, drawn on validation normals with their own seed). The run
passes when there are at least ``MIN_KNOWN`` held-out known anomalies and both AUCs reach
``MIN_AUC``; otherwise it says why and what to do. ``require`` (``train --require-auc X``) turns a
gate AUC below X, or too few known anomalies to measure it, into exit code 2. When the verdict rule
was chosen from the data and fell back from the head's p = 0.5 to ``fpr_bound``
(``spillguard.post_processing.thresholds.choose_rule``), the gate says so (``rule_note``) whether it
passed or not: the ranking may be fine while p = 0.5 lies above most real defects.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from spillguard.data.anomaly_looks import GENERIC_MIX, make_anomalies
from spillguard.metrics.detection import ranking_metrics

MIN_AUC = 0.9
MIN_KNOWN = 10  # held-out known anomalies below which their AUC cannot be told (CI about +-0.1)
ADVICE = (
    "add known defect images (anomalous/ or proliv/; at least {need} in all, half of them are held out), "
    "train on a larger input (height/width in a config, or input_pixels) or longer (epochs, time_budget)"
)


class Scorer(Protocol):
    def score_samples(self, images: np.ndarray) -> np.ndarray: ...


def synthetic_check(
    det: Scorer, normals: np.ndarray, seed: int, grey: bool, mix: dict[str, float] | None
) -> dict[str, Any]:
    """ROC AUC (bootstrap CI) of ``normals`` (N, H, W, 3) uint8 against held-out synthetic anomalies of them.

    The looks are the run's own (``mix``), drawn afresh on validation normals with their own seed:
    a run that cannot separate even those has not learnt (too small an input, too few steps).
    """
    rng = np.random.default_rng(seed + 17)
    mix = dict(GENERIC_MIX if mix is None else mix)
    fake = make_anomalies(normals.astype(np.float32) / 255, rng, mix, grey)
    fake_u8 = (fake * 255 + 0.5).astype(np.uint8)
    y = np.r_[np.zeros(len(normals)), np.ones(len(fake_u8))]
    s = np.r_[det.score_samples(normals), det.score_samples(fake_u8)]
    return {
        "looks": mix,
        "n": len(normals),
        **ranking_metrics(y, s, np.random.default_rng(seed)),
    }


def validation_gate(
    known: dict[str, Any],
    n_known_check: int,
    synthetic: dict[str, Any] | None,
    min_auc: float = MIN_AUC,
    rule_choice: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Gate verdict from the validation metrics of held-out known anomalies and of synthetic ones;
    ``rule_choice``: the data-chosen verdict rule (``choose_rule``), None when the config fixed it."""
    warnings: list[str] = []
    k_auc = known.get("roc_auc") if n_known_check else None
    s_auc = synthetic.get("roc_auc") if synthetic else None
    need = 2 * MIN_KNOWN
    if n_known_check < MIN_KNOWN:
        warnings.append(
            f"only {n_known_check} known anomalies were held out for validation (fewer than {MIN_KNOWN}): "
            f"the run cannot tell whether it detects your real defects"
        )
    elif k_auc is not None and not k_auc >= min_auc:
        ci = known.get("roc_auc_ci") or (float("nan"), float("nan"))
        warnings.append(
            f"held-out known anomalies separate weakly from validation normals: ROC AUC {k_auc:.3f} "
            f"[{ci[0]:.3f}, {ci[1]:.3f}] < {min_auc}"
        )
    if s_auc is not None and not s_auc >= min_auc:
        warnings.append(
            f"even synthetic anomalies on validation normals separate weakly: ROC AUC {s_auc:.3f} < {min_auc}"
        )
    aucs = [a for a in (k_auc if n_known_check >= MIN_KNOWN else None, s_auc) if a is not None]
    return {
        "passed": not warnings,
        "min_auc": min_auc,
        "auc": float(min(aucs)) if aucs and n_known_check >= MIN_KNOWN else None,
        "known_auc": k_auc,
        "known_auc_ci": known.get("roc_auc_ci") if n_known_check else None,
        "n_known_check": int(n_known_check),
        "synthetic_auc": s_auc,
        "synthetic_auc_ci": synthetic.get("roc_auc_ci") if synthetic else None,
        "warnings": warnings,
        "advice": "what to do: " + ADVICE.format(need=need) if warnings else "",
        "rule_note": (
            f"verdicts do not use the head's p(spill) = 0.5 but {rule_choice['how']}"
            if rule_choice and rule_choice["value"] != "prior" and rule_choice["reason"] != "no_head"
            else ""
        ),
    }


def gate_lines(gate: dict[str, Any]) -> list[str]:
    """Console lines: the verdict, each warning and the advice, and the verdict-rule note."""
    note = ["WARNING: " + gate["rule_note"]] if gate.get("rule_note") else []
    if gate["passed"]:
        return [
            f"validation gate passed: held-out known anomalies ROC AUC {gate['known_auc']:.3f} "
            f"({gate['n_known_check']} held out), synthetic {gate['synthetic_auc']:.3f} (>= {gate['min_auc']})",
            *note,
        ]
    return ["WARNING: validation gate failed: " + w for w in gate["warnings"]] + [gate["advice"], *note]


def requirement_failure(gate: dict[str, Any], require: float) -> str | None:
    """None when the gate AUC reaches ``require``; else the one-line reason (for exit code 2)."""
    if gate["auc"] is None:
        return (
            f"--require-auc {require}: the gate AUC cannot be measured with {gate['n_known_check']} held-out "
            f"known anomalies (at least {MIN_KNOWN} needed); {ADVICE.format(need=2 * MIN_KNOWN)}"
        )
    if gate["auc"] < require:
        return (
            f"--require-auc {require}: the validation gate AUC is {gate['auc']:.3f} (lower of known "
            f"{gate['known_auc']:.3f} and synthetic {gate['synthetic_auc']:.3f}); {ADVICE.format(need=2 * MIN_KNOWN)}"
        )
    return None
