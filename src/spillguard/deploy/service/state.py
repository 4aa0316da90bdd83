"""The scoring service's state, one object on ``app.state.service``: the model holder (the current
model and the last few, loading a verdict's own model on demand), the store, the micro-batcher and the
metrics; ``score`` takes checked uploads to stored verdicts."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import numpy as np

from sharedcore.errors import UserError
from sharedcore.web import ServiceError
from spillguard.deploy.service.batching import MicroBatcher
from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.drift import image_stats
from spillguard.deploy.service.errors import db_unavailable, write_errors
from spillguard.deploy.service.metrics import ServiceMetrics
from spillguard.deploy.service.model import LoadedModel, ModelHolder, load_model
from spillguard.deploy.service.plant import LiveModel, StoreFigures, make_publisher, open_store
from spillguard.deploy.service.schemas import ScoreOut, model_out
from spillguard.deploy.service.store import ModelRecord, NewVerdict, Store, Verdict
from spillguard.deploy.service.uploads import Upload

log = logging.getLogger("spillguard.serve")
UNAVAILABLE_TTL = 60.0  # seconds a verdict's model that could not be loaded is not tried again


class Service:
    """The app's state: the model holder, the store, the batcher, the metrics."""

    def __init__(self, cfg: ServiceConfig) -> None:
        self.cfg = cfg
        self.token = cfg.token or None
        self.holder = ModelHolder(load_model(cfg.run, cfg.rule, cfg.loader), cfg.keep_models)
        self.metrics = ServiceMetrics()
        self.store: Store = open_store(cfg)
        self.write_errors = write_errors(self.store)
        self.live: LiveModel | None = None  # the line's live model in the database (serve --line)
        try:
            self.record_model(self.holder.current)
            if cfg.line is not None:
                self.live = LiveModel(self.store, self.holder, cfg, self.swapped)
                self.live.adopt_or_promote()
        except self.write_errors as exc:
            self.store.close()
            raise UserError(
                f"{cfg.db}: cannot record the model being served ({exc}); check the --db file"
            ) from None
        self._load_lock = threading.Lock()  # one lazy load of a verdict's model at a time
        self._unavailable: dict[str, tuple[float, ServiceError]] = {}
        self.batcher = MicroBatcher(
            max_batch=cfg.score_batch, on_batch=self.metrics.batch.observe, work=score_and_stats
        )
        info = self.holder.current.info
        self.metrics.set_model(info.model_id, info.config, info.rule)
        self._keep_below = int(cfg.sample_normals * 2**32)
        self.publisher = make_publisher(cfg, self.store, lambda: self.holder.current.info.model_id)
        self.metrics.registry.register(StoreFigures(self.store, self.publisher, cfg.line))

    def swapped(self, old: LoadedModel, new: LoadedModel) -> None:
        """A promotion from the database was swapped in."""
        self.metrics.reloads.labels("promoted").inc()
        self.metrics.set_model(new.info.model_id, new.info.config, new.info.rule)

    def start_plant(self) -> None:
        """Start following the live model and publishing (the app's lifespan)."""
        if self.live is not None:
            self.live.start()
        if self.publisher is not None:
            self.publisher.start()

    def stop_plant(self) -> None:
        """Stop both; the publisher first sends what waits (a few seconds at most)."""
        if self.live is not None:
            self.live.stop()
        if self.publisher is not None:
            self.publisher.stop()

    def record_model(self, model: LoadedModel) -> ModelRecord:
        """Record ``model`` in the store's models table (waits for the commit; raises on failure)."""
        i = model.info
        rec = ModelRecord(
            i.model_id, i.run, str(model.path) if model.path else None, model.kind, i.config,
            i.trained_at, i.spillguard_version,
        )  # fmt: skip
        return self.store.add_model(rec).result(timeout=30)

    def verdict_model(self, v: Verdict) -> LoadedModel:
        """The model that gave verdict ``v``: from memory, else loaded from its recorded run path and
        checked to be that model. ServiceError 410 (its run is gone or no longer loads, or was never
        recorded) or 409 (the path now holds another model). Blocking: call it from a worker thread."""
        m = self.holder.recent(v.model_id)
        if m is not None:
            return m
        with self._load_lock:
            m = self.holder.recent(v.model_id)
            if m is not None:
                return m
            failed = self._recent_failure(v.model_id)
            if failed is not None:
                raise failed
            try:  # its messages name the model, not the verdict: one answer for all its verdicts
                m = self._load_verdict_model(v)
            except ServiceError as exc:
                self._unavailable[v.model_id] = (time.monotonic(), exc)
                raise
            self._unavailable.pop(v.model_id, None)
            self.holder.remember(m)
            return m

    def _recent_failure(self, model_id: str) -> ServiceError | None:
        """The error of a failed load of ``model_id`` within the last ``UNAVAILABLE_TTL`` seconds."""
        seen = self._unavailable.get(model_id)
        return seen[1] if seen is not None and time.monotonic() - seen[0] < UNAVAILABLE_TTL else None

    def _load_verdict_model(self, v: Verdict) -> LoadedModel:
        rec = self.store.model(v.model_id)
        tail = "; an error map drawn by another model would mislead (?model=current draws one anyway, marked)"

        def gone(why: str) -> ServiceError:  # the messages differ; status, code and details do not
            return ServiceError(410, "model_gone", f"this verdict was made by model {v.model_id}{why}{tail}",
                                {"model_id": v.model_id})  # fmt: skip

        if rec is None or rec.run_path is None:
            raise gone(
                ", which is not in memory and whose run path was not recorded (scored before schema version 2)"
            )
        path = Path(rec.run_path)
        if not path.exists():
            log.warning("model %s: its run path %s is gone", v.model_id, path)
            raise gone(f"; its run '{rec.run}' is no longer where it was served from (moved or deleted)")
        try:
            m = load_model(path, None, self.cfg.loader)
        except UserError as exc:
            log.warning("model %s: %s", v.model_id, exc)
            why = str(exc).removeprefix(str(path) + ": ").replace(str(path), rec.run)
            raise gone(f"; its run '{rec.run}' no longer loads ({why})") from None
        if m.info.model_id != v.model_id:
            log.warning("model %s: its run path %s now holds %s", v.model_id, path, m.info.model_id)
            raise ServiceError(
                409, "model_changed",
                f"this verdict was made by model {v.model_id}; its run path now holds model "
                f"{m.info.model_id} (retrained or replaced in place){tail}",
                {"model_id": v.model_id, "found_model_id": m.info.model_id},
            )  # fmt: skip
        return m

    def explain_state(self, model_id: str) -> str | None:
        """Why verdicts of ``model_id`` cannot be explained by it (a note for the review page), or None
        when they can (in memory with an explainer, or a recorded run folder still there; no load)."""
        m = self.holder.recent(model_id)
        if m is not None:
            return None if m.explainer is not None else f"model {model_id} is an exported model: no error map"
        failed = self._recent_failure(model_id)
        if failed is not None:
            return failed.message
        rec = self.store.model(model_id)
        if rec is None or rec.run_path is None:
            return f"model {model_id} was not recorded (scored before schema version 2): no error map"
        if rec.kind == "onnx":
            return f"model {model_id} is an exported model: no error map"
        if not Path(rec.run_path).exists():
            return f"model {model_id}: its run '{rec.run}' is gone from where it was served: no error map"
        return None

    def keep_normal(self, sha256: str) -> bool:
        """Whether a normal image is in the kept sample (a deterministic function of its digest)."""
        return int(sha256[:8], 16) < self._keep_below

    async def score(
        self, model: LoadedModel, uploads: list[Upload], camera: str | None, sources: list[str | None]
    ) -> list[ScoreOut]:
        """Score checked uploads with ``model`` (the one the request captured when it arrived: it
        finishes on it, whatever reloads meanwhile), store the verdicts, return one result each."""
        t0 = time.perf_counter()
        pixels = np.stack([u.pixels for u in uploads])
        scores, bright, sat = await self.batcher.run(model, pixels)
        info, now = model.info, time.time()
        rows = []
        for u, s, b, st, src in zip(uploads, scores, bright, sat, sources, strict=True):
            flag = bool(s > info.threshold)
            rows.append(
                NewVerdict(
                    created_ts=now, camera=camera, source=src, image_sha256=u.sha256, image_format=u.format,
                    image=u.data if flag or self.keep_normal(u.sha256) else None,
                    score=float(s), threshold=info.threshold, rule=info.rule,
                    verdict="spill" if flag else "no_spill", model_id=info.model_id,
                    brightness=float(b), saturation=float(st), line=self.cfg.line,
                )
            )  # fmt: skip
        try:
            ids = await asyncio.wrap_future(self.store.add_verdicts(rows))
        except self.write_errors as exc:
            raise db_unavailable(exc) from None
        if self.publisher is not None:
            self.publisher.notify()
        ms = (time.perf_counter() - t0) * 1000
        out = model_out(model)
        for r in rows:
            self.metrics.verdicts.labels(r.verdict).inc()
            self.metrics.scores.observe(r.score)
        return [
            ScoreOut(
                id=i, verdict=r.verdict, score=r.score, threshold=r.threshold, rule=r.rule,  # type: ignore[arg-type]
                model=out, latency_ms=round(ms, 3), camera=camera, source=r.source, image_sha256=r.image_sha256,
            )
            for i, r in zip(ids, rows, strict=True)
        ]  # fmt: skip


def score_and_stats(model: LoadedModel, images: np.ndarray) -> tuple[np.ndarray, ...]:
    """The scoring thread's work per batch: scores, brightness and saturation of (N, H, W, 3) uint8."""
    return (np.asarray(model.scorer.score_samples(images), dtype=np.float32), *image_stats(images))
