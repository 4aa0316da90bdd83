"""``POST /v1/verdicts/{id}/feedback``: an operator's label, behind the bearer token."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends

from sharedcore.web import ServiceError
from spillguard.deploy.service.dependencies import ServiceDep, VerdictId, check_name, require_token
from spillguard.deploy.service.errors import db_unavailable
from spillguard.deploy.service.schemas import ErrorOut, FeedbackIn, FeedbackOut

router = APIRouter(
    tags=["feedback"],
    dependencies=[Depends(require_token)],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)


@router.post("/v1/verdicts/{verdict_id}/feedback", response_model=FeedbackOut)
async def feedback(verdict_id: VerdictId, body: FeedbackIn, svc: ServiceDep) -> FeedbackOut:
    """An operator's label: ``spill`` (confirmed) or ``no_spill`` (false alarm). Needs the token."""
    operator = check_name(body.operator.strip(), "operator")
    if operator is None:
        raise ServiceError(422, "bad_name", "operator: give the operator's name")
    try:
        fb = await asyncio.wrap_future(svc.store.add_feedback(verdict_id, body.label, operator, body.note))
    except KeyError:
        raise ServiceError(404, "unknown_verdict", f"verdict {verdict_id} does not exist") from None
    except svc.write_errors as exc:
        raise db_unavailable(exc) from None
    return FeedbackOut(**fb.__dict__)
