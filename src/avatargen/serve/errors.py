"""The 4xx answers of the avatar API: ``ServeError`` (a request the client can fix) and the exception
handlers that turn it, a ``UserError``, a FastAPI validation error or a Starlette HTTP error into one
JSON body (``schemas.ErrorBody``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from avatargen.serve import schemas
from avatargen.serve.responses import json_response
from sharedcore.errors import UserError

# The OpenAPI ``responses`` of every endpoint that checks its parameters.
ERRORS: dict[int | str, dict[str, Any]] = {
    422: {
        "model": schemas.ErrorBody,
        "description": "Unknown attribute/value, impossible pins, bad n/seed/size",
    }
}


class ServeError(Exception):
    """A request the client can fix: an HTTP status and the JSON body of ``schemas.ErrorBody``."""

    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        message = " ".join(message.split())  # one line, as UserError: a name may hold a newline (%0A)
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": error, "message": message, **extra}


def add_error_handlers(app: FastAPI) -> None:
    """Every error a request can cause answers as JSON with ``error`` and ``message``."""

    @app.exception_handler(ServeError)
    async def _serve_error(_request: Request, exc: ServeError) -> Response:
        return json_response(exc.body, exc.status)

    @app.exception_handler(UserError)
    async def _user_error(_request: Request, exc: UserError) -> Response:
        return json_response({"error": "bad_parameter", "message": str(exc)}, 422)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        errs = exc.errors()
        parts = []
        for e in errs:
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "body"))
            got = f" (got {e['input']!r})" if "input" in e and not isinstance(e["input"], dict) else ""
            parts.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}{got}")
        first = errs[0].get("loc", ()) if errs else ()
        name = str(first[-1]) if first else None
        return json_response({"error": "bad_parameter", "message": "; ".join(parts), "attribute": name}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        kind = "not_found" if exc.status_code == 404 else "bad_request"
        return json_response({"error": kind, "message": str(exc.detail)}, exc.status_code)
