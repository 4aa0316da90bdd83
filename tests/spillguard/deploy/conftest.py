"""Fixtures for the deploy tests: detectors of every scoring variant without training, exported models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from spillguard.config import TrainConfig
from spillguard.data import expand_inputs, load_images
from spillguard.data.preprocess import Preprocessor, to_unit
from spillguard.deploy.export import export_run
from spillguard.detector import SpillDetector
from spillguard.models import build_model


def random_detector(images: np.ndarray, seed: int = 0, **fields: Any) -> SpillDetector:
    """A detector with seeded random weights (BatchNorm statistics perturbed, so folding matters),
    standardisation fitted on ``images`` and thresholds at quantiles of its own scores on them."""
    if fields.get("score", "head") != "head":
        fields = {"threshold_rule": "fpr", **fields}
    size = {"height": int(images.shape[1]), "width": int(images.shape[2])}  # no fit to choose them
    cfg = TrainConfig(**{**size, **fields}).validate()
    torch.manual_seed(seed)
    det = SpillDetector(cfg)
    det.model_ = build_model(cfg.model, 3, cfg.model_params).eval()
    g = torch.Generator().manual_seed(seed)
    for m in det.model_.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    det.prepare_inference()
    det.prep_ = Preprocessor(cfg.colour, cfg.illumination).fit(to_unit(images))
    det.thresholds_, det.threshold_rule_ = {"fpr": 0.0}, "fpr"
    s = det.score_samples(images)
    det.thresholds_ = {"fpr": float(np.quantile(s, 0.9)), "balanced": float(np.median(s))}
    return det


@pytest.fixture(scope="session")
def synth_images(tiny_data: Path) -> tuple[list[Path], np.ndarray]:
    """The synthetic test images (normals and spills) as paths and a uint8 array (N, 32, 48, 3)."""
    paths, _ = expand_inputs([str(tiny_data / "test" / "imgs")])
    images, idx, _ = load_images(paths, (32, 48))
    return [paths[i] for i in idx], images


@pytest.fixture(scope="session")
def tiny_onnx(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny trained run (plain AE, local score) exported to ONNX."""
    path, _ = export_run(tiny_run, tmp_path_factory.mktemp("onnx") / "model.onnx")
    return path
