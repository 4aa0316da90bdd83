"""The service's error answers, all with the one JSON body of ``sharedcore.web``: a client mistake
(``ServiceError``) with its status, a store that cannot be read or written (503, ``Retry-After``), an
invalid request (422), an unknown route or method, and a bug (500, logged in full)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sharedcore.web import ServiceError, error_response
from spillguard.deploy.service.metrics import ServiceMetrics
from spillguard.deploy.service.store import Store, StoreUnavailable

log = logging.getLogger("spillguard.serve")


def write_errors(store: Store) -> tuple[type[BaseException], ...]:
    """What a failed store write raises: the database's errors, a full or read-only disk, a closed store."""
    return (*store.errors, OSError, RuntimeError)


def db_unavailable(exc: BaseException) -> ServiceError:
    """The 503 of a store write that failed: nothing of the request was stored."""
    return ServiceError(
        503,
        "db_unavailable",
        f"the verdict database does not accept writes ({type(exc).__name__}: {exc}); nothing was stored; "
        "try again, and see /readyz",
    )


def add_error_handlers(app: FastAPI, metrics: ServiceMetrics, store: Store) -> None:
    """Answer every error of ``app`` as JSON, counting each by its code in ``metrics``."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        metrics.errors.labels(exc.code).inc()
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 503:
            headers = {"Retry-After": "5"}
        return error_response(exc.status, exc.code, exc.message, headers, exc.extra)

    async def _db_error(request: Request, exc: Exception) -> JSONResponse:  # a read that failed
        metrics.errors.labels("db_unavailable").inc()
        log.warning("%s %s: database error %s", request.method, request.url.path, exc)
        return error_response(
            503, "db_unavailable", f"the verdict database cannot be read ({type(exc).__name__}: {exc}); see /readyz",
            {"Retry-After": "5"},
        )  # fmt: skip

    for kind in (*store.errors, StoreUnavailable):  # StoreUnavailable: the server cannot be reached
        app.add_exception_handler(kind, _db_error)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:  # a bug: JSON, logged in full
        metrics.errors.labels("internal_error").inc()
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(
            500,
            "internal_error",
            f"{request.method} {request.url.path}: {type(exc).__name__} (see the server log)",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels("invalid_request").inc()
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
        return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}")
