"""Fixtures for spillguard tests: a tiny synthetic data set and a detector run trained on it, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from spillguard.compute import limit_threads
from spillguard.config import PLAIN_AE, TrainConfig
from spillguard.data.synthetic import SynthSpec, write_synth
from spillguard.pipelines.evaluate import evaluate_run
from spillguard.pipelines.train import train_run
from tests.conftest import built_once

TINY = SynthSpec(n_train=320, n_proliv=30, n_test_normal=100, n_test_spill=20)
TINY_CONFIG = TrainConfig(**{**PLAIN_AE, "epochs": 25, "patience": 6, "batch_size": 32, "seed": 0})


@pytest.fixture(scope="session", autouse=True)
def torch_threads() -> None:
    """The test session is an entry point: it sets torch's thread count once (SPILLGUARD_THREADS or 1)."""
    limit_threads()


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic course-layout data set (seed 0), written once per test run (all workers)."""
    return built_once(tmp_path_factory, "tiny-data", lambda path: write_synth(path, seed=0, spec=TINY))


def _train_tiny(tiny_data: Path, path: Path) -> None:
    run = train_run(tiny_data, path, TINY_CONFIG).run
    evaluate_run(run, tiny_data)


@pytest.fixture(scope="session")
def tiny_run(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder trained on ``tiny_data`` and evaluated on its test part, once per test run (all
    workers): tests only read it."""
    return built_once(tmp_path_factory, "tiny-run", lambda path: _train_tiny(tiny_data, path))
