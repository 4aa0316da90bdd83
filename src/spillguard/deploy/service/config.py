"""The scoring service's settings, checked once, here: ``ServiceConfig`` refuses a bad value when it is
built (the CLI builds it before the model is loaded or a port opened; a Python caller gets the same
checks and messages), and ``limits_from_options`` turns ``--max-mb``/``--max-pixels``/``--max-batch``
into upload ``Limits``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sharedcore.atomic import check_output
from sharedcore.errors import UserError
from sharedcore.validate import check_float, check_int, check_probability
from sharedcore.web import check_port
from spillguard.deploy.service.model import ScorerLoader, auto_loader
from spillguard.deploy.service.uploads import Limits

MB = 1024 * 1024


def limits_from_options(max_mb: float, max_pixels: int, max_batch: int) -> Limits:
    """Upload limits from serve's options (a NaN or negative --max-mb is refused, not truncated)."""
    mb = check_float(max_mb, "--max-mb", 0.0, 4096.0, low_open=True)
    return Limits(
        max_bytes=int(mb * MB),
        max_pixels=check_int(max_pixels, "--max-pixels", 1, 2**31),
        max_batch=check_int(max_batch, "--max-batch", 1, 1_000_000),
    )


@dataclass
class ServiceConfig:
    """Everything ``spillguard serve`` passes to the app; every value is checked on construction."""

    run: Path
    # a SQLite file, or a postgresql://host/dbname URL (a plant: several instances on one database)
    db: Path | str = Path("verdicts.sqlite")
    store: Path | None = None  # kept images (SQLite); default: a folder "<db stem>-images" beside the db
    token: str | None = None  # bearer token of the write endpoints (feedback, reload)
    rule: str | None = None  # threshold rule of verdicts (default: the run's)
    sample_normals: float = 0.05  # share of normal verdicts whose image is kept (chosen by sha256)
    limits: Limits = field(default_factory=Limits)
    max_batch_bytes: int = 64 * MB
    drift_window: int = 500  # recent verdicts compared with the validation normals
    score_batch: int = 256  # most images per model call of the micro-batcher (1: no micro-batching)
    keep_models: int = 3  # models kept in memory (the current one and the last replaced ones) for explain
    loader: ScorerLoader = auto_loader  # .onnx on onnxruntime, a run folder on torch (backend_loader)
    host: str = "127.0.0.1"  # where ``serve`` listens; beyond loopback a token is required
    port: int = 8000  # 0: a free port
    line: str | None = None  # the line this instance serves (stored on each verdict; MQTT topic level)
    mqtt: str | None = None  # mqtt://host:port/prefix: publish every verdict to the line
    model_poll: float = 2.0  # seconds between checks of the line's live model in the database

    def __post_init__(self) -> None:
        self.port = check_port(self.port)
        check_int(self.score_batch, "--score-batch", 1, 65_536)
        check_probability(self.sample_normals, "--sample-normals")
        check_int(self.keep_models, "--keep-models", 1, 1_000)
        check_int(self.drift_window, "--drift-window", 1, 10_000_000)
        check_int(self.max_batch_bytes, "max_batch_bytes", 1)
        if isinstance(self.db, str) and not is_server_url(self.db):
            self.db = Path(self.db)
        if isinstance(self.db, Path):
            check_output(self.db, force=True, kind="file")  # an existing database is reused, never replaced
        elif self.store is not None:
            raise UserError(
                f"--store {self.store}: a PostgreSQL store keeps images in the database; leave --store out"
            )
        if self.line is not None and (
            not self.line.strip() or len(self.line) > 64 or not self.line.isprintable()
        ):
            raise UserError(f"--line {self.line!r}: give the line's name, at most 64 printable characters")
        if self.mqtt is not None:
            from spillguard.deploy.service.mqtt import MqttTarget

            MqttTarget.parse(self.mqtt)  # UserError on a bad URL
            if self.line is None:
                raise UserError(
                    "--mqtt needs --line NAME: the line is the topic level PREFIX/LINE/CAMERA/verdict"
                )
        check_float(self.model_poll, "--model-poll", 0.05, 3600.0)
        if self.store is not None and self.store.exists() and not self.store.is_dir():
            raise UserError(f"--store {self.store}: exists and is not a folder; name a folder of kept images")

    @property
    def postgres(self) -> bool:
        """Whether the store is a PostgreSQL server (``db`` is a URL)."""
        return isinstance(self.db, str)

    @property
    def db_label(self) -> str:
        """The database and where kept images go, for messages (a URL without its password)."""
        if isinstance(self.db, str):
            from urllib.parse import urlsplit, urlunsplit

            u = urlsplit(self.db)
            netloc = u.netloc if u.password is None else u.netloc.replace(f":{u.password}@", ":***@")
            return f"{urlunsplit(u._replace(netloc=netloc))} (images in the database)"
        return f"{self.db}, images {self.image_dir}"

    @property
    def image_dir(self) -> Path:
        """The folder of kept images (SQLite; a PostgreSQL store keeps them in the database)."""
        if self.store is not None:
            return self.store
        db = Path(self.db)
        return db.with_name(f"{db.stem}-images")


def is_server_url(db: str) -> bool:
    """Whether ``--db`` names a PostgreSQL server (postgresql:// or postgres://), not a SQLite file."""
    return db.startswith(("postgresql://", "postgres://"))
