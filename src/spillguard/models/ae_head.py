"""A convolutional autoencoder with a small supervised spill head on its encoder (outlier exposure).

Pure ``nn.Module``: ``forward`` reconstructs (so error maps and grids still work), ``spill_logit``
maps the encoder's last feature map (mean- and max-pooled) to one logit per image (> 0: spill).
Training glue lives in ``spillguard.training.spill_head`` and ``spillguard.training.decoder``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from spillguard.models.capabilities import Reconstructor, SeparableDecoder, SpillClassifier
from spillguard.models.registry import register


def _conv(cin: int, cout: int, stride: int, batch_norm: bool) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1),
        *([nn.BatchNorm2d(cout)] if batch_norm else []),
        nn.LeakyReLU(0.1, inplace=True),
    ]


@register("conv_ae_head")
class ConvAEHead(nn.Module, Reconstructor, SpillClassifier, SeparableDecoder):
    """(N, C, H, W) -> reconstruction (N, C, H, W); ``spill_logit`` -> (N,).

    ``stem``: channels of two full-resolution 3x3 convolutions before the stride-2 blocks (0 = none;
    they keep one-pixel speckles visible); ``widths``: channels of each stride-2 block; ``latent``:
    channels of the bottleneck code fed to the decoder. H and W must be divisible by 2**len(widths).
    """

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        latent: int = 16,
        stem: int = 8,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        feats: list[nn.Module] = []
        c = in_channels
        if stem:
            feats += _conv(c, stem, 1, batch_norm) + _conv(stem, stem, 1, batch_norm)
            c = stem
        for w in widths:
            feats += _conv(c, w, 2, batch_norm)
            c = w
        self.features = nn.Sequential(*feats)
        self.to_latent = nn.Conv2d(c, latent, 1)
        self.head = nn.Linear(2 * c, 1)
        dec: list[nn.Module] = [nn.Conv2d(latent, c, 1), nn.LeakyReLU(0.1, inplace=True)]
        for w in list(widths[:-1])[::-1]:
            dec += [nn.ConvTranspose2d(c, w, 4, stride=2, padding=1), nn.LeakyReLU(0.1, inplace=True)]
            c = w
        dec.append(nn.ConvTranspose2d(c, in_channels, 4, stride=2, padding=1))
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent code (N, latent, H/2**d, W/2**d)."""
        return self.to_latent(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``x``, same shape."""
        return self.decoder(self.encode(x))

    def spill_logit(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image (N,); positive means the head calls it a spill."""
        f = self.features(x)
        return self.head(torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)).squeeze(1)

    def forward_both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, logit) from one encoder pass."""
        f = self.features(x)
        logit = self.head(torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)).squeeze(1)
        return self.decoder(self.to_latent(f)), logit

    def regularisation(self) -> torch.Tensor:
        """No extra penalty."""
        return torch.zeros(())
