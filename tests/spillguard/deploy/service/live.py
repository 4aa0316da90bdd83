"""Running the app for page and process tests: uvicorn in a thread on a free loopback port, or a real
``spillguard serve`` process; both always stopped by their context manager."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn

from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.main import create_app
from tests.signals import default_signals


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url``/readyz until it answers 200; fail early if ``proc`` exits."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s")


@contextlib.contextmanager
def app_in_thread(cfg: ServiceConfig) -> Iterator[str]:
    """Serve ``cfg`` with uvicorn in a thread on 127.0.0.1; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(cfg), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextlib.contextmanager
def serve_process(
    run: Path, db: Path, *extra: str, port: int | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ``spillguard serve`` process on 127.0.0.1; yields (URL, process); SIGTERM then kill at exit."""
    port = port or free_port()
    env = {**os.environ, "SPILLGUARD_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spillguard",
            "-q",
            "serve",
            str(run),
            "--port",
            str(port),
            "--db",
            str(db),
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=default_signals,  # it is stopped by SIGTERM, which the suite may have ignored
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc=proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
