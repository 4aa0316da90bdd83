"""A real ``spillguard serve`` process on 127.0.0.1 (a free port): scoring, SIGTERM draining in-flight
requests, and a restart on the same database that loses nothing."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from .conftest import AUTH, TOKEN
from .live import free_port, serve_process

pytestmark = pytest.mark.slow


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])


def test_serve_process_drains_on_sigterm_and_restarts(
    tiny_run: Path, tmp_path: Path, spill_jpegs: list[bytes]
) -> None:
    db = tmp_path / "v.sqlite"
    accepted: list[int] = []
    failures: list[str] = []
    with serve_process(tiny_run, db, "--token", TOKEN) as (url, proc):
        r = httpx.post(url + "/v1/score?camera=c1", content=spill_jpegs[0])
        assert r.status_code == 200 and r.json()["camera"] == "c1"
        accepted.append(r.json()["id"])
        assert httpx.post(url + "/v1/score", content=b"junk").status_code == 415
        assert httpx.get(url + "/docs").status_code == 200
        assert "spillguard_requests_total" in httpx.get(url + "/metrics").text
        stop = threading.Event()

        def client(k: int) -> None:
            with httpx.Client(base_url=url, timeout=30) as c:
                i = 0
                while not stop.is_set():
                    try:
                        resp = c.post("/v1/score", content=spill_jpegs[(k + i) % len(spill_jpegs)])
                    except httpx.TransportError:
                        return  # the server stopped accepting: this request was never accepted
                    if resp.status_code == 200:
                        accepted.append(resp.json()["id"])
                    else:
                        failures.append(resp.text)
                    i += 1

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        while len(accepted) < 60:
            threading.Event().wait(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143  # drained, then exit 143 (terminated), as every command
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not failures, failures[:3]
    assert _rows(db) == len(accepted) == len(set(accepted))
    assert not Path(str(db) + "-wal").exists() or Path(str(db) + "-wal").stat().st_size == 0
    with serve_process(tiny_run, db, "--token", TOKEN) as (url, _):
        last = httpx.get(f"{url}/v1/verdicts/{max(accepted)}")
        assert last.status_code == 200
        fb = httpx.post(
            f"{url}/v1/verdicts/{accepted[0]}/feedback",
            json={"label": "spill", "operator": "a"},
            headers=AUTH,
        )
        assert fb.status_code == 200
        assert httpx.post(url + "/v1/score", content=spill_jpegs[1]).json()["id"] == max(accepted) + 1


def test_serve_refuses_a_public_address_without_token(tiny_run: Path, tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "spillguard", "serve", str(tiny_run), "--host", "0.0.0.0", "--port", str(free_port()),
         "--db", str(tmp_path / "v.sqlite")],
        capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "SPILLGUARD_THREADS": "1"},
    )  # fmt: skip
    assert res.returncode == 2
    assert (
        "refusing to listen beyond loopback without a token" in res.stderr and "Traceback" not in res.stderr
    )
