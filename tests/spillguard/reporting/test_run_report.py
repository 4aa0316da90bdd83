"""A run folder's files checked as a whole before a report or command uses them (issue 10; the
check was top-level only, and the sweep found KeyError/TypeError/ValueError behind it): nested
entries of metrics.json and test_metrics.json, and score tables without rows or with NaN."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sharedcore.errors import UserError
from spillguard.reporting.plots import plot_scores
from spillguard.reporting.run_report import RUN_JSON_SCHEMAS, read_run_json, rebuild_report, schema_problem

NESTED: list[tuple[Callable[[dict[str, Any]], Any], str]] = [
    (lambda m: m.__setitem__("validation", {}), "entry 'validation/n' is missing"),
    (lambda m: m["validation"].__setitem__("roc_auc", "high"), "entry 'validation/roc_auc' is 'high'"),
    (
        lambda m: m["validation"]["at_threshold"].__setitem__("fpr", 1),
        "entry 'validation/at_threshold/fpr' is a int",
    ),
    (lambda m: m.__setitem__("history", [1, 2]), "entry 'history[0]' is a int, not a mapping"),
    (lambda m: m.__setitem__("history", [{}]), "entry 'history[0]/epoch' is missing"),
    (lambda m: m.__setitem__("config", {}), "entry 'config/model' is missing"),
    (lambda m: m.__setitem__("data", {}), "entry 'data/root' is missing"),
    (lambda m: m["data"].__setitem__("skipped", 3), "entry 'data/skipped' is a int, not a list"),
    (lambda m: m["data"].__setitem__("skipped", [["a"]]), "entry 'data/skipped[0]'"),
    (lambda m: m.__setitem__("gate", [1]), "entry 'gate' is a list, not a mapping"),
    (lambda m: m.__setitem__("choices", 3), "entry 'choices' is a int"),
    (lambda m: m.__setitem__("sizes", "x"), "entry 'sizes' is a str"),
    (lambda m: m.pop("threshold_rule"), "entry 'threshold_rule' is missing"),
    (lambda m: m.__setitem__("decoder_history", {"a": 1}), "entry 'decoder_history' is a dict, not a list"),
    (lambda m: m["validation"].__setitem__("tnr_at_tpr_0.9", "x"), "entry 'validation/tnr_at_tpr_0.9'"),
    (lambda m: m["thresholds"].__setitem__("nope", 0.5), "threshold rule 'nope' is unknown"),
]


@pytest.fixture
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    return run


@pytest.mark.parametrize(("change", "what"), NESTED, ids=[w[:40] for _, w in NESTED])
def test_nested_damage_in_metrics_json(run_copy: Path, change: Any, what: str) -> None:
    m = json.loads((run_copy / "metrics.json").read_text())
    change(m)
    (run_copy / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(UserError) as err:
        rebuild_report(run_copy)
    msg = str(err.value)
    assert msg.startswith(f"damaged run file: {run_copy / 'metrics.json'}: ") and what in msg, msg


def test_the_files_spillguard_writes_fit_their_schema(run_copy: Path) -> None:
    for name in ("metrics.json", "evaluation/test_metrics.json"):
        obj = json.loads((run_copy / name).read_text())
        assert schema_problem(obj, RUN_JSON_SCHEMAS[Path(name).name]) is None
        assert read_run_json(run_copy / name) == obj


def test_nested_damage_in_test_metrics_json(run_copy: Path) -> None:
    (run_copy / "evaluation" / "test_metrics.json").write_text(
        '{"data": {}, "thresholds": {}, "metrics": {}}'
    )
    with pytest.raises(UserError, match=r"test_metrics\.json: entry 'data/root' is missing"):
        rebuild_report(run_copy)


@pytest.mark.parametrize(
    ("text", "what"),
    [("", "no rows of label and score"), ("path,label,score\nx,0,nan\ny,1,1\n", "not a finite number"),
     ("path,label,score\nx,2,0.5\n", "a label is not 0/1")],
)  # fmt: skip
def test_score_tables_without_rows_or_with_nan(run_copy: Path, text: str, what: str) -> None:
    (run_copy / "scores_validation.csv").write_text(text)
    with pytest.raises(UserError, match=rf"damaged run file: .*scores_validation\.csv: .*{what}"):
        rebuild_report(run_copy)


def test_score_histogram_of_all_zero_scores(tmp_path: Path) -> None:
    """A saturated head scores softplus(-inf) = 0 everywhere (lr 9.99 in the sweep): the log-scale
    histogram used to ask numpy for a geometric sequence ending at 0."""
    figs = plot_scores(np.array([0, 0, 1]), np.zeros(3), {"prior": 0.69}, tmp_path, "val", "t")
    assert [f.name for f in figs] == ["val_roc.png", "val_hist.png"] and all(f.is_file() for f in figs)
    assert plot_scores(np.zeros(0, int), np.zeros(0), {}, tmp_path, "x", "t") == []
