"""The SQLite schema of the verdict store and its migrations: ``migrate`` takes a database of any
older version (or a new file) to ``SCHEMA_VERSION`` in one transaction, and refuses a newer one."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sharedcore.errors import UserError
from spillguard.deploy.service.store.base import SCHEMA_VERSION
from spillguard.deploy.service.store.records import utc_iso

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

TABLES = {"meta", "verdicts", "feedback", "models"}


def statements(script: str) -> list[str]:
    """The SQL statements of a script (no ';' inside our literals), comment-only pieces left out."""
    out = []
    for piece in script.split(";"):
        code = "\n".join(line for line in piece.splitlines() if not line.strip().startswith("--"))
        if code.strip():
            out.append(code)
    return out


def migrate(conn: sqlite3.Connection, path: Path, image_root: Path) -> None:
    """Bring the database at ``path`` (open as ``conn``) to ``SCHEMA_VERSION``; record the image
    folder in ``meta``. UserError for a newer schema or a database holding other tables."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UserError(
            f"{path}: database schema version {version} is newer than this spillguard's "
            f"({SCHEMA_VERSION}); upgrade spillguard or use another --db"
        )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version == 0 and tables - TABLES:
        raise UserError(f"{path}: holds other tables ({', '.join(sorted(tables))}); use another --db")
    conn.execute("BEGIN IMMEDIATE")
    try:
        scripts = (
            [SCHEMA] if version == 0 else [MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1)]
        )
        for script in scripts:  # a new database gets the current schema at once
            for stmt in statements(script):
                conn.execute(stmt)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (utc_iso(time.time()),)
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?), ('image_store', ?)",
            (str(SCHEMA_VERSION), str(image_root.resolve())),
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
