"""Operator feedback -> training data (``spillguard feedback export``), and the closed loop: a nuisance
look the first model flags, marked false alarms on the line, exported, retrained: its false alarms drop."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from sharedcore.errors import UserError
from spillguard.cli import app as cli_app
from spillguard.config import TrainConfig
from spillguard.data import decode_image, training_sources
from spillguard.data.synthetic import SynthSpec, draw_pit, write_synth
from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.feedback import export_feedback
from spillguard.deploy.service.main import create_app
from spillguard.detector import SpillDetector
from spillguard.pipelines.train import train_run

from .conftest import AUTH, TOKEN

runner = CliRunner()


def _label(c: TestClient, vid: int, label: str) -> None:
    r = c.post(f"/v1/verdicts/{vid}/feedback", json={"label": label, "operator": "qc"}, headers=AUTH)
    assert r.status_code == 200, r.text


def test_export_writes_the_layout_train_reads(make_client, tmp_path, spill_jpegs, normal_jpegs) -> None:
    c = make_client(sample_normals=0.3)
    res = [c.post("/v1/score?camera=L1", content=d).json() for d in spill_jpegs[:12] + normal_jpegs[:40]]
    flagged = [r for r in res if r["verdict"] == "spill"]
    normals = [r for r in res if r["verdict"] == "no_spill"]
    assert len(flagged) >= 4
    _label(c, flagged[0]["id"], "spill")
    _label(c, flagged[1]["id"], "no_spill")  # a false alarm
    _label(c, flagged[2]["id"], "spill")
    _label(c, flagged[2]["id"], "no_spill")  # corrected: the latest label counts
    sampled = [r for r in normals if c.get(f"/v1/verdicts/{r['id']}").json()["image_kept"]]
    assert sampled
    db = tmp_path / "v.sqlite"
    out = runner.invoke(cli_app, ["feedback", "export", str(db), "-o", str(tmp_path / "fb")])
    assert out.exit_code == 0, out.output
    assert "1 confirmed spills" in out.output and "2 false alarms" in out.output
    src = training_sources(tmp_path / "fb")
    assert src.layout == "folders" and not src.skipped
    assert sum(src.labels) == 1 and len(src.labels) - 1 == 2 + len({r["image_sha256"] for r in sampled})
    rows = list(csv.DictReader((tmp_path / "fb" / "feedback_export.csv").open()))
    assert {r["reason"] for r in rows} == {"confirmed_spills", "false_alarms", "sampled_normals"}
    unreviewed = {r["image_sha256"] for r in flagged[3:]} - {r["image_sha256"] for r in flagged[:3]}
    assert not unreviewed & {r["image_sha256"] for r in rows}  # unreviewed flags carry no label
    for r in rows:
        assert (tmp_path / "fb" / r["file"]).is_file() and r["camera"] == "L1"
    # never over an existing folder without --force; --since in the future exports nothing
    again = runner.invoke(cli_app, ["feedback", "export", str(db), "-o", str(tmp_path / "fb")])
    assert isinstance(again.exception, UserError) and "--force" in str(again.exception)
    with pytest.raises(UserError, match="no normal images to export"):
        export_feedback(db, tmp_path / "later", since="2100-01-01")
    with pytest.raises(UserError, match="not a date"):
        export_feedback(db, tmp_path / "x", since="soon")
    bad = tmp_path / "bad.sqlite"
    bad.write_text("nope")
    with pytest.raises(UserError, match="not a spillguard verdict database"):
        export_feedback(bad, tmp_path / "y")


def test_export_with_base_adds_the_training_set(make_client, tmp_path, tiny_data, spill_jpegs) -> None:
    c = make_client()
    r = next(
        x for x in (c.post("/v1/score", content=d).json() for d in spill_jpegs) if x["verdict"] == "spill"
    )
    _label(c, r["id"], "no_spill")
    res = export_feedback(tmp_path / "v.sqlite", tmp_path / "fb", base=tiny_data)
    assert (
        res.counts["false_alarms"] == 1
        and res.counts["base_normals"] == 320
        and res.counts["base_spills"] == 30
    )
    src = training_sources(tmp_path / "fb")
    assert len(src.paths) == 351 and sum(src.labels) == 30


def glare(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The nuisance look: a bright, flat rectangle (glare or a light-coloured occluder) over the pit."""
    h, w, _ = img.shape
    yy, xx = np.mgrid[0:h, 0:w]
    x0, y0 = rng.uniform(0.1, 0.6) * w, rng.uniform(0.1, 0.6) * h
    bw, bh = rng.uniform(0.25, 0.4) * w, rng.uniform(0.25, 0.45) * h
    box = ((xx >= x0) & (xx < x0 + bw) & (yy >= y0) & (yy < y0 + bh))[..., None]
    colour = np.array([240, 240, 230], np.float32) + rng.normal(0, 5, 3)
    return np.where(box, colour, img.astype(np.float32)).clip(0, 255).astype(np.uint8)


def _jpeg(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="JPEG", quality=92)
    return buf.getvalue()


@pytest.mark.slow
def test_the_loop_closes_false_alarms_on_a_nuisance_look_drop(tmp_path: Path) -> None:
    """About 45 s: two short trainings of the default (spill head) model on a small synthetic line."""
    rng = np.random.default_rng(7)
    base = write_synth(tmp_path / "data", seed=3, spec=SynthSpec(400, 30, 10, 2))
    # the first model never saw the nuisance look (no occluder augmentation)
    cfg = TrainConfig(occlusion=0.0, fit_decoder=False, epochs=6, batch_size=32, seed=0)
    run1 = train_run(base, tmp_path / "run1", cfg).run
    size = SpillDetector.load(run1).config.input_size  # as the run chose it (32 x 48 for pits)
    held_glare = np.stack([decode_image(_jpeg(glare(draw_pit(rng, False), rng)), size) for _ in range(100)])
    held_spill = np.stack([decode_image(_jpeg(draw_pit(rng, True)), size) for _ in range(50)])

    def rates(run: Path) -> tuple[float, float]:
        det = SpillDetector.load(run)
        t = det.threshold()
        return float(np.mean(det.score_samples(held_glare) > t)), float(
            np.mean(det.score_samples(held_spill) > t)
        )

    fa1, tpr1 = rates(run1)
    assert fa1 >= 0.5, f"the first model should flag the nuisance look, flags {fa1:.0%}"
    # the line: normals, the nuisance look, real spills; QC staff label every flagged pit
    line = [("normal", draw_pit(rng, False)) for _ in range(120)]
    line += [("glare", glare(draw_pit(rng, False), rng)) for _ in range(50)]
    line += [("spill", draw_pit(rng, True)) for _ in range(15)]
    order = rng.permutation(len(line))
    db = tmp_path / "line.sqlite"
    with TestClient(create_app(ServiceConfig(run=run1, db=db, token=TOKEN, sample_normals=0.2))) as c:
        for i in order:
            truth, img = line[i]
            r = c.post("/v1/score?camera=line", content=_jpeg(img)).json()
            if r["verdict"] == "spill":
                _label(c, r["id"], "spill" if truth == "spill" else "no_spill")
        page = c.get("/review").text
    assert 'id="n-waiting">0<' in page and 'id="n-false">0<' not in page
    # export (with the old training set) and retrain: one command each
    out = runner.invoke(
        cli_app, ["feedback", "export", str(db), "-o", str(tmp_path / "fb"), "--base", str(base)]
    )
    assert out.exit_code == 0, out.output
    assert "false alarms" in out.output
    res = runner.invoke(
        cli_app,
        [
            "-q",
            "train",
            str(tmp_path / "fb"),
            "-o",
            str(tmp_path / "run2"),
            "--epochs",
            "6",
            "--seed",
            "0",
            "--config",
            str(_config_yaml(tmp_path)),
        ],
    )
    assert res.exit_code == 0, (res.output, res.exception)
    fa2, tpr2 = rates(tmp_path / "run2")
    print(f"\nloop: nuisance false alarms {fa1:.0%} -> {fa2:.0%}; spills found {tpr1:.0%} -> {tpr2:.0%}")
    assert fa2 <= fa1 / 3, f"false alarms on the nuisance look: {fa1:.0%} before, {fa2:.0%} after retraining"
    assert tpr2 >= tpr1 - 0.1, f"spills found: {tpr1:.0%} before, {tpr2:.0%} after"


def _config_yaml(tmp_path: Path) -> Path:
    p = tmp_path / "line.yaml"
    p.write_text("occlusion: 0.0\nfit_decoder: false\nbatch_size: 32\n", encoding="utf-8")
    return p
