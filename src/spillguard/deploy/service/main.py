"""The scoring service as a FastAPI application: ``create_app(ServiceConfig(...))`` builds the
service (loads and checks the model, opens the store: one-line UserError on a bad run or database),
its middleware (request metrics, body limits), error handlers and routers; ``serve`` runs it on
uvicorn. The micro-batcher starts with the app's lifespan; on shutdown (uvicorn drains in-flight
requests on SIGTERM) it finishes queued requests and the store commits everything before closing.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles

from sharedcore.errors import UserError
from sharedcore.web import BodyLimit, Receive, Scope, Send, listen, loopback
from spillguard import __version__
from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.errors import add_error_handlers
from spillguard.deploy.service.metrics import ServiceMetrics
from spillguard.deploy.service.routers import admin, feedback, probes, review, scoring, verdicts
from spillguard.deploy.service.schemas import ErrorOut
from spillguard.deploy.service.state import Service

JSON_BODY_LIMIT = 64 * 1024


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
    add_error_handlers(app, svc.metrics, svc.store)
    for router in (
        scoring.router,
        verdicts.router,
        feedback.router,
        admin.router,
        probes.router,
        review.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(review.PAGES / "static")), name="static")
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
