"""Every threshold rule, chosen without test labels; an image is flagged when its score is above.

- ``fpr``: the (1 - target_fpr) quantile of held-out validation normals: a set false-alarm rate on
  data like the training normals (it rises when new normals look different);
- ``balanced``: the threshold where TPR on held-out known spills (part of ``proliv``) equals TNR on
  held-out validation normals (equal error rate; ties go to the higher TPR + TNR); needs known spills;
- ``prior``: the spill head's own decision boundary p(spill) = 0.5, i.e. score softplus(0) = ln 2;
  uses no data; only for the head score;
- ``fpr_bound``: the k-th highest held-out validation normal, k as large as keeps k / (n + 1) at most
  ``BOUND_FPR`` (5%; at least the highest): a new normal exchangeable with the n calibration normals
  is flagged with probability exactly k / (n + 1), whatever the score distribution, so the expected
  false-alarm rate is at most 5% even with a few dozen normals (``fpr`` at 5% flags 9.5% in
  expectation with 20 normals); the fallback of the data-chosen rule;
- ``stream``: the fpr quantile re-centred and re-scaled by the median and inter-quartile range of an
  unlabelled stream of scores (a plant's recent images); it uses the stream, never its labels.

A run stores ``fpr``, ``balanced`` (when it had known spills), ``prior`` (head score) and
``fpr_bound`` (when it is the verdict rule); ``stream`` needs the scored images, so evaluation adds
it. A verdict rule that a run cannot calibrate is an error (``UserError``), never a silent switch to
another rule. When the config leaves the verdict rule open, ``choose_rule`` picks ``prior`` or
``fpr_bound`` from held-out data and says why (see its docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sharedcore.errors import UserError

THRESHOLD_RULES = ("fpr", "balanced", "prior", "fpr_bound")  # the rules a run can use for its verdicts
PRIOR_THRESHOLD = float(np.log(2.0))  # softplus(0): the head's own decision boundary, p(spill) = 0.5
BOUND_FPR = 0.05  # expected false-alarm rate bound of ``fpr_bound``
# the data-chosen rule keeps ``prior`` only with at least this many held-out known anomalies (as the
# validation gate: fewer cannot tell a rate; Wilson CI about +-0.3 at 10) ...
MIN_KNOWN_FOR_PRIOR = 10
# ... when it flags at least this share of them (the target TPR). Not "as many as fpr_bound":
# quantile rules lose their false-alarm rate when new normals differ from the validation ones (the
# procedural pits at 4 epochs: prior flags 23 of 30 held-out known, fpr_bound 29, but on the test
# half fpr_bound keeps TNR 0.80, prior 0.996), so prior is kept whenever it is adequate
KEEP_PRIOR_TPR = 0.5

RULE_TEXT = {
    "fpr": "fpr: (1 - target) quantile of held-out validation normals",
    "balanced": "balanced: TPR = TNR on held-out validation normals and held-out known spills",
    "prior": "prior: the spill head's own boundary, p(spill) = 0.5 (score ln 2); no data used",
    "fpr_bound": f"fpr_bound: the k-th highest held-out validation normal, k / (n + 1) <= {BOUND_FPR:.0%} "
    "(expected false-alarm rate on normals like them)",
    "stream": "stream: the fpr quantile re-centred by median/IQR of the unlabelled evaluated images",
}


def threshold_fpr(normal_scores: np.ndarray, target_fpr: float) -> float:
    """Smallest score value with at most ``target_fpr`` of ``normal_scores`` above it."""
    s = np.sort(np.asarray(normal_scores, dtype=np.float64))
    k = int(np.floor(target_fpr * len(s)))  # how many normals may lie above
    return float(s[len(s) - 1 - k]) if k < len(s) else float(s[0])


def threshold_fpr_bound(normal_scores: np.ndarray, bound: float = BOUND_FPR) -> float:
    """The k-th highest of ``normal_scores`` (n of them), k = max(1, floor(bound * (n + 1))): a new
    normal exchangeable with them scores above it with probability k / (n + 1) (<= ``bound`` when n + 1
    >= 1 / bound)."""
    s = np.sort(np.asarray(normal_scores, dtype=np.float64))
    k = max(1, int(np.floor(bound * (len(s) + 1) + 1e-9)))
    return float(s[max(len(s) - k, 0)])


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
    normal_scores: np.ndarray,
    spill_scores: np.ndarray | None,
    target_fpr: float,
    head: bool = False,
    bound: bool = False,
) -> dict[str, float]:
    """Thresholds of every rule the held-out data allows: fpr; balanced with spills; prior for a head;
    fpr_bound when ``bound`` (it is stored only when it is the verdict rule)."""
    out = {"fpr": threshold_fpr(normal_scores, target_fpr)}
    if spill_scores is not None and len(spill_scores):
        out["balanced"] = threshold_balanced(normal_scores, spill_scores)
    if head:
        out["prior"] = PRIOR_THRESHOLD
    if bound:
        out["fpr_bound"] = threshold_fpr_bound(normal_scores)
    return out


def choose_rule(
    val_normal: np.ndarray, calib_normal: np.ndarray, known_check: np.ndarray, head: bool
) -> dict[str, Any]:
    """The verdict rule when the config leaves it open, from held-out data only; a dict with ``value``
    (``prior`` or ``fpr_bound``), ``reason`` (a code), ``how`` (one line) and the held-out rates.

    ``val_normal``: scores of all validation normals (never trained on); ``calib_normal``: the
    calibration part of them (chooses ``fpr_bound``); ``known_check``: held-out known anomalies (never
    trained on). ``prior`` is kept when the run has a spill head, at least ``MIN_KNOWN_FOR_PRIOR``
    held-out known anomalies, flags at most ``BOUND_FPR`` of the validation normals, and flags at
    least ``KEEP_PRIOR_TPR`` (half) of the held-out known anomalies.
    Otherwise ``fpr_bound``: its false-alarm rate is bounded on normals like the validation ones and
    it cannot flag nothing, whereas p = 0.5 learnt on synthetic looks may lie above most real defects.
    """
    val_normal = np.asarray(val_normal, dtype=np.float64)
    known = np.asarray(known_check, dtype=np.float64)
    t_bound = threshold_fpr_bound(calib_normal)
    n_k = len(known)
    out: dict[str, Any] = {
        "n_val_normal": len(val_normal),
        "n_calib_normal": len(calib_normal),
        "n_known_check": n_k,
        "bound_fpr": BOUND_FPR,
        "fpr_bound_threshold": t_bound,
        "fpr_bound_known_tpr": float((known > t_bound).mean()) if n_k else None,
    }
    if head:
        out["prior_val_fpr"] = float((val_normal > PRIOR_THRESHOLD).mean())
        out["prior_known_tpr"] = float((known > PRIOR_THRESHOLD).mean()) if n_k else None
    fallback = (
        f"verdict rule fpr_bound (the k-th highest of {len(calib_normal)} calibration normals, expected "
        f"false-alarm rate <= {BOUND_FPR:.0%})"
    )
    if not head:
        reason, how = "no_head", f"{fallback}: the score has no spill head, so no prior rule"
    elif n_k < MIN_KNOWN_FOR_PRIOR:
        reason = "too_few_known"
        how = (
            f"{fallback}: only {n_k} known anomalies were held out (fewer than {MIN_KNOWN_FOR_PRIOR}), too "
            "few to tell whether the head's p(spill) = 0.5 flags your real defects"
        )
    elif out["prior_val_fpr"] > BOUND_FPR:
        reason = "prior_false_alarms"
        how = (
            f"{fallback}: the head's p(spill) = 0.5 flags {out['prior_val_fpr']:.1%} of the "
            f"{len(val_normal)} validation normals (more than {BOUND_FPR:.0%})"
        )
    elif out["prior_known_tpr"] < KEEP_PRIOR_TPR:
        reason = "prior_misses"
        how = (
            f"{fallback}: the head's p(spill) = 0.5 flags only {round(out['prior_known_tpr'] * n_k)} of "
            f"{n_k} held-out known anomalies (fewer than {KEEP_PRIOR_TPR:.0%}; fpr_bound flags "
            f"{round(out['fpr_bound_known_tpr'] * n_k)})"
        )
    else:
        reason = "prior_supported"
        how = (
            f"verdict rule prior (p(spill) = 0.5): on held-out data it flags "
            f"{round(out['prior_known_tpr'] * n_k)} of {n_k} known anomalies and "
            f"{out['prior_val_fpr']:.1%} of {len(val_normal)} validation normals"
        )
    value = "prior" if reason == "prior_supported" else "fpr_bound"
    return {"value": value, "reason": reason, "how": how, **out}


def check_rule(rule: str, thresholds: dict[str, float], why: str = "") -> str:
    """``rule`` if ``thresholds`` has it, else a UserError naming the rules available and the fix."""
    if rule not in thresholds:
        raise UserError(
            f"threshold rule '{rule}' is not available{why}; choose one of {', '.join(thresholds)}"
        )
    return rule
