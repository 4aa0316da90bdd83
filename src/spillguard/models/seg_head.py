"""A convolutional autoencoder whose spill head is a segmentation map (DRAEM-style, no pretrained
weights): the encoder of ``conv_ae_head`` plus a small decoder with one skip connection that gives a
per-cell anomaly logit at 1/4 of the input size; the image logit is the maximum of the map after a
3x3 mean (no padding, so no border cell decides alone). Trained on synthetic anomalies with their
pixel masks (``spillguard.training.seg_head``); ``forward`` still reconstructs (decoder fitted with
the encoder frozen, as for ``conv_ae_head``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from spillguard.models.ae_head import ConvAEHead, _conv
from spillguard.models.capabilities import AnomalyMapper
from spillguard.models.registry import register


@register("conv_seg_head")
class ConvSegHead(ConvAEHead, AnomalyMapper):
    """(N, C, H, W) -> reconstruction; ``anomaly_map`` -> (N, 1, H/4, W/4) logits; ``spill_logit`` -> (N,).

    ``widths``: channels of the stride-2 blocks (at least 3; the map joins the last block, upsampled,
    with the block at 1/4); ``seg``: channels of the map decoder. H and W divisible by 2**len(widths).
    """

    map_stride = 4

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        latent: int = 16,
        stem: int = 8,
        batch_norm: bool = True,
        seg: int = 32,
    ) -> None:
        super().__init__(in_channels, widths, latent, stem, batch_norm)
        if len(widths) < 3:
            raise ValueError("conv_seg_head needs at least 3 stride-2 blocks (widths)")
        layers = list(self.features)
        cut = len(layers) - 3 * (len(widths) - 2)  # after the block at 1/4 (conv, BN, act per block)
        if not batch_norm:
            cut = len(layers) - 2 * (len(widths) - 2)
        self.features = nn.Sequential(nn.Sequential(*layers[:cut]), nn.Sequential(*layers[cut:]))
        c4, c_last = widths[1], widths[-1]
        self.seg_up = nn.Sequential(*_conv(c_last, seg, 1, batch_norm))
        self.seg_out = nn.Sequential(*_conv(seg + c4, seg, 1, batch_norm), nn.Conv2d(seg, 1, 1))

    def _map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f4 = self.features[0](x)
        f = self.features[1](f4)
        up = F.interpolate(self.seg_up(f), size=f4.shape[-2:], mode="bilinear", align_corners=False)
        return self.seg_out(torch.cat([up, f4], dim=1)), f

    def anomaly_map(self, x: torch.Tensor) -> torch.Tensor:
        """Anomaly logits per 4x4 cell, (N, 1, H/4, W/4)."""
        return self._map(x)[0]

    @staticmethod
    def image_logit(m: torch.Tensor) -> torch.Tensor:
        """Image logit from a map (N, 1, h, w): the maximum of its 3x3 mean (valid cells only)."""
        k = 3 if min(m.shape[-2:]) >= 3 else 1
        return F.avg_pool2d(m, k, stride=1).flatten(1).amax(dim=1)

    def spill_logit(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image (N,), from the map; positive means anomalous."""
        return self.image_logit(self._map(x)[0])

    def forward_both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, logit) from one encoder pass."""
        m, f = self._map(x)
        return self.decoder(self.to_latent(f)), self.image_logit(m)
