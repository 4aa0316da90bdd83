"""The state one avatar app shares among its routes (``app.state.api``): the ``StyleService``, its
metrics, the thread pool for CPU-bound work and the cached JSON bodies."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread

from avatargen.serve.cache import LRUCache
from avatargen.serve.metrics import AvatarMetrics
from avatargen.serve.responses import json_bytes
from avatargen.serve.service import StyleService

T = TypeVar("T")


class CpuWork:
    """CPU-bound work (sampling, drawing, resvg) run in threads, at most one per core (and 4): more
    threads only contend for the interpreter and stretch every request's latency."""

    def __init__(self, threads: int | None = None) -> None:
        self.limiter = anyio.CapacityLimiter(threads or max(1, min(4, os.cpu_count() or 1)))

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a worker thread, off the event loop."""
        return await anyio.to_thread.run_sync(fn, limiter=self.limiter)


@dataclass
class ApiState:
    """What every route of one app shares."""

    service: StyleService
    metrics: AvatarMetrics
    cpu: CpuWork
    style_bodies: LRUCache[bytes]  # /v1/style answers by (seed, pins)
    schema_body: bytes  # /v1/schema, also embedded in the explore page

    @classmethod
    def of(cls, service: StyleService) -> ApiState:
        """A fresh state over ``service``: empty counters and caches, the schema body made once."""
        return cls(
            service,
            AvatarMetrics(),
            CpuWork(),
            LRUCache(65_536, 64 * 2**20, len),
            json_bytes(service.schema()),
        )
