"""Stored verdicts: ``GET /v1/verdicts/{id}`` (with its latest label), its kept image, and
``explain.png`` (input | reconstruction | error map, drawn by the model that gave the verdict)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from sharedcore.web import ServiceError
from spillguard.deploy.service.dependencies import ServiceDep, StoredVerdict
from spillguard.deploy.service.explain_png import error_png, explain_strip
from spillguard.deploy.service.schemas import ErrorOut, VerdictOut, verdict_out
from spillguard.deploy.service.state import Service
from spillguard.deploy.service.store import Verdict
from spillguard.deploy.service.uploads import Limits, check_image

router = APIRouter(prefix="/v1/verdicts", tags=["verdicts"])


@router.get("/{verdict_id}", response_model=VerdictOut)
def get_verdict(v: StoredVerdict) -> VerdictOut:
    """A stored verdict with its latest operator label."""
    return verdict_out(v)


def kept_image(svc: Service, v: Verdict) -> bytes:
    """The kept image bytes of ``v``: 404 when it was not kept, 410 when its file is gone."""
    data = svc.store.image_bytes(v)
    if data is None and svc.store.image_state(v) == "not_kept":
        raise ServiceError(
            404,
            "image_not_kept",
            f"verdict {v.id}: its image was not kept (only flagged pits and a sample of normals are)",
        )
    if data is None:
        raise ServiceError(
            410,
            "image_missing",
            f"verdict {v.id}: its kept image ({v.image_sha256[:12]}...) is missing from the image store "
            "(deleted or the --store folder changed); the verdict row is intact",
        )
    return data


@router.get("/{verdict_id}/image", response_class=Response)
def get_image(v: StoredVerdict, svc: ServiceDep) -> Response:
    """The kept image bytes as sent (every flagged pit and a sample of normals are kept)."""
    media = "image/jpeg" if v.image_format == "JPEG" else "image/png"
    return Response(
        kept_image(svc, v), media_type=media, headers={"Cache-Control": "max-age=86400, immutable"}
    )


@router.get(
    "/{verdict_id}/explain.png", response_class=Response,
    responses={409: {"model": ErrorOut}, 410: {"model": ErrorOut}},
)  # fmt: skip
def explain(
    v: StoredVerdict,
    svc: ServiceDep,
    scale: int = Query(1, ge=1, le=16, description="enlarge by this integer factor (nearest neighbour)"),
    only: str | None = Query(None, pattern="^error$", description="'error': the error map alone"),
    model: str = Query(
        "verdict",
        pattern="^(verdict|current)$",
        description="'verdict' (default): drawn by the model that gave the verdict, or a 409/410 "
        "error naming it; 'current': drawn by the model in use now, marked in the headers",
    ),
) -> Response:
    """Input | reconstruction | error map of a kept image as a PNG, drawn by the model that gave the
    verdict (kept in memory, or reloaded from the run path recorded when it was served). The
    ``X-Spillguard-Model`` header names the model that drew it, ``X-Spillguard-Verdict-Model`` the
    one that gave the verdict."""
    data = kept_image(svc, v)
    m = svc.holder.current if model == "current" else svc.verdict_model(v)
    if m.explainer is None:
        raise ServiceError(
            409,
            "no_explainer",
            f"model {m.info.model_id} cannot explain: an exported ONNX model has no reconstruction; "
            "serve the torch run folder (spillguard serve runs/NAME) for explain.png",
            {"model_id": m.info.model_id},
        )
    limits = svc.cfg.limits
    big = Limits(max_bytes=limits.max_bytes * 2, max_pixels=limits.max_pixels)
    try:
        up = check_image(data, m.size, big)
    except ServiceError as exc:  # the stored file is damaged: not the request's fault
        raise ServiceError(
            410, "image_damaged", f"verdict {v.id}: its kept image no longer decodes ({exc.message})"
        ) from None
    x, rec, err = m.explainer.explain(up.pixels[None].copy())
    png = error_png(err[0], scale) if only == "error" else explain_strip(x[0], rec[0], err[0], scale)
    same = m.info.model_id == v.model_id
    headers = {
        "X-Spillguard-Model": m.info.model_id,
        "X-Spillguard-Verdict-Model": v.model_id,
        "X-Spillguard-Model-Match": "yes" if same else "no",
        "Cache-Control": "private, max-age=600" if same else "no-store",
    }
    return Response(png, media_type="image/png", headers=headers)
