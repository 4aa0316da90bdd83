"""The PostgreSQL store against the real server: migrations, a killed connection re-opened, an
unreachable server (cut off by a proxy) failing writes with StoreUnavailable and nothing lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from sharedcore.errors import UserError
from spillguard.deploy.service.config import is_server_url
from spillguard.deploy.service.store import NewVerdict, StoreUnavailable

from ..servers import TcpProxy, fresh_database, pg_reachable, unavailable

psycopg = pytest.importorskip("psycopg", reason="the plant extra (psycopg) is not installed")

from spillguard.deploy.service.store.postgres import (  # noqa: E402
    PG_SCHEMA_VERSION,
    PostgresStore,
    redact,
)


@pytest.fixture
def pg_db() -> Iterator[str]:
    """The URL of a new database, dropped afterwards."""
    why = pg_reachable()
    if why:
        unavailable(why)
    with fresh_database() as url:
        yield url


def _row(i: int) -> NewVerdict:
    return NewVerdict(
        created_ts=time.time(), camera="c", source=None, image_sha256=f"{i:064x}", image_format="JPEG",
        image=None, score=0.1, threshold=0.5, rule="prior", verdict="no_spill", model_id="m@1",
        brightness=0.5, saturation=0.2, line="a",
    )  # fmt: skip


def test_urls() -> None:
    assert is_server_url("postgresql://h/db") and is_server_url("postgres://h/db")
    assert not is_server_url("verdicts.sqlite")
    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_schema_version_and_refusals(pg_db: str) -> None:
    PostgresStore(pg_db).close()
    PostgresStore(pg_db).close()  # a second start migrates nothing
    with psycopg.connect(pg_db, autocommit=True) as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        assert meta["schema_version"] == str(PG_SCHEMA_VERSION) and meta["image_store"] == "database"
        conn.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(PG_SCHEMA_VERSION + 1),))
    with pytest.raises(UserError, match="newer than this spillguard"):
        PostgresStore(pg_db)
    with fresh_database() as other:
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("CREATE TABLE invoices (id INT)")
        with pytest.raises(UserError, match="other tables"):
            PostgresStore(other)
    u = urlsplit(pg_db)
    with pytest.raises(UserError, match="cannot connect to PostgreSQL"):
        PostgresStore(urlunsplit(u._replace(path="/sg_no_such_database_x")))


def test_a_killed_connection_is_reopened(pg_db: str) -> None:
    st = PostgresStore(pg_db)
    try:
        assert st.add_verdicts([_row(1)]).result(timeout=10) == [1] and st.count() == 1
        with psycopg.connect(pg_db, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert killed is not None and killed[0] >= 2  # the writer's and the pool's connections
        assert st.add_verdicts([_row(2)]).result(timeout=10) == [2]  # re-opened, not failed
        assert st.count() == 2 and st.get(2) is not None
    finally:
        st.close()


def test_an_unreachable_server_fails_writes_and_loses_nothing(pg_db: str) -> None:
    u = urlsplit(pg_db)
    proxy = TcpProxy(u.hostname or "127.0.0.1", u.port or 5432).start()
    via = urlunsplit(u._replace(netloc=f"{u.username}@127.0.0.1:{proxy.port}"))
    st = PostgresStore(via)
    try:
        answered = st.add_verdicts([_row(1)]).result(timeout=10)
        proxy.stop()  # the server is gone for this instance
        t0 = time.monotonic()
        for i in range(2, 5):
            with pytest.raises(StoreUnavailable):
                st.add_verdicts([_row(i)]).result(timeout=15)
        with pytest.raises(StoreUnavailable):
            st.count()
        assert time.monotonic() - t0 < 20  # each failure comes within the connect timeout
        proxy.start()
        answered += st.add_verdicts([_row(5)]).result(timeout=15)  # back without a restart
        assert st.count() == 2
    finally:
        proxy.stop()
        st.close()
    with psycopg.connect(pg_db) as conn:  # what was answered is there, nothing else
        ids = [r[0] for r in conn.execute("SELECT id FROM verdicts ORDER BY id").fetchall()]
    assert ids == answered
