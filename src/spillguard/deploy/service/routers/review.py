"""The review page for QC staff (``GET /review``): flagged pits waiting for a label, highest score
first, with filters, today's counts and the drift panel; server-rendered with Jinja2, a little plain JS
(``static/review.js``, mounted by ``main``) posts the labels to the feedback endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from sharedcore.web import ServiceError
from spillguard.deploy.service.dependencies import ServiceDep
from spillguard.deploy.service.drift import DriftReport, HourShare, drift_report
from spillguard.deploy.service.state import Service
from spillguard.deploy.service.store.records import parse_utc

PAGES = Path(__file__).parents[1]  # templates/ and static/ of the service
templates = Jinja2Templates(directory=str(PAGES / "templates"))
router = APIRouter(tags=["review"])


def parse_time(value: str | None, what: str) -> float | None:
    """An ISO date or date-time (as a datetime-local input sends it; UTC unless it says otherwise)."""
    if not value:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        raise ServiceError(
            422, "bad_time", f"{what}: '{value[:40]}' is not a date/time like 2026-12-01T08:00"
        ) from None


def current_drift(svc: Service) -> DriftReport:
    """The drift panel's figures: the last ``drift_window`` verdicts against the model's reference."""
    rec = svc.store.recent(svc.cfg.drift_window)
    hours = [
        HourShare(datetime.fromtimestamp(h, UTC).strftime("%m-%d %H:00"), n, f)
        for h, n, f in svc.store.hourly(24)
    ]
    return drift_report(
        svc.holder.current.reference,
        np.asarray(rec.scores, dtype=np.float64),
        np.asarray(rec.brightness, dtype=np.float64),
        np.asarray(rec.saturation, dtype=np.float64),
        np.asarray(rec.flagged, dtype=bool),
        hours,
    )


@router.get("/review", response_class=HTMLResponse)
def review(
    request: Request,
    svc: ServiceDep,
    camera: str | None = Query(None, max_length=64),
    since: str | None = Query(None, max_length=40, description="ISO date/time, UTC"),
    until: str | None = Query(None, max_length=40, description="ISO date/time, UTC"),
    limit: int = Query(60, ge=1, le=500),
) -> Any:
    """Flagged pits waiting for review, highest score first, with counts and the drift panel."""
    t0, t1 = parse_time(since, "since"), parse_time(until, "until")
    cam = camera or None
    pending = svc.store.pending(cam, t0, t1, limit)
    model = svc.holder.current
    notes = {mid: svc.explain_state(mid) for mid in {v.model_id for v in pending}}
    context = {
        "pending": pending,
        "counts": svc.store.counts(cam, t0, t1),
        "cameras": svc.store.cameras(),
        "camera": cam or "",
        "since": since or "",
        "until": until or "",
        "limit": limit,
        "model": model.info,
        "explains": model.explainer is not None,  # the current model draws error maps
        "explain_notes": notes,  # model id -> why its verdicts get no error map (None: they do)
        "drift": current_drift(svc),
        "token_required": svc.token is not None,
        "now": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return templates.TemplateResponse(request, "review.html", context)


@router.get("/v1/drift")
def drift(svc: ServiceDep) -> dict[str, Any]:
    """The drift panel's figures as JSON."""
    return current_drift(svc).to_dict()
