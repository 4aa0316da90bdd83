"""``POST /v1/admin/reload``: swap in another run, behind the bearer token."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from sharedcore.errors import UserError
from sharedcore.web import ServiceError
from spillguard.deploy.service.dependencies import ServiceDep, require_token
from spillguard.deploy.service.errors import db_unavailable
from spillguard.deploy.service.schemas import ErrorOut, ReloadIn, ReloadOut, model_out

log = logging.getLogger("spillguard.serve")
router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_token)],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)


@router.post("/reload", response_model=ReloadOut)
async def reload(body: ReloadIn, svc: ServiceDep) -> ReloadOut:
    """Load and check another run (a path on the server), record it in the models table, then swap
    it in; in-flight requests finish on the old model, which stays in memory for explanations. A run
    that fails to load (or cannot be recorded) leaves the current model in place."""
    cfg = svc.cfg
    try:
        old, new = await run_in_threadpool(
            svc.holder.reload, body.run, cfg.rule, cfg.loader, svc.record_model
        )
    except UserError as exc:
        svc.metrics.reloads.labels("failed").inc()
        raise ServiceError(422, "bad_run", str(exc)) from None
    except svc.write_errors as exc:  # the new model could not be recorded: it is not swapped in
        svc.metrics.reloads.labels("failed").inc()
        raise db_unavailable(exc) from None
    svc.metrics.reloads.labels("ok").inc()
    svc.metrics.set_model(new.info.model_id, new.info.config, new.info.rule)
    if svc.live is not None:  # a promotion: every instance of the line follows at its next poll
        try:
            await run_in_threadpool(svc.live.promote, new.info.model_id)
        except svc.write_errors as exc:
            raise db_unavailable(exc) from None
    log.warning("reloaded: %s -> %s", old.info.model_id, new.info.model_id)
    return ReloadOut(model=model_out(new), previous=model_out(old))
