"""``GET /v1/avatar.svg`` and ``GET /v1/avatar.png``: the avatar of the style a seed draws under the
pins, one endpoint for both kinds (cached bytes, strong ETag, 304)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from avatargen.serve.dependencies import pins_of, state_of
from avatargen.serve.errors import ERRORS
from avatargen.serve.limits import served_size
from avatargen.serve.openapi import PIN_DOC, PINNED
from avatargen.serve.params import SEED, SIZE
from avatargen.serve.service import IMMUTABLE, Rendered

router = APIRouter()

AVATAR_DOC = (
    "The style drawn from P(. | pins) with `seed`. Same URL, same bytes: strong `ETag` "
    "(`If-None-Match` -> 304) and `Cache-Control: public, max-age=31536000, immutable`. Headers: "
    "`X-Style` = the style as JSON with non-ASCII characters \\u-escaped (header-safe; decode with "
    "JSON.parse / json.loads), `X-Style-Probability` = P(style), `X-Style-Given-Probability` = "
    "P(style | pins). " + PIN_DOC
)
# kind -> (media type, summary)
KINDS = {"svg": ("image/svg+xml", "An avatar as SVG"), "png": ("image/png", "An avatar as PNG (RGBA, resvg)")}


async def avatar(kind: str, request: Request, seed: int, size: str) -> Response:
    """The ``kind`` avatar of (seed, pins) at ``size``: 304 when the client has it, else the cached or
    newly drawn bytes."""
    state = state_of(request)  # the hot path: no dependency to solve
    pins = pins_of(request, state, ("seed", "size"))
    px = served_size(size)
    service, metrics = state.service, state.metrics
    metrics.served.labels(kind).inc()
    hit = service.avatars.get((kind, seed, px, pins))
    etag = hit.etag if hit is not None else service.etag(kind, seed, px, pins)
    if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": IMMUTABLE})
    if hit is None:

        def work() -> Rendered:
            t0 = time.perf_counter()
            r = service.avatar(kind, seed, px, pins)
            metrics.render_seconds.labels(kind).observe(time.perf_counter() - t0)
            metrics.rendered.labels(kind).inc()
            return r

        hit = await state.cpu.run(work)
    return Response(hit.body, media_type=hit.media_type, headers=hit.headers)


def _endpoint(kind: str) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, seed: int = SEED, size: str = SIZE) -> Response:
        return await avatar(kind, request, seed, size)

    return endpoint


for _kind, (_media, _summary) in KINDS.items():
    router.add_api_route(
        f"/v1/avatar.{_kind}",
        _endpoint(_kind),
        methods=["GET"],
        name=f"avatar_{_kind}",
        response_class=Response,
        responses={**ERRORS, 200: {"content": {_media: {}}}},
        openapi_extra=PINNED,
        summary=_summary,
        description=AVATAR_DOC,
    )
