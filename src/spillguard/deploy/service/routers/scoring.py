"""Scoring: ``POST /v1/score`` (one image, raw or multipart) and ``POST /v1/score/batch`` (many
multipart parts, atomic). The verdict is stored before it is answered. These routes read the request
directly: FastAPI's parameter solving costs more per request than the scoring of a small image."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from sharedcore.web import ServiceError
from spillguard.deploy.service.dependencies import NAME_MAX, check_name, service_of
from spillguard.deploy.service.schemas import BatchOut, ScoreOut
from spillguard.deploy.service.uploads import Upload, check_image

router = APIRouter(tags=["scoring"])


def json_response(model: BaseModel) -> Response:
    """A pydantic model as a JSON response, serialised once (no second validation by FastAPI)."""
    return Response(model.model_dump_json(), media_type="application/json")


async def images_from_request(
    request: Request, max_files: int, many: bool
) -> tuple[list[tuple[bytes, str | None]], dict[str, str]]:
    """(bytes, part name) of each image, and the form's text fields; raw body = one image."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=max_files, max_fields=16)
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


@router.post("/v1/score", response_model=ScoreOut, openapi_extra=image_body)
async def score(request: Request) -> Response:
    """Score one pit image (raw JPEG/PNG body, or a multipart file); the verdict is stored first."""
    svc = service_of(request)
    items, fields = await images_from_request(request, svc.cfg.limits.max_batch + 1, many=False)
    query = request.query_params  # read directly: FastAPI's parameter solving costs more per request
    cam = check_name(fields.get("camera", query.get("camera")), "camera")
    src = check_name(fields.get("source", query.get("source")), "source")
    data, _ = items[0]
    model = svc.holder.current
    size = model.size
    up = (
        check_image(data, size, svc.cfg.limits)
        if len(data) < 256 * 1024
        else await run_in_threadpool(check_image, data, size, svc.cfg.limits)
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


@router.post("/v1/score/batch", response_model=BatchOut, openapi_extra=batch_body)
async def score_batch(request: Request) -> Response:
    """Score many images (one multipart file part each, up to the batch limit), results in order.

    Atomic: any bad image rejects the whole request and nothing of it is stored; the JSON error
    names it (``part``: its 0-based index among the file parts, ``filename``) and what is wrong.
    Each result's ``source`` is the part's file name (a label only; the server never opens it).
    """
    t0 = time.perf_counter()
    svc = service_of(request)
    limits = svc.cfg.limits
    items, fields = await images_from_request(request, limits.max_batch + 1, many=True)
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
