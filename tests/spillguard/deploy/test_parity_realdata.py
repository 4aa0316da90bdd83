"""Parity of onnxruntime and torch on the real test half (../shared; skips cleanly when absent):
every score within 1e-5 relative (see ``export.parity_error`` for scores near 0), every verdict equal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spillguard.config import TrainConfig
from spillguard.data import labelled_sources, load_sources
from spillguard.deploy.export import PARITY_RTOL, export_bytes, export_run, parity_error
from spillguard.deploy.runtime import OnnxDetector
from spillguard.detector import SpillDetector
from spillguard.pipelines.train import train_run

from .conftest import random_detector

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def real_test(shared_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The real test half: (1855, 32, 48, 3) uint8 images and their labels."""
    ds = load_sources(labelled_sources(shared_dir / "data" / "spills" / "test"), (32, 48))
    return ds.images, ds.labels


def _check(det: SpillDetector, onnx_det: OnnxDetector, images: np.ndarray) -> np.ndarray:
    ref, got = det.score_samples(images), onnx_det.score_samples(images)
    assert parity_error(ref, got, det.threshold()) <= PARITY_RTOL
    for rule in det.thresholds_:
        np.testing.assert_array_equal(ref > det.threshold(rule), got > onnx_det.threshold(rule))
    return ref


def test_parity_on_the_real_test_half(tiny_run: Path, real_test: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = real_test
    assert len(images) == 1855
    _check(
        SpillDetector.load(tiny_run), OnnxDetector.load(export_bytes(SpillDetector.load(tiny_run))), images
    )
    head = random_detector(images, model="conv_ae_head", score="head")
    _check(head, OnnxDetector.load(export_bytes(head)), images)


@pytest.mark.slow
def test_parity_of_a_head_trained_on_real_data(
    shared_dir: Path, real_test: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    """The shipped default config (1 epoch, 3,000 images, no decoder fit) trained on ../shared."""
    cfg = TrainConfig(epochs=1, max_train=3000, fit_decoder=False, seed=0)
    run = train_run(shared_dir / "data" / "spills", tmp_path / "run", cfg).run
    path, err = export_run(run, tmp_path / "model.onnx")
    assert err <= PARITY_RTOL
    images, labels = real_test
    ref = _check(SpillDetector.load(run), OnnxDetector.load(path), images)
    assert ref[labels == 1].mean() > ref[labels == 0].mean()  # a real detector, not noise
