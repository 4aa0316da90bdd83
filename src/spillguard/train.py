"""The training loop: AdamW, cosine LR schedule, early stopping on validation loss, best weights kept.

Per epoch it logs train/validation loss, the learning rate, and the validation ROC AUC of validation
normals against known spills (when any are given); the spills are never trained on.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from sharedcore.console import progress
from spillguard.config import TrainConfig
from spillguard.losses import get_loss
from spillguard.metrics import auc_rank
from spillguard.preprocess import Preprocessor, augment_lighting, augment_shift
from spillguard.scoring import SCORES, error_map


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


def fit_model(
    model: nn.Module,
    prep: Preprocessor,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    cfg: TrainConfig,
    generator: torch.Generator,
    device: torch.device,
    spill_x: torch.Tensor | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``model`` on ``train_x`` (N, 3, H, W) in [0, 1]; return per-epoch logs; best weights kept."""
    loss_fn, score_fn = get_loss(cfg.loss), SCORES[cfg.score]
    n_epochs, batch_size = cfg.schedule
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_epochs)
        if cfg.lr_schedule == "cosine"
        else None
    )
    best, best_state, stale, history = math.inf, copy.deepcopy(model.state_dict()), 0, []
    epochs = progress(range(n_epochs), desc="training", total=n_epochs)
    for epoch in epochs:
        t0, total, model = time.perf_counter(), 0.0, model.train()
        perm = torch.randperm(len(train_x), generator=generator)
        for i in range(0, len(train_x), batch_size):
            xb = train_x[perm[i : i + batch_size]]
            if cfg.augment.startswith("lighting"):
                xb = augment_lighting(xb, cfg.augment_strength, generator)
            if cfg.augment.endswith("shift"):
                xb = augment_shift(xb, cfg.augment_shift, generator)
            xb = prep(xb.to(device))
            loss = loss_fn(model(xb), xb) + model.regularisation().to(device)  # type: ignore[operator]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        log: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": opt.param_groups[0]["lr"],
            "train_loss": total / len(train_x),
        }
        if sched is not None:
            sched.step()
        xs, rs = reconstruct(model, prep, val_x, device)
        log["val_loss"] = float(loss_fn(rs, xs))
        if spill_x is not None and len(spill_x):
            sn = score_fn(error_map(xs, rs), cfg.smooth).numpy()
            ss = score_fn(error_map(*reconstruct(model, prep, spill_x, device)), cfg.smooth).numpy()
            labels = np.r_[np.zeros(len(sn)), np.ones(len(ss))]
            log["val_auc"] = float(auc_rank(labels, np.r_[sn, ss]))
        log["seconds"] = time.perf_counter() - t0
        history.append(log)
        if on_epoch is not None:
            on_epoch(log)
        if log["val_loss"] < best - 1e-6:
            best, best_state, stale = log["val_loss"], copy.deepcopy(model.state_dict()), 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    model.load_state_dict(best_state)
    return history
