"""`avatargen serve` as a command: mistakes fail before listening with one line and exit 2; a real
server process on 127.0.0.1 answers the same bytes as the in-process app (slow set)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.signals import default_signals

from .conftest import free_port


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "avatargen", "serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bad_model_or_mapping_exits_2_with_one_line(tmp_path: Path, model_file: Path) -> None:
    res = run_cli(str(tmp_path / "missing.json"))
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "no such model file" in res.stderr
    res = run_cli(str(model_file), "--mapping", "course_ru")
    assert res.returncode == 2 and "not in this mapping" in res.stderr and "Traceback" not in res.stderr


def test_port_in_use_exits_2(model_file: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = run_cli(str(model_file), "--port", str(port))
    assert res.returncode == 2 and "cannot listen" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_real_server_process(model_file: Path, client: TestClient, workers: int) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "avatargen",
            "serve",
            str(model_file),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=default_signals,  # stopped by SIGTERM, which the suite may have ignored
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up in 60 s"
            time.sleep(0.2)
        url = "/v1/avatar.png?seed=9&hair_color=blonde"
        with httpx.Client(base_url=base, timeout=30) as http:
            r = http.get(url)
            assert r.status_code == 200
            assert r.content == client.get(url).content  # same model file, same bytes
            assert http.get(url, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
            assert http.get("/v1/style?seed=abc").status_code == 422
            assert http.get("/").status_code == 200
            assert http.get("/docs").status_code == 200
            # keep-alive answers without Nagle delays (the multi-worker socket sets TCP_NODELAY)
            # (Nagle + delayed ACK would add ~40 ms to every request; the median is robust to load spikes)
            times = []
            for _ in range(21):
                t = time.perf_counter()
                assert http.get(url).status_code == 200
                times.append(time.perf_counter() - t)
            assert sorted(times)[10] < 0.035, sorted(times)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "http://127.0.0.1" in (proc.stdout.read() if proc.stdout else "")


@pytest.mark.slow
def test_port_0_serves_on_a_free_port_it_prints(model_file: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatargen", "serve", str(model_file), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=default_signals,  # stopped by SIGTERM, which the suite may have ignored
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline() if proc.stdout else ""))
        reader.start()
        reader.join(timeout=60)
        assert lines and lines[0].startswith("avatargen serve:"), (lines, proc.poll())
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/ ", lines[0]).group(1))  # type: ignore[union-attr]
        assert port > 0
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["status"] == "ok"
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, (
                    "nothing listens on the printed port"
                )
                time.sleep(0.2)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_worker_count_beyond_the_machine_is_refused_before_loading(model_file: Path) -> None:
    """Issue 21: --workers 1000 started a model-loading process per worker until memory ran out."""
    from avatargen.serve.config import WORKER_BYTES
    from sharedcore.machine import process_bound

    bound, _ = process_bound(WORKER_BYTES)
    for bad in ("1000", str(bound + 1), "0", "-3"):
        res = run_cli(str(model_file), "--workers", bad)
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
        assert f"--workers {bad}: this machine holds 1 to {bound} worker process(es)" in res.stderr
        assert "usable CPU core(s)" in res.stderr and "give a count in that range" in res.stderr


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _gone(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie of a reaper that has not waited yet is no running worker


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_start_up_ends_on_sigterm_and_a_killed_server_leaves_no_worker(model_file: Path) -> None:
    """Issue 21: a server starting its workers survived SIGTERM and left an orphan worker."""
    import signal

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "avatargen", "serve", str(model_file), "--workers", "2",
             "--port", str(free_port())],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip

    for sig in (signal.SIGTERM, signal.SIGKILL):
        proc = start()
        try:
            assert proc.stdout is not None and "avatargen serve:" in proc.stdout.readline()
            deadline = time.monotonic() + 30
            while len(kids := _children(proc.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)  # the workers are starting (loading the model) now
            assert kids, "no worker started"
            proc.send_signal(sig)
            proc.wait(timeout=20)
            deadline = time.monotonic() + 20
            while not all(map(_gone, kids)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert all(map(_gone, kids)), (sig, [k for k in kids if not _gone(k)])
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
