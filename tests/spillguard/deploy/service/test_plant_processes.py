"""Two real `spillguard serve --line` processes on one PostgreSQL database with MQTT: `kill -9` of one
under load loses no verdict it answered, the other keeps serving, and what the killed one had not
published yet goes out when its line's instance is back (slow: real processes)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from .conftest import TOKEN
from .live import serve_process
from .servers import MQTT_URL, fresh_database, mqtt_reachable, pg_reachable, unavailable, unique_prefix

pytestmark = pytest.mark.slow
psycopg = pytest.importorskip("psycopg", reason="the plant extra (psycopg) is not installed")


def _load(
    url: str, images: list[bytes], n: int, ids: list[int], errors: list[str], stop: threading.Event
) -> None:
    """Up to ``n`` scoring requests on one keep-alive connection; answered ids into ``ids``."""
    with httpx.Client(base_url=url, timeout=10) as c:
        for i in range(n):
            if stop.is_set():
                return
            try:
                r = c.post("/v1/score?camera=cam", content=images[i % len(images)])
            except httpx.HTTPError as exc:  # the instance is gone
                errors.append(type(exc).__name__)
                return
            if r.status_code == 200:
                ids.append(r.json()["id"])
            else:
                errors.append(f"{r.status_code} {r.text[:100]}")


def test_kill_9_of_one_instance_loses_no_answered_verdict(
    tiny_run: Path, spill_jpegs: list[bytes], normal_jpegs: list[bytes]
) -> None:
    for why in (pg_reachable(), mqtt_reachable()):
        if why:
            unavailable(why)
    from .test_mqtt import Listener

    images = spill_jpegs[:10] + normal_jpegs[:30]
    lst = Listener(unique_prefix())
    try:
        with fresh_database() as db:
            mq = ("--mqtt", f"{MQTT_URL}/{lst.prefix}", "--token", TOKEN)
            with (
                serve_process(tiny_run, db, "--line", "a", *mq) as (url_a, proc_a),
                serve_process(tiny_run, db, "--line", "b", *mq) as (url_b, _),
            ):
                ids_a: list[int] = []
                ids_b: list[int] = []
                err_a: list[str] = []
                err_b: list[str] = []
                stop = threading.Event()
                threads = [
                    threading.Thread(target=_load, args=(url_a, images, 150, ids_a, err_a, stop))
                    for _ in range(3)
                ] + [
                    threading.Thread(target=_load, args=(url_b, images, 100, ids_b, err_b, stop))
                    for _ in range(3)
                ]
                for t in threads:
                    t.start()
                t_end = time.monotonic() + 60
                while len(ids_a) < 60 and time.monotonic() < t_end:
                    time.sleep(0.01)
                proc_a.kill()  # kill -9 in the middle of its load
                proc_a.wait(timeout=10)
                for t in threads:
                    t.join(timeout=120)
                assert len(ids_a) >= 60 and err_a  # a's clients saw it die
                assert err_b == [] and len(ids_b) == 300  # b kept serving every request
                extra = httpx.post(f"{url_b}/v1/score", content=images[0], timeout=10)
                assert extra.status_code == 200
                with psycopg.connect(db) as conn:
                    rows = dict(conn.execute("SELECT id, line FROM verdicts").fetchall())
                assert set(ids_a) <= {i for i, ln in rows.items() if ln == "a"}  # nothing answered is lost
                assert {i for i, ln in rows.items() if ln == "b"} == {*ids_b, extra.json()["id"]}
                assert lst.wait_for(
                    lambda: any(s["line"] == "a" and s["online"] is False for s in lst.statuses())
                )
            # line a back: what its killed instance had not published yet goes out now
            with serve_process(tiny_run, db, "--line", "a", *mq):
                assert lst.wait_for(lambda: {int(v["id"]) for v in lst.verdicts()} >= set(rows), timeout=30)  # type: ignore[call-overload]
                # an outbox row goes once the broker's PUBACK is back, which may come after the
                # subscriber has the message: wait (bounded) for the outbox to drain
                left: tuple[int, ...] | None = None
                t_drain = time.monotonic() + 30
                while time.monotonic() < t_drain:
                    with psycopg.connect(db) as conn:
                        left = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()
                    if left is not None and left[0] == 0:
                        break
                    time.sleep(0.05)
                assert left is not None and left[0] == 0
    finally:
        lst.close()
