"""`spillguard serve model.onnx`: the service scores through onnxruntime with the torch-served verdicts,
explains only with a torch run (409 JSON otherwise), and reload accepts a run folder or a .onnx."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from sharedcore.errors import UserError
from spillguard.deploy.export import PARITY_RTOL, parity_error
from spillguard.deploy.runtime import OnnxDetector
from spillguard.deploy.service.model import backend_loader
from spillguard.detector import SpillDetector

from .conftest import AUTH


def _batch(client, images: list[bytes]) -> list[dict]:
    files = [("files", (f"img{i}.jpg", d, "application/octet-stream")) for i, d in enumerate(images)]
    r = client.post("/v1/score/batch", files=files)
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def test_onnx_served_verdicts_equal_the_torch_served_ones(
    make_client, tiny_run: Path, tiny_onnx: Path, tmp_path: Path, spill_jpegs, normal_jpegs
) -> None:
    images = spill_jpegs + normal_jpegs
    torch_client = make_client(db=tmp_path / "torch.sqlite")
    by_torch = _batch(torch_client, images)
    onnx_client = make_client(run=tiny_onnx, db=tmp_path / "onnx.sqlite")
    # the drift reference travels inside the exported model (no drift_reference.json beside it)
    assert not (tiny_onnx.parent / "drift_reference.json").exists()
    ref_t = torch_client.app.state.service.holder.current.reference  # type: ignore[attr-defined]
    ref_o = onnx_client.app.state.service.holder.current.reference  # type: ignore[attr-defined]
    assert len(ref_o.scores) > 10 and np.array_equal(ref_o.scores, ref_t.scores)
    assert ref_o.brightness is not None and ref_o.expected_rate == ref_t.expected_rate
    assert isinstance(onnx_client.app.state.service.holder.current.scorer, OnnxDetector)  # type: ignore[attr-defined]
    by_onnx = _batch(onnx_client, images)
    assert [r["verdict"] for r in by_onnx] == [r["verdict"] for r in by_torch]
    assert {r["verdict"] for r in by_torch} == {"spill", "no_spill"}  # both occur: equality means something
    threshold = by_torch[0]["threshold"]
    assert by_onnx[0]["threshold"] == threshold and by_onnx[0]["rule"] == by_torch[0]["rule"]
    s_t, s_o = (np.array([r["score"] for r in rows]) for rows in (by_torch, by_onnx))
    assert parity_error(s_t, s_o, threshold) <= PARITY_RTOL
    model = by_onnx[0]["model"]
    assert model["id"].startswith("model.onnx@") and model["run"] == "model.onnx"
    assert model["config"] == by_torch[0]["model"]["config"] == "conv_ae/local"
    with sqlite3.connect(tmp_path / "onnx.sqlite") as conn:  # stored like any verdict
        assert conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] == len(images)

    flagged = next(r for r in by_onnx if r["verdict"] == "spill")
    r = onnx_client.get(f"/v1/verdicts/{flagged['id']}/explain.png")
    assert r.status_code == 409 and r.headers["content-type"] == "application/json"
    assert r.json()["error"] == "no_explainer" and "torch run folder" in r.json()["message"]
    assert onnx_client.get("/v1/verdicts/{}".format(flagged["id"])).status_code == 200
    page = onnx_client.get("/review")
    assert page.status_code == 200 and "model.onnx@" in page.text


def test_reload_accepts_a_run_folder_or_an_onnx_file(
    make_client, tiny_run: Path, tiny_onnx: Path, tmp_path: Path, spill_jpegs
) -> None:
    c = make_client(run=tiny_onnx)
    flagged = next(
        r for r in (c.post("/v1/score", content=d).json() for d in spill_jpegs) if r["verdict"] == "spill"
    )
    assert c.get(f"/v1/verdicts/{flagged['id']}/explain.png").status_code == 409
    r = c.post("/v1/admin/reload", json={"run": str(tiny_run)}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["previous"]["run"] == "model.onnx" and r.json()["model"]["run"] == tiny_run.name
    # the verdict was given by the exported model, which cannot draw it: 409 naming that model, not a
    # map silently drawn by the torch run now in use; ?model=current draws one anyway, marked
    own = c.get(f"/v1/verdicts/{flagged['id']}/explain.png")
    assert own.status_code == 409 and own.json()["error"] == "no_explainer"
    assert (
        own.json()["model_id"] == flagged["model"]["id"] and flagged["model"]["id"] in own.json()["message"]
    )
    cur = c.get(f"/v1/verdicts/{flagged['id']}/explain.png?model=current")
    assert cur.status_code == 200 and cur.headers["x-spillguard-model"] == r.json()["model"]["id"]
    assert cur.headers["x-spillguard-verdict-model"] == flagged["model"]["id"]
    assert cur.headers["x-spillguard-model-match"] == "no"
    page = c.get("/review").text
    assert "is an exported model: no error map" in page and "drawn by the current model instead" in page
    fresh = next(
        r for r in (c.post("/v1/score", content=d).json() for d in spill_jpegs) if r["verdict"] == "spill"
    )
    assert c.get(f"/v1/verdicts/{fresh['id']}/explain.png").status_code == 200  # torch explains its own
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(tiny_onnx.read_bytes()[:1000])
    bad = c.post("/v1/admin/reload", json={"run": str(broken)}, headers=AUTH)
    assert (
        bad.status_code == 422 and bad.json()["error"] == "bad_run" and "broken.onnx" in bad.json()["message"]
    )
    assert c.get("/readyz").json()["model"]["run"] == tiny_run.name  # the old model stays
    back = c.post("/v1/admin/reload", json={"run": str(tiny_onnx)}, headers=AUTH)
    assert back.status_code == 200 and back.json()["model"]["run"] == "model.onnx"


def test_backend_onnx_scores_a_run_folder_on_onnxruntime_and_torch_explains(
    make_client, tiny_run: Path, tiny_onnx: Path, spill_jpegs
) -> None:
    c = make_client(loader=backend_loader("onnx"))
    current = c.app.state.service.holder.current  # type: ignore[attr-defined]
    assert isinstance(current.scorer, OnnxDetector) and isinstance(current.explainer, SpillDetector)
    out = _batch(c, spill_jpegs)
    ref = _batch(make_client(run=tiny_onnx, db=tiny_onnx.parent / "o.sqlite"), spill_jpegs)
    assert [r["score"] for r in out] == [r["score"] for r in ref]  # the same exported graph
    assert out[0]["model"]["run"] == tiny_run.name
    flagged = next(r for r in out if r["verdict"] == "spill")
    assert c.get(f"/v1/verdicts/{flagged['id']}/explain.png").status_code == 200


def test_backend_torch_refuses_an_onnx_file(make_client, tiny_onnx: Path) -> None:
    c = make_client(loader=backend_loader("torch"))
    r = c.post("/v1/admin/reload", json={"run": str(tiny_onnx)}, headers=AUTH)
    assert r.status_code == 422 and "--backend onnx" in r.json()["message"]
    with pytest.raises(UserError, match="backend 'tensorrt' is unknown"):
        backend_loader("tensorrt")
