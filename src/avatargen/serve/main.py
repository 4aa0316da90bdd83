"""The FastAPI application of ``avatargen serve``: avatars with probabilities, style queries, and the
explore page. Build it with ``create_app(StyleService(model))``; ``server.run_server`` runs it on
uvicorn (``app_from_env`` is the factory of its worker processes).

Pinned attributes are plain query parameters (``?seed=7&hairstyle=bob``; names and values
URL-encoded UTF-8, matched case-blind); the reserved parameters are ``limits.RESERVED``.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from avatargen import __version__
from avatargen.serve.dependencies import ApiState
from avatargen.serve.errors import add_error_handlers
from avatargen.serve.limits import MAX_BODY
from avatargen.serve.openapi import PIN_DOC, document_pins
from avatargen.serve.responses import json_bytes
from avatargen.serve.routers import avatars, page, probes, styles
from avatargen.serve.service import StyleService, load_model

MODEL_ENV, MAPPING_ENV = "AVATARGEN_SERVE_MODEL", "AVATARGEN_SERVE_MAPPING"


class BodyLimit:
    """Pure ASGI middleware: request bodies (only POST /v1/probability has one) must state their
    Content-Length and stay within ``limit`` bytes; else 411/413 with a JSON body. GETs pass untouched."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        status, message = 0, ""
        if length is None and headers.get(b"transfer-encoding"):
            status, message = 411, "send the request body with a Content-Length header"
        elif length is not None and (not length.isdigit() or int(length) > self.limit):
            status, message = (
                413,
                f"request body over {self.limit} bytes; send one style of attribute=value pairs",
            )
        if not status:
            await self.app(scope, receive, send)
            return
        body = json_bytes({"error": "bad_request", "message": message})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(service: StyleService) -> FastAPI:
    """The API and the explore page over one StyleService (model + mapping + caches)."""
    app = FastAPI(
        title="avatargen",
        version=__version__,
        description="Avataaars avatars drawn from a learned style model, with exact probabilities: "
        "P(style), P(style | pins), Bayes' rule, sampling under pins. " + PIN_DOC,
    )
    app.state.api = ApiState.of(service)
    app.add_middleware(BodyLimit)
    add_error_handlers(app)
    app.mount(
        "/static", StaticFiles(directory=str(resources.files("avatargen.serve") / "static")), name="static"
    )
    for router in (avatars.router, styles.router, page.router, probes.router):
        app.include_router(router)
    document_pins(app, service)
    return app


def app_from_env() -> FastAPI:
    """App factory for uvicorn workers: the model and mapping named by the environment."""
    mapping = os.environ.get(MAPPING_ENV) or None
    return create_app(StyleService(load_model(os.environ[MODEL_ENV]), mapping))
