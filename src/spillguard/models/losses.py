"""Training losses by name: each maps (reconstruction, input) of shape (N, C, H, W) to a scalar."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def ssim_map(
    a: torch.Tensor, b: torch.Tensor, window: int = 5, c1: float = 0.01, c2: float = 0.03
) -> torch.Tensor:
    """Local structural similarity (N, C, H, W) of two batches in standardised units (box window).

    ``c1``/``c2`` stabilise the ratios; they are fixed, not tied to a pixel range, because inputs are
    standardised (roughly unit variance per channel).
    """
    pad = window // 2

    def mean(t: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.pad(t, (pad,) * 4, mode="replicate"), window, stride=1)

    ma, mb = mean(a), mean(b)
    va, vb, cov = mean(a * a) - ma**2, mean(b * b) - mb**2, mean(a * b) - ma * mb
    return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))


def ssim_loss(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """1 - mean local SSIM: penalises lost structure (texture, edges) more than a brightness offset."""
    return 1 - ssim_map(recon, x).mean()


LOSSES: dict[str, LossFn] = {
    "mse": lambda recon, x: F.mse_loss(recon, x),
    "l1": lambda recon, x: F.l1_loss(recon, x),
    "ssim": ssim_loss,
    "mse+ssim": lambda recon, x: F.mse_loss(recon, x) + ssim_loss(recon, x),
}


def get_loss(name: str) -> LossFn:
    """The loss function registered under ``name`` (KeyError-free: config validation checks names)."""
    return LOSSES[name]
