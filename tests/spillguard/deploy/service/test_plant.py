"""A plant in one test process: several ``serve --line`` apps on one PostgreSQL database (a new one per
test, dropped), verdicts to the real MQTT broker; what one instance stores every other one sees, a
promotion reaches the other instances of the line, and an unreachable database answers 503."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sharedcore.errors import UserError
from spillguard.cli import app as cli_app
from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.main import create_app

from .conftest import AUTH, TOKEN
from .servers import MQTT_URL, TcpProxy, fresh_database, mqtt_reachable, pg_reachable, unavailable

pytest.importorskip("psycopg", reason="the plant extra (psycopg) is not installed")


@pytest.fixture
def pg_url() -> Iterator[str]:
    why = pg_reachable()
    if why:
        unavailable(why)
    with fresh_database() as url:
        yield url


@pytest.fixture
def make_instance(tiny_run: Path, pg_url: str) -> Iterator[Callable[..., TestClient]]:
    """make_instance(line=..., **ServiceConfig fields) -> a started app on the test's database."""
    started: list[TestClient] = []

    def make(**kw: object) -> TestClient:
        fields: dict[str, object] = {"run": tiny_run, "db": pg_url, "token": TOKEN, "model_poll": 0.1}
        fields.update(kw)
        client = TestClient(create_app(ServiceConfig(**fields)))  # type: ignore[arg-type]
        client.__enter__()
        started.append(client)
        return client

    yield make
    for c in started:
        c.__exit__(None, None, None)


def _metric(text: str, name: str) -> dict[str, float]:
    out = {}
    for ln in text.splitlines():
        if ln.startswith(name):
            key, _, value = ln.rpartition(" ")
            out[key] = float(value)
    return out


def test_config_refusals(tiny_run: Path) -> None:
    with pytest.raises(UserError, match="--mqtt needs --line"):
        ServiceConfig(run=tiny_run, mqtt="mqtt://127.0.0.1:1883/x")
    with pytest.raises(UserError, match="--mqtt"):
        ServiceConfig(run=tiny_run, mqtt="http://x", line="a")
    with pytest.raises(UserError, match="keeps images in the database"):
        ServiceConfig(run=tiny_run, db="postgresql://h/db", store=Path("imgs"))
    with pytest.raises(UserError, match="--line"):
        ServiceConfig(run=tiny_run, line=" ")
    cfg = ServiceConfig(run=tiny_run, db="postgresql://u:pw@h/db")
    assert cfg.postgres and "pw" not in cfg.db_label and "images in the database" in cfg.db_label


def test_two_lines_share_the_database(
    make_instance: Callable[..., TestClient], pg_url: str, tmp_path: Path, spill_jpegs: list[bytes],
    normal_jpegs: list[bytes],
) -> None:  # fmt: skip
    a = make_instance(line="a", sample_normals=0.5)
    b = make_instance(line="b", sample_normals=0.5)
    ra = [a.post("/v1/score?camera=A1", content=d).json() for d in spill_jpegs[:6] + normal_jpegs[:10]]
    rb = [b.post("/v1/score?camera=B1", content=d).json() for d in spill_jpegs[6:12] + normal_jpegs[10:20]]
    ids = [r["id"] for r in ra + rb]
    assert len(set(ids)) == 32
    flagged_a = [r for r in ra if r["verdict"] == "spill"]
    flagged_b = [r for r in rb if r["verdict"] == "spill"]
    assert flagged_a and flagged_b
    # feedback given on b about a's verdict is seen on a
    r = b.post(f"/v1/verdicts/{flagged_a[0]['id']}/feedback", json={"label": "no_spill", "operator": "qc"},
               headers=AUTH)  # fmt: skip
    assert r.status_code == 200, r.text
    seen = a.get(f"/v1/verdicts/{flagged_a[0]['id']}").json()
    assert seen["feedback"]["label"] == "no_spill" and seen["camera"] == "A1"
    assert a.get(f"/v1/verdicts/{flagged_b[0]['id']}/image").content in spill_jpegs  # kept in the db
    # the review page of either instance lists both lines' flagged pits and cameras
    page = a.get("/review").text
    assert "B1" in page and "A1" in page
    assert f"/v1/verdicts/{flagged_b[0]['id']}/" in page
    # /metrics: the store's counts of every line, on both instances
    for inst in (a, b):
        m = _metric(inst.get("/metrics").text, "spillguard_store_verdicts")
        assert sum(v for k, v in m.items() if 'line="a"' in k) == 16
        assert sum(v for k, v in m.items() if 'line="b"' in k) == 16
    assert a.get("/v1/drift").json()  # computed over both lines' verdicts
    # the export reads every line's labels and images from the database
    out = CliRunner().invoke(cli_app, ["feedback", "export", pg_url, "-o", str(tmp_path / "fb")])
    assert out.exit_code == 0, out.output
    assert "1 false alarms" in out.output and (tmp_path / "fb" / "normal").is_dir()
    exported = (tmp_path / "fb" / "feedback_export.csv").read_text()
    assert "A1" in exported and "B1" in exported  # sampled normals of both lines


def test_a_promotion_reaches_the_other_instance_of_the_line(
    make_instance: Callable[..., TestClient], tiny_run: Path, tmp_path: Path, spill_jpegs: list[bytes]
) -> None:
    first = make_instance(line="a")
    second = make_instance(line="a")
    other_b = make_instance(line="b")
    before = first.get("/readyz").json()["model"]["id"]
    other = tmp_path / "other_run"
    shutil.copytree(tiny_run, other)
    r = first.post("/v1/admin/reload", json={"run": str(other)}, headers=AUTH)
    assert r.status_code == 200, r.text
    new = r.json()["model"]["id"]
    assert new != before and new.startswith("other_run@")
    t_end = time.monotonic() + 10
    while time.monotonic() < t_end and second.get("/readyz").json()["model"]["id"] != new:
        time.sleep(0.05)
    assert second.post("/v1/score", content=spill_jpegs[0]).json()["model"]["id"] == new  # no restart
    assert other_b.get("/readyz").json()["model"]["id"] == before  # line b keeps its model
    assert 'spillguard_reloads_total{outcome="promoted"} 1.0' in second.get("/metrics").text
    # a new instance of line a starts on the line's live model, whatever RUN it is given
    third = make_instance(line="a")
    assert third.get("/readyz").json()["model"]["id"] == new


def test_an_unreachable_database_answers_503_and_loses_nothing_answered(
    make_instance: Callable[..., TestClient], pg_url: str, spill_jpegs: list[bytes]
) -> None:
    u = urlsplit(pg_url)
    proxy = TcpProxy(u.hostname or "127.0.0.1", u.port or 5432).start()
    try:
        c = make_instance(db=urlunsplit(u._replace(netloc=f"{u.username}@127.0.0.1:{proxy.port}")), line="a")
        ok = [c.post("/v1/score", content=d).json()["id"] for d in spill_jpegs[:5]]
        proxy.stop()
        for d in spill_jpegs[5:8]:
            r = c.post("/v1/score", content=d)
            assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
            assert r.json()["error"] == "db_unavailable"
        r = c.get(f"/v1/verdicts/{ok[0]}")
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert c.get("/readyz").status_code == 503
        proxy.start()
        t_end = time.monotonic() + 15  # back without a restart (503s meanwhile say Retry-After)
        while time.monotonic() < t_end:
            r = c.post("/v1/score", content=spill_jpegs[9])
            if r.status_code == 200:
                ok.append(r.json()["id"])
                break
            assert r.status_code == 503
            time.sleep(0.2)
        assert len(ok) == 6
    finally:
        proxy.stop()
    import psycopg

    with psycopg.connect(pg_url) as conn:
        rows = [r[0] for r in conn.execute("SELECT id FROM verdicts ORDER BY id").fetchall()]
    assert rows == ok  # every answered verdict is there, nothing else


def test_verdicts_to_the_broker_from_the_store(
    make_instance: Callable[..., TestClient], spill_jpegs: list[bytes]
) -> None:
    why = mqtt_reachable()
    if why:
        unavailable(why)
    from .servers import unique_prefix
    from .test_mqtt import Listener

    lst = Listener(unique_prefix())
    try:
        c = make_instance(line="west 1", mqtt=f"{MQTT_URL}/{lst.prefix}")
        ids = [c.post("/v1/score?camera=cam1", content=d).json()["id"] for d in spill_jpegs[:10]]
        assert lst.wait_for(lambda: len(lst.verdicts()) >= 10)
        assert sorted(int(v["id"]) for v in lst.verdicts()) == ids  # type: ignore[call-overload]
        assert {t for t, _, _ in lst.messages if t.endswith("verdict")} == {
            f"{lst.prefix}/west 1/cam1/verdict"
        }
        assert lst.wait_for(lambda: "spillguard_mqtt_waiting 0.0" in c.get("/metrics").text)
        m = c.get("/metrics").text  # (marked sent just after the broker's acknowledgement)
        assert "spillguard_mqtt_connected 1.0" in m and "spillguard_mqtt_published 10.0" in m
        status = lst.statuses()[-1]
        assert status["online"] is True and status["line"] == "west 1"
    finally:
        lst.close()
