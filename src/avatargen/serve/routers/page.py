"""The explore page (``GET /``, a Jinja2 template over the model's schema) and the favicon."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from avatargen import __version__
from avatargen.serve.dependencies import State

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(resources.files("avatargen.serve") / "templates"))


@router.get("/", response_class=HTMLResponse)
async def explore(request: Request, state: State) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "explore.html",
        {
            "schema_json": state.schema_body.decode().replace("<", "\\u003c"),
            "version": __version__,
            "mapping": state.service.mapping.name,
        },
    )


@router.get("/favicon.ico")
async def favicon() -> Response:
    return Response(status_code=204)
