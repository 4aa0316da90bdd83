"""What a run chooses from its data when the config leaves it open: input size (from the images it
was given), greyscale handling, epochs and batch size (``spillguard.training.schedule``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from spillguard.config import TrainConfig
from spillguard.data.anomaly_looks import GENERIC_MIX, PIT_MIX
from spillguard.training.input_size import is_greyscale
from spillguard.training.schedule import choose_schedule

#: A small training set holds out at least this many validation normals (at most a quarter of it),
#: so that the verdict threshold is calibrated on enough normals to state its false-alarm rate
#: (263 kolektor normals: 64, not 26; 10,000 pit crops keep their 1,000)
MIN_VAL_NORMALS = 64


def val_share(n: int, val_fraction: float) -> float:
    """The share of ``n`` normals held out for validation: ``val_fraction``, raised for small sets
    to MIN_VAL_NORMALS images but never above a quarter of them."""
    return max(val_fraction, min(MIN_VAL_NORMALS / max(n, 1), 0.25))


#: input pixels from which the data-chosen model is the segmentation head (64x64); the pit crops
#: (32x48) keep conv_ae_head and its recorded results
SEG_MIN_PIXELS = 64 * 64


def n_training(n_normals: int, val_fraction: float) -> int:
    """How many of ``n_normals`` remain for training after the validation split (as SpillDetector splits)."""
    share = val_share(n_normals, val_fraction)
    k = min(max(1, round(share * n_normals)), n_normals - 1) if n_normals >= 2 else n_normals
    return n_normals - k


def resolve_config(cfg: TrainConfig, normals: np.ndarray) -> tuple[TrainConfig, dict[str, Any]]:
    """A copy of ``cfg`` with every open field chosen from ``normals`` (N, H, W, 3) uint8, and the reasons.

    Open fields: model (by input size, ``SEG_MIN_PIXELS``), height/width (the size of ``normals``), greyscale (equal channels), anomalies (the
    looks chosen on validation for colour or greyscale data), epochs and batch_size (from the number
    of training images, their size and ``cfg.time_budget``).
    """
    out: dict[str, Any] = {}
    h, w = int(normals.shape[1]), int(normals.shape[2])
    changes: dict[str, Any] = {}
    if cfg.height is None or cfg.width is None:
        changes.update(height=h, width=w)
        out["input_size"] = {"height": h, "width": w, "how": "the size of the images given to fit"}
    if cfg.greyscale is None:
        is_grey = is_greyscale(normals)
        changes["greyscale"] = is_grey
        out["greyscale"] = {
            "value": is_grey,
            "how": (
                "greyscale images (equal channels): kept as 3 equal channels; synthetic anomalies and "
                "augmented images are made greyscale too"
                if is_grey
                else "colour images"
            ),
        }
    if cfg.model is None:
        seg = h * w >= SEG_MIN_PIXELS
        changes["model"] = "conv_seg_head" if seg else "conv_ae_head"
        out["model"] = {
            "value": changes["model"],
            "how": (
                f"model conv_seg_head (spill head = an anomaly map trained on synthetic anomalies and their "
                f"masks; image score from the map's maximum): the {h}x{w} input is at least {SEG_MIN_PIXELS} "
                "pixels, so a defect is a small part of it"
                if seg
                else f"model conv_ae_head (spill head on the pooled encoder): the {h}x{w} input is a small crop "
                f"(under {SEG_MIN_PIXELS} pixels)"
            )
            + "; set model in a config to fix it",
        }
    grey = bool(changes.get("greyscale", cfg.greyscale))
    if cfg.anomalies is None:
        mix = dict(GENERIC_MIX if grey else PIT_MIX)
        changes["anomalies"] = mix
        out["anomalies"] = {
            "value": mix,
            "how": "synthetic anomalies: "
            + (
                "the generic looks (draem, cutpaste, crack, hole) for greyscale data"
                if grey
                else "the pit spill looks for colour data"
            )
            + ", as chosen on validation (research/select_anomaly_mix.py); set anomalies in a config to mix others",
        }
    if cfg.epochs is None or cfg.batch_size is None:
        n = n_training(min(len(normals), cfg.max_train or len(normals)), cfg.val_fraction)
        s = choose_schedule(n, h, w, cfg.time_budget, cfg.epochs, cfg.batch_size)
        changes.update(epochs=s.epochs, batch_size=s.batch_size)
        out["schedule"] = {**s.to_dict(), "how": s.describe()}
    return dataclasses.replace(cfg, **changes), out
