"""Fixtures for spillguard tests: a tiny synthetic data set and a detector run trained on it, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from spillguard.config import PLAIN_AE, TrainConfig
from spillguard.pipelines.train import evaluate_run, train_run
from spillguard.data.synthetic import SynthSpec, write_synth

TINY = SynthSpec(n_train=320, n_proliv=30, n_test_normal=100, n_test_spill=20)
TINY_CONFIG = TrainConfig(**{**PLAIN_AE, "epochs": 25, "patience": 6, "batch_size": 32, "seed": 0})


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic course-layout data set (seed 0)."""
    return write_synth(tmp_path_factory.mktemp("synth") / "data", seed=0, spec=TINY)


@pytest.fixture(scope="session")
def tiny_run(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder trained on ``tiny_data`` and evaluated on its test part."""
    run = train_run(tiny_data, tmp_path_factory.mktemp("runs") / "tiny", TINY_CONFIG)
    evaluate_run(run, tiny_data)
    return run
