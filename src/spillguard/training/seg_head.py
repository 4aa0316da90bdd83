"""Outlier exposure with pixel masks for a model with a segmentation head (``conv_seg_head``).

As ``spillguard.training.spill_head`` (B/2 normals, B/2 anomalies made from other training normals,
known anomalies in a quarter of the anomaly half, occluders, reframing, lighting jitter), and the
synthetic anomalies also give their masks: pixels the look changed (by more than ``MASK_DELTA``),
max-pooled to the map's cells and moved with the image by the same reframing. Loss: the focal loss
(gamma 2, as DRAEM) of every map cell against its mask (known anomalies have no mask: image loss
only) plus the BCE of the image logit (the maximum of the smoothed map).
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
from spillguard.models.capabilities import AnomalyMapper
from spillguard.training.spill_head import KNOWN_SHARE, SpillHead, _chw, _hwc

if TYPE_CHECKING:
    from spillguard.config import TrainConfig

MASK_DELTA = 0.04  # a pixel is part of a synthetic anomaly when the look changed it by more (of 1)
FOCAL_GAMMA = 2.0
UNKNOWN = -1.0  # mask value of cells whose truth is unknown (known anomalies: image label only)


def anomalies_with_masks(
    normals: torch.Tensor, known: torch.Tensor | None, cfg: TrainConfig, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Anomalies made from ``normals`` (N, 3, H, W) in [0, 1] and their masks (N, 1, H, W): 1 where
    the look changed a pixel, 0 elsewhere, UNKNOWN for the known anomalies put in a quarter of them."""
    src = _hwc(normals)
    out = make_anomalies(src, rng, cfg.anomalies, bool(cfg.greyscale))
    mask = (np.abs(out - src).max(axis=3) > MASK_DELTA).astype(np.float32)
    x, m = _chw(out), torch.from_numpy(mask)[:, None]
    if known is not None and len(known):
        k = round(KNOWN_SHARE * len(x))
        x[:k] = known[torch.from_numpy(rng.integers(0, len(known), k))]
        m[:k] = UNKNOWN
    return x, m


def cell_targets(mask: torch.Tensor, stride: int) -> torch.Tensor:
    """(N, 1, H, W) pixel masks -> (N, 1, H/stride, W/stride): 1 where a cell holds an anomalous
    pixel, UNKNOWN where the image's truth is unknown, else 0."""
    unknown = (mask < 0).flatten(1).any(dim=1)
    cells = F.max_pool2d(mask.clamp_min(0), stride)
    cells[unknown] = UNKNOWN
    return cells


def seg_loss(model: AnomalyMapper, xb: torch.Tensor, yb: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """Focal loss of the map cells with a known truth plus BCE of the image logit."""
    m = model.anomaly_map(xb)
    known = cells >= 0
    p_t = torch.where(cells > 0.5, torch.sigmoid(m), torch.sigmoid(-m))
    bce = F.binary_cross_entropy_with_logits(m, cells.clamp_min(0), reduction="none")
    focal = ((1 - p_t) ** FOCAL_GAMMA * bce)[known]
    pix = focal.mean() if focal.numel() else m.sum() * 0
    logit = F.avg_pool2d(m, 3 if min(m.shape[-2:]) >= 3 else 1, stride=1).flatten(1).amax(dim=1)
    return pix + F.binary_cross_entropy_with_logits(logit, yb)


class SegHead(SpillHead):
    """Objective: outlier exposure with masks; batches of B/2 normals and B/2 anomalies, cell targets."""

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
        if not isinstance(model, AnomalyMapper):
            raise TypeError(f"{type(model).__name__} has no segmentation head")
        super().__init__(model, prep, train_x, val_x, cfg, generator, device, known, check)
        self.mapper = model
        val_rng = np.random.default_rng(cfg.seed + 2)
        val_spill, val_mask = anomalies_with_masks(val_x, None, cfg, val_rng)
        self.val_x_all = torch.cat([val_x, val_spill])
        self.val_cells = torch.cat([torch.zeros_like(val_mask), val_mask])  # normals: all cells 0
        self.val_cells = cell_targets(self.val_cells, model.map_stride)

    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:  # type: ignore[override]
        cfg, gen, half, x = self.cfg, self.gen, self.half, self.train_x
        perm = torch.randperm(len(x), generator=gen)
        for i in range(self.steps):
            normals = x[perm[i * half : (i + 1) * half]]
            donors = x[torch.randint(0, len(x), (len(normals),), generator=gen)]
            spills, masks = anomalies_with_masks(donors, self.known, cfg, self.rng)
            xb = torch.cat([normals, spills])
            mb = torch.cat([torch.zeros_like(masks), masks])
            yb = torch.cat([torch.zeros(len(normals)), torch.ones(len(normals))])
            if cfg.occlusion > 0:
                xb = _chw(occlude(_hwc(xb), self.rng, cfg.occlusion))
            both = augment_reframe(torch.cat([xb, mb], dim=1), gen)  # the mask moves with its image
            xb, mb = both[:, :3].contiguous(), both[:, 3:]
            if cfg.augment != "none":
                xb = augment_lighting(xb, cfg.augment_strength, gen)
            if cfg.greyscale:
                xb = xb.mean(dim=1, keepdim=True).expand_as(xb).contiguous()
            cells = cell_targets(mb, self.mapper.map_stride)
            yield self.prep(xb.to(self.device)), yb.to(self.device), cells.to(self.device)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, int]:  # type: ignore[override]
        xb, yb, cells = batch
        return seg_loss(self.mapper, xb, yb, cells), len(xb)

    def validate(self) -> dict[str, float]:
        self.model.eval()
        x, y, c, dev = self.val_x_all, self.val_y, self.val_cells, self.device
        total = 0.0
        with torch.inference_mode():
            for j in range(0, len(y), 256):
                xb = self.prep(x[j : j + 256].to(dev))
                total += float(
                    seg_loss(self.mapper, xb, y[j : j + 256].to(dev), c[j : j + 256].to(dev))
                ) * len(y[j : j + 256])
        out = {"val_loss": total / len(y)}
        if self.check is not None and len(self.check):
            from spillguard.metrics.detection import separation_auc
            from spillguard.training.spill_head import head_scores

            out["val_auc"] = separation_auc(
                head_scores(self.model, self.prep, self.val_x), head_scores(self.model, self.prep, self.check)
            )
        return out
