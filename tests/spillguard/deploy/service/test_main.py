"""The scoring service through FastAPI's test client: scoring, storage, bad input, tokens, reload,
probes, metrics, explanations, the review page and restarts."""

from __future__ import annotations

import io
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from sharedcore.errors import UserError
from sharedcore.web import loopback
from spillguard.data import decode_image
from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.main import create_app, serve
from spillguard.deploy.service.store import SCHEMA_VERSION
from spillguard.deploy.service.uploads import Limits
from spillguard.detector import SpillDetector

from .conftest import AUTH, TOKEN, jpeg


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])


def test_score_raw_and_multipart_store_the_verdict(make_client, tiny_run, tmp_path, spill_jpegs) -> None:
    c = make_client()
    det = SpillDetector.load(tiny_run)
    data = spill_jpegs[0]
    expect = float(
        det.score_samples(decode_image(data, (det.config.height, det.config.width))[None].copy())[0]
    )
    r = c.post("/v1/score?camera=line1&source=frame-7", content=data, headers={"content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["score"] == pytest.approx(expect, rel=1e-5)
    assert body["threshold"] == pytest.approx(det.threshold())
    assert body["rule"] == det.threshold_rule_
    assert body["verdict"] == ("spill" if expect > det.threshold() else "no_spill")
    assert body["camera"] == "line1" and body["source"] == "frame-7" and body["latency_ms"] > 0
    assert body["model"]["run"] == tiny_run.name and body["model"]["id"].startswith(tiny_run.name + "@")
    assert body["model"]["config"] == "conv_ae/local" and body["model"]["trained_at"]
    # multipart, fields as form values; the file name and content type say nothing (bytes decide)
    r2 = c.post(
        "/v1/score", files={"file": ("x.png", data, "image/png")}, data={"camera": "line2", "source": "s"}
    )
    assert r2.status_code == 200, r2.text
    assert r2.json()["score"] == pytest.approx(expect, rel=1e-5) and r2.json()["camera"] == "line2"
    v = c.get(f"/v1/verdicts/{body['id']}").json()
    assert (
        v["score"] == pytest.approx(expect)
        and v["camera"] == "line1"
        and v["image_sha256"] == body["image_sha256"]
    )
    assert v["feedback"] is None and v["model_id"] == body["model"]["id"]
    assert _rows(tmp_path / "v.sqlite") == 2
    with sqlite3.connect(tmp_path / "v.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_flagged_images_are_kept_content_addressed_and_normals_sampled(
    make_client, tmp_path, spill_jpegs, normal_jpegs
) -> None:
    c = make_client(sample_normals=0.5)
    results = [c.post("/v1/score", content=d).json() for d in spill_jpegs[:10] + normal_jpegs[:30]]
    kept = {r["id"]: c.get(f"/v1/verdicts/{r['id']}").json()["image_kept"] for r in results}
    for r in results:
        if r["verdict"] == "spill":
            assert kept[r["id"]]
            got = c.get(f"/v1/verdicts/{r['id']}/image")
            assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
            path = tmp_path / "v-images" / r["image_sha256"][:2] / f"{r['image_sha256']}.jpg"
            assert path.read_bytes() == got.content
    normals_kept = [kept[r["id"]] for r in results if r["verdict"] == "no_spill"]
    assert 0 < sum(normals_kept) < len(normals_kept)  # a sample, chosen by digest
    assert any(r["verdict"] == "spill" for r in results)
    none = make_client(sample_normals=0.0, db=tmp_path / "b.sqlite")
    r = [none.post("/v1/score", content=d).json() for d in normal_jpegs[:20]]
    assert all(
        not none.get(f"/v1/verdicts/{x['id']}").json()["image_kept"] for x in r if x["verdict"] == "no_spill"
    )


def test_batch_scores_in_order_like_single_requests(make_client, spill_jpegs, normal_jpegs) -> None:
    c = make_client()
    data = [spill_jpegs[0], normal_jpegs[0], spill_jpegs[1], normal_jpegs[1]]
    single = [c.post("/v1/score", content=d).json()["score"] for d in data]
    r = c.post(
        "/v1/score/batch?camera=cam9",
        files=[("files", (f"img{i}.jpg", d, "application/octet-stream")) for i, d in enumerate(data)],
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["count"] == 4
    assert [x["score"] for x in out["results"]] == pytest.approx(single, rel=1e-5)
    assert [x["source"] for x in out["results"]] == ["img0.jpg", "img1.jpg", "img2.jpg", "img3.jpg"]
    assert len({x["id"] for x in out["results"]}) == 4 and {x["camera"] for x in out["results"]} == {"cam9"}
    # one bad image rejects the whole batch, naming it, and stores nothing
    n = len(c.get("/v1/drift").json()["decile_shares"])
    assert n == 10
    bad = c.post("/v1/score/batch", files=[("files", ("a.jpg", data[0])), ("files", ("b.jpg", b"junk"))])
    assert bad.status_code == 415 and "image 1 (b.jpg)" in bad.json()["message"]
    assert c.post("/v1/score/batch", content=data[0]).status_code == 415


def _png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h)).save(buf, format="PNG")
    return buf.getvalue()


def test_bad_input_gets_a_json_4xx_and_nothing_is_stored(make_client, tmp_path, spill_jpegs) -> None:
    c = make_client(limits=Limits(max_bytes=5 * 1024 * 1024, max_pixels=4_000_000))
    good = spill_jpegs[0]
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    big_jpeg = jpeg(np.random.default_rng(0).integers(0, 256, (1700, 1700, 3), dtype=np.uint8), quality=100)
    assert len(big_jpeg) > 5 * 1024 * 1024
    cases = [
        (b"", 400, "empty_body"),
        (b"this is not an image at all", 415, "not_an_image"),
        (gif.getvalue(), 415, "unsupported_type"),
        (good[: (good.index(b"\xff\xda") + len(good)) // 2], 422, "undecodable"),  # truncated in the scan
        (good[:200], 422, "bad_image"),  # truncated inside the header
        (big_jpeg, 413, "too_large"),
        (_png(5000, 5000), 422, "too_many_pixels"),  # a decompression bomb: small file, 25 MP
    ]
    for data, status, code in cases:
        r = c.post("/v1/score", content=data, headers={"content-type": "image/jpeg"})
        assert r.status_code == status, (code, r.text)
        assert r.json()["error"] == code and r.json()["message"], r.text
    r = c.post("/v1/score", files={"file": ("big.jpg", big_jpeg)})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    chunks = (big_jpeg[i : i + 65536] for i in range(0, len(big_jpeg), 65536))  # no Content-Length
    r = c.post("/v1/score", content=chunks)
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert c.post("/v1/score?camera=" + "x" * 65, content=good).json()["error"] == "bad_name"
    assert c.post("/v1/score", files={"a": (None, "text only")}).json()["error"] == "no_file"
    assert _rows(tmp_path / "v.sqlite") == 0
    assert c.get("/v1/verdicts/12345").status_code == 404
    assert c.get("/v1/verdicts/12345").json()["error"] == "unknown_verdict"
    assert c.get("/v1/verdicts/abc").status_code == 422
    ok = c.post("/v1/score", content=good)  # still serving
    assert ok.status_code == 200
    vid = ok.json()["id"]
    bad_labels = [
        {"label": "maybe", "operator": "ann"},
        {"label": "spill"},
        {"label": "spill", "operator": ""},
    ]
    for body in bad_labels:
        r = c.post(f"/v1/verdicts/{vid}/feedback", json=body, headers=AUTH)
        assert r.status_code == 422 and r.json()["error"] == "invalid_request", r.text
    assert (
        c.post(
            "/v1/verdicts/999/feedback", json={"label": "spill", "operator": "a"}, headers=AUTH
        ).status_code
        == 404
    )
    assert c.get(f"/v1/verdicts/{vid}").json()["feedback"] is None
    metrics = c.get("/metrics").text
    assert 'spillguard_errors_total{code="too_large"} 3.0' in metrics
    assert 'spillguard_errors_total{code="too_many_pixels"} 1.0' in metrics


def test_write_endpoints_need_the_token(make_client, spill_jpegs, tiny_run) -> None:
    c = make_client()
    vid = c.post("/v1/score", content=spill_jpegs[0]).json()["id"]
    fb = {"label": "no_spill", "operator": "ann", "note": "glare"}
    for headers, status in [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 403),
        ({"Authorization": TOKEN}, 401),
    ]:
        r = c.post(f"/v1/verdicts/{vid}/feedback", json=fb, headers=headers)
        assert r.status_code == status and r.json()["error"] in ("unauthorized", "forbidden")
        assert c.post("/v1/admin/reload", json={"run": str(tiny_run)}, headers=headers).status_code == status
    assert c.get(f"/v1/verdicts/{vid}").json()["feedback"] is None
    r = c.post(f"/v1/verdicts/{vid}/feedback", json=fb, headers=AUTH)
    assert r.status_code == 200 and r.json()["label"] == "no_spill" and r.json()["note"] == "glare"
    assert c.get(f"/v1/verdicts/{vid}").json()["feedback"]["operator"] == "ann"


def test_bind_beyond_loopback_needs_a_token(tiny_run, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SPILLGUARD_TOKEN", raising=False)
    assert loopback("127.0.0.1") and loopback("::1") and loopback("localhost")
    assert not loopback("0.0.0.0") and not loopback("10.1.2.3")
    with pytest.raises(UserError, match="without a token"):
        serve(ServiceConfig(run=tiny_run, db=tmp_path / "v.sqlite"), host="0.0.0.0", port=8000)
    assert not (tmp_path / "v.sqlite").exists()


def test_reload_swaps_atomically_and_no_request_fails(make_client, tiny_run, tmp_path, spill_jpegs) -> None:
    c = make_client()
    other = tmp_path / "other_run"
    shutil.copytree(tiny_run, other)
    before = c.get("/readyz").json()["model"]["id"]
    bad = c.post("/v1/admin/reload", json={"run": str(tmp_path / "missing")}, headers=AUTH)
    assert (
        bad.status_code == 422 and bad.json()["error"] == "bad_run" and "checkpoint" in bad.json()["message"]
    )
    assert c.get("/readyz").json()["model"]["id"] == before

    def hit(i: int) -> tuple[int, str]:
        r = c.post("/v1/score", content=spill_jpegs[i % len(spill_jpegs)])
        return r.status_code, r.json()["model"]["id"] if r.status_code == 200 else r.text

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(hit, i) for i in range(40)]
        r = c.post("/v1/admin/reload", json={"run": str(other)}, headers=AUTH)
        results = [f.result() for f in futures]
    assert r.status_code == 200, r.text
    assert r.json()["previous"]["id"] == before and r.json()["model"]["run"] == "other_run"
    assert all(status == 200 for status, _ in results), results
    assert {m for _, m in results} <= {before, r.json()["model"]["id"]}
    assert c.post("/v1/score", content=spill_jpegs[0]).json()["model"]["id"].startswith("other_run@")
    assert _rows(tmp_path / "v.sqlite") == 41
    assert 'spillguard_model_info{config="conv_ae/local",model_id="other_run@' in c.get("/metrics").text


def test_probes_metrics_and_docs(make_client, spill_jpegs) -> None:
    c = make_client()
    assert c.get("/healthz").json() == {"status": "ok"}
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] and ready.json()["database"] == "writable"
    for d in spill_jpegs[:5]:
        c.post("/v1/score", content=d)
    m = c.get("/metrics")
    assert m.headers["content-type"].startswith("text/plain")
    text = m.text
    for name in (
        'spillguard_requests_total{route="/v1/score",status="200"} 5.0',
        "spillguard_request_latency_seconds_bucket",
        "spillguard_verdicts_total",
        "spillguard_score_count 5.0",
        "spillguard_batch_images_sum 5.0",
        "spillguard_model_info{",
    ):
        assert name in text, name
    spec = c.get("/openapi.json").json()
    for path in ("/v1/score", "/v1/score/batch", "/v1/verdicts/{verdict_id}", "/v1/admin/reload", "/review"):
        assert path in spec["paths"], path
    assert "image/jpeg" in spec["paths"]["/v1/score"]["post"]["requestBody"]["content"]
    assert c.get("/docs").status_code == 200


def test_explain_png_of_a_kept_image(make_client, spill_jpegs, tiny_run) -> None:
    c = make_client()
    flagged = next(
        r for r in (c.post("/v1/score", content=d).json() for d in spill_jpegs) if r["verdict"] == "spill"
    )
    r = c.get(f"/v1/verdicts/{flagged['id']}/explain.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    cfg = SpillDetector.load(tiny_run).config
    im = Image.open(io.BytesIO(r.content))
    assert im.size == (3 * cfg.width + 4, cfg.height)
    big = Image.open(
        io.BytesIO(c.get(f"/v1/verdicts/{flagged['id']}/explain.png?scale=4&only=error").content)
    )
    assert big.size == (4 * cfg.width, 4 * cfg.height)
    assert c.get(f"/v1/verdicts/{flagged['id']}/explain.png?scale=99").status_code == 422


def test_review_page_lists_flagged_pits_highest_first_with_filters(
    make_client, spill_jpegs, normal_jpegs
) -> None:
    c = make_client()
    for i, d in enumerate(spill_jpegs[:8] + normal_jpegs[:10]):
        c.post(f"/v1/score?camera={'a' if i % 2 else 'b'}", content=d)
    page = c.get("/review")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    ids = [int(x.split('"')[0]) for x in html.split('data-id="')[1:]]
    flagged = [c.get(f"/v1/verdicts/{i}").json() for i in ids]
    assert flagged and all(v["verdict"] == "spill" for v in flagged)
    assert [v["score"] for v in flagged] == sorted((v["score"] for v in flagged), reverse=True)
    assert f'id="n-waiting">{len(ids)}<' in html and "image-rendering" not in html  # style in the CSS file
    assert "pixelated" in c.get("/static/review.css").text
    only_a = c.get("/review?camera=a").text
    assert all(
        c.get(f"/v1/verdicts/{int(x.split(chr(34))[0])}").json()["camera"] == "a"
        for x in only_a.split('data-id="')[1:]
    )
    assert 'data-id="' not in c.get("/review?since=2100-01-01T00:00").text
    assert c.get("/review?since=yesterday").json()["error"] == "bad_time"
    assert "Drift: last 18 images" in html


def test_restart_loses_nothing(tiny_run, tmp_path, spill_jpegs, normal_jpegs) -> None:
    cfg = ServiceConfig(run=tiny_run, db=tmp_path / "v.sqlite", token=TOKEN)
    with TestClient(create_app(cfg)) as c:
        ids = [c.post("/v1/score", content=d).json()["id"] for d in spill_jpegs[:10] + normal_jpegs[:10]]
        c.post(f"/v1/verdicts/{ids[0]}/feedback", json={"label": "spill", "operator": "ann"}, headers=AUTH)
    assert _rows(tmp_path / "v.sqlite") == 20
    with TestClient(create_app(cfg)) as c:
        assert c.get(f"/v1/verdicts/{ids[-1]}").status_code == 200
        assert c.get(f"/v1/verdicts/{ids[0]}").json()["feedback"]["label"] == "spill"
        new = c.post("/v1/score", content=spill_jpegs[0]).json()["id"]
        assert new == max(ids) + 1


def test_a_bad_run_or_database_is_a_one_line_error(tiny_run, tmp_path) -> None:
    with pytest.raises(UserError, match="checkpoint"):
        create_app(ServiceConfig(run=tmp_path / "nope", db=tmp_path / "v.sqlite"))
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(UserError, match="not a usable SQLite database"):
        create_app(ServiceConfig(run=tiny_run, db=junk))
    with pytest.raises(UserError, match="threshold rule 'nope'"):
        create_app(ServiceConfig(run=tiny_run, db=tmp_path / "x.sqlite", rule="nope"))


def test_cli_serve_and_export_errors_are_one_line(tmp_path) -> None:
    from typer.testing import CliRunner

    from spillguard.cli import app as cli_app

    from .live import free_port

    res = CliRunner().invoke(
        cli_app,
        ["serve", str(tmp_path / "nope"), "--port", str(free_port()), "--db", str(tmp_path / "v.sqlite")],
    )
    assert isinstance(res.exception, UserError) and "checkpoint" in str(res.exception)
    res = CliRunner().invoke(
        cli_app, ["feedback", "export", str(tmp_path / "none.sqlite"), "-o", str(tmp_path / "x")]
    )
    assert isinstance(res.exception, UserError) and "no such database" in str(res.exception)
