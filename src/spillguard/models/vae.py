"""A convolutional variational autoencoder: the encoder gives a Gaussian (mean, log-variance) per
latent cell; training samples from it and adds beta * KL to N(0, 1); evaluation decodes the mean."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from spillguard.models.autoencoder import ConvAutoencoder
from spillguard.models.capabilities import Reconstructor
from spillguard.models.registry import register


@register("conv_vae")
class ConvVAE(nn.Module, Reconstructor):
    """(N, C, H, W) -> (N, C, H, W); same knobs as ``conv_ae`` plus ``beta`` (KL weight per latent unit)."""

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        latent: int = 16,
        batch_norm: bool = True,
        beta: float = 1e-3,
    ) -> None:
        super().__init__()
        ae = ConvAutoencoder(in_channels, widths, 2 * latent, batch_norm)
        self.encoder = ae.encoder  # its last 1x1 conv gives mean and log-variance stacked
        self.decoder = nn.Sequential(nn.Conv2d(latent, 2 * latent, 1), *ae.decoder)
        self.latent = latent
        self.beta = beta
        self._kl = torch.zeros(())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Posterior mean (N, latent, h, w)."""
        return self.encoder(x)[:, : self.latent]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction; samples the latent in training mode, uses its mean in eval mode."""
        stats = self.encoder(x)
        mu, logvar = stats[:, : self.latent], stats[:, self.latent :].clamp(-8, 8)
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            self._kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean()
        else:
            z = mu
        return self.decoder(z)

    def train(self, mode: bool = True) -> ConvVAE:
        """Switch mode; drops the last penalty (it holds the training graph and blocks deep copies)."""
        self._kl = torch.zeros(())
        return super().train(mode)

    def regularisation(self) -> torch.Tensor:
        """beta * KL divergence of the last training forward pass (mean per latent unit)."""
        return self.beta * self._kl
