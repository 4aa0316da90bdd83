"""Training losses by name: each maps (reconstruction, input) of shape (N, C, H, W) to a scalar."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSSES: dict[str, LossFn] = {
    "mse": lambda recon, x: F.mse_loss(recon, x),
    "l1": lambda recon, x: F.l1_loss(recon, x),
}


def get_loss(name: str) -> LossFn:
    """The loss function registered under ``name`` (KeyError-free: config validation checks names)."""
    return LOSSES[name]
