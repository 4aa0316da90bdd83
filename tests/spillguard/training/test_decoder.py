"""The frozen-encoder decoder fit of head models: real reconstructions, head scores untouched."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from spillguard.config import TrainConfig
from spillguard.data import labelled_sources, load_sources, training_sources
from spillguard.detector import SpillDetector
from spillguard.pipelines.train import validate

from .test_spill_head import HEAD


@pytest.fixture(scope="module")
def fitted_pair(tiny_data: Path) -> tuple[SpillDetector, SpillDetector, np.ndarray, np.ndarray, list[dict]]:
    """The same head trained twice (seed 0): without and with the decoder fit; the test images and
    labels; the two validations (spillguard.pipelines.train.validate)."""
    size = (32, 48)  # the size the pit default chooses for these crops
    train = load_sources(training_sources(tiny_data), size)
    normals, spills = train.images[train.labels == 0], train.images[train.labels == 1]
    plain = SpillDetector(dataclasses.replace(HEAD, fit_decoder=False)).fit(normals, spills)
    fitted = SpillDetector(dataclasses.replace(HEAD, fit_decoder=True, decoder_epochs=30)).fit(
        normals, spills
    )
    test = load_sources(labelled_sources(tiny_data), size)
    vals = [validate(d, normals, spills, HEAD.seed) for d in (plain, fitted)]
    return plain, fitted, test.images, test.labels, vals


def test_decoder_fit_leaves_head_scores_and_thresholds_unchanged(fitted_pair: tuple) -> None:
    plain, fitted, images, _, (v_plain, v_fitted) = fitted_pair
    assert not plain.decoder_fitted_ and fitted.decoder_fitted_
    assert np.array_equal(plain.score_samples(images), fitted.score_samples(images))
    assert plain.thresholds_ == fitted.thresholds_
    assert v_plain["roc_auc"] == v_fitted["roc_auc"]


def test_decoder_fit_reconstructs_normals_far_better_than_an_untrained_decoder(fitted_pair: tuple) -> None:
    plain, fitted, images, labels, (v_plain, v_fitted) = fitted_pair
    untrained = plain.recon_score(images[labels == 0]).mean()
    trained = fitted.recon_score(images[labels == 0]).mean()
    assert trained < 0.5 * untrained
    hist = fitted.decoder_history_
    assert 1 <= len(hist) <= 30 and min(h["val_loss"] for h in hist) < hist[0]["val_loss"]
    assert "recon" in v_fitted and "recon" not in v_plain
    assert 0.0 <= v_fitted["recon"]["roc_auc"] <= 1.0


def test_decoder_fit_is_seeded_and_saved(fitted_pair: tuple, tmp_path: Path) -> None:
    _, fitted, images, _, _ = fitted_pair
    fitted.save(tmp_path / "c.pt")
    back = SpillDetector.load(tmp_path / "c.pt")
    assert back.decoder_fitted_
    assert np.allclose(back.recon_score(images[:8]), fitted.recon_score(images[:8]))


def test_fit_decoder_applies_only_to_head_models_without_recon_loss() -> None:
    assert TrainConfig().fits_decoder
    assert not TrainConfig(fit_decoder=False).fits_decoder
    assert not TrainConfig(recon_weight=0.5).fits_decoder
    assert not TrainConfig(score="mse", supervision="none", model="conv_ae").fits_decoder
