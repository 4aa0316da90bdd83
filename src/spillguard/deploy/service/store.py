"""The verdict store: every verdict a row, operator feedback its own table, kept images as
content-addressed files. ``Store`` is the interface the app uses; ``SQLiteStore`` implements it with
SQLite in WAL mode, one writer thread (group commit: a request's row is committed before it is answered)
and read-only connections for the page; a PostgreSQL store can implement the same Protocol.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sharedcore.errors import UserError

SCHEMA_VERSION = 3  # 1: verdicts, feedback, meta; 2: + models (what each model id was loaded from);
# 3: + verdicts.line, outbox (verdicts waiting for the MQTT publisher), live_models (the live model per line)
READABLE_VERSIONS = (1, 2, 3)  # the verdict and feedback tables are the same in all (feedback export)
LABELS = ("spill", "no_spill")

MODELS_TABLE = """
CREATE TABLE IF NOT EXISTS models (
    model_id TEXT PRIMARY KEY,
    run TEXT NOT NULL,
    run_path TEXT,
    kind TEXT CHECK (kind IN ('run', 'onnx')),
    config TEXT NOT NULL,
    trained_at TEXT NOT NULL,
    spillguard_version TEXT NOT NULL,
    first_served_at TEXT NOT NULL,
    first_served_ts REAL NOT NULL,
    last_loaded_at TEXT NOT NULL
);
"""

PLANT_TABLES = """
CREATE TABLE IF NOT EXISTS outbox (
    verdict_id INTEGER PRIMARY KEY REFERENCES verdicts (id),
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_line ON outbox (line, verdict_id);
CREATE TABLE IF NOT EXISTS live_models (
    line TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES models (model_id),
    promoted_at TEXT NOT NULL,
    promoted_ts REAL NOT NULL
);
"""

SCHEMA = (
    MODELS_TABLE
    + """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    created_ts REAL NOT NULL,
    camera TEXT,
    source TEXT,
    image_sha256 TEXT NOT NULL,
    image_format TEXT NOT NULL,
    image_kept INTEGER NOT NULL,
    score REAL NOT NULL,
    threshold REAL NOT NULL,
    rule TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('spill', 'no_spill')),
    model_id TEXT NOT NULL,
    brightness REAL NOT NULL,
    saturation REAL NOT NULL,
    line TEXT
);
CREATE INDEX IF NOT EXISTS verdicts_verdict_score ON verdicts (verdict, score DESC);
CREATE INDEX IF NOT EXISTS verdicts_ts ON verdicts (created_ts);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    verdict_id INTEGER NOT NULL REFERENCES verdicts (id),
    label TEXT NOT NULL CHECK (label IN ('spill', 'no_spill')),
    operator TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ts REAL NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_verdict ON feedback (verdict_id, id);
"""
    + PLANT_TABLES
)

# Each step takes a database of version N-1 to N (in one transaction with the version bump).
MIGRATIONS = {
    2: MODELS_TABLE
    + """
-- models of version-1 verdicts: known by id only (no run path was recorded then)
INSERT INTO models (model_id, run, run_path, kind, config, trained_at, spillguard_version,
                    first_served_at, first_served_ts, last_loaded_at)
SELECT model_id, substr(model_id, 1, instr(model_id || '@', '@') - 1), NULL, NULL, '?', '?', '?',
       MIN(created_at), MIN(created_ts), MAX(created_at)
FROM verdicts GROUP BY model_id;
""",
    3: "ALTER TABLE verdicts ADD COLUMN line TEXT;\n" + PLANT_TABLES,
}

EXT = {"JPEG": "jpg", "PNG": "png"}


def utc_iso(ts: float) -> str:
    """Unix seconds -> ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class NewVerdict:
    """A verdict to store; ``image`` holds the encoded bytes when the image is to be kept."""

    created_ts: float
    camera: str | None
    source: str | None
    image_sha256: str
    image_format: str  # "JPEG" or "PNG", read from the bytes
    image: bytes | None
    score: float
    threshold: float
    rule: str
    verdict: str
    model_id: str
    brightness: float
    saturation: float
    line: str | None = None  # the line of the instance that scored it (serve --line)


class StoreUnavailable(RuntimeError):
    """The database cannot be reached now (the service answers 503 with Retry-After)."""


@dataclass(frozen=True)
class Feedback:
    """An operator's label for a verdict (the latest one counts)."""

    id: int
    verdict_id: int
    label: str
    operator: str
    created_at: str
    note: str


@dataclass(frozen=True)
class ModelRecord:
    """A model the service has served: its id and where it was loaded from (``run_path``: the absolute
    server path given at start or reload; None for models of a version-1 database)."""

    model_id: str
    run: str
    run_path: str | None
    kind: str | None  # "run" (a run folder) or "onnx" (an exported model file)
    config: str
    trained_at: str
    spillguard_version: str
    first_served_at: str = ""
    last_loaded_at: str = ""


@dataclass(frozen=True)
class Verdict:
    """A stored verdict with its latest feedback, if any."""

    id: int
    created_at: str
    created_ts: float
    camera: str | None
    source: str | None
    image_sha256: str
    image_format: str
    image_kept: bool
    score: float
    threshold: float
    rule: str
    verdict: str
    model_id: str
    brightness: float
    saturation: float
    feedback: Feedback | None = None
    line: str | None = None


@dataclass(frozen=True)
class ReviewCounts:
    """The counts on the review page: flagged and waiting (filters applied), and today's (UTC) labels."""

    waiting: int
    confirmed_today: int
    false_alarms_today: int
    scored_today: int
    flagged_today: int


@dataclass(frozen=True)
class Recent:
    """Columns of the last N verdicts, newest first (the drift panel's input)."""

    scores: list[float]
    brightness: list[float]
    saturation: list[float]
    flagged: list[bool]


class Store(Protocol):
    """What the service needs from a verdict store. Writes return futures resolved after commit."""

    def add_verdicts(self, rows: Sequence[NewVerdict]) -> Future[list[int]]: ...
    def add_feedback(self, verdict_id: int, label: str, operator: str, note: str) -> Future[Feedback]: ...
    def add_model(self, m: ModelRecord) -> Future[ModelRecord]: ...
    def ping_write(self) -> Future[None]: ...
    def get(self, verdict_id: int) -> Verdict | None: ...
    def model(self, model_id: str) -> ModelRecord | None: ...
    def image_state(self, v: Verdict) -> str: ...
    def image_bytes(self, v: Verdict) -> bytes | None: ...
    def pending(
        self, camera: str | None, since: float | None, until: float | None, limit: int
    ) -> list[Verdict]: ...
    def cameras(self) -> list[str]: ...
    def counts(self, camera: str | None, since: float | None, until: float | None) -> ReviewCounts: ...
    def recent(self, n: int) -> Recent: ...
    def hourly(self, hours: int) -> list[tuple[int, int, int]]: ...
    def count(self) -> int: ...
    def close(self) -> None: ...
    # a plant: the outbox of the MQTT publisher, the live model per line, counts of every line
    def set_live_model(self, line: str, model_id: str) -> Future[None]: ...
    def mark_published(self, ids: Sequence[int]) -> Future[None]: ...
    def live_model(self, line: str) -> ModelRecord | None: ...
    def unpublished(self, line: str, limit: int = 256) -> list[Verdict]: ...
    def waiting(self, line: str | None = None) -> int: ...
    def line_counts(self) -> list[tuple[str, str, int]]: ...


class ImageFiles:
    """Content-addressed image files: ``ROOT/ab/<sha256>.jpg``; written atomically, never twice."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, sha256: str, fmt: str) -> Path:
        """Where the image with this digest and format lives."""
        return self.root / sha256[:2] / f"{sha256}.{EXT.get(fmt, 'bin')}"

    def put(self, sha256: str, fmt: str, data: bytes) -> Path:
        """Write ``data`` unless a file with that digest exists (same digest, same bytes)."""
        p = self.path(sha256, fmt)
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=p.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, p)
        return p

    def exists(self, sha256: str, fmt: str) -> bool:
        """Whether the file of this digest is there."""
        return self.path(sha256, fmt).is_file()

    def get(self, sha256: str, fmt: str) -> bytes | None:
        """The stored bytes, or None when the file is not there."""
        try:
            return self.path(sha256, fmt).read_bytes()
        except OSError:
            return None


@dataclass
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    future: Future[Any]


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across process crashes and restarts
        conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _statements(script: str) -> list[str]:
    """The SQL statements of a script (no ';' inside our literals), comment-only pieces left out."""
    out = []
    for piece in script.split(";"):
        code = "\n".join(line for line in piece.splitlines() if not line.strip().startswith("--"))
        if code.strip():
            out.append(code)
    return out


_VERDICT_COLS = (
    "id, created_at, created_ts, camera, source, image_sha256, image_format, image_kept, score, "
    "threshold, rule, verdict, model_id, brightness, saturation, line"
)
_VERDICT_NAMES = [c.strip() for c in _VERDICT_COLS.split(",")]
_MODEL_COLS = (
    "model_id, run, run_path, kind, config, trained_at, spillguard_version, first_served_at, last_loaded_at"
)
_LATEST_FB = "(SELECT MAX(f.id) FROM feedback f WHERE f.verdict_id = v.id)"


class SQLiteStore:
    """SQLite verdict store (WAL). One writer thread commits queued writes together; reads use a
    separate read-only connection. ``images`` is the folder of kept images."""

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
            conn = _connect(self.path)
            self._migrate(conn)
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
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=self._write_loop, args=(conn,), name="store-writer", daemon=True
        )
        self._writer.start()
        self._read = _connect(self.path, readonly=True)
        self._read_lock = threading.Lock()
        self._closed = False

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UserError(
                f"{self.path}: database schema version {version} is newer than this spillguard's "
                f"({SCHEMA_VERSION}); upgrade spillguard or use another --db"
            )
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and tables - {"meta", "verdicts", "feedback", "models"}:
            raise UserError(
                f"{self.path}: holds other tables ({', '.join(sorted(tables))}); use another --db"
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            scripts = (
                [SCHEMA] if version == 0 else [MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1)]
            )
            for script in scripts:  # a new database gets the current schema at once
                for stmt in _statements(script):
                    conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (utc_iso(time.time()),)
            )
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?), ('image_store', ?)",
                (str(SCHEMA_VERSION), str(self.files.root.resolve())),
            )
            if version and version < SCHEMA_VERSION:
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (f"migrated_{version}_to_{SCHEMA_VERSION}", utc_iso(time.time())),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    # -- the writer -------------------------------------------------------------------------------
    def _write_loop(self, conn: sqlite3.Connection) -> None:
        stop = False
        while not stop:
            job = self._queue.get()
            jobs: list[_Job] = []
            while job is not None:
                jobs.append(job)
                if len(jobs) >= 512:
                    break
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
            stop = job is None
            if jobs:
                self._commit(conn, jobs)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:  # a database that refuses writes now: what was committed stays in the WAL
            pass
        conn.close()

    def _commit(self, conn: sqlite3.Connection, jobs: list[_Job]) -> None:
        """One transaction for all jobs; each job in its own savepoint, so one failure fails only it."""
        results: list[tuple[bool, Any]] = []
        try:
            self._check_file()
            conn.execute("BEGIN IMMEDIATE")
            for job in jobs:
                conn.execute("SAVEPOINT job")
                try:
                    results.append((True, job.fn(conn)))
                    conn.execute("RELEASE job")
                except Exception as exc:  # reported to the caller of that job
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    results.append((False, exc))
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed: every job fails
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for job in jobs:
                job.future.set_exception(exc)
            return
        for job, (ok, value) in zip(jobs, results, strict=True):
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)

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

    def _submit(self, fn: Callable[[sqlite3.Connection], Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        if self._closed:
            fut.set_exception(RuntimeError("the verdict store is closed"))
        else:
            self._queue.put(_Job(fn, fut))
        return fut

    # -- writes -----------------------------------------------------------------------------------
    def add_verdicts(self, rows: Sequence[NewVerdict]) -> Future[list[int]]:
        """Insert verdict rows (and write their kept images first); resolves to their ids."""

        def fn(conn: sqlite3.Connection) -> list[int]:
            ids = []
            for r in rows:
                if r.image is not None:
                    self.files.put(r.image_sha256, r.image_format, r.image)
                cur = conn.execute(
                    "INSERT INTO verdicts (created_at, created_ts, camera, source, image_sha256, image_format, "
                    "image_kept, score, threshold, rule, verdict, model_id, brightness, saturation, line) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        utc_iso(r.created_ts), r.created_ts, r.camera, r.source, r.image_sha256,
                        r.image_format, int(r.image is not None), r.score, r.threshold, r.rule, r.verdict,
                        r.model_id, r.brightness, r.saturation, r.line,
                    ),
                )  # fmt: skip
                ids.append(int(cur.lastrowid or 0))
            if self.outbox_enabled:
                conn.executemany(
                    "INSERT INTO outbox (verdict_id, line) VALUES (?, ?)",
                    [(i, r.line or "") for i, r in zip(ids, rows, strict=True)],
                )
            return ids

        return self._submit(fn)

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

        return self._submit(fn)

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
                f"SELECT {_MODEL_COLS} FROM models WHERE model_id = ?", (m.model_id,)
            ).fetchone()
            return ModelRecord(*row)

        return self._submit(fn)

    def set_live_model(self, line: str, model_id: str) -> Future[None]:
        """Make ``model_id`` (recorded already) the live model of ``line``: every instance serving the
        line swaps to it at its next poll."""

        def fn(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute(
                "INSERT OR REPLACE INTO live_models (line, model_id, promoted_at, promoted_ts) VALUES (?, ?, ?, ?)",
                (line, model_id, utc_iso(now), now),
            )

        return self._submit(fn)

    def mark_published(self, ids: Sequence[int]) -> Future[None]:
        """Take verdicts the broker has acknowledged out of the outbox."""
        id_list = [(int(i),) for i in ids]

        def fn(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM outbox WHERE verdict_id = ?", id_list)

        return self._submit(fn)

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

        return self._submit(fn)

    # -- reads ------------------------------------------------------------------------------------
    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._read_lock:
            return self._read.execute(sql, args).fetchall()

    def _verdicts(self, where: str, args: Sequence[Any], tail: str = "") -> list[Verdict]:
        sql = (
            f"SELECT {', '.join('v.' + c.strip() for c in _VERDICT_COLS.split(','))}, "
            "f.id, f.label, f.operator, f.created_at, f.note FROM verdicts v "
            f"LEFT JOIN feedback f ON f.id = {_LATEST_FB} WHERE {where} {tail}"
        )
        out = []
        n = len(_VERDICT_NAMES)
        for r in self._rows(sql, args):
            fb = Feedback(r[n], r[0], r[n + 1], r[n + 2], r[n + 3], r[n + 4]) if r[n] is not None else None
            fields = dict(zip(_VERDICT_NAMES, r[:n], strict=True))
            fields["image_kept"] = bool(fields["image_kept"])
            out.append(Verdict(**fields, feedback=fb))
        return out

    def get(self, verdict_id: int) -> Verdict | None:
        """One verdict with its latest feedback, or None."""
        rows = self._verdicts("v.id = ?", (verdict_id,))
        return rows[0] if rows else None

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
        rows = self._rows(f"SELECT {_MODEL_COLS} FROM models WHERE model_id = ?", (model_id,))
        return ModelRecord(*rows[0]) if rows else None

    def live_model(self, line: str) -> ModelRecord | None:
        """The model promoted for ``line``, or None when none was."""
        cols = ", ".join("m." + c.strip() for c in _MODEL_COLS.split(","))
        rows = self._rows(
            f"SELECT {cols} FROM live_models l JOIN models m ON m.model_id = l.model_id WHERE l.line = ?",
            (line,),
        )
        return ModelRecord(*rows[0]) if rows else None

    def unpublished(self, line: str, limit: int = 256) -> list[Verdict]:
        """Verdicts of ``line`` waiting in the outbox, oldest first."""
        return self._verdicts(
            "v.id IN (SELECT o.verdict_id FROM outbox o WHERE o.line = ? ORDER BY o.verdict_id LIMIT ?)",
            (line, limit),
            "ORDER BY v.id",
        )

    def waiting(self, line: str | None = None) -> int:
        """Verdicts waiting in the outbox (of ``line``, or of every line)."""
        if line is None:
            return int(self._rows("SELECT COUNT(*) FROM outbox")[0][0])
        return int(self._rows("SELECT COUNT(*) FROM outbox WHERE line = ?", (line,))[0][0])

    def line_counts(self) -> list[tuple[str, str, int]]:
        """(line, verdict, rows) of every instance that wrote to this database (line '' when unnamed)."""
        rows = self._rows(
            "SELECT COALESCE(line, ''), verdict, COUNT(*) FROM verdicts GROUP BY 1, 2 ORDER BY 1, 2"
        )
        return [(str(a), str(b), int(c)) for a, b, c in rows]

    @staticmethod
    def _filters(camera: str | None, since: float | None, until: float | None) -> tuple[str, list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        if camera:
            where.append("v.camera = ?")
            args.append(camera)
        if since is not None:
            where.append("v.created_ts >= ?")
            args.append(since)
        if until is not None:
            where.append("v.created_ts < ?")
            args.append(until)
        return " AND ".join(where) or "1", args

    def pending(
        self,
        camera: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 50,
    ) -> list[Verdict]:
        """Flagged verdicts without feedback, highest score first."""
        where, args = self._filters(camera, since, until)
        return self._verdicts(
            f"v.verdict = 'spill' AND {_LATEST_FB} IS NULL AND {where}",
            [*args, limit],
            "ORDER BY v.score DESC, v.id LIMIT ?",
        ) if limit > 0 else []  # fmt: skip

    def cameras(self) -> list[str]:
        """Camera names seen so far."""
        return [
            r[0]
            for r in self._rows("SELECT DISTINCT camera FROM verdicts WHERE camera IS NOT NULL ORDER BY 1")
        ]

    def counts(
        self, camera: str | None = None, since: float | None = None, until: float | None = None
    ) -> ReviewCounts:
        """Waiting (with the filters); confirmed, false alarms, scored and flagged today (UTC)."""
        where, args = self._filters(camera, since, until)
        waiting = self._rows(
            f"SELECT COUNT(*) FROM verdicts v WHERE v.verdict = 'spill' AND {_LATEST_FB} IS NULL AND {where}",
            args,
        )[0][0]
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        cam_sql, cam_args = ("AND v.camera = ?", [camera]) if camera else ("", [])
        fb = self._rows(
            "SELECT f.label, COUNT(*) FROM feedback f JOIN verdicts v ON v.id = f.verdict_id "
            f"WHERE f.id = {_LATEST_FB} AND f.created_ts >= ? AND v.verdict = 'spill' {cam_sql} GROUP BY f.label",
            [day, *cam_args],
        )
        by = dict(fb)
        scored, flagged = self._rows(
            f"SELECT COUNT(*), COALESCE(SUM(v.verdict = 'spill'), 0) FROM verdicts v WHERE v.created_ts >= ? {cam_sql}",
            [day, *cam_args],
        )[0]
        return ReviewCounts(
            int(waiting), by.get("spill", 0), by.get("no_spill", 0), int(scored), int(flagged)
        )

    def recent(self, n: int) -> Recent:
        """The last ``n`` verdicts' scores, brightness, saturation and flags, newest first."""
        rows = self._rows(
            "SELECT score, brightness, saturation, verdict FROM verdicts ORDER BY id DESC LIMIT ?", (n,)
        )
        return Recent(
            [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] == "spill" for r in rows]
        )

    def hourly(self, hours: int = 24) -> list[tuple[int, int, int]]:
        """(hour start as unix seconds, verdicts, flagged) for each of the last ``hours`` hours with data."""
        since = (time.time() // 3600 - hours + 1) * 3600
        rows = self._rows(
            "SELECT CAST(created_ts / 3600 AS INTEGER), COUNT(*), SUM(verdict = 'spill') FROM verdicts "
            "WHERE created_ts >= ? GROUP BY 1 ORDER BY 1",
            (since,),
        )
        return [(int(h) * 3600, int(n), int(f)) for h, n, f in rows]

    def count(self) -> int:
        """Number of verdict rows."""
        return int(self._rows("SELECT COUNT(*) FROM verdicts")[0][0])

    def close(self) -> None:
        """Commit everything queued, checkpoint the WAL and close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
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
