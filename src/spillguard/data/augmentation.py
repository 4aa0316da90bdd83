"""Training augmentation of RGB batches (N, C, H, W) in [0, 1], drawing randomness only from the
``torch.Generator`` passed in: lighting jitter, translation, and re-framing (flip, zoom, offset)."""

from __future__ import annotations

import torch


def augment_lighting(x: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Random per-image brightness, contrast, saturation and gamma on an RGB batch in [0, 1]."""
    n = x.shape[0]

    def u() -> torch.Tensor:
        return (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1).to(x.device) * strength

    grey = x.mean(dim=1, keepdim=True)
    x = grey + (x - grey) * (1 + 2 * u())
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    y = ((x - mean) * (1 + u()) + mean) * (1 + u())
    return y.clamp(0, 1).pow(torch.exp(u()))


def augment_shift(x: torch.Tensor, pixels: int, generator: torch.Generator) -> torch.Tensor:
    """Random translation of each image by up to ``pixels`` in each direction (edges replicated)."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pixels,) * 4, mode="replicate")
    dy = torch.randint(0, 2 * pixels + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pixels + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None]).to(x.device)  # (n, h)
    cols = (dx[:, None] + torch.arange(w)[None]).to(x.device)  # (n, w)
    idx_n = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def augment_reframe(x: torch.Tensor, generator: torch.Generator, flip: bool = True) -> torch.Tensor:
    """Random horizontal flip, zoom (0.8-1.25 per axis) and offset (+-10%) per image; nearest pixels.

    Mimics the re-framed crops of a drifting camera. (N, C, H, W) -> same shape.
    """
    n, _, h, w = x.shape

    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, 1, generator=generator) * (hi - lo) + lo

    def coords(size: int) -> torch.Tensor:
        t = (torch.arange(size) + 0.5) / size - 0.5
        c = (t[None] / u(0.8, 1.25) + 0.5 + u(-0.1, 0.1)).clamp(0, 0.999) * size
        return c.long()

    rows, cols = coords(h), coords(w)
    if flip:
        mirror = torch.rand(n, generator=generator) < 0.5
        cols = torch.where(mirror[:, None], w - 1 - cols, cols)
    idx = torch.arange(n)[:, None, None]
    return x.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
