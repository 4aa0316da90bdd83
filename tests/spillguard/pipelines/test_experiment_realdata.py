"""A short experiment on the real spill data (../shared): the shipped spill head against the plain AE.

Floors after short runs (3,000 training images, 2 epochs head / 4 epochs AE), thresholds chosen
without test labels: the head ranks the test half at ROC AUC >= 0.98 and, at its own p = 0.5
boundary, passes >= 95% of test normals; the full default training reaches more (see README).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from spillguard.pipelines.experiment import run_experiment

CONFIGS = Path(__file__).resolve().parents[3] / "src" / "spillguard" / "configs"


@pytest.mark.slow
@pytest.mark.realdata
def test_head_beats_plain_ae_on_the_real_test_half(shared_dir: Path, tmp_path: Path) -> None:
    data = shared_dir / "data" / "spills"
    ae = yaml.safe_load((CONFIGS / "ae_baseline.yaml").read_text(encoding="utf-8")) | {"epochs": 4}
    (tmp_path / "ae.yaml").write_text(yaml.safe_dump(ae), encoding="utf-8")
    head = yaml.safe_load((CONFIGS / "head_synth_known.yaml").read_text(encoding="utf-8")) | {"epochs": 2}
    (tmp_path / "head.yaml").write_text(yaml.safe_dump(head), encoding="utf-8")
    out = run_experiment(
        [tmp_path / "ae.yaml", tmp_path / "head.yaml"],
        data,
        data / "test",
        tmp_path / "exp",
        {"max_train": 3000},
    ).folder
    rows = {r["variant"]: r for r in json.loads((out / "comparison.json").read_text(encoding="utf-8"))}
    m = json.loads((out / "runs" / "head" / "evaluation" / "test_metrics.json").read_text(encoding="utf-8"))[
        "metrics"
    ]
    assert m["n"] == 1855 and m["n_spill"] == 63
    assert m["roc_auc"] >= 0.98, m["roc_auc"]
    assert m["at_threshold"]["prior"]["tnr"] >= 0.95, m["at_threshold"]["prior"]
    ae_m = json.loads((out / "runs" / "ae" / "evaluation" / "test_metrics.json").read_text(encoding="utf-8"))[
        "metrics"
    ]
    assert m["roc_auc"] > ae_m["roc_auc"]
    assert (out / "best.txt").read_text(encoding="utf-8").strip() == "head"  # chosen on validation
    assert rows["head"]["rule"] == "prior"
