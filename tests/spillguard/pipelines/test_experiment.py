"""The experiment command: several configs -> runs, comparison table, ROC curves, error analysis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sharedcore.errors import UserError
from spillguard.config import PLAIN_AE
from spillguard.pipelines.experiment import load_variants, run_experiment

CONFIGS = Path(__file__).resolve().parents[3] / "src" / "spillguard" / "configs"


def _write(folder: Path, name: str, fields: dict[str, object]) -> Path:
    p = folder / f"{name}.yaml"
    p.write_text(yaml.safe_dump(fields), encoding="utf-8")
    return p


def test_duplicate_and_bad_configs_are_user_errors(tmp_path: Path) -> None:
    a = _write(tmp_path, "a", {"epochs": 1})
    (tmp_path / "sub").mkdir()
    b = _write(tmp_path / "sub", "a", {"epochs": 1})
    with pytest.raises(UserError, match="already in this experiment"):
        load_variants([a, b], {})
    bad = _write(tmp_path, "bad", {"loss": "nope"})
    with pytest.raises(UserError, match="loss"):
        load_variants([bad], {})


@pytest.mark.slow
def test_experiment_on_tiny_data_writes_table_rocs_and_error_analysis(
    tiny_data: Path, tmp_path: Path
) -> None:
    cfgs = [
        _write(tmp_path, "ae", {**PLAIN_AE, "epochs": 3, "batch_size": 32}),
        _write(tmp_path, "mem", {**PLAIN_AE, "model": "memory_ae", "epochs": 3, "batch_size": 32}),
        _write(
            tmp_path,
            "head",
            {
                "model": "conv_ae_head",
                "model_params": {"stem": 4, "widths": [8, 16, 32], "latent": 8},
                "score": "head",
                "supervision": "synthetic+known",
                "threshold_rule": "prior",
                "epochs": 3,
                "batch_size": 32,
            },
        ),
    ]
    res = run_experiment(cfgs, tiny_data, tiny_data, tmp_path / "exp", {"seed": 0})
    out = res.folder
    # the result names the final folders, not the temporary one the experiment was built in
    assert [v.train.run for v in res.variants if v.train] == [out / "runs" / n for n in ("ae", "mem", "head")]
    assert all(v.test.folder.is_dir() and v.test.folder.parent == out / "runs" / v.name for v in res.variants)
    rows = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert [r["variant"] for r in rows] == ["ae", "mem", "head"]
    assert all(r["images/s"] > 0 and r["train s"] > 0 for r in rows)
    assert rows[2]["rule"] == "prior" and rows[0]["rule"] == "balanced"
    for f in ("roc.png", "roc_zoom.png", "report.html", "comparison.csv", "best.txt", "latent_mem.png"):
        assert (out / f).is_file(), f
    best = (out / "best.txt").read_text(encoding="utf-8").strip()
    assert best in {"ae", "mem", "head"}
    assert (out / f"lighting_{best}.png").is_file() and (out / f"latent_{best}.png").is_file()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "every misclassified test image" in html and "runs/head/report.html" in html
    assert (out / "runs" / "head" / "evaluation" / "scores_test.csv").is_file()
