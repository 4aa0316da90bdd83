"""Outlier-exposure training of the spill head: detection of held-out spills, errors, the joint loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sharedcore.errors import UserError
from spillguard.config import TrainConfig
from spillguard.data import labelled_sources, load_sources, training_sources
from spillguard.detector import SpillDetector
from spillguard.metrics.detection import auc_rank
from spillguard.post_processing.thresholds import PRIOR_THRESHOLD

HEAD = TrainConfig(
    model="conv_ae_head",
    model_params={"stem": 4, "widths": [8, 16, 32], "latent": 8},
    score="head",
    supervision="synthetic+known",
    occlusion=0.3,
    augment="lighting",
    augment_strength=0.3,
    recon_weight=0.0,
    threshold_rule="prior",
    epochs=6,
    batch_size=32,
    weight_decay=1e-4,
    seed=0,
)


def test_head_detects_held_out_spills_of_the_tiny_data(tiny_data: Path) -> None:
    size = (32, 48)  # the size the pit default chooses for these crops
    train = load_sources(training_sources(tiny_data), size)
    det = SpillDetector(HEAD).fit(train.images[train.labels == 0], train.images[train.labels == 1])
    assert det.thresholds_["prior"] == pytest.approx(PRIOR_THRESHOLD)
    assert det.threshold_rule_ == "prior"
    test = load_sources(labelled_sources(tiny_data), size)
    s = det.score_samples(test.images)
    assert (s > 0).all()
    assert float(auc_rank(test.labels, s)) > 0.85
    prior, balanced = s > det.threshold("prior"), s > det.threshold("balanced")
    assert (~prior[test.labels == 0]).mean() >= 0.95  # the head's boundary: few false alarms
    assert balanced[test.labels == 1].mean() >= 0.8  # calibrated on held-out known spills


def test_head_score_needs_supervision_and_a_head_model() -> None:
    with pytest.raises(UserError, match="supervision"):
        TrainConfig(supervision="none").validate()  # the default score is "head"
    cfg = TrainConfig(model="conv_ae", supervision="synthetic", epochs=1)
    with pytest.raises(UserError, match="spill head"):
        SpillDetector(cfg).fit(np.zeros((8, 32, 48, 3), np.uint8))


def test_joint_loss_is_finite_for_a_batch_without_normals() -> None:
    import dataclasses

    from spillguard.models import build_model
    from spillguard.training.spill_head import head_loss

    cfg = dataclasses.replace(HEAD, recon_weight=1.0)
    m = build_model(cfg.model, 3, cfg.model_params)
    x = torch.randn(4, 3, 32, 48)
    assert torch.isfinite(head_loss(m, x, torch.ones(4), cfg))
    assert torch.isfinite(head_loss(m, x, torch.tensor([0.0, 1.0, 0.0, 1.0]), cfg))
