"""The detector on tiny synthetic data: it learns, it detects synthetic spills, it round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sharedcore.errors import UserError
from spillguard.checkpoint import FORMAT_VERSION, load_checkpoint
from spillguard.config import TrainConfig
from spillguard.data import labelled_sources, load_sources
from spillguard.detector import SpillDetector
from spillguard.metrics.detection import auc_rank


def test_training_detects_synthetic_spills(tiny_run: Path) -> None:
    m = json.loads((tiny_run / "metrics.json").read_text())
    hist = m["history"]
    assert hist[-1]["train_loss"] < 0.5 * hist[0]["train_loss"]  # it learned to reconstruct
    ev = json.loads((tiny_run / "evaluation" / "test_metrics.json").read_text())["metrics"]
    assert ev["roc_auc"] > 0.85, ev["roc_auc"]  # synthetic spills ranked far above normals
    assert ev["roc_auc_ci"][0] > 0.7
    assert set(ev["at_threshold"]) == {"fpr", "balanced"}
    assert ev["at_threshold"]["balanced"]["tpr"] > 0.6


def test_checkpoint_round_trip(tiny_run: Path, tiny_data: Path) -> None:
    det = SpillDetector.load(tiny_run)
    ds = load_sources(labelled_sources(tiny_data), (det.config.height, det.config.width))
    s1 = det.score_samples(ds.images)
    s2 = SpillDetector.load(tiny_run / "checkpoint.pt").score_samples(ds.images)
    assert np.array_equal(s1, s2)
    assert auc_rank(ds.labels[None], s1[None])[0] > 0.85
    assert det.predict(ds.images).dtype == bool
    x, r, e = det.explain(ds.images[:3])
    assert x.shape == r.shape == (3, 32, 48, 3) and e.shape == (3, 32, 48)


def test_checkpoint_of_another_version(tiny_run: Path, tmp_path: Path) -> None:
    data = load_checkpoint(tiny_run)
    data["format_version"] = FORMAT_VERSION + 1
    torch.save(data, tmp_path / "checkpoint.pt")
    with pytest.raises(
        UserError, match=rf"version {FORMAT_VERSION + 1} found, version {FORMAT_VERSION} expected"
    ):
        SpillDetector.load(tmp_path)
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(UserError, match="not a readable spillguard checkpoint"):
        SpillDetector.load(tmp_path / "junk.pt")
    with pytest.raises(UserError, match="no such checkpoint"):
        SpillDetector.load(tmp_path / "nothing")


def test_same_seed_same_model(tiny_data: Path) -> None:
    from spillguard.data import training_sources

    ds = load_sources(training_sources(tiny_data), (32, 48))
    cfg = TrainConfig(epochs=2, batch_size=64, max_train=120, seed=5)
    a = SpillDetector(cfg).fit(ds.images[ds.labels == 0], ds.images[ds.labels == 1])
    b = SpillDetector(cfg).fit(ds.images[ds.labels == 0], ds.images[ds.labels == 1])
    assert a.thresholds_ == b.thresholds_
    assert all(torch.equal(a.model_.state_dict()[k], v) for k, v in b.model_.state_dict().items())


def test_fused_inference_model_matches(tiny_run: Path) -> None:
    from spillguard.models.fusion import fuse_for_inference

    model = SpillDetector.load(tiny_run).model_
    fused = fuse_for_inference(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    x = torch.randn(8, 3, 32, 48)
    with torch.inference_mode():
        assert torch.allclose(model(x), fused(x.contiguous(memory_format=torch.channels_last)), atol=1e-4)


def test_no_silent_fallback_of_the_verdict_rule() -> None:
    from spillguard.config import PLAIN_AE

    normals = np.random.default_rng(0).integers(0, 255, (16, 32, 48, 3), dtype=np.uint8)
    with pytest.raises(UserError, match="'balanced' needs known spills"):
        SpillDetector(TrainConfig(**{**PLAIN_AE, "epochs": 1})).fit(normals)
    with pytest.raises(UserError, match="'prior' is the spill head's own boundary"):
        TrainConfig(**{**PLAIN_AE, "threshold_rule": "prior"}).validate()


def test_inference_model_is_prepared_once(tiny_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import spillguard.detector as detector_module

    calls: list[int] = []
    real = detector_module.fuse_for_inference
    monkeypatch.setattr(detector_module, "fuse_for_inference", lambda m: calls.append(1) or real(m))
    det = SpillDetector.load(tiny_run)
    images = np.zeros((5, 32, 48, 3), np.uint8)
    a = det.score_samples(images)
    det.score_samples(images)
    det.recon_score(images)
    det.predict(images)
    assert len(calls) == 1  # at load, not per call
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in det.inference_model_.modules())
    assert a.dtype == np.float32 and a.shape == (5,)
