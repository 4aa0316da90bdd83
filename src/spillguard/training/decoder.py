"""Fit the decoder of a head model after its spill head is trained, with the encoder frozen.

A head model trained with ``recon_weight = 0`` has an untrained decoder, so its reconstructions and
error maps mean nothing. Here the encoder's feature stack (``features``) and the spill head stay
fixed (eval mode, no gradients: the head's scores do not change); only ``to_latent`` and
``decoder`` learn to reconstruct the training normals (MSE in standardised units, constant learning
rate), with early stopping on validation normals and the best weights kept. Encoder features are
computed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from spillguard.data.preprocess import Preprocessor
from spillguard.models.capabilities import SeparableDecoder
from spillguard.training.loop import LoopSettings, fit

if TYPE_CHECKING:  # configuration flows down: training does not import config at run time
    from spillguard.config import TrainConfig


def can_fit_decoder(model: nn.Module) -> bool:
    """True for models that declare a separable encoder and decoder (``SeparableDecoder``)."""
    return isinstance(model, SeparableDecoder)


@torch.inference_mode()
def _encode(
    model: SeparableDecoder, prep: Preprocessor, x: torch.Tensor, device: torch.device, batch: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen encoder features and standardised targets of ``x`` (N, 3, H, W) in [0, 1], on ``device``."""
    feats, targets = [], []
    for i in range(0, len(x), batch):
        xb = prep(x[i : i + batch].to(device))
        feats.append(model.features(xb))
        targets.append(xb)
    return torch.cat(feats), torch.cat(targets)


class FrozenEncoderDecoder:
    """Objective: MSE of ``decoder(to_latent(features))`` against the standardised input."""

    def __init__(
        self,
        model: nn.Module,
        prep: Preprocessor,
        train_x: torch.Tensor,
        val_x: torch.Tensor,
        cfg: TrainConfig,
        device: torch.device,
    ) -> None:
        if not isinstance(model, SeparableDecoder):
            raise TypeError(f"{type(model).__name__} has no separable decoder")
        self.model: nn.Module = model
        self.net = model
        self.cfg, self.device = cfg, device
        self.f_train, self.t_train = _encode(model, prep, train_x, device)
        self.f_val, self.t_val = _encode(model, prep, val_x, device)
        self.gen = torch.Generator().manual_seed(cfg.seed + 3)

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        return self.net.decoder(self.net.to_latent(f))

    def parameters(self) -> list[nn.Parameter]:
        return [*self.net.to_latent.parameters(), *self.net.decoder.parameters()]

    def steps_per_epoch(self) -> int:
        return -(-len(self.f_train) // self.cfg.schedule[1])

    def train_mode(self) -> None:
        self.net.to_latent.train()
        self.net.decoder.train()

    def batches(self) -> Iterator[torch.Tensor]:
        perm = torch.randperm(len(self.f_train), generator=self.gen).to(self.device)
        for i in range(0, len(self.f_train), self.cfg.schedule[1]):
            yield perm[i : i + self.cfg.schedule[1]]

    def loss(self, idx: torch.Tensor) -> tuple[torch.Tensor, int]:
        return F.mse_loss(self.decode(self.f_train[idx]), self.t_train[idx]), len(idx)

    def validate(self) -> dict[str, float]:
        self.net.to_latent.eval()
        self.net.decoder.eval()
        f, t = self.f_val, self.t_val
        with torch.inference_mode():
            val = sum(
                float(F.mse_loss(self.decode(f[j : j + 1024]), t[j : j + 1024], reduction="sum"))
                for j in range(0, len(f), 1024)
            ) / max(1, t.numel())
        return {"val_loss": val}


def fit_decoder(
    model: nn.Module,
    prep: Preprocessor,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    cfg: TrainConfig,
    device: torch.device,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``to_latent`` + ``decoder`` of ``model`` on normals (N, 3, H, W) in [0, 1]; per-epoch logs
    (``train_loss``/``val_loss`` = MSE; ``on_epoch`` gets them as ``decoder_*``).

    Seeded by ``cfg.seed``; ``cfg.decoder_epochs`` epochs at most, early stop after ``cfg.patience``
    epochs without a lower validation MSE. The frozen part's weights are restored unchanged.
    """
    if not isinstance(model, SeparableDecoder):
        raise TypeError(f"{type(model).__name__} has no separable decoder")
    model.features.eval()
    for p in model.features.parameters():
        p.requires_grad_(False)
    obj = FrozenEncoderDecoder(model, prep, train_x, val_x, cfg, device)
    settings = LoopSettings(
        cfg.decoder_epochs, cfg.lr, cfg.weight_decay, "constant", cfg.patience, "decoder", "decoder_"
    )  # its own epochs, no schedule, and its own log keys
    history = fit(obj, settings, on_epoch)
    for p in model.features.parameters():
        p.requires_grad_(True)
    model.eval()
    return history
