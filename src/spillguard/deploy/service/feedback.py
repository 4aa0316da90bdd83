"""Operators' labels -> training data: ``spillguard feedback export DB -o DATA`` writes the
``normal/`` + ``anomalous/`` layout ``spillguard train`` reads, so that retraining is one command.

- anomalous/: verdicts whose latest label is ``spill`` (confirmed spills, and spills the model missed);
- normal/: verdicts whose latest label is ``no_spill`` (false alarms) and the sampled normals that
  no one labelled;
- flagged pits no one has reviewed yet are left out; an image labelled both ways is left out and listed.
With ``--base DATA`` the images of an existing training set are added (normals to normal/, known
spills to anomalous/), so that the export retrains on the old data plus the line's labels.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import spillguard.deploy.service.store.queries as queries
from sharedcore.atomic import atomic_dir
from sharedcore.errors import UserError
from spillguard.data import training_sources
from spillguard.deploy.service.config import is_server_url
from spillguard.deploy.service.store.images import EXT, ImageFiles
from spillguard.deploy.service.store.records import LabelledVerdict, parse_utc
from spillguard.deploy.service.store.sqlite import open_readonly, rows_of

MANIFEST = "feedback_export.csv"


@dataclass
class ExportResult:
    """What an export wrote: counts by reason, the images it could not find, the folder."""

    folder: Path
    counts: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    conflicting: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI."""
        parts = [f"{v} {k.replace('_', ' ')}" for k, v in self.counts.items() if v]
        extra = []
        if self.missing:
            extra.append(f"{len(self.missing)} image(s) missing from the store")
        if self.conflicting:
            extra.append(f"{len(self.conflicting)} image(s) labelled both ways left out")
        return (
            f"{self.folder}: "
            + (", ".join(parts) or "nothing to export")
            + (f" ({'; '.join(extra)})" if extra else "")
        )


def parse_since(value: str | None) -> float | None:
    """An ISO date or date-time (UTC unless it says otherwise) -> unix seconds."""
    if not value:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        raise UserError(f"--since {value}: not a date like 2026-12-01 or 2026-12-01T08:00") from None


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def export_feedback(
    db: str | os.PathLike[str],  # a SQLite file, or a postgresql:// URL (a plant's database)
    out: str | os.PathLike[str],
    since: str | None = None,
    store: str | os.PathLike[str] | None = None,
    base: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> ExportResult:
    """Write the training folder ``out`` from the verdict database ``db`` (atomically)."""
    t0 = parse_since(since)
    get_image: Callable[[str, str], bytes | None]
    close: Callable[[], None] = lambda: None  # noqa: E731
    if isinstance(db, str) and is_server_url(db):  # a plant's database: images are in it too
        from spillguard.deploy.service.store.postgres import read_export

        found, get_image, close = read_export(db, t0)
        labelled = [
            LabelledVerdict(i, sha, fmt, bool(k), v, cam, t, lab) for i, sha, fmt, k, v, cam, t, lab in found
        ]
    else:
        conn = open_readonly(db)
        try:
            rows = rows_of(conn)
            store = store if store is not None else queries.image_store(rows)
            if store is None:
                raise UserError(f"{db}: the database names no image store; pass --store DIR")
            get_image = ImageFiles(store).get
            labelled = queries.labelled(rows, t0)
        finally:
            conn.close()
    picked: dict[
        str, tuple[str, str, int, str, str | None, str]
    ] = {}  # sha -> (label, reason, id, fmt, cam, time)
    labels_of: dict[str, set[str]] = {}
    for r in labelled:
        vid, sha, fmt, kept, verdict, cam, created, label = (
            r.id,
            r.image_sha256,
            r.image_format,
            r.image_kept,
            r.verdict,
            r.camera,
            r.created_at,
            r.label,
        )
        if label is not None:
            reason = {
                ("spill", "spill"): "confirmed_spills",
                ("spill", "no_spill"): "false_alarms",
                ("no_spill", "spill"): "missed_spills",
                ("no_spill", "no_spill"): "confirmed_normals",
            }[(verdict, label)]
            lab = "anomalous" if label == "spill" else "normal"
        elif verdict == "no_spill" and kept:
            reason, lab = "sampled_normals", "normal"
        else:
            continue  # flagged and not reviewed yet: no label to learn from
        labels_of.setdefault(sha, set()).add(lab)
        if sha not in picked or label is not None:  # a labelled row wins over a sampled one
            picked[sha] = (lab, reason, vid, fmt, cam, created)
    try:
        return _write(picked, labels_of, get_image, db, out, since, base, force)
    finally:
        close()


def _write(
    picked: dict[str, tuple[str, str, int, str, str | None, str]],
    labels_of: dict[str, set[str]],
    get_image: Callable[[str, str], bytes | None],
    db: str | os.PathLike[str],
    out: str | os.PathLike[str],
    since: str | None,
    base: str | os.PathLike[str] | None,
    force: bool,
) -> ExportResult:
    """Write the picked images (sha -> label, reason, id, format, camera, time) and the manifest."""
    if base is not None:
        base_src = training_sources(base)
    result = ExportResult(Path(out))
    with atomic_dir(out, force=force) as tmp:
        (tmp / "normal").mkdir()
        (tmp / "anomalous").mkdir()
        manifest = io.StringIO()
        w = csv.writer(manifest)
        w.writerow(["file", "label", "reason", "verdict_id", "image_sha256", "camera", "created_at"])
        for sha, (lab, reason, vid, fmt, cam, created) in picked.items():
            if len(labels_of[sha]) > 1:
                result.conflicting.append(sha)
                continue
            data = get_image(sha, fmt)
            if data is None:
                result.missing.append(sha)
                continue
            name = f"{lab}/v{vid:08d}_{sha[:12]}.{EXT.get(fmt, 'bin')}"
            (tmp / name).write_bytes(data)
            w.writerow([name, lab, reason, vid, sha, cam or "", created])
            result.counts[reason] = result.counts.get(reason, 0) + 1
        if base is not None:
            n = {0: 0, 1: 0}
            for i, (p, y) in enumerate(zip(base_src.paths, base_src.labels, strict=True)):
                lab = "anomalous" if y else "normal"
                name = f"{lab}/base_{i:06d}{p.suffix.lower()}"
                _link_or_copy(p, tmp / name)
                w.writerow([name, lab, "base", "", "", "", ""])
                n[y] += 1
            result.counts["base_normals"], result.counts["base_spills"] = n[0], n[1]
        (tmp / MANIFEST).write_text(manifest.getvalue(), encoding="utf-8")
        if not any((tmp / "normal").iterdir()):
            raise UserError(
                f"{db}: no normal images to export (no false alarms, labelled or sampled normals"
                f"{' since ' + since if since else ''}); label pits on /review first, or pass --base DATA"
            )
    return result
