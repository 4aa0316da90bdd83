"""The false-alarm rate a verdict threshold promises on new normals, with a 95% interval.

Two cases, by how the threshold was set:

- ``conformal`` (rule ``fpr_bound``): the threshold is the k-th highest of n calibration normals.
  A new normal exchangeable with them is flagged with probability exactly k / (n + 1) (the
  promise), and the false-alarm rate given the calibration draw is Beta(k, n + 1 - k) distributed
  (the rank of a new score among n + 1 is uniform; Vovk 2012, "conditional validity"): the interval
  holds the rate of this run's threshold with probability 95% over calibration draws;
- ``held_out`` (every other rule): the threshold did not see the ``n`` held-out normals; ``k`` of
  them lie above it, the promise is k / n with its exact Clopper-Pearson 95% interval.

Both hold for normals like the training ones; a line whose normals drift (the pit test half) can
leave the interval, which ``check_promise`` on labelled test normals shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _beta_interval(a: float, b: float, level: float) -> tuple[float, float]:
    from scipy.stats import beta  # train extra; not needed to score

    lo = float(beta.ppf((1 - level) / 2, a, b)) if a > 0 else 0.0
    hi = float(beta.ppf((1 + level) / 2, a, b)) if b > 0 else 1.0
    return (lo, hi)


def conformal_promise(n: int, k: int, level: float = 0.95) -> dict[str, Any]:
    """Promise of a threshold at the k-th highest of ``n`` calibration normals (1 <= k <= n)."""
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must lie in 1..n={n}")
    return {
        "kind": "conformal",
        "n": int(n),
        "k": int(k),
        "fpr": k / (n + 1),
        "fpr_ci": _beta_interval(k, n + 1 - k, level),
        "level": level,
    }


def held_out_promise(n: int, k: int, level: float = 0.95) -> dict[str, Any]:
    """Promise of a threshold that ``k`` of ``n`` held-out normals (unseen by it) lie above:
    k / n with the exact Clopper-Pearson interval."""
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"k={k}, n={n}: need n >= 1 and 0 <= k <= n")
    return {
        "kind": "held_out",
        "n": int(n),
        "k": int(k),
        "fpr": k / n,
        "fpr_ci": (_beta_interval(k, n - k + 1, level)[0], _beta_interval(k + 1, n - k, level)[1]),
        "level": level,
    }


def promise_of(
    rule: str, threshold: float, calib_normal: np.ndarray, held_out_normal: np.ndarray
) -> dict[str, Any] | None:
    """The promise of verdict ``rule`` at ``threshold``: conformal for ``fpr_bound`` (from the
    calibration normals that set it), else held out (from normals the threshold never saw); None
    when there are none."""
    calib = np.asarray(calib_normal, dtype=np.float64)
    if rule == "fpr_bound" and len(calib):
        k = int((calib >= threshold).sum())  # the k-th highest is the threshold itself
        out = conformal_promise(len(calib), max(1, min(k, len(calib))))
    else:
        held = np.asarray(held_out_normal, dtype=np.float64)
        if not len(held):
            return None
        out = held_out_promise(len(held), int((held > threshold).sum()))
    out.update(rule=rule, threshold=float(threshold))
    return out


def check_promise(promise: dict[str, Any], fp: int, n_normal: int) -> dict[str, Any]:
    """The measured false-alarm rate ``fp`` / ``n_normal`` on labelled test normals against
    ``promise``: ``inside`` (the measured rate lies in the promised 95% interval), ``kept`` (it is at
    most the interval's upper end) and ``consistent`` (its own Clopper-Pearson 95% interval meets the
    promised one: with few test normals, 0 false alarms is a likely outcome of a 3% rate)."""
    rate = fp / n_normal if n_normal else float("nan")
    lo, hi = promise["fpr_ci"]
    measured_ci = held_out_promise(n_normal, fp)["fpr_ci"] if n_normal else (float("nan"),) * 2
    eps = 1e-12
    return {
        "promised_fpr": promise["fpr"],
        "promised_fpr_ci": [lo, hi],
        "measured_fpr": rate,
        "measured_fpr_ci": list(measured_ci),
        "n_normal": int(n_normal),
        "inside": bool(n_normal and lo - eps <= rate <= hi + eps),
        "kept": bool(n_normal and rate <= hi + eps),
        "consistent": bool(n_normal and measured_ci[0] <= hi + eps and measured_ci[1] >= lo - eps),
    }


def describe(promise: dict[str, Any]) -> str:
    """One line for the console and the report."""
    lo, hi = promise["fpr_ci"]
    how = (
        f"the {promise['k']}-th highest of {promise['n']} calibration normals: k / (n + 1), Beta(k, n + 1 - k) interval"
        if promise["kind"] == "conformal"
        else f"{promise['k']} of {promise['n']} held-out validation normals above it, Clopper-Pearson interval"
    )
    return (
        f"verdict rule '{promise['rule']}' promises a false-alarm rate of {promise['fpr']:.1%} "
        f"[{lo:.1%}, {hi:.1%}] (95%) on normals like the training ones ({how})"
    )
