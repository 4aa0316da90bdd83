"""The scoring service: a FastAPI app that validates uploads, scores them through the micro-batcher,
stores every verdict before answering, and serves verdicts, explanations, probes, metrics, reload,
operator feedback and the review page (``review``).

``create_app(ServiceConfig(...))`` loads the model and opens the store (one-line UserError on a bad run
or database); the micro-batcher starts with the app's lifespan, and on shutdown (uvicorn drains in-flight
requests on SIGTERM) it finishes queued requests and the store commits everything before closing.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from sharedcore.errors import UserError
from sharedcore.web import BodyLimit, Receive, Scope, Send, ServiceError, error_response, listen, loopback
from spillguard import __version__
from spillguard.deploy.service.batching import MicroBatcher
from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.drift import image_stats
from spillguard.deploy.service.explain_png import error_png, explain_strip
from spillguard.deploy.service.metrics import ServiceMetrics
from spillguard.deploy.service.model import LoadedModel, ModelHolder, load_model
from spillguard.deploy.service.plant import LiveModel, StoreFigures, make_publisher, open_store
from spillguard.deploy.service.schemas import (
    BatchOut,
    ErrorOut,
    FeedbackIn,
    FeedbackOut,
    ModelOut,
    ReadyOut,
    ReloadIn,
    ReloadOut,
    ScoreOut,
    VerdictOut,
)
from spillguard.deploy.service.store import ModelRecord, NewVerdict, Store, StoreUnavailable, Verdict
from spillguard.deploy.service.uploads import Limits, Upload, check_image

log = logging.getLogger("spillguard.serve")
JSON_BODY_LIMIT = 64 * 1024
NAME_MAX = 64
IMAGE_TYPES = ("image/jpeg", "image/png", "application/octet-stream")
ID_MAX = 2**63 - 1  # SQLite's largest integer key
UNAVAILABLE_TTL = 60.0  # seconds a verdict's model that could not be loaded is not tried again
VerdictId = Annotated[int, PathParam(ge=1, le=ID_MAX, description="a stored verdict's id")]
STORE_ERRORS = (sqlite3.Error, OSError, RuntimeError)  # a store write that failed (read-only, full, closed)


def db_unavailable(exc: BaseException) -> ServiceError:
    """The 503 of a store write that failed: nothing of the request was stored."""
    return ServiceError(
        503,
        "db_unavailable",
        f"the verdict database does not accept writes ({type(exc).__name__}: {exc}); nothing was stored; "
        "try again, and see /readyz",
    )


class Service:
    """The app's state: the model holder, the store, the batcher, the metrics."""

    def __init__(self, cfg: ServiceConfig) -> None:
        self.cfg = cfg
        self.token = cfg.token or None
        self.holder = ModelHolder(load_model(cfg.run, cfg.rule, cfg.loader), cfg.keep_models)
        self.metrics = ServiceMetrics()
        self.store: Store = open_store(cfg)
        self.live: LiveModel | None = None  # the line's live model in the database (serve --line)
        try:
            self.record_model(self.holder.current)
            if cfg.line is not None:
                self.live = LiveModel(self.store, self.holder, cfg, self.swapped)
                self.live.adopt_or_promote()
        except STORE_ERRORS as exc:
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

    def check_token(self, request: Request) -> None:
        """Bearer token of the write endpoints, compared in constant time (no token set: loopback only)."""
        if self.token is None:
            return
        scheme, _, cred = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not cred.strip():
            raise ServiceError(401, "unauthorized", "this endpoint needs 'Authorization: Bearer <token>'")
        if not hmac.compare_digest(cred.strip().encode(), self.token.encode()):
            raise ServiceError(403, "forbidden", "the bearer token is wrong")

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
                    now, camera, src, u.sha256, u.format,
                    u.data if flag or self.keep_normal(u.sha256) else None,
                    float(s), info.threshold, info.rule, "spill" if flag else "no_spill",
                    info.model_id, float(b), float(st), self.cfg.line,
                )
            )  # fmt: skip
        try:
            ids = await asyncio.wrap_future(self.store.add_verdicts(rows))
        except STORE_ERRORS as exc:
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


def json_response(model: BaseModel) -> Response:
    """A pydantic model as a JSON response, serialised once (no second validation by FastAPI)."""
    return Response(model.model_dump_json(), media_type="application/json")


def model_out(model: LoadedModel) -> ModelOut:
    """The response form of a model's description."""
    i = model.info
    return ModelOut(
        id=i.model_id,
        run=i.run,
        config=i.config,
        trained_at=i.trained_at,
        spillguard_version=i.spillguard_version,
    )


def verdict_out(v: Verdict) -> VerdictOut:
    """The response form of a stored verdict."""
    fb = v.feedback
    return VerdictOut(
        id=v.id, created_at=v.created_at, camera=v.camera, source=v.source, image_sha256=v.image_sha256,
        image_kept=v.image_kept, score=v.score, threshold=v.threshold, rule=v.rule,
        verdict=v.verdict,  # type: ignore[arg-type]
        model_id=v.model_id, brightness=v.brightness, saturation=v.saturation,
        feedback=FeedbackOut(**fb.__dict__) if fb else None,
    )  # fmt: skip


def check_name(value: str | None, what: str) -> str | None:
    """A camera or source name: at most 64 printable characters (empty -> None)."""
    if value is None or value == "":
        return None
    if len(value) > NAME_MAX or not value.isprintable():
        raise ServiceError(
            422, "bad_name", f"{what}: at most {NAME_MAX} printable characters, got {value[:80]!r}"
        )
    return value


class Instrumented:
    """Pure ASGI middleware: request counts and latency by route and status."""

    def __init__(self, app: Any, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [500]

        async def send_status(msg: MutableMapping[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                status[0] = msg["status"]
            await send(msg)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or (
                "/static" if scope["path"].startswith("/static") else "other"
            )
            self.metrics.requests.labels(name, str(status[0])).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - t0)


async def _images_from_request(
    request: Request, svc: Service, many: bool
) -> tuple[list[tuple[bytes, str | None]], dict[str, str]]:
    """(bytes, part name) of each image, and the form's text fields; raw body = one image."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=svc.cfg.limits.max_batch + 1, max_fields=16)
        except ServiceError:
            raise
        except Exception as exc:  # python-multipart / starlette parse errors
            raise ServiceError(400, "bad_multipart", f"cannot read the multipart body ({exc})") from None
        files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        if not files:
            raise ServiceError(
                400, "no_file", "the multipart body has no file part; send the image as a file field"
            )
        if not many and len(files) > 1:
            raise ServiceError(400, "many_files", "one image per request here; use /v1/score/batch for many")
        out = [(await f.read(), f.filename) for _, f in files]
        await form.close()
        return out, fields
    if many:
        raise ServiceError(
            415, "need_multipart", "the batch endpoint takes multipart/form-data with one file part per image"
        )
    return [(await request.body(), None)], {}


def create_app(cfg: ServiceConfig) -> FastAPI:
    """Build the app: loads and checks the run, opens the store (UserError on failure)."""
    svc = Service(cfg)
    limits = cfg.limits

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await svc.batcher.start()
        svc.start_plant()
        try:
            yield
        finally:  # uvicorn has drained in-flight requests; finish queued scoring, publish, commit, close
            await svc.batcher.stop()
            await run_in_threadpool(svc.stop_plant)
            svc.store.close()

    app = FastAPI(
        title="spillguard",
        version=__version__,
        description="Spill verdicts for pit images of the pouring table, stored, explained and reviewed.",
        lifespan=lifespan,
        responses={
            400: {"model": ErrorOut},
            413: {"model": ErrorOut},
            415: {"model": ErrorOut},
            422: {"model": ErrorOut},
        },
    )
    app.state.service = svc

    def limit_for(path: str) -> int:
        if path == "/v1/score":
            return limits.max_bytes + JSON_BODY_LIMIT
        if path == "/v1/score/batch":
            return cfg.max_batch_bytes
        return JSON_BODY_LIMIT

    app.add_middleware(
        BodyLimit, limit_for=limit_for, on_reject=lambda code: svc.metrics.errors.labels(code).inc()
    )
    app.add_middleware(Instrumented, metrics=svc.metrics)

    @app.exception_handler(ServiceError)
    async def _serviceerror_response(request: Request, exc: ServiceError) -> JSONResponse:
        svc.metrics.errors.labels(exc.code).inc()
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 503:
            headers = {"Retry-After": "5"}
        return error_response(exc.status, exc.code, exc.message, headers, exc.extra)

    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(sqlite3.Error)
    async def _dberror_response(request: Request, exc: Exception) -> JSONResponse:  # a read that failed
        svc.metrics.errors.labels("db_unavailable").inc()
        log.warning("%s %s: database error %s", request.method, request.url.path, exc)
        return error_response(
            503, "db_unavailable", f"the verdict database cannot be read ({type(exc).__name__}: {exc}); see /readyz",
            {"Retry-After": "5"},
        )  # fmt: skip

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:  # a bug: JSON, logged in full
        svc.metrics.errors.labels("internal_error").inc()
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(
            500,
            "internal_error",
            f"{request.method} {request.url.path}: {type(exc).__name__} (see the server log)",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        svc.metrics.errors.labels("invalid_request").inc()
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
        return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}")

    async def need_token(request: Request) -> None:
        svc.check_token(request)

    def query_doc(*names: tuple[str, str]) -> list[dict[str, Any]]:
        return [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string", "maxLength": NAME_MAX},
             "description": d}
            for n, d in names
        ]  # fmt: skip

    camera_doc = ("camera", "camera name (or a form field); at most 64 printable characters")
    source_doc = ("source", "the client's name for the image (or a form field); a label only")
    image_body = {
        "parameters": query_doc(camera_doc, source_doc),
        "requestBody": {
            "content": {
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "camera": {"type": "string"},
                            "source": {"type": "string"},
                        },
                        "required": ["file"],
                    }
                },
            },
            "required": True,
        },
    }

    @app.post("/v1/score", response_model=ScoreOut, tags=["scoring"], openapi_extra=image_body)
    async def score(request: Request) -> Response:
        """Score one pit image (raw JPEG/PNG body, or a multipart file); the verdict is stored first."""
        items, fields = await _images_from_request(request, svc, many=False)
        query = request.query_params  # read directly: FastAPI's parameter solving costs more per request
        cam = check_name(fields.get("camera", query.get("camera")), "camera")
        src = check_name(fields.get("source", query.get("source")), "source")
        data, _ = items[0]
        model = svc.holder.current
        size = model.size
        up = (
            check_image(data, size, limits)
            if len(data) < 256 * 1024
            else await run_in_threadpool(check_image, data, size, limits)
        )
        return json_response((await svc.score(model, [up], cam, [src]))[0])

    batch_body = {
        "parameters": query_doc(camera_doc),
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "camera": {"type": "string"},
                        },
                        "required": ["files"],
                    }
                }
            },
            "required": True,
        },
    }

    @app.post("/v1/score/batch", response_model=BatchOut, tags=["scoring"], openapi_extra=batch_body)
    async def score_batch(request: Request) -> Response:
        """Score many images (one multipart file part each, up to the batch limit), results in order.

        Atomic: any bad image rejects the whole request and nothing of it is stored; the JSON error
        names it (``part``: its 0-based index among the file parts, ``filename``) and what is wrong.
        Each result's ``source`` is the part's file name (a label only; the server never opens it).
        """
        t0 = time.perf_counter()
        items, fields = await _images_from_request(request, svc, many=True)
        if len(items) > limits.max_batch:
            raise ServiceError(
                413, "too_many_images", f"{len(items)} images; at most {limits.max_batch} per batch"
            )
        cam = check_name(fields.get("camera", request.query_params.get("camera")), "camera")
        model = svc.holder.current
        size = model.size

        def part(i: int, name: str | None) -> dict[str, object]:
            return {"part": i, "filename": name[:200] if name else None}

        def check_all() -> list[Upload]:
            out = []
            for i, (d, n) in enumerate(items):
                try:
                    out.append(check_image(d, size, limits, f"image {i} ({(n or 'unnamed')[:200]})"))
                except ServiceError as exc:
                    raise ServiceError(exc.status, exc.code, exc.message, part(i, n)) from None
            return out

        ups = await run_in_threadpool(check_all)
        names = []
        for i, (_, n) in enumerate(items):
            try:
                names.append(check_name(n[:NAME_MAX] if n else None, f"image {i} file name"))
            except ServiceError as exc:
                raise ServiceError(exc.status, exc.code, exc.message, part(i, n)) from None
        results = await svc.score(model, ups, cam, names)
        ms = round((time.perf_counter() - t0) * 1000, 3)
        return json_response(BatchOut(count=len(results), latency_ms=ms, results=results))

    def _verdict(verdict_id: int) -> Verdict:
        v = svc.store.get(verdict_id)
        if v is None:
            raise ServiceError(404, "unknown_verdict", f"verdict {verdict_id} does not exist")
        return v

    @app.get("/v1/verdicts/{verdict_id}", response_model=VerdictOut, tags=["verdicts"])
    def get_verdict(verdict_id: VerdictId) -> VerdictOut:
        """A stored verdict with its latest operator label."""
        return verdict_out(_verdict(verdict_id))

    def _kept_image(v: Verdict) -> bytes:
        data = svc.store.image_bytes(v)
        if data is None and svc.store.image_state(v) == "not_kept":
            raise ServiceError(
                404,
                "image_not_kept",
                f"verdict {v.id}: its image was not kept (only flagged pits and a sample of normals are)",
            )
        if data is None:
            raise ServiceError(
                410,
                "image_missing",
                f"verdict {v.id}: its kept image ({v.image_sha256[:12]}...) is missing from the image store "
                "(deleted or the --store folder changed); the verdict row is intact",
            )
        return data

    @app.get("/v1/verdicts/{verdict_id}/image", tags=["verdicts"], response_class=Response)
    def get_image(verdict_id: VerdictId) -> Response:
        """The kept image bytes as sent (every flagged pit and a sample of normals are kept)."""
        v = _verdict(verdict_id)
        media = "image/jpeg" if v.image_format == "JPEG" else "image/png"
        return Response(
            _kept_image(v), media_type=media, headers={"Cache-Control": "max-age=86400, immutable"}
        )

    @app.get(
        "/v1/verdicts/{verdict_id}/explain.png", tags=["verdicts"], response_class=Response,
        responses={409: {"model": ErrorOut}, 410: {"model": ErrorOut}},
    )  # fmt: skip
    def explain(
        verdict_id: VerdictId,
        scale: int = Query(1, ge=1, le=16, description="enlarge by this integer factor (nearest neighbour)"),
        only: str | None = Query(None, pattern="^error$", description="'error': the error map alone"),
        model: str = Query(
            "verdict",
            pattern="^(verdict|current)$",
            description="'verdict' (default): drawn by the model that gave the verdict, or a 409/410 "
            "error naming it; 'current': drawn by the model in use now, marked in the headers",
        ),
    ) -> Response:
        """Input | reconstruction | error map of a kept image as a PNG, drawn by the model that gave the
        verdict (kept in memory, or reloaded from the run path recorded when it was served). The
        ``X-Spillguard-Model`` header names the model that drew it, ``X-Spillguard-Verdict-Model`` the
        one that gave the verdict."""
        v = _verdict(verdict_id)
        data = _kept_image(v)
        m = svc.holder.current if model == "current" else svc.verdict_model(v)
        if m.explainer is None:
            raise ServiceError(
                409,
                "no_explainer",
                f"model {m.info.model_id} cannot explain: an exported ONNX model has no reconstruction; "
                "serve the torch run folder (spillguard serve runs/NAME) for explain.png",
                {"model_id": m.info.model_id},
            )
        big = Limits(max_bytes=limits.max_bytes * 2, max_pixels=limits.max_pixels)
        try:
            up = check_image(data, m.size, big)
        except ServiceError as exc:  # the stored file is damaged: not the request's fault
            raise ServiceError(
                410, "image_damaged", f"verdict {v.id}: its kept image no longer decodes ({exc.message})"
            ) from None
        x, rec, err = m.explainer.explain(up.pixels[None].copy())
        png = error_png(err[0], scale) if only == "error" else explain_strip(x[0], rec[0], err[0], scale)
        same = m.info.model_id == v.model_id
        headers = {
            "X-Spillguard-Model": m.info.model_id,
            "X-Spillguard-Verdict-Model": v.model_id,
            "X-Spillguard-Model-Match": "yes" if same else "no",
            "Cache-Control": "private, max-age=600" if same else "no-store",
        }
        return Response(png, media_type="image/png", headers=headers)

    @app.post(
        "/v1/verdicts/{verdict_id}/feedback", response_model=FeedbackOut, tags=["feedback"],
        dependencies=[Depends(need_token)], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
    )  # fmt: skip
    async def feedback(verdict_id: VerdictId, body: FeedbackIn) -> FeedbackOut:
        """An operator's label: ``spill`` (confirmed) or ``no_spill`` (false alarm). Needs the token."""
        operator = check_name(body.operator.strip(), "operator")
        if operator is None:
            raise ServiceError(422, "bad_name", "operator: give the operator's name")
        try:
            fb = await asyncio.wrap_future(
                svc.store.add_feedback(verdict_id, body.label, operator, body.note)
            )
        except KeyError:
            raise ServiceError(404, "unknown_verdict", f"verdict {verdict_id} does not exist") from None
        except STORE_ERRORS as exc:
            raise db_unavailable(exc) from None
        return FeedbackOut(**fb.__dict__)

    @app.post(
        "/v1/admin/reload", response_model=ReloadOut, tags=["admin"], dependencies=[Depends(need_token)],
        responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
    )  # fmt: skip
    async def reload(body: ReloadIn) -> ReloadOut:
        """Load and check another run (a path on the server), record it in the models table, then swap
        it in; in-flight requests finish on the old model, which stays in memory for explanations. A run
        that fails to load (or cannot be recorded) leaves the current model in place."""
        try:
            old, new = await run_in_threadpool(
                svc.holder.reload, body.run, cfg.rule, cfg.loader, svc.record_model
            )
        except UserError as exc:
            svc.metrics.reloads.labels("failed").inc()
            raise ServiceError(422, "bad_run", str(exc)) from None
        except STORE_ERRORS as exc:  # the new model could not be recorded: it is not swapped in
            svc.metrics.reloads.labels("failed").inc()
            raise db_unavailable(exc) from None
        svc.metrics.reloads.labels("ok").inc()
        svc.metrics.set_model(new.info.model_id, new.info.config, new.info.rule)
        if svc.live is not None:  # a promotion: every instance of the line follows at its next poll
            try:
                await run_in_threadpool(svc.live.promote, new.info.model_id)
            except STORE_ERRORS as exc:
                raise db_unavailable(exc) from None
        log.warning("reloaded: %s -> %s", old.info.model_id, new.info.model_id)
        return ReloadOut(model=model_out(new), previous=model_out(old))

    @app.get("/healthz", tags=["probes"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=ReadyOut, tags=["probes"], responses={503: {"model": ReadyOut}})
    async def readyz() -> Any:
        """Ready when the model is loaded and the database accepts a write (503 otherwise)."""
        try:
            await asyncio.wait_for(asyncio.wrap_future(svc.store.ping_write()), timeout=5.0)
            db = "writable"
        except Exception as exc:  # any failure means not ready
            db = f"not writable ({type(exc).__name__}: {exc})"
        model = svc.holder.current
        ready = db == "writable"
        body = ReadyOut(ready=ready, model=model_out(model), database=db)
        return body if ready else JSONResponse(body.model_dump(), status_code=503)

    @app.get("/metrics", tags=["probes"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus text format: requests, errors, latency, verdicts, scores, batch sizes, model."""
        return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    from spillguard.deploy.service.review import add_review_routes

    add_review_routes(app, svc)
    return app


def serve(
    cfg: ServiceConfig, host: str | None = None, port: int | None = None, drain_seconds: float = 30.0
) -> None:
    """Run the service with uvicorn on ``cfg.host:cfg.port`` (``host``/``port`` replace them; port 0: a
    free port, printed) until SIGTERM/SIGINT (in-flight requests are drained first)."""
    import uvicorn

    if host is not None or port is not None:  # checked again by ServiceConfig
        cfg = replace(cfg, host=cfg.host if host is None else host, port=cfg.port if port is None else port)
    cfg.token = cfg.token or os.environ.get("SPILLGUARD_TOKEN") or None
    if not loopback(cfg.host) and not cfg.token:
        raise UserError(
            f"--host {cfg.host}: refusing to listen beyond loopback without a token; "
            "pass --token or set SPILLGUARD_TOKEN"
        )
    sock = listen(cfg.host, cfg.port)
    try:
        app = create_app(cfg)
    except BaseException:
        sock.close()
        raise
    info = app.state.service.holder.current.info
    bound = sock.getsockname()[1]
    print(
        f"spillguard serve: model {info.model_id} ({info.config}, rule {info.rule}), db {cfg.db_label}"
        f"{', line ' + cfg.line if cfg.line else ''}{', mqtt ' + cfg.mqtt if cfg.mqtt else ''}; "
        f"http://{cfg.host}:{bound}/review  (docs: /docs)",
        flush=True,
    )
    config = uvicorn.Config(
        app, host=cfg.host, port=bound, log_level="warning", access_log=False,
        timeout_graceful_shutdown=int(drain_seconds), lifespan="on",
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])
