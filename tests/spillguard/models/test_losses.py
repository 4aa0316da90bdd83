"""The SSIM-based losses: zero for identical inputs, larger for lost texture than for an offset."""

from __future__ import annotations

import torch

from spillguard.models.losses import LOSSES, ssim_loss


def test_ssim_loss_is_zero_for_identical_and_ranks_damage() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 16, 24, generator=g)
    assert float(ssim_loss(x, x)) < 1e-5
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    noisy = x + 0.1 * torch.randn(x.shape, generator=g)
    assert float(ssim_loss(blurred, x)) > float(ssim_loss(noisy, x)) > 0


def test_every_registered_loss_is_a_scalar() -> None:
    x = torch.rand(2, 3, 8, 8)
    for name, fn in LOSSES.items():
        v = fn(x * 0.9, x)
        assert v.ndim == 0 and float(v) >= 0, name
