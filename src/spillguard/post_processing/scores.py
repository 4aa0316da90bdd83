"""Anomaly scores from reconstruction errors, and threshold rules chosen without test labels.

Scores (higher = more likely a spill), from a per-pixel error map (N, H, W) = squared error averaged
over channels in standardised units:
- ``mse``: the mean of the map (the classic reconstruction error);
- ``local``: the maximum of the map after a ``smooth`` x ``smooth`` box filter, so a small bright
  spill is not diluted by a large well-reconstructed background;
- ``combined``: the geometric mean of the two.

Threshold rules (an image is flagged when its score is above the threshold):
- ``fpr``: the (1 - target_fpr) quantile of held-out validation normals: a set false-alarm rate on
  data like the training normals (it rises when new normals look different);
- ``balanced``: the threshold where TPR on held-out known spills (part of ``proliv``) equals TNR on
  held-out validation normals (equal error rate; ties go to the higher TPR + TNR).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F


def error_map(x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """Per-pixel squared error averaged over channels: (N, C, H, W) x2 -> (N, H, W)."""
    return (recon - x).pow(2).mean(dim=1)


def score_mse(err: torch.Tensor, smooth: int = 16) -> torch.Tensor:
    """Mean error per image: (N, H, W) -> (N,)."""
    return err.mean(dim=(1, 2))


def score_local(err: torch.Tensor, smooth: int = 16) -> torch.Tensor:
    """Maximum of the box-smoothed (mean over ``smooth`` x ``smooth``) error map: (N, H, W) -> (N,)."""
    k = max(1, min(smooth, err.shape[1], err.shape[2]))
    s = F.pad(err.double().cumsum(1).cumsum(2), (1, 0, 1, 0))  # integral image, (N, H+1, W+1)
    box = s[:, k:, k:] - s[:, :-k, k:] - s[:, k:, :-k] + s[:, :-k, :-k]
    return (box.flatten(1).max(dim=1).values / (k * k)).float()


def score_combined(err: torch.Tensor, smooth: int = 16) -> torch.Tensor:
    """Geometric mean of the ``mse`` and ``local`` scores: large diffuse and small bright errors both count."""
    return (score_mse(err, smooth) * score_local(err, smooth)).sqrt()


SCORES: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "mse": score_mse,
    "local": score_local,
    "combined": score_combined,
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


def choose_thresholds(
    normal_scores: np.ndarray, spill_scores: np.ndarray | None, target_fpr: float
) -> dict[str, float]:
    """Thresholds of every rule that the available held-out data allows."""
    out = {"fpr": threshold_fpr(normal_scores, target_fpr)}
    if spill_scores is not None and len(spill_scores):
        out["balanced"] = threshold_balanced(normal_scores, spill_scores)
    return out
