"""A micro-batcher in front of the model: concurrent requests are scored together in one call.

Natural batching: while one batch runs in the scoring thread, new requests queue up; the next batch
takes all of them (up to ``max_batch`` images). A lone request is scored at once (no added wait), and
under load the model sees batches of tens of images, which costs little more than one. Each queued item
carries the model its request captured, so a reload never changes the model under a request in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spillguard.deploy.service.model import LoadedModel

Work = Callable[[LoadedModel, np.ndarray], tuple[np.ndarray, ...]]


def score_only(model: LoadedModel, images: np.ndarray) -> tuple[np.ndarray, ...]:
    """The default work of a batch: the model's scores, (N,) float32."""
    return (np.asarray(model.scorer.score_samples(images), dtype=np.float32),)


@dataclass
class _Item:
    model: LoadedModel
    images: np.ndarray
    future: asyncio.Future[tuple[np.ndarray, ...]]


@dataclass
class BatchStats:
    """Counters of the batcher (also exported as Prometheus metrics by the app)."""

    batches: int = 0
    images: int = 0
    sizes: list[int] = field(default_factory=list)  # last batch sizes (bounded)


class MicroBatcher:
    """Queue of images to score; one worker task runs batches in a single scoring thread.

    ``work(model, images)`` runs once per batch in that thread and returns per-image arrays (default:
    the scores); each request gets its slice of every array.
    """

    def __init__(self, max_batch: int = 256, on_batch: Any = None, work: Work = score_only) -> None:
        self.max_batch = max_batch
        self.work = work
        self.on_batch = on_batch  # callable(n_images) after each batch, e.g. a metrics hook
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="scorer")
        self._busy = 0
        self.stats = BatchStats()

    async def start(self) -> None:
        """Start the worker on the running event loop."""
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="micro-batcher")

    async def run(self, model: LoadedModel, images: np.ndarray) -> tuple[np.ndarray, ...]:
        """The batch work's arrays for ``images`` (k, H, W, 3) uint8 with ``model``; waits for its batch."""
        if self._queue is None or self._task is None or self._task.done():
            raise RuntimeError("the micro-batcher is not running")
        fut: asyncio.Future[tuple[np.ndarray, ...]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(model, images, fut))
        return await fut

    async def score(self, model: LoadedModel, images: np.ndarray) -> np.ndarray:
        """The first array of the work (the scores, (k,)) for ``images``."""
        return (await self.run(model, images))[0]

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            items = [await self._queue.get()]
            n = len(items[0].images)
            while n < self.max_batch and not self._queue.empty():
                items.append(self._queue.get_nowait())
                n += len(items[-1].images)
            self._busy = len(items)
            groups: dict[int, list[_Item]] = {}
            for it in items:
                groups.setdefault(id(it.model), []).append(it)
            for group in groups.values():
                model = group[0].model
                batch = group[0].images if len(group) == 1 else np.concatenate([it.images for it in group])
                try:
                    arrays = await loop.run_in_executor(self._executor, self.work, model, batch)
                except Exception as exc:  # a scoring failure fails those requests, not the batcher
                    for it in group:
                        if not it.future.done():
                            it.future.set_exception(exc)
                    continue
                lo = 0
                for it in group:
                    k = len(it.images)
                    if not it.future.done():
                        it.future.set_result(tuple(a[lo : lo + k] for a in arrays))
                    lo += k
            self._busy = 0
            self.stats.batches += 1
            self.stats.images += n
            self.stats.sizes = [*self.stats.sizes[-255:], n]
            if self.on_batch is not None:
                self.on_batch(n)

    async def stop(self) -> None:
        """Finish every queued request, then stop the worker and the scoring thread."""
        if self._queue is not None and self._task is not None:
            while (not self._queue.empty() or self._busy) and not self._task.done():
                await asyncio.sleep(0.005)
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)
