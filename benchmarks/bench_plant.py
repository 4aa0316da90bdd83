"""A plant on loopback: one `spillguard serve` on PostgreSQL against the same on SQLite (same run, same
clients, one after the other in this run), then two instances (`--line a`, `--line b`) on one PostgreSQL
database with `--mqtt`, 16 clients each at once. Targets: PostgreSQL >= 0.8x the SQLite requests/s
with p99 <= 50 ms; two instances: 0 lost, 0 duplicated, rows = answered requests, MQTT messages =
verdicts.

Baseline: the SQLite instance (`--db FILE`, the embedded default). Servers: PostgreSQL at
SPILLGUARD_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test; the benchmark creates its own
database and drops it) and the MQTT broker at SPILLGUARD_TEST_MQTT (default mqtt://127.0.0.1:1883; a
unique topic prefix, retained status cleared). Images and model as in bench_serve.py (real pits from
../shared when present; the shipped default architecture, one short epoch unless --run RUN).

    python benchmarks/bench_plant.py [--run RUN] [--requests 3000] [--clients 16] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serve import Load, Server, free_port, make_run, measured, pct, pit_images, run_load, workdir

PG_URL = os.environ.get("SPILLGUARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
MQTT_URL = os.environ.get("SPILLGUARD_TEST_MQTT", "mqtt://127.0.0.1:1883")


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def new_database() -> tuple[str, str]:
    name = f"sg_bench_{uuid.uuid4().hex[:10]}"
    admin(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(urlsplit(PG_URL)._replace(path="/" + name))


class Counter:
    """An MQTT subscriber counting verdict messages by id (duplicates kept apart)."""

    def __init__(self, prefix: str) -> None:
        import paho.mqtt.client as mqtt

        self.ids: dict[int, int] = {}
        self.lock = threading.Lock()
        self.status_topics: set[str] = set()
        u = urlsplit(MQTT_URL)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{prefix[-10:]}")
        ready = threading.Event()
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(u.hostname or "127.0.0.1", u.port or 1883)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/#", qos=1)
        if not ready.wait(10):
            raise RuntimeError("the MQTT broker did not confirm the subscription")

    def _on_message(self, client: object, userdata: object, msg: object) -> None:
        topic: str = msg.topic  # type: ignore[attr-defined]
        if topic.endswith("/status"):
            self.status_topics.add(topic)
            return
        vid = int(json.loads(msg.payload)["id"])  # type: ignore[attr-defined]
        with self.lock:
            self.ids[vid] = self.ids.get(vid, 0) + 1

    def close(self) -> None:
        for t in self.status_topics:
            self.client.publish(t, b"", qos=1, retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


def row(name: str, load: Load, base: Load | None, n_requests: int) -> str:
    rps = len(load.latencies) / load.seconds if load.seconds else float("nan")
    ratio = (
        f"{rps / (len(base.latencies) / base.seconds):.2f}x" if base is not None and base.seconds else "1.00x"
    )
    return (
        f"| {name} | {n_requests:,} | {load.seconds:.2f} | {rps:,.0f} | {pct(load.latencies, 50):.1f} | "
        f"{pct(load.latencies, 99):.1f} | {len(load.failed)} | {ratio} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=None, help="a run folder (default: one short epoch)")
    ap.add_argument("--requests", type=int, default=3000, help="requests per phase (per instance)")
    ap.add_argument("--clients", type=int, default=16, help="concurrent clients (per instance)")
    ap.add_argument("--rounds", type=int, default=2, help="SQLite/PostgreSQL phases, alternated")
    args = ap.parse_args()
    images, where = pit_images(256)
    dbs: list[str] = []
    with workdir() as tmp:
        run = args.run or make_run(tmp)
        print(f"images: {where}; run: {run}; {args.requests} requests x {args.clients} clients per phase")
        table = ["| phase | requests | seconds | req/s | p50 ms | p99 ms | failed | vs SQLite |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        sqlite_runs: list[Load] = []
        pg_runs: list[Load] = []
        try:
            for r in range(args.rounds):
                for kind in ("sqlite", "postgresql"):
                    if kind == "sqlite":
                        db = str(tmp / f"v{r}.sqlite")
                    else:
                        name, db = new_database()
                        dbs.append(name)
                    srv = Server(run, db, free_port())  # type: ignore[arg-type]
                    srv.start()
                    try:
                        asyncio.run(run_load(srv.port, images, 200, args.clients))  # warm-up
                        load = measured(srv, run_load(srv.port, images, args.requests, args.clients))
                    finally:
                        srv.stop()
                    (sqlite_runs if kind == "sqlite" else pg_runs).append(load)
                    base = sqlite_runs[-1] if kind == "postgresql" else None
                    table.append(row(f"one instance, {kind} (round {r + 1})", load, base, args.requests))

            # two instances on one database, MQTT on
            name, db = new_database()
            dbs.append(name)
            prefix = f"bench/{uuid.uuid4().hex[:10]}"
            counter = Counter(prefix)
            servers = [
                Server(run, db, free_port(), "--line", line, "--mqtt", f"{MQTT_URL}/{prefix}")  # type: ignore[arg-type]
                for line in ("a", "b")
            ]
            try:
                for s in servers:
                    s.start()

                async def both() -> list[Load]:
                    return list(
                        await asyncio.gather(
                            *(run_load(s.port, images, args.requests, args.clients) for s in servers)
                        )
                    )

                t0 = time.perf_counter()
                loads = asyncio.run(both())
                seconds = time.perf_counter() - t0
                import psycopg

                with psycopg.connect(db) as conn:
                    t_end = time.monotonic() + 60
                    while time.monotonic() < t_end:
                        row_ = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()
                        conn.commit()
                        if row_ is not None and row_[0] == 0:
                            break
                        time.sleep(0.2)
                    rows = {int(x[0]) for x in conn.execute("SELECT id FROM verdicts").fetchall()}
                    waiting = int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])  # type: ignore[index]
                t_end = time.monotonic() + 10
                answered = [i for ld in loads for i in ld.ids]
                while time.monotonic() < t_end and len(counter.ids) < len(rows):
                    time.sleep(0.1)
            finally:
                for s in servers:
                    s.stop()
                counter.close()
            for line, ld in zip(("a", "b"), loads, strict=True):
                table.append(
                    row(f"two instances on one PostgreSQL, line {line} (+MQTT)", ld, None, args.requests)
                )
            total = sum(len(ld.latencies) for ld in loads)
            print("\n".join(table))
            lost = len(set(answered) - rows)
            duplicated = len(answered) - len(set(answered))
            messages = sum(counter.ids.values())
            doubled = sum(n - 1 for n in counter.ids.values() if n > 1)
            print(
                f"\ntwo instances: {total:,} requests in {seconds:.2f} s ({total / seconds:,.0f} req/s together); "
                f"answered 200: {len(answered):,}; rows: {len(rows):,}; lost: {lost}; duplicated ids: "
                f"{duplicated}; rows not answered: {len(rows - set(answered))}; MQTT messages: {messages:,} "
                f"({len(counter.ids):,} distinct ids, {doubled} sent twice, {len(rows - set(counter.ids))} rows "
                f"never published); outbox left: {waiting}"
            )
            ratios = [
                (len(p.latencies) / p.seconds) / (len(s.latencies) / s.seconds)
                for p, s in zip(pg_runs, sqlite_runs, strict=True)
            ]
            p99 = [pct(p.latencies, 99) for p in pg_runs]
            ok = (
                min(ratios) >= 0.8
                and max(p99) <= 50
                and lost == duplicated == 0
                and rows == set(answered)
                and messages == len(rows)
                and set(counter.ids) == rows
            )
            print(
                f"PostgreSQL vs SQLite: {', '.join(f'{x:.2f}x' for x in ratios)} (target >= 0.8x), PostgreSQL "
                f"p99 {', '.join(f'{x:.1f}' for x in p99)} ms (target <= 50); targets "
                f"{'met' if ok else 'NOT met'}"
            )
        finally:
            for name in dbs:
                admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
