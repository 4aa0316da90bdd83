"""Detection metrics with 95% confidence intervals: Wilson intervals for rates (TPR, TNR, FPR,
precision), a seeded stratified bootstrap for F1, ROC AUC and PR AUC (average precision)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


def wilson_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n; (nan, nan) when n == 0."""
    if n == 0:
        return (float("nan"), float("nan"))
    z = float(norm.ppf(0.5 + level / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def confusion(labels: np.ndarray, flagged: np.ndarray) -> dict[str, int]:
    """Counts tp, fp, tn, fn for labels (1 = spill) and verdicts (True = flagged as spill)."""
    y, f = np.asarray(labels).astype(bool), np.asarray(flagged).astype(bool)
    return {
        "tp": int(np.sum(y & f)),
        "fp": int(np.sum(~y & f)),
        "tn": int(np.sum(~y & ~f)),
        "fn": int(np.sum(y & ~f)),
    }


def auc_rank(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` (B, N) against ``labels`` (B, N) by the rank-sum formula."""
    r = rankdata(scores, axis=-1)
    pos = labels.astype(bool)
    n1 = pos.sum(axis=-1)
    n0 = pos.shape[-1] - n1
    return (np.where(pos, r, 0).sum(axis=-1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def separation_auc(normal_scores: np.ndarray, anomaly_scores: np.ndarray) -> float:
    """ROC AUC of anomaly scores (M,) against normal scores (N,): how well the two separate."""
    labels = np.r_[np.zeros(len(normal_scores)), np.ones(len(anomaly_scores))]
    return float(auc_rank(labels, np.r_[normal_scores, anomaly_scores]))


def _bootstrap_idx(labels: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, N) resampling indices, stratified so each sample keeps the class counts."""
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    return np.concatenate(
        [
            pos[rng.integers(0, len(pos), (n_boot, len(pos)))],
            neg[rng.integers(0, len(neg), (n_boot, len(neg)))],
        ],
        axis=1,
    )


def _ci(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.nanpercentile(samples, [2.5, 97.5])
    return (float(lo), float(hi))


def ranking_metrics(
    labels: np.ndarray, scores: np.ndarray, rng: np.random.Generator, n_boot: int = 1000
) -> dict[str, Any]:
    """ROC AUC and PR AUC with bootstrap 95% CIs; needs both classes present."""
    y = np.asarray(labels).astype(int)
    s = np.asarray(scores, dtype=np.float64)
    if y.size == 0 or y.min() == y.max():  # no images, or one class: AUCs are undefined
        return {"roc_auc": float("nan"), "pr_auc": float("nan")}
    idx = _bootstrap_idx(y, n_boot, rng)
    aucs = auc_rank(y[idx], s[idx])
    n_ap = min(n_boot, 300)
    aps = np.array([average_precision_score(y[i], s[i]) for i in idx[:n_ap]])
    return {
        "roc_auc": float(roc_auc_score(y, s)),
        "roc_auc_ci": _ci(aucs),
        "pr_auc": float(average_precision_score(y, s)),
        "pr_auc_ci": _ci(aps),
        "n_boot": n_boot,
    }


def threshold_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float, rng: np.random.Generator, n_boot: int = 1000
) -> dict[str, Any]:
    """Rates at ``threshold`` (score > threshold = spill) with Wilson CIs; F1 with a bootstrap CI."""
    y = np.asarray(labels).astype(int)
    s = np.asarray(scores, dtype=np.float64)
    c = confusion(y, s > threshold)
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]

    def rate(k: int, n: int) -> float:
        return k / n if n else float("nan")

    prec, tpr = rate(tp, tp + fp), rate(tp, tp + fn)
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")
    out: dict[str, Any] = {
        "threshold": float(threshold),
        "confusion": c,
        "tpr": tpr,
        "tpr_ci": wilson_ci(tp, tp + fn),
        "tnr": rate(tn, tn + fp),
        "tnr_ci": wilson_ci(tn, tn + fp),
        "fpr": rate(fp, tn + fp),
        "fpr_ci": wilson_ci(fp, tn + fp),
        "precision": prec,
        "precision_ci": wilson_ci(tp, tp + fp),
        "f1": f1,
    }
    if y.size and y.min() != y.max():
        idx = _bootstrap_idx(y, n_boot, rng)
        yb, fb = y[idx].astype(bool), s[idx] > threshold
        tpb, fpb, fnb = (yb & fb).sum(1), (~yb & fb).sum(1), (yb & ~fb).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["f1_ci"] = _ci(2 * tpb / (2 * tpb + fpb + fnb))
    return out


def evaluate_scores(
    labels: np.ndarray, scores: np.ndarray, thresholds: dict[str, float], seed: int = 0, n_boot: int = 1000
) -> dict[str, Any]:
    """Ranking metrics plus threshold metrics for each named threshold; counts of each class."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels).astype(int)
    out: dict[str, Any] = {"n": len(y), "n_spill": int(y.sum()), "n_normal": int(len(y) - y.sum())}
    out.update(ranking_metrics(y, scores, rng, n_boot))
    out["at_threshold"] = {
        name: threshold_metrics(y, scores, t, rng, n_boot) for name, t in thresholds.items()
    }
    if y.size and y.min() != y.max():
        fpr, tpr, _ = roc_curve(y, scores)
        for target in (0.9, 0.95, 0.98):
            out[f"tnr_at_tpr_{target:g}"] = float(1 - fpr[np.searchsorted(tpr, target, side="left")])
    return out


def recon_metrics(labels: np.ndarray, scores: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """ROC/PR AUC (bootstrap 95% CIs) of a reconstruction-error score (``mse``), beside a head's score."""
    return {"score": "mse", **ranking_metrics(labels, scores, np.random.default_rng(seed))}
