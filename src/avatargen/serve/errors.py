"""The 4xx answers of the avatar API: ``ServeError`` (a request the client can fix) and the exception
handlers that turn it, a ``UserError``, a FastAPI validation error or a Starlette HTTP error into the
one JSON error body both services give (``sharedcore.web.error_body``: ``error`` + ``message``, plus
the names a client needs, ``schemas.ErrorBody``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from avatargen.serve import schemas
from sharedcore.errors import UserError
from sharedcore.web import ServiceError, error_body, error_response

# The OpenAPI ``responses`` of every endpoint that checks its parameters.
ERRORS: dict[int | str, dict[str, Any]] = {
    422: {
        "model": schemas.ErrorBody,
        "description": "Unknown attribute/value, impossible pins, bad n/seed/size",
    }
}


class ServeError(ServiceError):
    """``sharedcore.web.ServiceError`` with the body's other fields as keywords (``attribute``,
    ``value``, ``known``, ``rule``)."""

    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        super().__init__(status, error, message, extra)  # one line: a name may hold a newline (%0A)

    @property
    def body(self) -> dict[str, object]:
        """The JSON body of the answer."""
        return error_body(self.code, self.message, self.extra)


def add_error_handlers(app: FastAPI) -> None:
    """Every error a request can cause answers as JSON with ``error`` and ``message``."""

    @app.exception_handler(ServiceError)  # ServeError, and a streamed body over the limit (BodyLimit)
    async def _service_error(_request: Request, exc: ServiceError) -> Response:
        return error_response(exc.status, exc.code, exc.message, extra=exc.extra)

    @app.exception_handler(UserError)
    async def _user_error(_request: Request, exc: UserError) -> Response:
        return error_response(422, "bad_parameter", str(exc))

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
        return error_response(422, "bad_parameter", "; ".join(parts), extra={"attribute": name})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        kind = "not_found" if exc.status_code == 404 else "bad_request"
        return error_response(exc.status_code, kind, str(exc.detail))
