"""The micro-batcher: concurrent requests share model calls, each request keeps the model it captured."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from spillguard.deploy.service.batching import MicroBatcher


class Recorder:
    """A scorer that records its batch sizes; the score is the image's mean + an offset."""

    def __init__(self, offset: float) -> None:
        self.offset, self.calls = offset, []  # type: ignore[var-annotated]

    def score_samples(self, images: np.ndarray) -> np.ndarray:
        self.calls.append(len(images))
        return images.reshape(len(images), -1).mean(axis=1).astype(np.float32) + self.offset


def _model(offset: float) -> Any:
    return SimpleNamespace(scorer=Recorder(offset))


def test_concurrent_requests_are_batched_and_keep_their_model() -> None:
    a, b = _model(0.0), _model(1000.0)

    async def main() -> list[np.ndarray]:
        mb = MicroBatcher(max_batch=64)
        await mb.start()
        imgs = [np.full((1, 2, 2, 3), i, np.uint8) for i in range(40)]
        res = await asyncio.gather(*(mb.score(a if i % 3 else b, im) for i, im in enumerate(imgs)))
        await mb.stop()
        return list(res)

    res = asyncio.run(main())
    for i, r in enumerate(res):
        assert r.shape == (1,) and r[0] == pytest.approx(i + (0 if i % 3 else 1000))
    assert sum(a.scorer.calls) + sum(b.scorer.calls) == 40
    assert max(a.scorer.calls) > 1  # they were scored together, not one by one


def test_a_failing_model_fails_its_requests_only() -> None:
    class Broken:
        def score_samples(self, images: np.ndarray) -> np.ndarray:
            raise RuntimeError("boom")

    good, bad = _model(0.0), SimpleNamespace(scorer=Broken())

    async def main() -> list[Any]:
        mb = MicroBatcher()
        await mb.start()
        out = await asyncio.gather(
            mb.score(bad, np.zeros((1, 2, 2, 3), np.uint8)),
            mb.score(good, np.ones((2, 2, 2, 3), np.uint8)),
            return_exceptions=True,
        )
        again = await mb.score(good, np.ones((1, 2, 2, 3), np.uint8))
        await mb.stop()
        return [*out, again]

    err, ok, again = asyncio.run(main())
    assert isinstance(err, RuntimeError) and list(ok) == [1.0, 1.0] and list(again) == [1.0]
