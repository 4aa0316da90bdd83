"""Every threshold rule, chosen without test labels; an image is flagged when its score is above.

- ``fpr``: the (1 - target_fpr) quantile of held-out validation normals: a set false-alarm rate on
  data like the training normals (it rises when new normals look different);
- ``balanced``: the threshold where TPR on held-out known spills (part of ``proliv``) equals TNR on
  held-out validation normals (equal error rate; ties go to the higher TPR + TNR); needs known spills;
- ``prior``: the spill head's own decision boundary p(spill) = 0.5, i.e. score softplus(0) = ln 2;
  uses no data; only for the head score;
- ``stream``: the fpr quantile re-centred and re-scaled by the median and inter-quartile range of an
  unlabelled stream of scores (a plant's recent images); it uses the stream, never its labels.

A run stores ``fpr``, ``balanced`` (when it had known spills) and ``prior`` (head score); ``stream``
needs the scored images, so evaluation adds it. A verdict rule that a run cannot calibrate is an
error (``UserError``), never a silent switch to another rule.
"""

from __future__ import annotations

import numpy as np

from sharedcore.errors import UserError

THRESHOLD_RULES = ("fpr", "balanced", "prior")  # the rules a run can use for its verdicts
PRIOR_THRESHOLD = float(np.log(2.0))  # softplus(0): the head's own decision boundary, p(spill) = 0.5

RULE_TEXT = {
    "fpr": "fpr: (1 - target) quantile of held-out validation normals",
    "balanced": "balanced: TPR = TNR on held-out validation normals and held-out known spills",
    "prior": "prior: the spill head's own boundary, p(spill) = 0.5 (score ln 2); no data used",
    "stream": "stream: the fpr quantile re-centred by median/IQR of the unlabelled evaluated images",
}


def threshold_fpr(normal_scores: np.ndarray, target_fpr: float) -> float:
    """Smallest score value with at most ``target_fpr`` of ``normal_scores`` above it."""
    s = np.sort(np.asarray(normal_scores, dtype=np.float64))
    k = int(np.floor(target_fpr * len(s)))  # how many normals may lie above
    return float(s[len(s) - 1 - k]) if k < len(s) else float(s[0])


def threshold_balanced(normal_scores: np.ndarray, spill_scores: np.ndarray) -> float:
    """Threshold where TPR (spills above) best equals TNR (normals at or below); see module doc."""
    neg = np.sort(np.asarray(normal_scores, dtype=np.float64))
    pos = np.sort(np.asarray(spill_scores, dtype=np.float64))
    cand = np.unique(np.r_[neg, pos])
    tnr = np.searchsorted(neg, cand, side="right") / len(neg)
    tpr = 1 - np.searchsorted(pos, cand, side="right") / len(pos)
    gap = np.abs(tpr - tnr)
    best = np.flatnonzero(gap == gap.min())
    return float(cand[best[np.argmax((tpr + tnr)[best])]])


def threshold_stream(val_normal: np.ndarray, stream: np.ndarray, target_fpr: float) -> float:
    """Validation (1 - target_fpr) quantile mapped through median/IQR of validation -> unlabelled stream."""

    def loc_scale(s: np.ndarray) -> tuple[float, float]:
        q1, med, q3 = np.percentile(s, [25, 50, 75])
        return float(med), max(float(q3 - q1), 1e-12)

    (vm, vs), (sm, ss) = loc_scale(val_normal), loc_scale(stream)
    return sm + (float(np.quantile(val_normal, 1 - target_fpr)) - vm) / vs * ss


def choose_thresholds(
    normal_scores: np.ndarray, spill_scores: np.ndarray | None, target_fpr: float, head: bool = False
) -> dict[str, float]:
    """Thresholds of every rule the held-out data allows: fpr; balanced with spills; prior for a head."""
    out = {"fpr": threshold_fpr(normal_scores, target_fpr)}
    if spill_scores is not None and len(spill_scores):
        out["balanced"] = threshold_balanced(normal_scores, spill_scores)
    if head:
        out["prior"] = PRIOR_THRESHOLD
    return out


def check_rule(rule: str, thresholds: dict[str, float], why: str = "") -> str:
    """``rule`` if ``thresholds`` has it, else a UserError naming the rules available and the fix."""
    if rule not in thresholds:
        raise UserError(
            f"threshold rule '{rule}' is not available{why}; choose one of {', '.join(thresholds)}"
        )
    return rule
