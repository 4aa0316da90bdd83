"""The SQLite verdict store: schema version, WAL, group commit, one failing write fails alone."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from sharedcore.errors import UserError
from spillguard.deploy.service.store import SCHEMA_VERSION, NewVerdict, SQLiteStore


def _row(i: int, verdict: str = "spill", image: bytes | None = b"img", camera: str = "c") -> NewVerdict:
    sha = f"{i:064x}"
    return NewVerdict(
        created_ts=time.time(), camera=camera, source=f"s{i}", image_sha256=sha, image_format="JPEG", image=image,
        score=0.1 * i, threshold=0.5, rule="prior", verdict=verdict, model_id="m@1", brightness=0.5, saturation=0.2,
    )  # fmt: skip


def test_rows_feedback_and_counts(tmp_path: Path) -> None:
    st = SQLiteStore(tmp_path / "v.sqlite", tmp_path / "img")
    try:
        futs = [
            st.add_verdicts([_row(i, "spill" if i % 2 else "no_spill", camera="a" if i < 6 else "b")])
            for i in range(10)
        ]
        ids = [f.result(timeout=10)[0] for f in futs]
        assert ids == list(range(1, 11)) and st.count() == 10
        assert (tmp_path / "img" / "00" / f"{1:064x}.jpg").read_bytes() == b"img"
        pending = st.pending()
        assert [v.id for v in pending] == [10, 8, 6, 4, 2]  # flagged, highest score first
        assert [v.id for v in st.pending(camera="a")] == [6, 4, 2]
        st.add_feedback(10, "spill", "ann").result(timeout=10)
        st.add_feedback(8, "spill", "ann").result(timeout=10)
        st.add_feedback(8, "no_spill", "bob", "glare").result(timeout=10)  # latest label counts
        c = st.counts()
        assert (c.waiting, c.confirmed_today, c.false_alarms_today, c.scored_today, c.flagged_today) == (
            3,
            1,
            1,
            10,
            5,
        )
        assert st.get(8).feedback.operator == "bob" and st.get(8).feedback.note == "glare"  # type: ignore[union-attr]
        with pytest.raises(KeyError):
            st.add_feedback(999, "spill", "ann").result(timeout=10)
        assert st.cameras() == ["a", "b"] and len(st.recent(4).scores) == 4
        assert sum(n for _, n, _ in st.hourly(24)) == 10
    finally:
        st.close()
    st.close()  # idempotent


def test_one_bad_write_in_a_group_commit_fails_alone(tmp_path: Path) -> None:
    st = SQLiteStore(tmp_path / "v.sqlite", tmp_path / "img")
    try:
        futs = [st.add_verdicts([_row(1)]), st.add_feedback(12345, "spill", "x"), st.add_verdicts([_row(2)])]
        assert futs[0].result(timeout=10) == [1] and futs[2].result(timeout=10) == [2]
        with pytest.raises(KeyError):
            futs[1].result(timeout=10)
    finally:
        st.close()


def test_schema_version_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    SQLiteStore(db, tmp_path / "img").close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert dict(conn.execute("SELECT key, value FROM meta").fetchall())["schema_version"] == str(
            SCHEMA_VERSION
        )
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UserError, match="newer than this spillguard"):
        SQLiteStore(db, tmp_path / "img")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(UserError, match="other tables"):
        SQLiteStore(other, tmp_path / "img")


def test_a_version_2_database_gets_the_plant_tables(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite"
    st = SQLiteStore(db, tmp_path / "img")
    st.add_verdicts([_row(1), _row(2)]).result(timeout=10)
    st.close()
    with sqlite3.connect(db) as conn:  # what a version-2 database is
        conn.execute("DROP TABLE live_models")
        conn.execute("DROP TABLE outbox")
        conn.execute("ALTER TABLE verdicts DROP COLUMN line")
        conn.execute("PRAGMA user_version = 2")
    st = SQLiteStore(db, tmp_path / "img", outbox=True)
    try:
        assert st.count() == 2 and st.get(1) is not None and st.get(1).line is None  # type: ignore[union-attr]
        st.add_verdicts([NewVerdict(**{**_row(3).__dict__, "line": "a"})]).result(timeout=10)
        assert st.get(3).line == "a" and st.waiting("a") == 1  # type: ignore[union-attr]
    finally:
        st.close()
    with sqlite3.connect(db) as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        assert "migrated_2_to_3" in meta
