"""The store's reads, in SQL that SQLite runs (``?`` parameters): each takes ``rows(sql, args)``, a
function returning the result rows, and builds the records; the review page's, the service's and the
feedback export's queries are all here (the latest label of a verdict is ``LATEST_FEEDBACK``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from spillguard.deploy.service.store.records import (
    MODEL_FIELDS,
    VERDICT_FIELDS,
    Feedback,
    LabelledVerdict,
    ModelRecord,
    Recent,
    ReviewCounts,
    Verdict,
)

Rows = Callable[[str, Sequence[Any]], list[Any]]

LATEST_FEEDBACK = "(SELECT MAX(f.id) FROM feedback f WHERE f.verdict_id = v.id)"
_STORED = ("id", "created_at", "image_kept", *VERDICT_FIELDS)  # a stored verdict's columns
_N = len(_STORED)
MODEL_COLUMNS = ", ".join(MODEL_FIELDS)


def verdicts(rows: Rows, where: str, args: Sequence[Any], tail: str = "") -> list[Verdict]:
    """Verdicts (alias ``v``) matching ``where``, each with its latest feedback."""
    sql = (
        f"SELECT {', '.join('v.' + c for c in _STORED)}, f.id, f.label, f.operator, f.created_at, f.note "
        f"FROM verdicts v LEFT JOIN feedback f ON f.id = {LATEST_FEEDBACK} WHERE {where} {tail}"
    )
    out = []
    for r in rows(sql, args):
        fb = Feedback(r[_N], r[0], r[_N + 1], r[_N + 2], r[_N + 3], r[_N + 4]) if r[_N] is not None else None
        cols = dict(zip(_STORED, r[:_N], strict=True))
        cols["image_kept"] = bool(cols["image_kept"])
        out.append(Verdict(**cols, feedback=fb))
    return out


def get(rows: Rows, verdict_id: int) -> Verdict | None:
    """One verdict with its latest feedback, or None."""
    found = verdicts(rows, "v.id = ?", (verdict_id,))
    return found[0] if found else None


def model(rows: Rows, model_id: str) -> ModelRecord | None:
    """The recorded model of this id, or None."""
    found = rows(f"SELECT {MODEL_COLUMNS} FROM models WHERE model_id = ?", (model_id,))
    return ModelRecord(*found[0]) if found else None


def live_model(rows: Rows, line: str) -> ModelRecord | None:
    """The model promoted for ``line``, or None when none was."""
    cols = ", ".join("m." + c for c in MODEL_FIELDS)
    found = rows(
        f"SELECT {cols} FROM live_models l JOIN models m ON m.model_id = l.model_id WHERE l.line = ?", (line,)
    )
    return ModelRecord(*found[0]) if found else None


def unpublished(rows: Rows, line: str, limit: int) -> list[Verdict]:
    """Verdicts of ``line`` waiting in the outbox, oldest first."""
    return verdicts(
        rows,
        "v.id IN (SELECT o.verdict_id FROM outbox o WHERE o.line = ? ORDER BY o.verdict_id LIMIT ?)",
        (line, limit),
        "ORDER BY v.id",
    )


def waiting(rows: Rows, line: str | None) -> int:
    """Verdicts waiting in the outbox (of ``line``, or of every line)."""
    if line is None:
        return int(rows("SELECT COUNT(*) FROM outbox", ())[0][0])
    return int(rows("SELECT COUNT(*) FROM outbox WHERE line = ?", (line,))[0][0])


def line_counts(rows: Rows) -> list[tuple[str, str, int]]:
    """(line, verdict, rows) of every instance that wrote to the database (line '' when unnamed)."""
    found = rows("SELECT COALESCE(line, ''), verdict, COUNT(*) FROM verdicts GROUP BY 1, 2 ORDER BY 1, 2", ())
    return [(str(a), str(b), int(c)) for a, b, c in found]


def filters(camera: str | None, since: float | None, until: float | None) -> tuple[str, list[Any]]:
    """The review page's filters as a WHERE clause over ``v`` and its arguments."""
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
    rows: Rows, camera: str | None, since: float | None, until: float | None, limit: int
) -> list[Verdict]:
    """Flagged verdicts without feedback, highest score first."""
    if limit <= 0:
        return []
    where, args = filters(camera, since, until)
    return verdicts(
        rows,
        f"v.verdict = 'spill' AND {LATEST_FEEDBACK} IS NULL AND {where}",
        [*args, limit],
        "ORDER BY v.score DESC, v.id LIMIT ?",
    )


def cameras(rows: Rows) -> list[str]:
    """Camera names seen so far."""
    return [
        r[0] for r in rows("SELECT DISTINCT camera FROM verdicts WHERE camera IS NOT NULL ORDER BY 1", ())
    ]


def counts(rows: Rows, camera: str | None, since: float | None, until: float | None) -> ReviewCounts:
    """Waiting (with the filters); confirmed, false alarms, scored and flagged today (UTC)."""
    where, args = filters(camera, since, until)
    waiting = rows(
        f"SELECT COUNT(*) FROM verdicts v WHERE v.verdict = 'spill' AND {LATEST_FEEDBACK} IS NULL AND {where}",
        args,
    )[0][0]
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    cam_sql, cam_args = ("AND v.camera = ?", [camera]) if camera else ("", [])
    by = dict(
        rows(
            "SELECT f.label, COUNT(*) FROM feedback f JOIN verdicts v ON v.id = f.verdict_id "
            f"WHERE f.id = {LATEST_FEEDBACK} AND f.created_ts >= ? AND v.verdict = 'spill' {cam_sql} "
            "GROUP BY f.label",
            [day, *cam_args],
        )
    )
    scored, flagged = rows(
        f"SELECT COUNT(*), COALESCE(SUM(v.verdict = 'spill'), 0) FROM verdicts v WHERE v.created_ts >= ? {cam_sql}",
        [day, *cam_args],
    )[0]
    return ReviewCounts(int(waiting), by.get("spill", 0), by.get("no_spill", 0), int(scored), int(flagged))


def recent(rows: Rows, n: int) -> Recent:
    """The last ``n`` verdicts' scores, brightness, saturation and flags, newest first."""
    found = rows("SELECT score, brightness, saturation, verdict FROM verdicts ORDER BY id DESC LIMIT ?", (n,))
    return Recent(
        [r[0] for r in found], [r[1] for r in found], [r[2] for r in found], [r[3] == "spill" for r in found]
    )


def hourly(rows: Rows, hours: int) -> list[tuple[int, int, int]]:
    """(hour start as unix seconds, verdicts, flagged) for each of the last ``hours`` hours with data."""
    since = (time.time() // 3600 - hours + 1) * 3600
    found = rows(
        "SELECT CAST(created_ts / 3600 AS INTEGER), COUNT(*), SUM(verdict = 'spill') FROM verdicts "
        "WHERE created_ts >= ? GROUP BY 1 ORDER BY 1",
        (since,),
    )
    return [(int(h) * 3600, int(n), int(f)) for h, n, f in found]


def count(rows: Rows) -> int:
    """Number of verdict rows."""
    return int(rows("SELECT COUNT(*) FROM verdicts", ())[0][0])


def labelled(rows: Rows, since: float | None) -> list[LabelledVerdict]:
    """Every verdict from ``since`` on (unix seconds; None: all) with its latest label, oldest first
    (the feedback export's input)."""
    found = rows(
        "SELECT v.id, v.image_sha256, v.image_format, v.image_kept, v.verdict, v.camera, v.created_at, "
        "(SELECT f.label FROM feedback f WHERE f.verdict_id = v.id ORDER BY f.id DESC LIMIT 1) "
        "FROM verdicts v WHERE v.created_ts >= ? ORDER BY v.id",
        (since if since is not None else float("-inf"),),
    )
    return [
        LabelledVerdict(i, sha, fmt, bool(kept), v, cam, t, lab)
        for i, sha, fmt, kept, v, cam, t, lab in found
    ]


def image_store(rows: Rows) -> str | None:
    """The image folder the database names (``meta``), or None."""
    found = rows("SELECT value FROM meta WHERE key = 'image_store'", ())
    return found[0][0] if found else None
