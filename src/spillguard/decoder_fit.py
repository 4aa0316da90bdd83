"""Fit the decoder of a head model after its spill head is trained, with the encoder frozen.

A head model trained with ``recon_weight = 0`` has an untrained decoder, so its reconstructions and
error maps mean nothing. Here the encoder's feature stack (``features``) and the spill head stay
fixed (eval mode, no gradients: the head's scores do not change); only ``to_latent`` and
``decoder`` learn to reconstruct the training normals (MSE in standardised units), with early
stopping on validation normals and the best weights kept. Encoder features are computed once.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sharedcore.console import progress
from spillguard.config import TrainConfig
from spillguard.preprocess import Preprocessor


def can_fit_decoder(model: nn.Module) -> bool:
    """True for models with a separable encoder (``features``) and decoder (``to_latent``, ``decoder``)."""
    return all(hasattr(model, a) for a in ("features", "to_latent", "decoder"))


@torch.inference_mode()
def _encode(
    model: Any, prep: Preprocessor, x: torch.Tensor, device: torch.device, batch: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen encoder features and standardised targets of ``x`` (N, 3, H, W) in [0, 1], on ``device``."""
    feats, targets = [], []
    for i in range(0, len(x), batch):
        xb = prep(x[i : i + batch].to(device))
        feats.append(model.features(xb))
        targets.append(xb)
    return torch.cat(feats), torch.cat(targets)


def fit_decoder(
    model: nn.Module,
    prep: Preprocessor,
    train_x: torch.Tensor,
    val_x: torch.Tensor,
    cfg: TrainConfig,
    device: torch.device,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``to_latent`` + ``decoder`` of ``model`` on normals (N, 3, H, W) in [0, 1]; per-epoch logs.

    Seeded by ``cfg.seed``; ``cfg.decoder_epochs`` epochs at most, early stop after ``cfg.patience``
    epochs without a lower validation MSE.
    """
    m: Any = model
    m.features.eval()
    for p in m.features.parameters():
        p.requires_grad_(False)
    f_train, t_train = _encode(m, prep, train_x, device)
    f_val, t_val = _encode(m, prep, val_x, device)
    params = [*m.to_latent.parameters(), *m.decoder.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed + 3)

    def decode(f: torch.Tensor) -> torch.Tensor:
        return m.decoder(m.to_latent(f))

    def state() -> dict[str, Any]:
        return {
            "to_latent": copy.deepcopy(m.to_latent.state_dict()),
            "decoder": copy.deepcopy(m.decoder.state_dict()),
        }

    best, best_state, stale, history = math.inf, state(), 0, []
    for epoch in progress(range(cfg.decoder_epochs), desc="decoder", total=cfg.decoder_epochs):
        t0, total = time.perf_counter(), 0.0
        m.to_latent.train()
        m.decoder.train()
        perm = torch.randperm(len(f_train), generator=gen).to(device)
        batch_size = cfg.schedule[1]
        for i in range(0, len(f_train), batch_size):
            idx = perm[i : i + batch_size]
            loss = F.mse_loss(decode(f_train[idx]), t_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        m.to_latent.eval()
        m.decoder.eval()
        with torch.inference_mode():
            val = sum(
                float(F.mse_loss(decode(f_val[j : j + 1024]), t_val[j : j + 1024], reduction="sum"))
                for j in range(0, len(f_val), 1024)
            ) / max(1, t_val.numel())
        log = {
            "epoch": epoch + 1,
            "train_mse": total / len(f_train),
            "val_mse": val,
            "seconds": time.perf_counter() - t0,
        }
        history.append(log)
        if on_epoch is not None:
            on_epoch({f"decoder_{k}": v for k, v in log.items()})
        if val < best - 1e-6:
            best, best_state, stale = val, state(), 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    m.to_latent.load_state_dict(best_state["to_latent"])
    m.decoder.load_state_dict(best_state["decoder"])
    for p in m.features.parameters():
        p.requires_grad_(True)
    model.eval()
    return history
