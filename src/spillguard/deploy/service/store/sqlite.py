"""``SQLiteStore``: the ``Store`` on SQLite in WAL mode: one writer thread (group commit: a request's
row is committed before it is answered) and a separate read-only connection for the page; and
``open_readonly`` for the feedback export, which reads a database without serving it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import spillguard.deploy.service.store.queries as queries
from sharedcore.errors import UserError
from spillguard.deploy.service.store.base import READABLE_VERSIONS
from spillguard.deploy.service.store.images import ImageFiles
from spillguard.deploy.service.store.queries import MODEL_COLUMNS
from spillguard.deploy.service.store.records import (
    LABELS,
    VERDICT_FIELDS,
    Feedback,
    ModelRecord,
    NewVerdict,
    Recent,
    ReviewCounts,
    Verdict,
    utc_iso,
)
from spillguard.deploy.service.store.schema import migrate
from spillguard.deploy.service.store.writer import Writer

_INSERT_VERDICT = (
    f"INSERT INTO verdicts (created_at, image_kept, {', '.join(VERDICT_FIELDS)}) "
    f"VALUES ({', '.join('?' * (len(VERDICT_FIELDS) + 2))})"
)


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """An autocommit connection (transactions are explicit) with the store's pragmas."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across process crashes and restarts
        conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _checkpoint(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:  # a database that refuses writes now: what was committed stays in the WAL
        pass


class SQLiteStore:
    """SQLite verdict store (WAL). One writer thread commits queued writes together; reads use a
    separate read-only connection. ``images`` is the folder of kept images."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(
        self, path: str | os.PathLike[str], images: str | os.PathLike[str], outbox: bool = False
    ) -> None:
        self.path = Path(path)
        self.outbox_enabled = outbox  # verdicts are also queued for the MQTT publisher
        self.files = ImageFiles(images)
        if self.path.is_dir():
            raise UserError(f"{self.path}: is a folder; --db must name a database file, e.g. verdicts.sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = connect(self.path)
            migrate(conn, self.path, self.files.root)
        except sqlite3.DatabaseError as exc:
            if "readonly" in str(exc):
                raise UserError(
                    f"{self.path}: the database is read-only ({exc}); make it (and its folder) writable or "
                    "point --db elsewhere"
                ) from None
            raise UserError(
                f"{self.path}: not a usable SQLite database ({exc}); point --db to a new file or a spillguard DB"
            ) from None
        st = self.path.stat()
        self._identity = (st.st_dev, st.st_ino)  # the file the writer holds open
        self._writer = Writer(conn, begin="BEGIN IMMEDIATE", check=self._check_file, on_close=_checkpoint)
        self._read = connect(self.path, readonly=True)
        self._read_lock = threading.Lock()
        self._closed = False

    def _check_file(self) -> None:
        """OSError when the database file was deleted or replaced under the open connection: a commit
        there would be lost at the next restart, so every write fails (503) instead."""
        try:
            st = self.path.stat()
        except OSError:
            raise FileNotFoundError(
                f"{self.path} was deleted while serving; restart the service to open a database again"
            ) from None
        if (st.st_dev, st.st_ino) != self._identity:
            raise FileExistsError(
                f"{self.path} was replaced by another file while serving; restart the service"
            )

    # -- writes -----------------------------------------------------------------------------------
    def add_verdicts(self, rows: Sequence[NewVerdict]) -> Future[list[int]]:
        """Insert verdict rows (and write their kept images first); resolves to their ids."""

        def fn(conn: sqlite3.Connection) -> list[int]:
            ids = []
            for r in rows:
                if r.image is not None:
                    self.files.put(r.image_sha256, r.image_format, r.image)
                values = [getattr(r, name) for name in VERDICT_FIELDS]
                cur = conn.execute(
                    _INSERT_VERDICT, (utc_iso(r.created_ts), int(r.image is not None), *values)
                )
                ids.append(int(cur.lastrowid or 0))
            if self.outbox_enabled:
                conn.executemany(
                    "INSERT INTO outbox (verdict_id, line) VALUES (?, ?)",
                    [(i, r.line or "") for i, r in zip(ids, rows, strict=True)],
                )
            return ids

        return self._writer.submit(fn)

    def add_feedback(self, verdict_id: int, label: str, operator: str, note: str = "") -> Future[Feedback]:
        """Record an operator's label; the future fails with KeyError for an unknown verdict id."""
        if label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}")

        def fn(conn: sqlite3.Connection) -> Feedback:
            if conn.execute("SELECT 1 FROM verdicts WHERE id = ?", (verdict_id,)).fetchone() is None:
                raise KeyError(verdict_id)
            ts = time.time()
            cur = conn.execute(
                "INSERT INTO feedback (verdict_id, label, operator, created_at, created_ts, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (verdict_id, label, operator, utc_iso(ts), ts, note),
            )
            return Feedback(int(cur.lastrowid or 0), verdict_id, label, operator, utc_iso(ts), note)

        return self._writer.submit(fn)

    def add_model(self, m: ModelRecord) -> Future[ModelRecord]:
        """Record a model being served (at start and on reload): the first time it is served stays,
        the run path and kind become the latest ones it was loaded from; resolves to the stored row."""

        def fn(conn: sqlite3.Connection) -> ModelRecord:
            now = time.time()
            conn.execute(
                "INSERT INTO models (model_id, run, run_path, kind, config, trained_at, spillguard_version, "
                "first_served_at, first_served_ts, last_loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (model_id) DO UPDATE SET run = excluded.run, run_path = excluded.run_path, "
                "kind = excluded.kind, config = excluded.config, trained_at = excluded.trained_at, "
                "spillguard_version = excluded.spillguard_version, last_loaded_at = excluded.last_loaded_at",
                (
                    m.model_id, m.run, m.run_path, m.kind, m.config, m.trained_at, m.spillguard_version,
                    utc_iso(now), now, utc_iso(now),
                ),
            )  # fmt: skip
            row = conn.execute(
                f"SELECT {MODEL_COLUMNS} FROM models WHERE model_id = ?", (m.model_id,)
            ).fetchone()
            return ModelRecord(*row)

        return self._writer.submit(fn)

    def set_live_model(self, line: str, model_id: str) -> Future[None]:
        """Make ``model_id`` (recorded already) the live model of ``line``: every instance serving the
        line swaps to it at its next poll."""

        def fn(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute(
                "INSERT OR REPLACE INTO live_models (line, model_id, promoted_at, promoted_ts) VALUES (?, ?, ?, ?)",
                (line, model_id, utc_iso(now), now),
            )

        return self._writer.submit(fn)

    def mark_published(self, ids: Sequence[int]) -> Future[None]:
        """Take verdicts the broker has acknowledged out of the outbox."""
        id_list = [(int(i),) for i in ids]

        def fn(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM outbox WHERE verdict_id = ?", id_list)

        return self._writer.submit(fn)

    def ping_write(self) -> Future[None]:
        """A real write (the readiness probe): resolves once the database has accepted it; fails when
        the file was deleted, replaced or made read-only on disk."""

        def fn(conn: sqlite3.Connection) -> None:
            if not os.access(self.path, os.W_OK):  # the open connection still writes; a restart would not
                raise PermissionError(f"{self.path} is read-only on disk; make it writable before a restart")
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_write_check', ?)",
                (utc_iso(time.time()),),
            )

        return self._writer.submit(fn)

    # -- reads ------------------------------------------------------------------------------------
    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._read_lock:
            return self._read.execute(sql, args).fetchall()

    def get(self, verdict_id: int) -> Verdict | None:
        """One verdict with its latest feedback, or None."""
        return queries.get(self._rows, verdict_id)

    def image_bytes(self, v: Verdict) -> bytes | None:
        """The kept image of a verdict, or None when it was not kept or its file is gone."""
        return self.files.get(v.image_sha256, v.image_format) if v.image_kept else None

    def image_state(self, v: Verdict) -> str:
        """``kept``, ``not_kept`` (a normal outside the sample) or ``missing`` (kept, file gone)."""
        if not v.image_kept:
            return "not_kept"
        return "kept" if self.files.exists(v.image_sha256, v.image_format) else "missing"

    def model(self, model_id: str) -> ModelRecord | None:
        """The recorded model of this id, or None."""
        return queries.model(self._rows, model_id)

    def pending(
        self,
        camera: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
    ) -> list[Verdict]:
        """Flagged verdicts without feedback, highest score first."""
        return queries.pending(self._rows, camera, since, until, limit)

    def cameras(self) -> list[str]:
        """Camera names seen so far."""
        return queries.cameras(self._rows)

    def counts(
        self, camera: str | None = None, since: float | None = None, until: float | None = None
    ) -> ReviewCounts:
        """Waiting (with the filters); confirmed, false alarms, scored and flagged today (UTC)."""
        return queries.counts(self._rows, camera, since, until)

    def recent(self, n: int) -> Recent:
        """The last ``n`` verdicts' scores, brightness, saturation and flags, newest first."""
        return queries.recent(self._rows, n)

    def hourly(self, hours: int = 24) -> list[tuple[int, int, int]]:
        """(hour start as unix seconds, verdicts, flagged) for each of the last ``hours`` hours with data."""
        return queries.hourly(self._rows, hours)

    def count(self) -> int:
        """Number of verdict rows."""
        return queries.count(self._rows)

    def live_model(self, line: str) -> ModelRecord | None:
        """The model promoted for ``line``, or None when none was."""
        return queries.live_model(self._rows, line)

    def unpublished(self, line: str, limit: int = 256) -> list[Verdict]:
        """Verdicts of ``line`` waiting in the outbox, oldest first."""
        return queries.unpublished(self._rows, line, limit)

    def waiting(self, line: str | None = None) -> int:
        """Verdicts waiting in the outbox (of ``line``, or of every line)."""
        return queries.waiting(self._rows, line)

    def line_counts(self) -> list[tuple[str, str, int]]:
        """(line, verdict, rows) of every instance that wrote to this database (line '' when unnamed)."""
        return queries.line_counts(self._rows)

    def close(self) -> None:
        """Commit everything queued, checkpoint the WAL and close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with self._read_lock:
            self._read.close()


def open_readonly(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A read-only connection to an existing store (feedback export); UserError when it is not one."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such database; point to the --db file of 'spillguard serve'")
    try:
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("SELECT 1 FROM verdicts LIMIT 1")
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{p}: not a spillguard verdict database ({exc}); check the path") from None
    if version not in READABLE_VERSIONS:
        raise UserError(
            f"{p}: database schema version {version}, this spillguard reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}; use the matching spillguard version"
        )
    return conn


def rows_of(conn: sqlite3.Connection) -> queries.Rows:
    """``conn`` as the ``rows(sql, args)`` function the queries take."""
    return lambda sql, args: conn.execute(sql, args).fetchall()
