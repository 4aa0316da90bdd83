"""The review page for QC staff (``GET /review``): flagged pits waiting for a label, highest score
first, with filters, today's counts and the drift panel; server-rendered with Jinja2, a little plain JS
(``static/review.js``) posts the labels to the feedback endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from sharedcore.web import ServiceError
from spillguard.deploy.service.drift import DriftReport, HourShare, drift_report

if TYPE_CHECKING:
    from spillguard.deploy.service.app import Service

HERE = Path(__file__).parent


def parse_time(value: str | None, what: str) -> float | None:
    """An ISO date or date-time (as a datetime-local input sends it; UTC unless it says otherwise)."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise ServiceError(
            422, "bad_time", f"{what}: '{value[:40]}' is not a date/time like 2026-12-01T08:00"
        ) from None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


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


def add_review_routes(app: FastAPI, svc: Service) -> None:
    """Mount /review, /v1/drift and the page's static files on ``app``."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/review", response_class=HTMLResponse, tags=["review"])
    def review(
        request: Request,
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

    @app.get("/v1/drift", tags=["review"])
    def drift() -> dict[str, Any]:
        """The drift panel's figures as JSON."""
        return current_drift(svc).to_dict()
