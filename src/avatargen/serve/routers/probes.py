"""Operations: liveness with the model digest (``GET /healthz``) and Prometheus counters
(``GET /metrics``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from avatargen.serve.dependencies import State
from avatargen.serve.responses import json_response

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz(state: State) -> Response:
    return json_response({"status": "ok", "model_digest": state.service.digest})


@router.get("/metrics")
async def metrics(state: State) -> Response:
    return Response(state.metrics.exposition(), media_type=state.metrics.content_type)
