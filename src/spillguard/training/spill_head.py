"""Outlier-exposure training of a model with a spill head (e.g. ``conv_ae_head``).

Each batch holds B/2 training normals (label 0) and B/2 spills (label 1): synthetic spill looks
pasted onto other training normals (``spillguard.data.spill_looks``) and, with ``supervision =
"synthetic+known"``, known spills in a quarter of the spill half. Nuisance occluders are pasted on a
fraction ``occlusion`` of all images (labels kept); then random flips, reframing (zoom 0.8-1.25 and
offset per image) and, with ``augment != "none"``, lighting jitter. Loss: binary cross-entropy of
the head plus ``recon_weight`` x the reconstruction loss on the normal half. Validation each epoch:
the same loss on validation normals against synthetic spills made from them with a fixed seed, and
the ROC AUC of validation normals against held-out known spills when given; best weights kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from spillguard.data.anomaly_looks import make_anomalies
from spillguard.data.augmentation import augment_lighting, augment_reframe
from spillguard.data.preprocess import Preprocessor
from spillguard.data.spill_looks import occlude
from spillguard.metrics.detection import separation_auc
from spillguard.models.capabilities import SpillClassifier
from spillguard.models.fusion import fuse_for_inference
from spillguard.models.losses import get_loss
from spillguard.post_processing.scores import head_score
from spillguard.training.loop import WholeModel

if TYPE_CHECKING:  # configuration flows down: training does not import config at run time
    from spillguard.config import TrainConfig

KNOWN_SHARE = 0.25  # share of the spill half of a batch drawn from known spills, when allowed


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).numpy()


def _chw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(0, 3, 1, 2)


def spill_batch(
    normals: torch.Tensor, known: torch.Tensor | None, cfg: TrainConfig, rng: np.random.Generator
) -> torch.Tensor:
    """Spills for one batch, as many as ``normals`` (N, 3, H, W) in [0, 1]: synthetic and known."""
    out = _chw(make_anomalies(_hwc(normals), rng, cfg.anomalies, bool(cfg.greyscale)))
    if known is not None and len(known):
        k = round(KNOWN_SHARE * len(out))
        out[:k] = known[torch.from_numpy(rng.integers(0, len(known), k))]
    return out


def head_loss(model: SpillClassifier, xb: torch.Tensor, yb: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """BCE of the spill head plus ``recon_weight`` x reconstruction loss on the normals of the batch."""
    if cfg.recon_weight > 0:
        recon, logit = model.forward_both(xb)
        bce = F.binary_cross_entropy_with_logits(logit, yb)
        normal = yb == 0
        if not bool(normal.any()):  # a batch of spills only: nothing to reconstruct
            return bce
        return bce + cfg.recon_weight * get_loss(cfg.loss)(recon[normal], xb[normal])
    return F.binary_cross_entropy_with_logits(model.spill_logit(xb), yb)


@torch.inference_mode()
def head_scores(model: nn.Module, prep: Preprocessor, x: torch.Tensor, batch: int = 1024) -> np.ndarray:
    """Spill score per image during training (weights still changing): (N,) float32, see ``head_score``."""
    if not isinstance(model, SpillClassifier):
        raise TypeError(f"{type(model).__name__} is not a SpillClassifier")
    model.eval()
    dev = next(model.parameters()).device
    fast = fuse_for_inference(model) if dev.type == "cpu" else model  # BN folded, channels-last
    out = []
    for i in range(0, len(x), batch):
        xb = prep(x[i : i + batch].to(dev)).contiguous(memory_format=torch.channels_last)
        out.append(head_score(fast.spill_logit(xb)).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, np.float32)


class SpillHead(WholeModel):
    """Objective: outlier exposure; batches of B/2 normals and B/2 spills, BCE of the head.

    ``train_x``/``val_x``: normals (N, 3, H, W) in [0, 1]; ``known``: spills allowed in training;
    ``check``: held-out spills for the validation AUC (never trained on).
    """

    def __init__(
        self,
        model: nn.Module,
        prep: Preprocessor,
        train_x: torch.Tensor,
        val_x: torch.Tensor,
        cfg: TrainConfig,
        generator: torch.Generator,
        device: torch.device,
        known: torch.Tensor | None = None,
        check: torch.Tensor | None = None,
    ) -> None:
        if not isinstance(model, SpillClassifier):
            raise TypeError(f"{type(model).__name__} is not a SpillClassifier")
        self.model: nn.Module = model
        self.net = model
        self.prep, self.train_x, self.val_x, self.check = prep, train_x, val_x, check
        self.cfg, self.gen, self.device = cfg, generator, device
        self.rng = np.random.default_rng(cfg.seed + 1)
        self.known = known if cfg.supervision == "synthetic+known" else None
        self.half = max(1, cfg.schedule[1] // 2)
        self.steps = max(1, len(train_x) // self.half)
        val_rng = np.random.default_rng(cfg.seed + 2)
        val_spill = _chw(make_anomalies(_hwc(val_x), val_rng, cfg.anomalies, bool(cfg.greyscale)))
        self.val_x_all = torch.cat([val_x, val_spill])
        self.val_y = torch.cat([torch.zeros(len(val_x)), torch.ones(len(val_spill))])

    def steps_per_epoch(self) -> int:
        return self.steps

    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        cfg, gen, half, x = self.cfg, self.gen, self.half, self.train_x
        perm = torch.randperm(len(x), generator=gen)
        for i in range(self.steps):
            normals = x[perm[i * half : (i + 1) * half]]
            donors = x[torch.randint(0, len(x), (len(normals),), generator=gen)]
            xb = torch.cat([normals, spill_batch(donors, self.known, cfg, self.rng)])
            yb = torch.cat([torch.zeros(len(normals)), torch.ones(len(normals))])
            if cfg.occlusion > 0:
                xb = _chw(occlude(_hwc(xb), self.rng, cfg.occlusion))
            xb = augment_reframe(xb, gen)
            if cfg.augment != "none":
                xb = augment_lighting(xb, cfg.augment_strength, gen)
            if cfg.greyscale:  # no colour shortcut on greyscale data (occluders, lighting jitter)
                xb = xb.mean(dim=1, keepdim=True).expand_as(xb).contiguous()
            yield self.prep(xb.to(self.device)), yb.to(self.device)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, int]:
        xb, yb = batch
        return head_loss(self.net, xb, yb, self.cfg), len(xb)

    def validate(self) -> dict[str, float]:
        self.model.eval()
        x, y, dev = self.val_x_all, self.val_y, self.device
        with torch.inference_mode():
            val_loss = float(
                sum(
                    head_loss(self.net, self.prep(x[j : j + 1024].to(dev)), y[j : j + 1024].to(dev), self.cfg)
                    * len(y[j : j + 1024])
                    for j in range(0, len(y), 1024)
                )
                / len(y)
            )
        out = {"val_loss": val_loss}
        if self.check is not None and len(self.check):
            sn, ss = (
                head_scores(self.model, self.prep, self.val_x),
                head_scores(self.model, self.prep, self.check),
            )
            out["val_auc"] = separation_auc(sn, ss)
        return out
