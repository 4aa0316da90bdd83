"""The settings of ``avatargen serve``, checked once, here: ``ServeConfig`` refuses a bad value when it
is built (the CLI builds it before the model is loaded or a port opened; a Python caller gets the
same checks and messages). Port and body limit follow ``sharedcore.web``, as spillguard's service does."""

from __future__ import annotations

from dataclasses import dataclass

from sharedcore.machine import MIB, check_process_count
from sharedcore.web import check_port

#: Memory of one worker process: 168 MB resident with the example model loaded (measured), plus the
#: rendered-avatar cache's budget (64 MiB) and room for requests in flight.
WORKER_BYTES = 320 * MIB


@dataclass
class ServeConfig:
    """Everything ``avatargen serve`` passes to the server."""

    model: str  # a model file, or ``example`` (service.load_model)
    mapping: str | None = None  # a mapping YAML or built-in name; None: the built-in one covering the model
    host: str = "127.0.0.1"
    port: int = 8001  # 0: a free port (printed)
    workers: int = 1  # uvicorn worker processes, each with its own model and caches
    access_log: bool = False

    def __post_init__(self) -> None:
        self.port = check_port(self.port)
        # each worker loads the model: bounded by the machine's cores and memory (1,000 ran it out of memory)
        check_process_count(self.workers, f"--workers {self.workers}", WORKER_BYTES)
