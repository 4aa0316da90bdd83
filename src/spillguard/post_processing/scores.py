"""Anomaly scores from reconstruction errors (the thresholds are in ``post_processing.thresholds``).

Scores (higher = more likely a spill), from a per-pixel error map (N, H, W) = squared error averaged
over channels in standardised units:
- ``mse``: the mean of the map (the classic reconstruction error);
- ``local``: the maximum of the map after a ``smooth`` x ``smooth`` box filter, so a small bright
  spill is not diluted by a large well-reconstructed background;
- ``combined``: the geometric mean of the two;
- ``head`` (models with a spill head): softplus of the head's logit (``head_score``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def error_map(x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """Per-pixel squared error averaged over channels: (N, C, H, W) x2 -> (N, H, W)."""
    return (recon - x).pow(2).mean(dim=1)


def smooth_map(err: torch.Tensor, smooth: int = 16) -> torch.Tensor:
    """Mean over a ``smooth`` x ``smooth`` window around each pixel (edges replicated), same shape (N, H, W)."""
    k = max(1, min(smooth, err.shape[1], err.shape[2]))
    pad = (k // 2, k - 1 - k // 2, k // 2, k - 1 - k // 2)
    return F.avg_pool2d(F.pad(err[:, None], pad, mode="replicate"), k, stride=1)[:, 0]


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


def head_score(logit: torch.Tensor) -> torch.Tensor:
    """Spill score of a spill head: softplus(logit), > 0, monotone in the logit; ln 2 at p(spill) = 0.5."""
    return F.softplus(logit)
