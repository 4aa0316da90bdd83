"""What the routers depend on: the service (from ``app.state``), the bearer-token check of the write
endpoints (a router dependency), a stored verdict by its path id, and the name check of cameras,
sources and operators."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam

from sharedcore.web import ServiceError
from spillguard.deploy.service.state import Service
from spillguard.deploy.service.store import Verdict

NAME_MAX = 64
ID_MAX = 2**63 - 1  # SQLite's largest integer key


def service_of(request: Request) -> Service:
    """The app's service (``app.state.service``); routes on the hot path call it without Depends."""
    svc: Service = request.app.state.service
    return svc


ServiceDep = Annotated[Service, Depends(service_of)]
VerdictId = Annotated[int, PathParam(ge=1, le=ID_MAX, description="a stored verdict's id")]


def require_token(request: Request, svc: ServiceDep) -> None:
    """Bearer token of the write endpoints, compared in constant time (no token set: loopback only)."""
    if svc.token is None:
        return
    scheme, _, cred = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not cred.strip():
        raise ServiceError(401, "unauthorized", "this endpoint needs 'Authorization: Bearer <token>'")
    if not hmac.compare_digest(cred.strip().encode(), svc.token.encode()):
        raise ServiceError(403, "forbidden", "the bearer token is wrong")


def stored_verdict(verdict_id: VerdictId, svc: ServiceDep) -> Verdict:
    """The verdict of the path's id; 404 when there is none."""
    v = svc.store.get(verdict_id)
    if v is None:
        raise ServiceError(404, "unknown_verdict", f"verdict {verdict_id} does not exist")
    return v


StoredVerdict = Annotated[Verdict, Depends(stored_verdict)]


def check_name(value: str | None, what: str) -> str | None:
    """A camera or source name: at most 64 printable characters (empty -> None)."""
    if value is None or value == "":
        return None
    if len(value) > NAME_MAX or not value.isprintable():
        raise ServiceError(
            422, "bad_name", f"{what}: at most {NAME_MAX} printable characters, got {value[:80]!r}"
        )
    return value
