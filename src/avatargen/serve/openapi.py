"""What /docs says of the pins: any query parameter not reserved pins an attribute, so each app
documents one optional parameter per attribute of its model, with the attribute's values as an enum."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from avatargen.serve.errors import ERRORS
from avatargen.serve.service import StyleService

PIN_DOC = (
    "Any other query parameter pins an attribute to a value (`hairstyle=bob`; URL-encode non-ASCII "
    "names and values, e.g. `%D0%BF%D1%80%D0%B8%D1%87%D0%B5%D1%81%D0%BA%D0%B0=...`). "
)
# ``openapi_extra`` of the routes that take pins: ``document_pins`` puts the app's pin parameters there.
PINNED: dict[str, Any] = {"x-avatargen-pins": True}
_MARK = next(iter(PINNED))
# The route options of a JSON query that takes pins: its 422s, the pin parameters, the pin text.
PINNED_QUERY: dict[str, Any] = {"responses": ERRORS, "openapi_extra": PINNED, "description": PIN_DOC}


def pin_parameters(service: StyleService) -> list[dict[str, Any]]:
    """OpenAPI query parameters for the pins (one per attribute, its values as an enum) so that /docs
    offers them."""
    return [
        {
            "name": a,
            "in": "query",
            "required": False,
            "description": f"Pin '{a}' to one of its values",
            "schema": {"type": "string", "enum": list(service.model.values_[a])},
        }
        for a in service.attributes
    ]


def document_pins(app: FastAPI, service: StyleService) -> None:
    """Extend ``app``'s OpenAPI schema (as FastAPI's docs do, by replacing ``app.openapi``): every
    operation marked ``PINNED`` gets ``service``'s pin parameters after its own. The routers are
    shared by every app, so the parameters go into each app's schema, not into the routes."""
    pins = pin_parameters(service)
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()  # FastAPI's, kept as app.openapi_schema: extended once, in place
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if operation.pop(_MARK, False):
                    operation["parameters"] = [*operation.get("parameters", []), *pins]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
