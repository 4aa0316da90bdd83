"""Pixel-level metrics of anomaly maps against defect masks: pixel ROC AUC and PRO.

- ``pixel_roc_auc``: ROC AUC of every pixel's map value against its mask (all images pooled);
- ``pixel_pro``: the per-region overlap curve as anomalib's AUPRO computes it: each connected
  defect region (8-connectivity, per image) counts once, whatever its size; at each threshold the
  PRO is the mean over regions of the share of the region's pixels above it, the false-positive
  rate the share of all defect-free pixels above it; the area under PRO(FPR) up to FPR
  ``fpr_limit`` (0.3), divided by it (1.0 = perfect). The curve is taken at ``PRO_POINTS`` false-
  positive rates evenly spaced in [0, fpr_limit] (thresholds at the quantiles of the defect-free
  pixels), trapezoidal rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

PRO_POINTS = 1001
FPR_LIMIT = 0.3


def _pooled(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if len(maps) != len(masks):
        raise ValueError(f"{len(maps)} maps but {len(masks)} masks")
    for i, (a, m) in enumerate(zip(maps, masks, strict=True)):
        if a.shape != m.shape:
            raise ValueError(f"map {i} is {a.shape}, its mask {m.shape}")
    s = np.concatenate([np.asarray(a, np.float64).ravel() for a in maps])
    y = np.concatenate([np.asarray(m, bool).ravel() for m in masks])
    return s, y


def pixel_roc_auc(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> float:
    """ROC AUC of all pixels of ``maps`` (each (H, W)) against ``masks`` (each (H, W) bool, same shapes)."""
    from sklearn.metrics import roc_auc_score

    s, y = _pooled(maps, masks)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, s))


def pixel_pro(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray], fpr_limit: float = FPR_LIMIT) -> float:
    """Normalised area under the per-region overlap curve up to ``fpr_limit`` (see module doc)."""
    from scipy.ndimage import label

    s, y = _pooled(maps, masks)
    neg = np.sort(s[~y])
    if not len(neg) or not y.any():
        return float("nan")
    fprs = np.linspace(0.0, fpr_limit, PRO_POINTS)
    # threshold t_j: a share fprs[j] of the defect-free pixels lies above it
    idx = np.clip(np.ceil((1 - fprs) * len(neg)).astype(int) - 1, 0, len(neg) - 1)
    thr = neg[idx]
    thr[0] = np.inf if len(neg) else thr[0]  # FPR 0: nothing above
    fpr_at = 1 - np.searchsorted(neg, thr, side="right") / len(neg)
    overlaps = []
    eight = np.ones((3, 3), bool)
    for a, m in zip(maps, masks, strict=True):
        lab, n = label(np.asarray(m, bool), structure=eight)
        if n == 0:
            continue
        vals = np.asarray(a, np.float64)[lab > 0]
        ids = lab[lab > 0]
        for r in range(1, n + 1):
            region = np.sort(vals[ids == r])
            overlaps.append(1 - np.searchsorted(region, thr, side="right") / len(region))
    pro = np.mean(overlaps, axis=0)
    # the curve at the FPR each threshold reaches (ties can make it less than asked), cut at the limit
    order = np.argsort(fpr_at, kind="stable")
    f, p = np.r_[fpr_at[order], fpr_limit], np.r_[pro[order], pro[order][-1]]
    keep = f <= fpr_limit
    return float(np.trapezoid(p[keep], f[keep]) / fpr_limit)


def pixel_metrics(maps: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> dict[str, Any]:
    """``pixel_roc_auc`` and ``pixel_pro`` with the counts they rest on."""
    n_regions = 0
    from scipy.ndimage import label

    for m in masks:
        n_regions += int(label(np.asarray(m, bool), structure=np.ones((3, 3), bool))[1])
    return {
        "pixel_roc_auc": pixel_roc_auc(maps, masks),
        "pixel_pro": pixel_pro(maps, masks),
        "pro_fpr_limit": FPR_LIMIT,
        "n_images": len(masks),
        "n_regions": n_regions,
        "defect_pixel_share": float(np.mean(np.concatenate([np.asarray(m, bool).ravel() for m in masks]))),
    }
