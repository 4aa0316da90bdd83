"""A configurable convolutional autoencoder: stride-2 conv blocks down to a small spatial latent
code, transposed-conv blocks back up. Pure ``nn.Module``: no training or scoring logic here."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from spillguard.models.capabilities import Reconstructor
from spillguard.models.registry import register


def _block(cin: int, cout: int, up: bool, batch_norm: bool) -> list[nn.Module]:
    conv: nn.Module = (
        nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)
        if up
        else nn.Conv2d(cin, cout, 3, stride=2, padding=1)
    )
    return [conv, *([nn.BatchNorm2d(cout)] if batch_norm else []), nn.LeakyReLU(0.1, inplace=True)]


@register("conv_ae")
class ConvAutoencoder(nn.Module, Reconstructor):
    """(N, C, H, W) -> (N, C, H, W); H and W must be divisible by 2**len(widths).

    ``widths``: channels of each down-sampling block; ``latent``: channels of the bottleneck code
    (spatial size H/2**depth x W/2**depth), the main capacity knob against reconstructing spills.
    """

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        latent: int = 16,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        enc: list[nn.Module] = []
        c = in_channels
        for w in widths:
            enc += _block(c, w, up=False, batch_norm=batch_norm)
            c = w
        enc.append(nn.Conv2d(c, latent, 1))
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = [nn.Conv2d(latent, c, 1), nn.LeakyReLU(0.1, inplace=True)]
        for w in list(widths[:-1])[::-1]:
            dec += _block(c, w, up=True, batch_norm=batch_norm)
            c = w
        dec.append(nn.ConvTranspose2d(c, in_channels, 4, stride=2, padding=1))
        self.decoder = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent code (N, latent, H/2**d, W/2**d)."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``x``, same shape."""
        return self.decoder(self.encoder(x))

    def regularisation(self) -> torch.Tensor:
        """Extra training penalty from the last forward pass (none for a plain autoencoder)."""
        return torch.zeros(())
