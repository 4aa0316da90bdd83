"""JSON answers of the avatar API as compact UTF-8 bytes (non-ASCII names kept as they are)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response


def json_bytes(obj: Any) -> bytes:
    """``obj`` (pydantic models, dicts, lists...) as compact JSON bytes."""
    return json.dumps(jsonable_encoder(obj), ensure_ascii=False, separators=(",", ":")).encode()


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``obj`` as an ``application/json`` answer."""
    return Response(json_bytes(obj), status, headers=headers, media_type="application/json")
