"""The default train on a tiny surface data set: chosen input size and schedule, greyscale handling,
the validation gate at the top of the report, and --require-auc's exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sharedcore.errors import UserError
from spillguard.cli import app
from spillguard.config import TrainConfig
from spillguard.data.anomaly_looks import GENERIC_MIX
from spillguard.data.synthetic_surface import SurfaceSpec, write_surface
from spillguard.pipelines.train import train_run

FAST = "input_pixels: 4096\ntime_budget: 4\ndecoder_epochs: 1\n"  # 64x64 input, a few seconds of training


@pytest.fixture(scope="module")
def surface(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_surface(tmp_path_factory.mktemp("surface") / "data", seed=0, spec=SurfaceSpec(100, 24, 8, 4))


@pytest.fixture(scope="module")
def cli_run(surface: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """``spillguard train SURFACE -o RUN -c fast.yaml --require-auc 1.0`` (the top of the range, which a 4-second run does not reach)."""
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "fast.yaml").write_text(FAST)
    out = tmp / "run"
    res = CliRunner().invoke(
        app,
        ["-q", "train", str(surface), "-o", str(out), "-c", str(tmp / "fast.yaml"), "--require-auc", "1.0"],
    )
    return out, res.exception


def test_default_run_chooses_from_the_data_and_reports_the_gate(cli_run: tuple[Path, object]) -> None:
    run, _ = cli_run
    m = json.loads((run / "metrics.json").read_text())
    assert (m["config"]["height"], m["config"]["width"]) == (64, 64)
    assert m["choices"]["input_size"]["median_height"] == 256 and m["choices"]["input_size"]["scaled"]
    assert m["config"]["greyscale"] is True and m["choices"]["greyscale"]["value"] is True
    assert m["config"]["anomalies"] == GENERIC_MIX and "generic looks" in m["choices"]["anomalies"]["how"]
    s = m["choices"]["schedule"]
    assert (m["config"]["epochs"], m["config"]["batch_size"]) == (s["epochs"], s["batch_size"])
    assert s["estimated_seconds"] <= 4.0 or s["epochs"] == 1
    gate = m["gate"]
    assert gate["n_known_check"] == 12 and 0.0 <= gate["synthetic_auc"] <= 1.0
    html = (run / "report.html").read_text()
    assert html.index('class="gate"') < html.index("<h2>Training")
    assert "input size 64x64" in html and "greyscale" in html


def test_require_auc_exits_2_after_writing_the_run(cli_run: tuple[Path, object]) -> None:
    run, exc = cli_run
    assert isinstance(exc, UserError) and exc.exit_code == 2
    assert "--require-auc 1.0" in str(exc) and str(run) in str(exc)
    assert (run / "checkpoint.pt").is_file() and (run / "report.html").is_file()


def test_too_few_known_anomalies_warn_at_the_top(tmp_path: Path) -> None:
    data = write_surface(tmp_path / "few", seed=1, spec=SurfaceSpec(40, 4, 2, 1))
    run = train_run(
        data, tmp_path / "run", TrainConfig(input_pixels=32 * 32, time_budget=2.0, decoder_epochs=1)
    ).run
    m = json.loads((run / "metrics.json").read_text())
    assert not m["gate"]["passed"] and "only 2 known anomalies" in m["gate"]["warnings"][0]
    html = (run / "report.html").read_text()
    assert "WARNING: validation gate failed" in html and html.index("WARNING") < html.index("<h2>")
    # too few held out to trust p(spill) = 0.5: the data-chosen verdict rule takes the safe fpr_bound
    c = m["choices"]["threshold_rule"]
    assert m["threshold_rule"] == m["config"]["threshold_rule"] == c["value"] == "fpr_bound"
    assert c["reason"] == "too_few_known" and "fpr_bound" in m["thresholds"]
    assert "verdicts do not use the head" in m["gate"]["rule_note"] and "verdicts do not use the head" in html
    assert "Chosen from the data: verdict rule fpr_bound" in html


@pytest.mark.parametrize("rule", ["prior", "fpr"])
def test_a_verdict_rule_named_in_the_config_is_never_overridden(tmp_path: Path, rule: str) -> None:
    data = write_surface(tmp_path / "few", seed=1, spec=SurfaceSpec(40, 4, 2, 1))  # 2 known held out
    cfg = TrainConfig(input_pixels=32 * 32, time_budget=2.0, decoder_epochs=1, threshold_rule=rule)
    res = train_run(data, tmp_path / "run", cfg)
    m = res.metrics
    assert res.detector.threshold_rule_ == m["threshold_rule"] == m["config"]["threshold_rule"] == rule
    assert "threshold_rule" not in m["choices"] and "fpr_bound" not in m["thresholds"]
    assert m["gate"]["rule_note"] == ""


@pytest.mark.slow
def test_surface_demo_untuned_default_reaches_auc_0_9(tmp_path: Path) -> None:
    # issue 13: the untuned default on the surface domain (the demo's 300 + 30 images, 60 s budget)
    from spillguard.pipelines.demo import run_demo

    run_demo(tmp_path / "demo", seed=0, domain="surface")
    ev = json.loads((tmp_path / "demo" / "run" / "evaluation" / "test_metrics.json").read_text())
    assert ev["metrics"]["roc_auc"] >= 0.9
    m = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert m["gate"]["passed"] and m["config"]["greyscale"] is True
