"""Probes, as Kubernetes, Triton and BentoML name them: ``/healthz`` (alive), ``/readyz`` (model
loaded and the database accepts a write) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from spillguard.deploy.service.dependencies import ServiceDep
from spillguard.deploy.service.schemas import ReadyOut, model_out

router = APIRouter(tags=["probes"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def readyz(svc: ServiceDep) -> Any:
    """Ready when the model is loaded and the database accepts a write (503 otherwise)."""
    try:
        await asyncio.wait_for(asyncio.wrap_future(svc.store.ping_write()), timeout=5.0)
        db = "writable"
    except Exception as exc:  # any failure means not ready
        db = f"not writable ({type(exc).__name__}: {exc})"
    ready = db == "writable"
    body = ReadyOut(ready=ready, model=model_out(svc.holder.current), database=db)
    return body if ready else JSONResponse(body.model_dump(), status_code=503)


@router.get("/metrics", response_class=Response)
async def metrics(svc: ServiceDep) -> Response:
    """Prometheus text format: requests, errors, latency, verdicts, scores, batch sizes, model."""
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
