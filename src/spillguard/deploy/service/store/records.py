"""The store's records, database-neutral: a verdict's fields listed once (``VerdictFields``; the new
row and the stored verdict extend it), feedback, the models served, the review page's counts, and the
store's time format (ISO 8601 UTC, milliseconds) with its one parser."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

LABELS = ("spill", "no_spill")


def utc_iso(ts: float) -> str:
    """Unix seconds -> ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def parse_utc(value: str) -> float:
    """An ISO date or date-time (UTC unless it says otherwise) -> unix seconds; ValueError if not one."""
    t = datetime.fromisoformat(value)
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class VerdictFields:
    """What every verdict row holds: when, which camera/source, the image's digest and format, the
    score against the threshold of a rule, the verdict, the model, and the image statistics (drift)."""

    created_ts: float
    camera: str | None
    source: str | None
    image_sha256: str
    image_format: str  # "JPEG" or "PNG", read from the bytes
    score: float
    threshold: float
    rule: str
    verdict: str  # "spill" or "no_spill"
    model_id: str
    brightness: float
    saturation: float
    line: str | None = None  # the line of the instance that scored it (serve --line)


#: The column names of ``VerdictFields``, in order (the stores' insert and select lists).
VERDICT_FIELDS = tuple(f.name for f in fields(VerdictFields))


@dataclass(frozen=True, kw_only=True)
class NewVerdict(VerdictFields):
    """A verdict to store; ``image`` holds the encoded bytes when the image is to be kept."""

    image: bytes | None = None


@dataclass(frozen=True)
class Feedback:
    """An operator's label for a verdict (the latest one counts)."""

    id: int
    verdict_id: int
    label: str
    operator: str
    created_at: str
    note: str


@dataclass(frozen=True, kw_only=True)
class Verdict(VerdictFields):
    """A stored verdict with its latest feedback, if any."""

    id: int
    created_at: str
    image_kept: bool
    feedback: Feedback | None = None


@dataclass(frozen=True)
class LabelledVerdict:
    """A verdict as the feedback export reads it: its image, verdict and latest label (None: none)."""

    id: int
    image_sha256: str
    image_format: str
    image_kept: bool
    verdict: str
    camera: str | None
    created_at: str
    label: str | None


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


MODEL_FIELDS = tuple(f.name for f in fields(ModelRecord))


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
