"""What a route of the avatar API is given (FastAPI dependencies): the app's ``ApiState`` from
``app.state``, and the pins of a request checked against the model."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from avatargen.serve.service import Pins
from avatargen.serve.state import ApiState


def state_of(request: Request) -> ApiState:
    """The app's ``ApiState`` (``app.state.api``, set by ``create_app``); the avatar routes, the hot
    path, call it without ``Depends``."""
    state: ApiState = request.app.state.api
    return state


async def _state(request: Request) -> ApiState:
    return state_of(request)  # async: FastAPI runs a plain ``def`` dependency in a worker thread


State = Annotated[ApiState, Depends(_state)]


def pins_of(request: Request, state: ApiState, allowed: tuple[str, ...]) -> Pins:
    """The request's pins (every query parameter not in ``allowed``), canonical; 422 on unknown names."""
    return state.service.pins(request.query_params.multi_items(), allowed)
