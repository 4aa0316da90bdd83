"""The interface of a verdict store, database-neutral: what the service needs (``Store``). SQLite
implements it in ``sqlite``; another database implements the same methods with the same records."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol

from spillguard.deploy.service.store.records import (
    Feedback,
    ModelRecord,
    NewVerdict,
    Recent,
    ReviewCounts,
    Verdict,
)

#: The SQLite store's schema version (1: verdicts, feedback, meta; 2: + models, what each model id was
#: loaded from; 3: + verdicts.line, outbox (verdicts waiting for the MQTT publisher), live_models (the
#: live model per line)).
SCHEMA_VERSION = 3
#: Versions the feedback export reads: the verdict and feedback tables are the same in all.
READABLE_VERSIONS = (1, 2, 3)


class StoreUnavailable(RuntimeError):
    """The database cannot be reached now (the service answers 503 with Retry-After)."""


class Store(Protocol):
    """What the service needs from a verdict store. Writes return futures resolved after commit (a
    verdict is answered only once its row is committed); reads return the records of ``records``.
    ``errors`` are the exception types of the database itself (a failed read answers 503)."""

    errors: tuple[type[Exception], ...]

    def add_verdicts(self, rows: Sequence[NewVerdict]) -> Future[list[int]]:
        """Insert verdict rows (their kept images written first); resolves to their ids, in order."""
        ...

    def add_feedback(self, verdict_id: int, label: str, operator: str, note: str) -> Future[Feedback]:
        """Record a label; the future fails with KeyError for an unknown verdict id."""
        ...

    def add_model(self, m: ModelRecord) -> Future[ModelRecord]:
        """Record a model being served (first served stays; run path and kind become the latest)."""
        ...

    def ping_write(self) -> Future[None]:
        """A real write (the readiness probe)."""
        ...

    def get(self, verdict_id: int) -> Verdict | None:
        """One verdict with its latest feedback, or None."""
        ...

    def model(self, model_id: str) -> ModelRecord | None:
        """The recorded model of this id, or None."""
        ...

    def image_state(self, v: Verdict) -> str:
        """``kept``, ``not_kept`` or ``missing`` (kept, file gone)."""
        ...

    def image_bytes(self, v: Verdict) -> bytes | None:
        """The kept image of a verdict, or None."""
        ...

    def pending(
        self, camera: str | None, since: float | None, until: float | None, limit: int
    ) -> list[Verdict]:
        """Flagged verdicts without feedback, highest score first."""
        ...

    def cameras(self) -> list[str]:
        """Camera names seen so far."""
        ...

    def counts(self, camera: str | None, since: float | None, until: float | None) -> ReviewCounts:
        """The review page's counts."""
        ...

    def recent(self, n: int) -> Recent:
        """The last ``n`` verdicts' columns, newest first."""
        ...

    def hourly(self, hours: int) -> list[tuple[int, int, int]]:
        """(hour start in unix seconds, verdicts, flagged) for the last ``hours`` hours with data."""
        ...

    def count(self) -> int:
        """Number of verdict rows."""
        ...

    def close(self) -> None:
        """Commit everything queued and close (idempotent)."""
        ...

    # a plant: the outbox of the MQTT publisher, the live model per line, counts of every line
    def set_live_model(self, line: str, model_id: str) -> Future[None]:
        """Make ``model_id`` (recorded already) the live model of ``line``."""
        ...

    def mark_published(self, ids: Sequence[int]) -> Future[None]:
        """Take verdicts the broker has acknowledged out of the outbox."""
        ...

    def live_model(self, line: str) -> ModelRecord | None:
        """The model promoted for ``line``, or None when none was."""
        ...

    def unpublished(self, line: str, limit: int = 256) -> list[Verdict]:
        """Verdicts of ``line`` waiting in the outbox, oldest first."""
        ...

    def waiting(self, line: str | None = None) -> int:
        """Verdicts waiting in the outbox (of ``line``, or of every line)."""
        ...

    def line_counts(self) -> list[tuple[str, str, int]]:
        """(line, verdict, rows) of every instance that wrote to the database (line '' when unnamed)."""
        ...
