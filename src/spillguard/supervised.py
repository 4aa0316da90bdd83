"""Outlier-exposure training of a model with a spill head (e.g. ``conv_ae_head``).

Each batch holds B/2 training normals (label 0) and B/2 spills (label 1): synthetic spill looks
pasted onto other training normals (``spillguard.outliers``) and, with ``supervision =
"synthetic+known"``, known spills in a quarter of the spill half. Nuisance occluders are pasted on a
fraction ``occlusion`` of all images (labels kept); then random flips, reframing (zoom 0.8-1.25 and
offset per image) and, with ``augment != "none"``, lighting jitter. Loss: binary cross-entropy of
the head plus ``recon_weight`` x the reconstruction loss on the normal half. Validation each epoch:
the same loss on validation normals against synthetic spills made from them with a fixed seed, and
the ROC AUC of validation normals against held-out known spills when given; best weights kept.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sharedcore.console import progress
from spillguard.config import TrainConfig
from spillguard.losses import get_loss
from spillguard.metrics import auc_rank
from spillguard.models.fusion import fuse_for_inference
from spillguard.newline.anomalies import make_anomalies
from spillguard.outliers import occlude
from spillguard.preprocess import Preprocessor, augment_lighting

PRIOR_THRESHOLD = float(np.log(2.0))  # softplus(0): the head's own decision boundary, p(spill) = 0.5
KNOWN_SHARE = 0.25  # share of the spill half of a batch drawn from known spills, when allowed


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).numpy()


def _chw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).permute(0, 3, 1, 2)


def augment_reframe(x: torch.Tensor, generator: torch.Generator, flip: bool = True) -> torch.Tensor:
    """Random horizontal flip, zoom (0.8-1.25 per axis) and offset (+-10%) per image; nearest pixels.

    Mimics the re-framed crops of a drifting camera. (N, C, H, W) -> same shape.
    """
    n, _, h, w = x.shape

    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, 1, generator=generator) * (hi - lo) + lo

    def coords(size: int) -> torch.Tensor:
        t = (torch.arange(size) + 0.5) / size - 0.5
        c = (t[None] / u(0.8, 1.25) + 0.5 + u(-0.1, 0.1)).clamp(0, 0.999) * size
        return c.long()

    rows, cols = coords(h), coords(w)
    if flip:
        mirror = torch.rand(n, generator=generator) < 0.5
        cols = torch.where(mirror[:, None], w - 1 - cols, cols)
    idx = torch.arange(n)[:, None, None]
    return x.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def spill_batch(
    normals: torch.Tensor, known: torch.Tensor | None, cfg: TrainConfig, rng: np.random.Generator
) -> torch.Tensor:
    """Spills for one batch, as many as ``normals`` (N, 3, H, W) in [0, 1]: synthetic and known."""
    out = _chw(make_anomalies(_hwc(normals), rng, cfg.anomalies, bool(cfg.greyscale)))
    if known is not None and len(known):
        k = round(KNOWN_SHARE * len(out))
        out[:k] = known[torch.from_numpy(rng.integers(0, len(known), k))]
    return out


def head_loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """BCE of the spill head plus ``recon_weight`` x reconstruction loss on the normals of the batch."""
    if cfg.recon_weight > 0:
        recon, logit = model.forward_both(xb)  # type: ignore[operator]
        bce = F.binary_cross_entropy_with_logits(logit, yb)
        normal = yb == 0
        if not bool(normal.any()):  # a batch of spills only: nothing to reconstruct
            return bce
        return bce + cfg.recon_weight * get_loss(cfg.loss)(recon[normal], xb[normal])
    return F.binary_cross_entropy_with_logits(model.spill_logit(xb), yb)  # type: ignore[operator]


@torch.inference_mode()
def head_scores(model: nn.Module, prep: Preprocessor, x: torch.Tensor, batch: int = 1024) -> np.ndarray:
    """Spill score per image: softplus(logit), > 0, monotone in the head's logit; (N,) float32."""
    model.eval()
    dev = next(model.parameters()).device
    fast: Any = fuse_for_inference(model) if dev.type == "cpu" else model  # BN folded, channels-last
    out = []
    for i in range(0, len(x), batch):
        xb = prep(x[i : i + batch].to(dev)).contiguous(memory_format=torch.channels_last)
        out.append(F.softplus(fast.spill_logit(xb)).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0, np.float32)


def fit_supervised(
    model: nn.Module,
    prep: Preprocessor,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    cfg: TrainConfig,
    generator: torch.Generator,
    device: torch.device,
    known: torch.Tensor | None = None,
    check: torch.Tensor | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``model`` by outlier exposure; returns per-epoch logs; best (validation loss) weights kept.

    ``train_x``/``val_x``: normals (N, 3, H, W) in [0, 1]; ``known``: spills allowed in training;
    ``check``: held-out spills for the validation AUC (never trained on).
    """
    rng = np.random.default_rng(cfg.seed + 1)
    known = known if cfg.supervision == "synthetic+known" else None
    n_epochs, batch_size = cfg.schedule
    half = max(1, batch_size // 2)
    steps = max(1, len(train_x) // half)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = (
        torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=n_epochs * steps)
        if cfg.lr_schedule == "cosine"
        else None
    )
    val_rng = np.random.default_rng(cfg.seed + 2)
    val_spill = _chw(make_anomalies(_hwc(val_x), val_rng, cfg.anomalies, bool(cfg.greyscale)))
    val_x_all = torch.cat([val_x, val_spill])
    val_y = torch.cat([torch.zeros(len(val_x)), torch.ones(len(val_spill))])
    best, best_state, stale, history = math.inf, copy.deepcopy(model.state_dict()), 0, []
    for epoch in progress(range(n_epochs), desc="training", total=n_epochs):
        t0, total, model = time.perf_counter(), 0.0, model.train()
        perm = torch.randperm(len(train_x), generator=generator)
        for i in range(steps):
            normals = train_x[perm[i * half : (i + 1) * half]]
            donors = train_x[torch.randint(0, len(train_x), (len(normals),), generator=generator)]
            xb = torch.cat([normals, spill_batch(donors, known, cfg, rng)])
            yb = torch.cat([torch.zeros(len(normals)), torch.ones(len(normals))])
            if cfg.occlusion > 0:
                xb = _chw(occlude(_hwc(xb), rng, cfg.occlusion))
            xb = augment_reframe(xb, generator)
            if cfg.augment != "none":
                xb = augment_lighting(xb, cfg.augment_strength, generator)
            if cfg.greyscale:  # no colour shortcut on greyscale data (occluders, lighting jitter)
                xb = xb.mean(dim=1, keepdim=True).expand_as(xb).contiguous()
            loss = head_loss(model, prep(xb.to(device)), yb.to(device), cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += float(loss.detach())
        model.eval()
        with torch.inference_mode():
            val_loss = float(
                sum(
                    head_loss(
                        model, prep(val_x_all[j : j + 1024].to(device)), val_y[j : j + 1024].to(device), cfg
                    )
                    * len(val_y[j : j + 1024])
                    for j in range(0, len(val_y), 1024)
                )
                / len(val_y)
            )
        log: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": opt.param_groups[0]["lr"],
            "train_loss": total / steps,
            "val_loss": val_loss,
        }
        if check is not None and len(check):
            sn, ss = head_scores(model, prep, val_x), head_scores(model, prep, check)
            log["val_auc"] = float(auc_rank(np.r_[np.zeros(len(sn)), np.ones(len(ss))], np.r_[sn, ss]))
        log["seconds"] = time.perf_counter() - t0
        history.append(log)
        if on_epoch is not None:
            on_epoch(log)
        if val_loss < best - 1e-6:
            best, best_state, stale = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    model.load_state_dict(best_state)
    return history
