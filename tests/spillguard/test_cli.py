"""The spillguard CLI end to end on tiny synthetic data, and its bad-input behaviour."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sharedcore.errors import UserError
from spillguard.cli import app

runner = CliRunner()


def _ok(*args: str) -> str:
    res = runner.invoke(app, ["-q", *args])
    assert res.exit_code == 0, (res.output, res.exception)
    return res.output


def _user_error(*args: str) -> str:
    res = runner.invoke(app, ["-q", *args])
    assert isinstance(res.exception, UserError), (res.output, res.exception)
    return str(res.exception)


def test_train_writes_a_complete_run_folder(tiny_run: Path) -> None:
    for name in ("checkpoint.pt", "metrics.json", "report.html", "epochs.jsonl", "scores_validation.csv"):
        assert (tiny_run / name).is_file(), name
    for name in ("loss.png", "val_metrics.png", "val_roc.png", "val_hist.png", "recon_grid.png"):
        assert (tiny_run / "plots" / name).stat().st_size > 1000, name
    html = (tiny_run / "report.html").read_text()
    assert "plots/recon_grid.png" in html and "evaluation/test_roc.png" in html and "Shift check" in html
    assert not list(tiny_run.parent.glob(".*tmp"))  # no temporary folder left behind


def test_cli_train_evaluate_predict_report(tiny_data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    out = _ok("train", str(tiny_data), "-o", str(run), "--epochs", "2", "--max-train", "100", "--seed", "1")
    assert out.strip().endswith("report.html")
    out = _ok("evaluate", str(run), str(tiny_data / "test"))
    assert "ROC AUC" in out and "balanced" in out and "fpr" in out
    m = json.loads((run / "evaluation" / "test_metrics.json").read_text())
    assert m["metrics"]["n"] == 120
    _ok(
        "predict",
        str(run),
        str(tiny_data / "proliv"),
        str(tiny_data / "train" / "pit_0000*.jpg"),
        "--csv",
        str(tmp_path / "p.csv"),
    )
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert len(rows) == 30 + 10 and {r["verdict"] for r in rows} <= {"spill", "normal"}
    assert all(float(r["score"]) > 0 for r in rows)
    printed = _ok("predict", str(run), str(tiny_data / "proliv" / "spill_0000.jpg"))
    assert "spill_0000.jpg" in printed
    # the CSV is never overwritten without --force
    assert "already exists" in _user_error(
        "predict", str(run), str(tiny_data / "proliv"), "--csv", str(tmp_path / "p.csv")
    )
    (run / "report.html").unlink()
    _ok("report", str(run))
    assert (run / "report.html").is_file()


@pytest.mark.slow
def test_demo(tmp_path: Path) -> None:
    out = _ok("demo", "-o", str(tmp_path / "demo"), "--seed", "0")
    report = Path(out.strip().splitlines()[-1])
    assert report == tmp_path / "demo" / "report.html" and report.is_file()
    m = json.loads((tmp_path / "demo" / "run" / "evaluation" / "test_metrics.json").read_text())
    assert m["metrics"]["roc_auc"] > 0.8
    # files and pages name the final folders, never the temporary one they were built in
    assert m["data"]["root"] == str(tmp_path / "demo" / "data" / "test")
    for page in (report, tmp_path / "demo" / "run" / "report.html"):
        html = page.read_text(encoding="utf-8")
        assert f"Test: {tmp_path / 'demo' / 'data' / 'test'}" in html and ".tmp" not in html
    demo = tmp_path / "demo"
    for f in (
        demo / "metrics.json",
        demo / "run" / "metrics.json",
        demo / "run" / "evaluation" / "test_metrics.json",
    ):
        assert ".tmp" not in f.read_text(encoding="utf-8"), f
    with (demo / "run" / "evaluation" / "scores_test.csv").open(encoding="utf-8") as fh:
        paths = [Path(r["path"]) for r in csv.DictReader(fh)]
    assert paths and all(p.is_file() and p.is_relative_to(demo / "data" / "test") for p in paths)


def test_bad_inputs_leave_no_run_folder(tiny_data: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "train").mkdir(parents=True)
    assert "no readable images" in _user_error("train", str(empty), "-o", str(tmp_path / "r1"))
    assert not (tmp_path / "r1").exists()
    messy = tmp_path / "messy"
    (messy / "train").mkdir(parents=True)
    for p in sorted((tiny_data / "train").glob("*.jpg"))[:40]:
        (messy / "train" / p.name).write_bytes(p.read_bytes())
    (messy / "train" / "zero.jpg").write_bytes(b"")
    msg = _user_error("train", str(messy), "-o", str(tmp_path / "r2"), "--strict", "--epochs", "1")
    assert "zero.jpg" in msg and "empty" in msg
    assert not (tmp_path / "r2").exists() and not list(tmp_path.glob(".r2*"))
    res = runner.invoke(app, ["train", str(messy), "-o", str(tmp_path / "r3"), "--epochs", "1"])
    assert res.exit_code == 0 and "zero.jpg: empty file" in res.output  # a listed skip
    m = json.loads((tmp_path / "r3" / "metrics.json").read_text())
    # no known spills: no balanced rule, and too few held out to trust the head's own 'prior' boundary,
    # so the data-chosen verdict rule is fpr_bound (spillguard.post_processing.thresholds.choose_rule)
    assert m["threshold_rule"] == "fpr_bound" and set(m["thresholds"]) == {"fpr", "prior", "fpr_bound"}
    assert m["choices"]["threshold_rule"]["reason"] == "too_few_known"
    assert "WARNING: verdicts do not use the head's p(spill) = 0.5" in res.output
    assert m["data"]["skipped"] == [[str(messy / "train" / "zero.jpg"), "empty file (0 bytes)"]]
    assert "not available" in _user_error(
        "predict", str(tmp_path / "r3"), str(messy / "train"), "--rule", "balanced"
    )
    assert "no such checkpoint" in _user_error("evaluate", str(tmp_path / "r1"), str(tiny_data))


def test_wandb_missing_is_a_clear_error(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    msg = _user_error("train", str(tiny_data), "-o", str(tmp_path / "w"), "--epochs", "1", "--wandb")
    assert "pip install" in msg and "wandb" in msg
    assert not (tmp_path / "w").exists()


def test_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "ckpt.pt").write_text("junk")
    res = subprocess.run(
        [sys.executable, "-m", "spillguard", "predict", str(tmp_path / "ckpt.pt"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith("spillguard: error:") and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-mb", "nan"], "--max-mb: nan is not a finite number"),
        (["--max-mb", "inf"], "--max-mb: inf is not a finite number"),
        (["--max-mb", "-1"], "--max-mb: -1.0 is out of range"),
        (["--max-pixels", "0"], "--max-pixels: 0 is out of range"),
        (["--max-batch", "0"], "--max-batch: 0 is out of range"),
        (["--score-batch", "-1"], "--score-batch: -1 is out of range"),
        (["--sample-normals", "2"], "--sample-normals: 2.0 is out of range"),
        (["--port", "70000"], "--port: 70000 is out of range"),
        (["--db", "{F}/v.sqlite"], "is a file, not a folder"),
        (["--db", "{T}"], "is a folder; name a file"),
        (["--store", "{F}"], "exists and is not a folder"),
    ],
)
def test_serve_options_are_checked_before_the_model_or_a_port(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """Found by research/spillguard_sweep.py: a NaN/inf --max-mb was the bug handler (int(nan)), and
    --max-mb -1 or --max-batch 0 started a server that refused every image."""
    (tmp_path / "f").write_text("x")
    args = [a.replace("{F}", str(tmp_path / "f")).replace("{T}", str(tmp_path)) for a in args]
    res = CliRunner().invoke(
        app, ["serve", str(tmp_path / "no-run"), "--db", str(tmp_path / "v.sqlite"), *args]
    )
    assert isinstance(res.exception, UserError) and message in str(res.exception), (res.output, res.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


@pytest.mark.parametrize("value", ["nan", "-0.5", "-inf", "1.5", "inf"])
def test_require_auc_out_of_range_is_refused_before_training(tmp_path: Path, value: str) -> None:
    """Issue 21: nan/-0.5/-inf were accepted and 1.5/inf refused only after the whole training. The
    data folder does not even exist: the option is refused before anything is read."""
    msg = _user_error("train", str(tmp_path / "nodata"), "-o", str(tmp_path / "r"), "--require-auc", value)
    assert msg.startswith("--require-auc: ") and "from 0 to 1" in msg and "e.g. --require-auc 0.9" in msg
    assert not (tmp_path / "r").exists()
