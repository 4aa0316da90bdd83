"""The FastAPI application of ``avatargen serve``: avatars with probabilities, style queries, and the
explore page. Build it with ``create_app(StyleService(model))``; ``server.run_server`` runs it on
uvicorn (``app_from_env`` is the factory of its worker processes).

Pinned attributes are plain query parameters (``?seed=7&hairstyle=bob``; names and values
URL-encoded UTF-8, matched case-blind); the reserved parameters are ``limits.RESERVED``.
"""

from __future__ import annotations

import os
from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from avatargen import __version__
from avatargen.serve.errors import add_error_handlers
from avatargen.serve.limits import MAX_BODY
from avatargen.serve.openapi import PIN_DOC, document_pins
from avatargen.serve.routers import avatars, page, probes, styles
from avatargen.serve.service import StyleService, load_model
from avatargen.serve.state import ApiState
from sharedcore.machine import die_with_parent
from sharedcore.web import BodyLimit

MODEL_ENV, MAPPING_ENV = "AVATARGEN_SERVE_MODEL", "AVATARGEN_SERVE_MAPPING"
SUPERVISOR_ENV = "AVATARGEN_SERVE_SUPERVISOR"  # process id of the process that started the workers


def create_app(service: StyleService) -> FastAPI:
    """The API and the explore page over one StyleService (model + mapping + caches)."""
    app = FastAPI(
        title="avatargen",
        version=__version__,
        description="Avataaars avatars drawn from a learned style model, with exact probabilities: "
        "P(style), P(style | pins), Bayes' rule, sampling under pins. " + PIN_DOC,
    )
    app.state.api = ApiState.of(service)
    # request bodies (only POST /v1/probability has one) must state their length and stay within
    # MAX_BODY; GETs carry none
    app.add_middleware(BodyLimit, limit_for=lambda _path: MAX_BODY, require_length=True)
    add_error_handlers(app)
    app.mount(
        "/static", StaticFiles(directory=str(resources.files("avatargen.serve") / "static")), name="static"
    )
    for router in (avatars.router, styles.router, page.router, probes.router):
        app.include_router(router)
    document_pins(app, service)
    return app


def app_from_env() -> FastAPI:
    """App factory for uvicorn workers: the model and mapping named by the environment; the worker
    ends with the supervisor that started it (``SUPERVISOR_ENV``), also when that one is killed."""
    supervisor = os.environ.get(SUPERVISOR_ENV, "")
    die_with_parent(int(supervisor) if supervisor.isdigit() else None)
    mapping = os.environ.get(MAPPING_ENV) or None
    return create_app(StyleService(load_model(os.environ[MODEL_ENV]), mapping))
