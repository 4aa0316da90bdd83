"""explain.png is drawn by the model that gave the verdict: kept in memory across reloads (a small LRU),
reloaded lazily from the run path recorded in the ``models`` table after a restart, and a clear 409/410
naming the model when that run is gone or now holds another model; the schema-1 -> 2 migration."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import torch
from fastapi.testclient import TestClient

from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.feedback import export_feedback
from spillguard.deploy.service.main import create_app
from spillguard.deploy.service.store import SCHEMA_VERSION

from .conftest import AUTH, TOKEN


def other_run(src: Path, dst: Path, factor: float) -> Path:
    """A copy of run ``src`` whose weights are scaled by ``factor`` (another model id, another
    reconstruction, the same thresholds)."""
    shutil.copytree(src, dst)
    ck = dst / "checkpoint.pt"
    data = torch.load(ck, map_location="cpu", weights_only=True)
    data["model_state"] = {
        k: v * factor if v.is_floating_point() and k.endswith("weight") else v
        for k, v in data["model_state"].items()
    }
    torch.save(data, ck)
    return dst


def _client(run: Path, db: Path, **kw: object) -> TestClient:
    c = TestClient(create_app(ServiceConfig(run=run, db=db, token=TOKEN, **kw)))  # type: ignore[arg-type]
    c.__enter__()
    return c


def _flagged(c: TestClient, images: list[bytes]) -> dict:
    return next(r for r in (c.post("/v1/score", content=d).json() for d in images) if r["verdict"] == "spill")


def _explain(c: TestClient, vid: int, query: str = ""):  # -> httpx.Response
    return c.get(f"/v1/verdicts/{vid}/explain.png{query}")


def test_explain_is_drawn_by_the_verdicts_model_across_reload_and_restart(
    tiny_run: Path, tmp_path: Path, spill_jpegs: list[bytes]
) -> None:
    first = tmp_path / "first"
    shutil.copytree(tiny_run, first)
    second = other_run(tiny_run, tmp_path / "second", 1.15)
    db = tmp_path / "v.sqlite"
    c = _client(first, db)
    try:
        a = _flagged(c, spill_jpegs)
        png_a = _explain(c, a["id"])
        assert png_a.status_code == 200 and png_a.headers["x-spillguard-model"] == a["model"]["id"]
        assert png_a.headers["x-spillguard-model-match"] == "yes"
        r = c.post("/v1/admin/reload", json={"run": str(second)}, headers=AUTH)
        assert r.status_code == 200, r.text
        b_model = r.json()["model"]["id"]
        assert b_model != a["model"]["id"] and b_model.startswith("second@")
        # the replaced model stays in memory: the old verdict's map is the same bytes, by the same model
        again = _explain(c, a["id"])
        assert again.status_code == 200 and again.content == png_a.content
        assert again.headers["x-spillguard-model"] == a["model"]["id"]
        assert again.headers["x-spillguard-verdict-model"] == a["model"]["id"]
        # the current model draws another map, and says so
        cur = _explain(c, a["id"], "?model=current")
        assert cur.status_code == 200 and cur.content != png_a.content
        assert (
            cur.headers["x-spillguard-model"] == b_model and cur.headers["x-spillguard-model-match"] == "no"
        )
        assert cur.headers["cache-control"] == "no-store"
        b = _flagged(c, spill_jpegs)
        assert b["model"]["id"] == b_model and _explain(c, b["id"]).headers["x-spillguard-model"] == b_model
        page = c.get("/review").text  # which model gave each verdict; the old one marked
        assert a["model"]["id"] in page and b_model in page and "(not the current model)" in page
        assert _explain(c, a["id"], "?model=/etc").status_code == 422  # never a path from the request
    finally:
        c.__exit__(None, None, None)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT model_id, run, run_path, kind, config FROM models ORDER BY rowid"
        ).fetchall()
    assert [(m, run, p, k) for m, run, p, k, _ in rows] == [
        (a["model"]["id"], "first", str(first.resolve()), "run"),
        (b_model, "second", str(second.resolve()), "run"),
    ]
    assert rows[0][4] == "conv_ae/local"

    # a restart with the second run: the first model is not in memory; loaded lazily from its path
    c = _client(second, db)
    try:
        assert c.app.state.service.holder.recent_ids() == [b_model]  # type: ignore[attr-defined]
        lazy = _explain(c, a["id"])
        assert lazy.status_code == 200 and lazy.content == png_a.content
        assert lazy.headers["x-spillguard-model"] == a["model"]["id"]
        assert c.app.state.service.holder.recent_ids() == [b_model, a["model"]["id"]]  # type: ignore[attr-defined]
    finally:
        c.__exit__(None, None, None)

    # the first run's folder retrained in place (now holds another checkpoint): 409 naming both ids
    shutil.copyfile(second / "checkpoint.pt", first / "checkpoint.pt")
    c = _client(second, db)
    try:
        assert "<figcaption>error map</figcaption>" in c.get("/review").text  # path there: not known yet
        r = _explain(c, a["id"])
        assert r.status_code == 409 and r.headers["content-type"] == "application/json"
        body = r.json()
        assert body["error"] == "model_changed" and body["model_id"] == a["model"]["id"]
        assert a["model"]["id"] in body["message"] and body["found_model_id"].startswith("first@")
        assert str(tmp_path) not in body["message"]  # no server path in an unauthenticated answer
        assert _explain(c, a["id"], "?only=error").json()["error"] == "model_changed"  # remembered
        page = c.get("/review").text
        assert "retrained or replaced in place" in page and "drawn by the current model instead" in page
        assert _explain(c, a["id"], "?model=current").status_code == 200
        assert _explain(c, b["id"]).status_code == 200  # the current model's own verdicts are unaffected
    finally:
        c.__exit__(None, None, None)

    # the first run deleted: 410 naming the model; the page shows why instead of a broken image
    shutil.rmtree(first)
    c = _client(second, db)
    try:
        assert "is gone from where it was served" in c.get("/review").text  # known without a load
        r = _explain(c, a["id"])
        assert r.status_code == 410 and r.json()["error"] == "model_gone"
        assert r.json()["model_id"] == a["model"]["id"] and "'first'" in r.json()["message"]
        assert c.get(f"/v1/verdicts/{a['id']}").json()["model_id"] == a["model"]["id"]  # the row is intact
    finally:
        c.__exit__(None, None, None)


def test_recent_models_are_a_small_lru(tiny_run: Path, tmp_path: Path, spill_jpegs: list[bytes]) -> None:
    runs = [other_run(tiny_run, tmp_path / f"r{i}", 1.0 + 0.05 * i) for i in range(3)]
    c = _client(runs[0], tmp_path / "v.sqlite", keep_models=2)
    try:
        holder = c.app.state.service.holder  # type: ignore[attr-defined]
        v0 = _flagged(c, spill_jpegs)
        ids = [v0["model"]["id"]]
        for run in runs[1:]:
            ids.append(c.post("/v1/admin/reload", json={"run": str(run)}, headers=AUTH).json()["model"]["id"])
        assert holder.recent_ids() == ids[1:]  # the oldest dropped beyond keep_models
        assert _explain(c, v0["id"]).headers["x-spillguard-model"] == ids[0]  # back from its run path
        assert holder.recent_ids() == [ids[2], ids[0]] and holder.current.info.model_id == ids[2]
    finally:
        c.__exit__(None, None, None)


def test_a_schema_1_database_is_migrated_and_keeps_working(
    tiny_run: Path, tmp_path: Path, spill_jpegs: list[bytes], normal_jpegs: list[bytes]
) -> None:
    first = tmp_path / "first"
    shutil.copytree(tiny_run, first)
    db = tmp_path / "v.sqlite"
    c = _client(first, db, sample_normals=1.0)
    try:
        a = _flagged(c, spill_jpegs)
        for d in normal_jpegs[:10]:
            c.post("/v1/score", content=d)
        c.post(
            f"/v1/verdicts/{a['id']}/feedback", json={"label": "no_spill", "operator": "ann"}, headers=AUTH
        )
        n = c.get("/metrics")  # noqa: F841  (the server is fine before the downgrade)
    finally:
        c.__exit__(None, None, None)
    with sqlite3.connect(db) as conn:  # what a version-1 database is: without models and the plant tables
        for table in ("live_models", "outbox", "models"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("ALTER TABLE verdicts DROP COLUMN line")
        conn.execute("PRAGMA user_version = 1")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        n_rows = conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    v1_copy = tmp_path / "v1.sqlite"
    shutil.copyfile(db, v1_copy)
    res = export_feedback(v1_copy, tmp_path / "export")  # feedback export still reads version 1
    assert res.counts["false_alarms"] == 1 and res.counts["sampled_normals"] >= 1

    second = other_run(tiny_run, tmp_path / "second", 1.1)
    c = _client(second, db)
    try:
        assert c.get("/readyz").json()["ready"]
        old = c.get(f"/v1/verdicts/{a['id']}").json()
        assert old["model_id"] == a["model"]["id"] and old["feedback"]["label"] == "no_spill"
        r = _explain(c, a["id"])  # its model was never recorded with a path: 410 saying so
        assert (
            r.status_code == 410
            and r.json()["error"] == "model_gone"
            and "schema version 2" in r.json()["message"]
        )
        assert c.post("/v1/score", content=spill_jpegs[0]).status_code == 200
    finally:
        c.__exit__(None, None, None)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        assert conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0] == n_rows + 1
        models = dict(conn.execute("SELECT model_id, run_path FROM models").fetchall())
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    assert models == {
        a["model"]["id"]: None,
        c.app.state.service.holder.current.info.model_id: str(second.resolve()),
    }  # type: ignore[attr-defined]
    assert meta["schema_version"] == "3" and "migrated_1_to_3" in meta


def test_a_recorded_run_that_no_longer_loads_is_410_without_server_paths(
    tiny_run: Path, tmp_path: Path, spill_jpegs: list[bytes]
) -> None:
    first = tmp_path / "first"
    shutil.copytree(tiny_run, first)
    db = tmp_path / "v.sqlite"
    c = _client(first, db)
    try:
        a, b = (_flagged(c, spill_jpegs[i:]) for i in (0, 5))
    finally:
        c.__exit__(None, None, None)
    (first / "checkpoint.pt").write_bytes(b"\0" * 64)  # damaged on disk
    c = _client(other_run(tiny_run, tmp_path / "second", 1.1), db)
    try:
        for v in (a, b):  # the second answer comes from the remembered failure, naming the same model
            r = _explain(c, v["id"])
            assert r.status_code == 410 and r.json()["error"] == "model_gone", r.text
            assert "no longer loads" in r.json()["message"] and a["model"]["id"] in r.json()["message"]
            assert str(tmp_path) not in r.json()["message"]
    finally:
        c.__exit__(None, None, None)
