"""The real servers of the plant tests: PostgreSQL (a database per test, dropped after) and an MQTT
broker (a topic prefix per test). Where a server cannot be reached the test skips and says why, unless
SPILLGUARD_REQUIRE_SERVERS=1 (set by .ci/run when the servers answer): then it fails, so that the plant
tests cannot go quiet on a machine that has the servers."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_URL = os.environ.get("SPILLGUARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
MQTT_URL = os.environ.get("SPILLGUARD_TEST_MQTT", "mqtt://127.0.0.1:1883")
REQUIRE = os.environ.get("SPILLGUARD_REQUIRE_SERVERS") == "1"


def unavailable(why: str) -> None:
    """Skip with ``why``, or fail when the servers are required (CI on a machine that has them)."""
    if REQUIRE:
        pytest.fail(f"{why}; SPILLGUARD_REQUIRE_SERVERS=1 says this machine has the servers", pytrace=False)
    pytest.skip(why)


def with_database(url: str, dbname: str) -> str:
    """``url`` pointing at another database."""
    return urlunsplit(urlsplit(url)._replace(path="/" + dbname))


def admin_execute(sql: str) -> None:
    """Run one statement on the admin database (autocommit: CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def pg_reachable() -> str | None:
    """None when PostgreSQL answers at PG_URL, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[plant]')"
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {PG_URL} ({str(exc).strip().splitlines()[0]})"
    return None


@contextlib.contextmanager
def fresh_database(prefix: str = "sg_test") -> Iterator[str]:
    """A new, uniquely named database (URL), dropped afterwards even when the test failed."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(PG_URL, name)
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def mqtt_reachable() -> str | None:
    """None when the MQTT broker accepts a TCP connection at MQTT_URL, else why not."""
    try:
        import paho.mqtt  # noqa: F401
    except ImportError:
        return "paho-mqtt is not installed (pip install -e '.[plant]')"
    u = urlsplit(MQTT_URL)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 1883), timeout=3):
            pass
    except OSError as exc:
        return f"MQTT broker not reachable at {MQTT_URL} ({exc})"
    return None


def unique_prefix() -> str:
    """A topic prefix no other test uses (retained messages under it are cleared by the test)."""
    return f"sgtest/{uuid.uuid4().hex[:12]}"


class TcpProxy:
    """A loopback TCP proxy in front of a server, to cut it off and bring it back (an outage without
    touching the real server): ``stop()`` closes the listener and every connection, ``start()`` listens
    again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        """Listen (on the port of the first start) and forward each connection in two threads."""
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self._listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=3)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Cut every connection and stop listening (connects are refused until ``start()``)."""
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the accept() (close alone would not)
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
