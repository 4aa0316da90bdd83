"""The one training loop: each schedule name has one meaning; early stopping keeps the best weights."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from spillguard.training.loop import LoopSettings, fit, make_schedule


class Toy:
    """Objective: fit one weight to 3 with 4 batches per epoch; validation losses scripted."""

    def __init__(self, val_losses: list[float]) -> None:
        self.model = nn.Linear(1, 1, bias=False)
        self.val_losses = iter(val_losses)
        self.lrs: list[float] = []
        self.opt_lr: list[float] = []

    def parameters(self) -> Iterator[nn.Parameter]:
        return self.model.parameters()

    def steps_per_epoch(self) -> int:
        return 4

    def train_mode(self) -> None:
        self.model.train()

    def batches(self) -> Iterator[torch.Tensor]:
        for _ in range(4):
            yield torch.ones(2, 1)

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        return ((self.model(x) - 3) ** 2).mean(), len(x)

    def validate(self) -> dict[str, float]:
        return {"val_loss": next(self.val_losses), "w": float(self.model.weight.detach())}


def _lrs(name: str, epochs: int = 3, steps: int = 4) -> list[float]:
    opt = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched, per_step = make_schedule(opt, name, epochs, steps)
    out = []
    for _ in range(epochs):
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_step:
                sched.step()
        if sched is not None and not per_step:
            sched.step()
    return out


def test_each_schedule_name_has_one_meaning() -> None:
    const = _lrs("constant")
    assert const == [0.1] * 12
    cos = _lrs("cosine")  # CosineAnnealingLR per epoch: constant within an epoch, 0.1 -> 0 over epochs
    assert (
        cos[:4] == [0.1] * 4 and cos[4] == cos[7] == pytest.approx(0.075) and cos[8] == pytest.approx(0.025)
    )
    one = _lrs("onecycle")  # OneCycleLR per batch: warm-up then annealing, a new rate every step
    assert len(set(one)) == 12 and one[0] < max(one) and max(one) == pytest.approx(0.1, rel=0.05)
    assert one.index(max(one)) < 6 and one[-1] < one[0]
    with pytest.raises(ValueError, match="unknown lr_schedule"):
        make_schedule(torch.optim.AdamW([nn.Parameter(torch.zeros(1))]), "cosine_per_batch", 1, 1)


def test_early_stopping_restores_the_best_weights() -> None:
    toy = Toy([1.0, 0.5, 0.7, 0.8, 0.9, 0.95])
    logs: list[dict[str, float]] = []
    hist = fit(
        toy, LoopSettings(epochs=6, lr=0.05, weight_decay=0.0, patience=2, log_prefix="x_"), logs.append
    )
    assert [h["epoch"] for h in hist] == [1, 2, 3, 4]  # two epochs without improvement after epoch 2
    assert float(toy.model.weight.detach()) == pytest.approx(hist[1]["w"])  # epoch 2's weights are back
    assert all(k.startswith("x_") for k in logs[0]) and logs[0]["x_train_loss"] == hist[0]["train_loss"]
    assert hist[0]["train_loss"] > hist[3]["train_loss"]  # it learned
