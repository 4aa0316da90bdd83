"""What a registered model can do, declared by the class (it lists the Protocol among its bases)
rather than probed with ``hasattr``: the training objectives, the detector and the reports ask
``isinstance(model, SpillClassifier)`` and so on. Shapes: images (N, C, H, W) in standardised units.

- ``Reconstructor``: every registered model; ``forward`` reconstructs, ``encode`` gives the latent
  code, ``regularisation`` the extra training penalty of the last forward pass.
- ``SpillClassifier``: a supervised spill head (``spill_logit``: one logit per image, > 0 = spill).
- ``SeparableDecoder``: encoder features, a latent map and a decoder as separate modules, so the
  decoder can be fitted with the encoder frozen (``spillguard.training.decoder``).
- ``MemoryModel``: a memory of prototypes (``assign``: nearest item per latent cell).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class Reconstructor(Protocol):
    """A network that reconstructs its input."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent code of ``x``."""
        ...

    def regularisation(self) -> torch.Tensor:
        """Extra training penalty of the last training forward pass (a scalar)."""
        ...


@runtime_checkable
class SpillClassifier(Protocol):
    """A network with a supervised spill head."""

    def spill_logit(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image (N,); positive means spill."""
        ...

    def forward_both(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, logit) from one encoder pass."""
        ...


@runtime_checkable
class SeparableDecoder(Protocol):
    """Encoder features, latent map and decoder as separate modules."""

    features: nn.Module
    to_latent: nn.Module
    decoder: nn.Module


@runtime_checkable
class MemoryModel(Protocol):
    """A network with a memory of prototype vectors (``memory``: (items, latent))."""

    memory: torch.Tensor

    def assign(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the nearest memory item per latent cell, (N, h, w)."""
        ...


@runtime_checkable
class AnomalyMapper(Protocol):
    """A network with a segmentation head: where in the image the anomaly is."""

    #: input pixels per map cell along each side (the map is (H / stride, W / stride))
    map_stride: int

    def anomaly_map(self, x: torch.Tensor) -> torch.Tensor:
        """Per-cell anomaly logits (N, 1, H / map_stride, W / map_stride); > 0 means anomalous."""
        ...
