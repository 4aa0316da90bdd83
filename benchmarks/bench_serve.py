"""Speed of `spillguard serve` on loopback: 16 concurrent clients sending single pit images, the batch
endpoint, and zero failed / zero lost verdicts across a reload in the middle of the load and a SIGTERM
restart. Targets: >= 500 requests/s with p99 <= 50 ms (single images), >= 3,000 images/s (batch).

Baseline (same run, same server build): the server with micro-batching off (``--score-batch 1``).
Images: real pits from ../shared/data/spills/test/imgs when present, else synthetic pits. Model: the
shipped default architecture (conv_ae_head; the weights do not change the speed), trained for one short
epoch on synthetic pits unless ``--run RUN`` names a run. The client is a small keep-alive HTTP/1.1 client
on asyncio (one process, beside the server), bounded request counts; the server is stopped at the end.

    python benchmarks/bench_serve.py [--run RUN] [--requests 4000] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))
TOKEN = "bench-token"


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; nan elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pit_images(n: int) -> tuple[list[bytes], str]:
    """Encoded single pit images and where they came from."""
    real = SHARED / "data" / "spills" / "test" / "imgs"
    if real.is_dir():
        files = sorted(real.glob("*.jpg"))[:n]
        if files:
            return [p.read_bytes() for p in files], f"real pits ({len(files)} files of {real})"
    from spillguard.data.synthetic import draw_pit

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.fromarray(draw_pit(rng, spill=i % 20 == 0), "RGB").save(buf, format="JPEG", quality=92)
        out.append(buf.getvalue())
    return out, f"synthetic pits ({n}; ../shared absent)"


def make_run(folder: Path) -> Path:
    """A run of the shipped default architecture, one short epoch on synthetic pits (speed only)."""
    from spillguard.config import TrainConfig
    from spillguard.data.synthetic import SynthSpec, write_synth
    from spillguard.pipelines.train import train_run

    data = write_synth(folder / "data", seed=0, spec=SynthSpec(300, 20, 10, 2))
    return train_run(
        data, folder / "run", TrainConfig(epochs=1, fit_decoder=False, batch_size=64, seed=0)
    ).run


class Server:
    """A `spillguard serve` process on 127.0.0.1."""

    def __init__(self, run: Path, db: Path, port: int, *extra: str) -> None:
        self.args = [sys.executable, "-m", "spillguard", "-q", "serve", str(run), "--port", str(port),
                     "--db", str(db), "--token", TOKEN, *extra]  # fmt: skip
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start and wait until /readyz answers; returns seconds to ready."""
        t0 = time.perf_counter()
        env = {**os.environ, "SPILLGUARD_THREADS": os.environ.get("SPILLGUARD_THREADS", "1")}
        self.proc = subprocess.Popen(self.args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                )
            try:
                status, _ = asyncio.run(request_once(self.port, "GET", "/readyz", b""))
                if status == 200:
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM (drains in-flight requests), wait; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    return status, await reader.readexactly(length)


def _request(method: str, path: str, body: bytes, ctype: str = "image/jpeg", auth: bool = False) -> bytes:
    extra = f"Authorization: Bearer {TOKEN}\r\n" if auth else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def request_once(port: int, method: str, path: str, body: bytes, ctype: str = "application/json",
                       auth: bool = False) -> tuple[int, bytes]:  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(_request(method, path, body, ctype, auth))
        await writer.drain()
        return await _read_response(reader)
    finally:
        writer.close()


@dataclass
class Load:
    """What one load phase saw."""

    latencies: list[float] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    images: int = 0
    failed: list[str] = field(default_factory=list)  # answered with an error, or cut off mid-response
    retried: int = 0  # not accepted (connection refused/closed before any answer) and sent again
    seconds: float = 0.0
    server_cpu: float = float("nan")  # CPU seconds the server process used during the phase


async def run_load(port: int, bodies: list[bytes], n: int, clients: int, path: str = "/v1/score",
                   ctype: str = "image/jpeg", per_request: int = 1,
                   at_half: object = None) -> Load:  # fmt: skip
    """``n`` requests from ``clients`` keep-alive connections; ``at_half`` (a coroutine function) runs once
    when half of them have been answered."""
    load = Load()
    counter = itertools.count()
    done = 0
    half_task: list[asyncio.Task[object]] = []

    async def worker() -> None:
        nonlocal done
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        i = next(counter)
        while i < n:
            body = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", port)
                reader, writer = conn
                writer.write(_request("POST", path, body, ctype))
                await writer.drain()
                status, payload = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
                partial = isinstance(exc, asyncio.IncompleteReadError) and bool(exc.partial)
                if conn is not None:
                    conn[1].close()
                conn = None
                if partial:  # an answer had started: that is a failure, not a refusal
                    load.failed.append(f"cut off: {exc}")
                    i = next(counter)
                else:  # never accepted (server stopping or not up yet): send it again
                    load.retried += 1
                    await asyncio.sleep(0.05)
                continue
            load.latencies.append(time.perf_counter() - t0)
            if status == 200:
                data = json.loads(payload)
                if "results" in data:
                    load.ids += [r["id"] for r in data["results"]]
                    load.images += len(data["results"])
                else:
                    load.ids.append(data["id"])
                    load.images += 1
            else:
                load.failed.append(f"{status} {payload[:120]!r}")
            done += 1
            if at_half is not None and done == n // 2 and not half_task:
                half_task.append(asyncio.create_task(at_half()))  # type: ignore[operator]
            i = next(counter)
        if conn is not None:
            conn[1].close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    load.seconds = time.perf_counter() - t0
    for t in half_task:
        await t
    return load


def measured(srv: Server, coro: object) -> Load:
    """Run a load coroutine and record the server's CPU seconds during it."""
    pid = srv.proc.pid if srv.proc else None
    c0 = cpu_seconds(pid)
    load: Load = asyncio.run(coro)  # type: ignore[arg-type]
    load.server_cpu = cpu_seconds(pid) - c0
    return load


def multipart(images: list[bytes]) -> tuple[bytes, str]:
    boundary = "spillguardbenchboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="p{i}.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode()
        + img
        + b"\r\n"
        for i, img in enumerate(images)
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def db_check(db: Path, ids: list[int]) -> tuple[int, int]:
    """(rows in the database, accepted ids missing from it)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = int(conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])
        conn.execute("CREATE TEMP TABLE acc (id INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO acc VALUES (?)", ((i,) for i in set(ids)))
        missing = int(
            conn.execute("SELECT COUNT(*) FROM acc WHERE id NOT IN (SELECT id FROM verdicts)").fetchone()[0]
        )
    return rows, missing


def pct(lat: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(lat) * 1000, q)) if lat else float("nan")


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_serve."))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--run", type=Path, help="run folder to serve (default: a quick run of the default model)"
    )
    ap.add_argument("--requests", type=int, default=4000, help="requests per single-image phase")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=256, help="images per batch request")
    ap.add_argument("--batches", type=int, default=24)
    args = ap.parse_args()
    from spillguard.compute import limit_threads

    limit_threads()  # an entry point: torch's thread count, once
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    with workdir() as tmp:
        run = args.run or make_run(tmp / "model")
        other = tmp / "run_b"
        shutil.copytree(run, other)  # the reload target: same weights, another model id
        bodies, what = pit_images(2000)
        print(f"images: {what}; model: {run}")
        rows: list[tuple[str, Load, str]] = []
        accepted: list[int] = []

        def phase(name: str, load: Load, note: str = "") -> None:
            rows.append((name, load, note))
            accepted.extend(load.ids)

        # baseline: micro-batching off
        db0 = tmp / "base.sqlite"
        port = free_port()
        srv = Server(run, db0, port, "--score-batch", "1")
        srv.start()
        asyncio.run(run_load(port, bodies, 300, args.clients))
        base = measured(srv, run_load(port, bodies, args.requests, args.clients))
        srv.stop()
        base_rows, base_missing = db_check(db0, base.ids)
        rows.append(("single images, micro-batching off (baseline)", base, ""))

        db = tmp / "v.sqlite"
        port = free_port()
        srv = Server(run, db, port)
        srv.start()
        phase("warm-up", asyncio.run(run_load(port, bodies, 300, args.clients)))
        phase(
            "single images, micro-batched", measured(srv, run_load(port, bodies, args.requests, args.clients))
        )
        batches = [multipart(bodies[i * args.batch_size : (i + 1) * args.batch_size]) for i in range(8)]
        body_b = [b for b, _ in batches]
        phase(
            f"batch endpoint ({args.batch_size} images/request, 2 clients)",
            measured(srv, run_load(port, body_b, args.batches, 2, "/v1/score/batch", batches[0][1])),
        )

        reload_result: dict[str, object] = {}

        async def reload() -> None:
            status, payload = await request_once(
                port, "POST", "/v1/admin/reload", json.dumps({"run": str(other)}).encode(), auth=True
            )
            reload_result.update(status=status, model=json.loads(payload).get("model", {}).get("id"))

        phase("single images, reload at half-way",
              measured(srv, run_load(port, bodies, args.requests, args.clients, at_half=reload)),
              f"reload {reload_result.get('status')} -> {reload_result.get('model')}")  # fmt: skip

        restart: dict[str, float] = {}

        async def sigterm_and_restart() -> None:
            t0 = time.perf_counter()
            code = await asyncio.to_thread(srv.stop)
            restart["exit"] = code
            restart["drained_s"] = time.perf_counter() - t0
            restart["ready_s"] = await asyncio.to_thread(srv.start)

        load = asyncio.run(run_load(port, bodies, args.requests, args.clients, at_half=sigterm_and_restart))
        phase(
            "single images, SIGTERM + restart at half-way", load,
            f"exit {restart.get('exit')}, drained in {restart.get('drained_s', 0):.2f} s, "
            f"restarted in {restart.get('ready_s', 0):.1f} s; {load.retried} refused while down, sent again",
        )  # fmt: skip
        code = srv.stop()
        n_rows, missing = db_check(db, accepted)
    print(f"load average at end: {os.getloadavg()[0]:.2f}\n")
    print(
        "| phase | requests | images | seconds | req/s | images/s | p50 ms | p99 ms | failed | vs baseline "
        "| server CPU ms/image |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base_rate = len(base.latencies) / base.seconds
    for name, ld, _ in rows:
        rate = len(ld.latencies) / ld.seconds
        print(
            f"| {name} | {len(ld.latencies):,} | {ld.images:,} | {ld.seconds:.2f} | {rate:,.0f} | "
            f"{ld.images / ld.seconds:,.0f} | {pct(ld.latencies, 50):.1f} | {pct(ld.latencies, 99):.1f} | "
            f"{len(ld.failed)} | {rate / base_rate:.2f}x | {1000 * ld.server_cpu / max(ld.images, 1):.2f} |"
        )
    print()
    for name, ld, note in rows:
        if note:
            print(f"- {name}: {note}")
        if ld.failed:
            print(f"- {name}: first failures: {ld.failed[:3]}")
    print(f"- verdicts: {len(accepted):,} accepted, {n_rows:,} database rows, {missing} accepted ids missing "
          f"(baseline server: {len(base.ids):,} accepted, {base_rows:,} rows, {base_missing} missing); "
          f"final SIGTERM exit {code}")  # fmt: skip
    single = rows[2][1]
    batch = rows[3][1]
    ok = (
        len(single.latencies) / single.seconds >= 500
        and pct(single.latencies, 99) <= 50
        and batch.images / batch.seconds >= 3000
    )
    lost = len(accepted) - n_rows + missing
    print(f"- targets (>= 500 req/s, p99 <= 50 ms, batch >= 3,000 images/s): {'met' if ok else 'NOT met'}; "
          f"failed {sum(len(r[1].failed) for r in rows)}, lost {lost}")  # fmt: skip


if __name__ == "__main__":
    main()
