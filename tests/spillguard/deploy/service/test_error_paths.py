"""The service's error paths answer a JSON 4xx/503 naming the problem, never a 500: one bad image in a
batch (atomic: nothing of the batch stored), a kept image deleted or damaged in --store, the database
refusing writes while serving, unknown or out-of-range ids, broken runs on reload."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from spillguard.deploy.service.uploads import Limits

from .conftest import AUTH


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_one_bad_image_rejects_the_batch_naming_part_and_file(
    make_client, tmp_path: Path, spill_jpegs: list[bytes]
) -> None:
    c = make_client(limits=Limits(max_bytes=200_000, max_pixels=4_000_000, max_batch=8))
    good = spill_jpegs[:3]
    truncated = good[0][: (good[0].index(b"\xff\xda") + len(good[0])) // 2]  # cut inside the scan
    cases = [
        ([good[0], good[1], truncated], 2, "pit-3.jpg", 422, "undecodable"),
        ([b"GIF89a" + b"\0" * 50, good[0]], 0, "pit-1.jpg", 415, "not_an_image"),
        ([good[0], b"", good[1]], 1, "pit-2.jpg", 400, "empty_body"),
        ([good[0], b"\xff\xd8" + b"\0" * 300_000], 1, "pit-2.jpg", 413, "too_large"),
    ]
    for images, part, name, status, code in cases:
        files = [("files", (f"pit-{i + 1}.jpg", d, "image/jpeg")) for i, d in enumerate(images)]
        r = c.post("/v1/score/batch", files=files)
        assert r.status_code == status, (code, r.text)
        body = r.json()
        assert body["error"] == code and body["part"] == part and body["filename"] == name
        assert f"image {part} ({name})" in body["message"]
    # a client that sends a control character in a part's file name (httpx would escape it)
    raw = b"".join(
        b'--B\r\nContent-Disposition: form-data; name="files"; filename="' + n + b'"\r\n\r\n' + d + b"\r\n"
        for n, d in ((b"ok.jpg", good[0]), (b"tab\there.jpg", good[1]))
    )
    r = c.post(
        "/v1/score/batch",
        content=raw + b"--B--\r\n",
        headers={"content-type": "multipart/form-data; boundary=B"},
    )
    assert r.status_code == 422 and r.json()["error"] == "bad_name" and r.json()["part"] == 1
    # nothing of any rejected batch is stored: no row, no kept image file
    assert _rows(tmp_path / "v.sqlite") == 0 and _files(tmp_path / "v-images") == []
    ok = c.post("/v1/score/batch", files=[("files", (f"g{i}.jpg", d)) for i, d in enumerate(good)])
    assert ok.status_code == 200 and ok.json()["count"] == 3 and _rows(tmp_path / "v.sqlite") == 3
    spec = c.get("/openapi.json").json()["components"]["schemas"]["ErrorOut"]["properties"]
    assert {"part", "filename", "model_id"} <= set(spec)


def test_a_kept_image_deleted_or_damaged_in_the_store(make_client, tmp_path: Path, spill_jpegs) -> None:
    c = make_client()
    flagged = [
        r for r in (c.post("/v1/score", content=d).json() for d in spill_jpegs) if r["verdict"] == "spill"
    ]
    gone, damaged = flagged[0], flagged[1]
    path = lambda r: tmp_path / "v-images" / r["image_sha256"][:2] / f"{r['image_sha256']}.jpg"  # noqa: E731
    path(gone).unlink()
    path(damaged).write_bytes(path(damaged).read_bytes()[:300])
    for suffix in ("/image", "/explain.png"):
        r = c.get(f"/v1/verdicts/{gone['id']}{suffix}")
        assert r.status_code == 410 and r.json()["error"] == "image_missing", r.text
        assert "missing from the image store" in r.json()["message"]
    r = c.get(f"/v1/verdicts/{damaged['id']}/explain.png")
    assert r.status_code == 410 and r.json()["error"] == "image_damaged", r.text
    assert c.get(f"/v1/verdicts/{gone['id']}").json()["image_kept"]  # the row is intact
    assert c.get("/review").status_code == 200


def _writer_connection(c: TestClient) -> sqlite3.Connection:
    """The store's writer connection (taken from inside a job; the writer is idle between jobs)."""
    store = c.app.state.service.store  # type: ignore[attr-defined]
    return store._writer.submit(lambda conn: conn).result(10)  # type: ignore[no-any-return]


def test_a_database_refusing_writes_is_not_ready_and_answers_503(
    make_client, tiny_run: Path, tmp_path: Path, spill_jpegs
) -> None:
    c = make_client()
    vid = c.post("/v1/score", content=spill_jpegs[0]).json()["id"]
    writer = _writer_connection(c)
    writer.execute("PRAGMA query_only = ON")  # it refuses writes now, as a database turned read-only does
    try:
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert "not writable" in ready.json()["database"]
        r = c.post("/v1/score", content=spill_jpegs[1])
        assert r.status_code == 503 and r.json()["error"] == "db_unavailable", r.text
        assert "nothing was stored" in r.json()["message"] and r.headers["retry-after"]
        batch = c.post("/v1/score/batch", files=[("files", ("a.jpg", spill_jpegs[2]))])
        assert batch.status_code == 503 and batch.json()["error"] == "db_unavailable"
        fb = c.post(f"/v1/verdicts/{vid}/feedback", json={"label": "spill", "operator": "a"}, headers=AUTH)
        assert fb.status_code == 503 and fb.json()["error"] == "db_unavailable"
        other = tmp_path / "other"
        shutil.copytree(tiny_run, other)
        rl = c.post("/v1/admin/reload", json={"run": str(other)}, headers=AUTH)
        assert rl.status_code == 503 and rl.json()["error"] == "db_unavailable"
        assert c.get("/readyz").json()["model"]["run"] == tiny_run.name  # not swapped in unrecorded
        assert c.get(f"/v1/verdicts/{vid}").status_code == 200 and c.get("/review").status_code == 200
    finally:
        writer.execute("PRAGMA query_only = OFF")
    assert c.get("/readyz").status_code == 200  # writable again: ready again, serving again
    assert c.post("/v1/score", content=spill_jpegs[1]).status_code == 200
    assert _rows(tmp_path / "v.sqlite") == 2
    assert 'spillguard_errors_total{code="db_unavailable"} 4.0' in c.get("/metrics").text


@pytest.mark.parametrize("vid", ["0", "-3", str(2**63), "99999999999999999999999"])
def test_out_of_range_verdict_ids_are_422(make_client, vid: str) -> None:
    c = make_client()
    for r in (
        c.get(f"/v1/verdicts/{vid}"),
        c.get(f"/v1/verdicts/{vid}/image"),
        c.get(f"/v1/verdicts/{vid}/explain.png"),
        c.post(f"/v1/verdicts/{vid}/feedback", json={"label": "spill", "operator": "a"}, headers=AUTH),
    ):
        assert r.status_code == 422 and r.json()["error"] == "invalid_request", r.text
    unknown = c.post("/v1/verdicts/77/feedback", json={"label": "spill", "operator": "a"}, headers=AUTH)
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_verdict"
    assert c.get("/v1/verdicts/77/explain.png").json()["error"] == "unknown_verdict"


def test_reload_with_a_broken_run_is_422_and_keeps_the_model(
    make_client, tiny_run: Path, tmp_path: Path
) -> None:
    c = make_client()
    before = c.get("/readyz").json()["model"]["id"]
    junk = tmp_path / "junk"
    shutil.copytree(tiny_run, junk)
    (junk / "checkpoint.pt").write_bytes(b"not a checkpoint" * 10)
    no_cfg = tmp_path / "empty"
    no_cfg.mkdir()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("hello")
    for run in (str(junk), str(no_cfg), str(a_file), "runs/x\x00y", str(tmp_path / "missing")):
        r = c.post("/v1/admin/reload", json={"run": run}, headers=AUTH)
        assert r.status_code == 422 and r.json()["error"] == "bad_run", (run, r.text)
        assert r.json()["message"] and "\n" not in r.json()["message"]
    assert c.get("/readyz").json()["model"]["id"] == before
    assert c.app.state.service.holder.recent_ids() == [before]  # type: ignore[attr-defined]


def test_a_database_file_deleted_or_made_read_only_while_serving(
    make_client, tmp_path: Path, spill_jpegs, monkeypatch
) -> None:
    import spillguard.deploy.service.store.sqlite as store_mod

    c = make_client()
    assert c.post("/v1/score", content=spill_jpegs[0]).status_code == 200
    # read-only on disk (chmod; simulated, as root ignores modes): the open connection still commits,
    # so scoring goes on and nothing is lost, but the probe says a restart would fail
    real_access = store_mod.os.access
    monkeypatch.setattr(
        store_mod.os, "access", lambda p, m: False if Path(p) == tmp_path / "v.sqlite" else real_access(p, m)
    )
    ready = c.get("/readyz")
    assert ready.status_code == 503 and "read-only on disk" in ready.json()["database"]
    assert c.post("/v1/score", content=spill_jpegs[1]).status_code == 200
    monkeypatch.setattr(store_mod.os, "access", real_access)
    assert c.get("/readyz").status_code == 200 and _rows(tmp_path / "v.sqlite") == 2
    # deleted under the server: a commit into the unlinked file would vanish at restart, so 503
    (tmp_path / "v.sqlite").rename(tmp_path / "moved.sqlite")
    ready = c.get("/readyz")
    assert ready.status_code == 503 and "deleted while serving" in ready.json()["database"]
    r = c.post("/v1/score", content=spill_jpegs[2])
    assert r.status_code == 503 and r.json()["error"] == "db_unavailable" and "restart" in r.json()["message"]
    got = c.get("/v1/verdicts/1")  # reads through the vanished file: 503 too, never a 500
    assert got.status_code in (200, 503) and (
        got.status_code == 200 or got.json()["error"] == "db_unavailable"
    )
    (tmp_path / "moved.sqlite").rename(tmp_path / "v.sqlite")  # put back: ready again, nothing was added
    assert c.get("/readyz").status_code == 200
    assert c.get("/v1/verdicts/1").status_code == 200 and _rows(tmp_path / "v.sqlite") == 2
