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
    db: Path = Path("verdicts.sqlite")
    store: Path | None = None  # kept images; default: a folder "<db stem>-images" beside the database
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

    def __post_init__(self) -> None:
        self.port = check_port(self.port)
        check_int(self.score_batch, "--score-batch", 1, 65_536)
        check_probability(self.sample_normals, "--sample-normals")
        check_int(self.keep_models, "--keep-models", 1, 1_000)
        check_int(self.drift_window, "--drift-window", 1, 10_000_000)
        check_int(self.max_batch_bytes, "max_batch_bytes", 1)
        check_output(self.db, force=True, kind="file")  # an existing database is reused, never replaced
        if self.store is not None and self.store.exists() and not self.store.is_dir():
            raise UserError(f"--store {self.store}: exists and is not a folder; name a folder of kept images")

    @property
    def image_dir(self) -> Path:
        """The folder of kept images."""
        return self.store if self.store is not None else self.db.with_name(f"{self.db.stem}-images")
