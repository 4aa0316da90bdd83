"""The one training loop: AdamW, a learning-rate schedule, early stopping on the validation loss
with the best weights kept, a progress bar and one log dict per epoch.

The three objectives (``reconstruction``, ``spill_head``, ``decoder``) share it; each says which
parameters learn, what one epoch's batches are (drawing randomness only from its own seeded
generators), what a batch's loss is, and how it is validated (a dict with at least ``val_loss``).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

from sharedcore.console import progress

if TYPE_CHECKING:  # configuration flows down: training does not import config at run time
    from spillguard.config import TrainConfig


class Objective(Protocol):
    """What a training task gives the loop."""

    @property
    def model(self) -> nn.Module:
        """The module whose state is kept at the best validation loss."""
        ...

    def parameters(self) -> Iterable[nn.Parameter]:
        """The parameters that learn."""
        ...

    def steps_per_epoch(self) -> int:
        """Optimiser steps in one epoch (for per-step schedules)."""
        ...

    def train_mode(self) -> None:
        """Put the learning modules in training mode (start of each epoch)."""
        ...

    def batches(self) -> Iterator[Any]:
        """One epoch's batches, drawn lazily (same random stream order as a plain loop)."""
        ...

    def loss(self, batch: Any) -> tuple[torch.Tensor, int]:
        """The batch's loss (a scalar, mean over its images) and how many images it averages."""
        ...

    def validate(self) -> dict[str, float]:
        """Validation numbers of the current weights, at least ``val_loss``; eval mode."""
        ...


@dataclass
class LoopSettings:
    """Optimisation settings: maximum epochs, AdamW lr and weight decay, schedule, patience."""

    epochs: int
    lr: float
    weight_decay: float
    schedule: str = "constant"  # one of spillguard.config.LR_SCHEDULES
    patience: int = 6  # epochs without a lower validation loss before stopping
    desc: str = "training"  # progress-bar label
    log_prefix: str = ""  # prefix of the keys passed to ``on_epoch``

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> LoopSettings:
        """The main phase's settings (head or reconstruction) of a training configuration."""
        return cls(cfg.schedule[0], cfg.lr, cfg.weight_decay, cfg.lr_schedule, cfg.patience)


class WholeModel:
    """Base of an objective whose whole ``model`` learns (head and reconstruction training)."""

    model: nn.Module

    def parameters(self) -> Iterator[nn.Parameter]:
        return self.model.parameters()

    def train_mode(self) -> None:
        self.model.train()


def make_schedule(opt: torch.optim.Optimizer, name: str, epochs: int, steps: int) -> tuple[Any, bool]:
    """The scheduler of ``name`` and whether it steps per batch (else per epoch); (None, False) if constant."""
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=opt.param_groups[0]["lr"], total_steps=epochs * steps
        ), True
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs), False
    if name == "constant":
        return None, False
    raise ValueError(f"unknown lr_schedule {name!r}")


def fit(
    obj: Objective, s: LoopSettings, on_epoch: Callable[[dict[str, Any]], None] | None = None
) -> list[dict[str, Any]]:
    """Train ``obj``; returns one log per epoch (epoch, lr, train_loss, validation numbers, seconds)."""
    opt = torch.optim.AdamW(obj.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    sched, per_step = make_schedule(opt, s.schedule, s.epochs, obj.steps_per_epoch())
    best, best_state, stale = math.inf, copy.deepcopy(obj.model.state_dict()), 0
    history: list[dict[str, Any]] = []
    for epoch in progress(range(s.epochs), desc=s.desc, total=s.epochs):
        t0, total, seen = time.perf_counter(), 0.0, 0
        obj.train_mode()
        for batch in obj.batches():
            loss, n = obj.loss(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if per_step:
                sched.step()
            total, seen = total + float(loss.detach()) * n, seen + n
        log: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": opt.param_groups[0]["lr"],
            "train_loss": total / seen,
        }
        if sched is not None and not per_step:
            sched.step()
        log.update(obj.validate())
        log["seconds"] = time.perf_counter() - t0
        history.append(log)
        if on_epoch is not None:
            on_epoch({f"{s.log_prefix}{k}": v for k, v in log.items()})
        if log["val_loss"] < best - 1e-6:
            best, best_state, stale = log["val_loss"], copy.deepcopy(obj.model.state_dict()), 0
        else:
            stale += 1
            if stale >= s.patience:
                break
    obj.model.load_state_dict(best_state)
    return history
