"""Epochs and batch size from the number and size of the training images, within a time budget.

The spill head learns from a fixed number of optimisation steps rather than a fixed number of
passes: ``TARGET_STEPS`` (about what the pit default takes: 4 epochs of 140 steps on 9,000
images), so a few hundred images get many more passes than 10,000. Larger inputs get smaller
batches (the pixels of a batch stay about those of a pit batch, at least 32 images). The estimated
training time (steps x batch x pixels x ``SECONDS_PER_PIXEL``, measured on the project's 2-core
machine with one torch thread) is kept within ``time_budget`` seconds by cutting epochs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

TARGET_STEPS = 560
MIN_EPOCHS = 4
MAX_EPOCHS = 60
REFERENCE_BATCH = 128  # the pit default's batch: 64 normals + 64 synthetic or known anomalies
REFERENCE_PIXELS = 32 * 48
MIN_BATCH = 32
# seconds per image-pixel of one training step (forward, backward, anomaly synthesis, augmentation);
# measured on the 2-core machine, 1 torch thread (surface run: 20 epochs x 22 steps x 40 x 128x128
# took 220 s at load 3; pit default 4 x 140 x 128 x 32x48 about 45 s idle)
SECONDS_PER_PIXEL = 0.6e-6


@dataclass(frozen=True)
class Schedule:
    """Chosen epochs and batch size, with the numbers behind them."""

    epochs: int
    batch_size: int
    steps_per_epoch: int
    estimated_seconds: float
    time_budget: float
    capped_by_budget: bool

    def describe(self) -> str:
        """One line for the console and the report."""
        cap = " (cut to fit the time budget)" if self.capped_by_budget else ""
        return (
            f"schedule: {self.epochs} epochs{cap} of {self.steps_per_epoch} steps, batch {self.batch_size} "
            f"(half normals, half anomalies), about {self.estimated_seconds:.0f} s estimated for a "
            f"{self.time_budget:.0f} s budget; set epochs/batch_size in a config to fix them"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def choose_batch(height: int, width: int, n_train: int) -> int:
    """Batch size (a multiple of 8): the pit batch's pixels, within [MIN_BATCH, REFERENCE_BATCH] and n_train."""
    b = REFERENCE_BATCH * math.sqrt(REFERENCE_PIXELS / (height * width))
    b = max(MIN_BATCH, min(REFERENCE_BATCH, 8 * round(b / 8)))
    return max(2, min(b, 2 * max(1, n_train // 2)))


def choose_schedule(
    n_train: int,
    height: int,
    width: int,
    time_budget: float,
    epochs: int | None = None,
    batch_size: int | None = None,
) -> Schedule:
    """Epochs and batch for ``n_train`` training normals of ``height`` x ``width``; given values are kept."""
    batch = batch_size or choose_batch(height, width, n_train)
    steps = max(1, n_train // max(1, batch // 2))
    step_s = batch * height * width * SECONDS_PER_PIXEL
    capped = False
    if epochs is None:
        epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps)))
        fit = max(1, int(time_budget // (steps * step_s)))
        if fit < epochs:
            epochs, capped = fit, True
    return Schedule(int(epochs), int(batch), steps, epochs * steps * step_s, float(time_budget), capped)
