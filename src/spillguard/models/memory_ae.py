"""A memory-augmented autoencoder in the style of MNAD (Park et al., CVPR 2020).

Every latent cell (a query vector) reads a soft-attention mixture of ``items`` learned prototype
vectors of normal appearance; the decoder sees only what it read (``mode="read"``, MemAE-like) or
query and read concatenated (``mode="concat"``, as in MNAD). Training adds MNAD's feature
compactness (query close to its nearest item) and separateness (nearest item closer than the second
by ``margin``) losses. Simplification: items are learned by gradient, not MNAD's update rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from spillguard.models.autoencoder import ConvAutoencoder
from spillguard.models.capabilities import MemoryModel, Reconstructor
from spillguard.models.registry import register


@register("memory_ae")
class MemoryAE(nn.Module, Reconstructor, MemoryModel):
    """(N, C, H, W) -> (N, C, H, W); ``assign`` gives the nearest memory item of every latent cell."""

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        latent: int = 16,
        batch_norm: bool = True,
        items: int = 10,
        mode: str = "read",
        compact: float = 0.1,
        separate: float = 0.1,
        margin: float = 1.0,
    ) -> None:
        super().__init__()
        if mode not in ("read", "concat"):
            raise TypeError(f"mode must be 'read' or 'concat', not {mode!r}")
        ae = ConvAutoencoder(in_channels, widths, latent, batch_norm)
        self.encoder = ae.encoder
        dec_in = latent * (2 if mode == "concat" else 1)
        self.decoder = nn.Sequential(nn.Conv2d(dec_in, latent, 1), *ae.decoder)
        self.memory = nn.Parameter(F.normalize(torch.randn(items, latent), dim=1))
        self.mode, self.compact, self.separate, self.margin = mode, compact, separate, margin
        self._reg = torch.zeros(())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised query vectors (N, latent, h, w)."""
        return F.normalize(self.encoder(x), dim=1)

    def read(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Memory read (N, latent, h, w) and squared distances to every item (N*h*w, items)."""
        n, c, h, w = q.shape
        flat = q.permute(0, 2, 3, 1).reshape(-1, c)
        mem = F.normalize(self.memory, dim=1)
        att = torch.softmax(flat @ mem.t(), dim=1)
        r = (att @ mem).reshape(n, h, w, c).permute(0, 3, 1, 2)
        return r, torch.cdist(flat, mem).pow(2)

    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest memory item per latent cell, (N, h, w)."""
        q = self.encode(x)
        _, d = self.read(q)
        n, _, h, w = q.shape
        return d.argmin(dim=1).reshape(n, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction from the memory read; records the compactness/separateness penalty."""
        q = self.encode(x)
        r, d = self.read(q)
        if self.training:
            two = d.topk(2, dim=1, largest=False).values
            comp = two[:, 0].mean()
            sep = F.relu(two[:, 0] - two[:, 1] + self.margin).mean()
            self._reg = self.compact * comp + self.separate * sep
        return self.decoder(torch.cat([q, r], dim=1) if self.mode == "concat" else r)

    def train(self, mode: bool = True) -> MemoryAE:
        """Switch mode; drops the last penalty (it holds the training graph and blocks deep copies)."""
        self._reg = torch.zeros(())
        return super().train(mode)

    def regularisation(self) -> torch.Tensor:
        """MNAD compactness + separateness losses of the last training forward pass."""
        return self._reg
