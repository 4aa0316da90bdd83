"""The reconstruction objective of a plain autoencoder (``conv_ae``, ``conv_vae``, ``memory_ae``):
the configured loss between input and reconstruction (plus the model's own penalty) on batches of
training normals with lighting/shift augmentation. Per epoch it logs the validation loss and, when
known spills are given, the validation ROC AUC of validation normals against them (never trained on).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch import nn

from spillguard.data.augmentation import augment_lighting, augment_shift
from spillguard.data.preprocess import Preprocessor
from spillguard.metrics.detection import separation_auc
from spillguard.models.capabilities import Reconstructor
from spillguard.models.losses import get_loss
from spillguard.post_processing.scores import SCORES, error_map
from spillguard.training.loop import WholeModel

if TYPE_CHECKING:  # configuration flows down: training does not import config at run time
    from spillguard.config import TrainConfig


@torch.inference_mode()
def reconstruct(
    model: nn.Module, prep: Preprocessor, x: torch.Tensor, device: torch.device, batch: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised inputs and reconstructions of an RGB batch in [0, 1]: two (N, C, H, W) on CPU."""
    model.eval()
    xs, rs = [], []
    for i in range(0, len(x), batch):
        xb = prep(x[i : i + batch].to(device))
        xs.append(xb.cpu())
        rs.append(model(xb).cpu())
    return torch.cat(xs), torch.cat(rs)


class Reconstruction(WholeModel):
    """Objective: reconstruct augmented training normals (N, 3, H, W) in [0, 1]; with ``spill_x``
    (known spills) validation also reports the separation AUC of the reconstruction score."""

    def __init__(
        self,
        model: nn.Module,
        prep: Preprocessor,
        train_x: torch.Tensor,
        val_x: torch.Tensor,
        cfg: TrainConfig,
        generator: torch.Generator,
        device: torch.device,
        spill_x: torch.Tensor | None = None,
    ) -> None:
        if not isinstance(model, Reconstructor):
            raise TypeError(f"{type(model).__name__} is not a Reconstructor")
        self.model: nn.Module = model
        self.net = model
        self.prep, self.train_x, self.val_x, self.spill_x = prep, train_x, val_x, spill_x
        self.cfg, self.gen, self.device = cfg, generator, device
        self.loss_fn, self.score_fn = get_loss(cfg.loss), SCORES[cfg.score]

    def steps_per_epoch(self) -> int:
        return -(-len(self.train_x) // self.cfg.schedule[1])

    def batches(self) -> Iterator[torch.Tensor]:
        cfg = self.cfg
        perm = torch.randperm(len(self.train_x), generator=self.gen)
        for i in range(0, len(self.train_x), cfg.schedule[1]):
            xb = self.train_x[perm[i : i + cfg.schedule[1]]]
            if cfg.augment.startswith("lighting"):
                xb = augment_lighting(xb, cfg.augment_strength, self.gen)
            if cfg.augment.endswith("shift"):
                xb = augment_shift(xb, cfg.augment_shift, self.gen)
            yield self.prep(xb.to(self.device))

    def loss(self, xb: torch.Tensor) -> tuple[torch.Tensor, int]:
        return self.loss_fn(self.net(xb), xb) + self.net.regularisation().to(self.device), len(xb)

    def validate(self) -> dict[str, float]:
        xs, rs = reconstruct(self.model, self.prep, self.val_x, self.device)
        out = {"val_loss": float(self.loss_fn(rs, xs))}
        if self.spill_x is not None and len(self.spill_x):
            cfg = self.cfg
            sn = self.score_fn(error_map(xs, rs), cfg.smooth).numpy()
            ss = self.score_fn(
                error_map(*reconstruct(self.model, self.prep, self.spill_x, self.device)), cfg.smooth
            ).numpy()
            out["val_auc"] = separation_auc(sn, ss)
        return out
