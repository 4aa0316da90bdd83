"""A short training on the real spill data (../shared): the test half must be ranked well.

Floor: ROC AUC >= 0.85 after a short run (3,000 training images, 6 epochs); the full default
training reaches more (see README). Thresholds come from validation/proliv only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spillguard.config import TrainConfig
from spillguard.pipelines.evaluate import evaluate_run
from spillguard.pipelines.train import train_run


@pytest.mark.slow
@pytest.mark.realdata
def test_short_training_on_real_data_ranks_test_spills(shared_dir: Path, tmp_path: Path) -> None:
    data = shared_dir / "data" / "spills"
    cfg = TrainConfig(max_train=3000, epochs=6, patience=3, seed=0)
    run = train_run(data, tmp_path / "run", cfg).run
    m = evaluate_run(run, data / "test").metrics
    assert m["n"] == 1855 and m["n_spill"] == 63
    assert m["roc_auc"] >= 0.85, m["roc_auc"]
    assert m["at_threshold"]["balanced"]["tpr"] >= 0.6
