"""The FastAPI application of ``avatargen serve``: avatars with probabilities, style queries, and the
explore page. Build it with ``create_app(StyleService(model))``; ``run_server`` runs it on uvicorn.

Pinned attributes are plain query parameters (``?seed=7&hairstyle=bob``; names and values
URL-encoded UTF-8, matched case-blind); the reserved parameters are ``service.RESERVED``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Body, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from avatargen import __version__
from avatargen.serve import schemas
from avatargen.serve.cache import LRUCache
from avatargen.serve.service import (
    DEFAULT_SIZE,
    IMMUTABLE,
    MAX_K,
    MAX_N,
    MAX_SEED,
    Rendered,
    ServeError,
    StyleService,
    load_model,
    served_size,
)
from sharedcore.errors import UserError

T = TypeVar("T")
ERRORS: dict[int | str, dict[str, Any]] = {
    422: {
        "model": schemas.ErrorBody,
        "description": "Unknown attribute/value, impossible pins, bad n/seed/size",
    }
}
PIN_DOC = (
    "Any other query parameter pins an attribute to a value (`hairstyle=bob`; URL-encode non-ASCII "
    "names and values, e.g. `%D0%BF%D1%80%D0%B8%D1%87%D0%B5%D1%81%D0%BA%D0%B0=...`). "
)
MAX_BODY = 64 * 1024  # bytes of a POST body
MODEL_ENV, MAPPING_ENV = "AVATARGEN_SERVE_MODEL", "AVATARGEN_SERVE_MAPPING"


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("avatargen.serve") / name))


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(jsonable_encoder(obj), ensure_ascii=False, separators=(",", ":")).encode()


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_json_bytes(obj), status, headers=headers, media_type="application/json")


class BodyLimit:
    """Pure ASGI middleware: request bodies (only POST /v1/probability has one) must state their
    Content-Length and stay within ``limit`` bytes; else 411/413 with a JSON body. GETs pass untouched."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        status, message = 0, ""
        if length is None and headers.get(b"transfer-encoding"):
            status, message = 411, "send the request body with a Content-Length header"
        elif length is not None and (not length.isdigit() or int(length) > self.limit):
            status, message = (
                413,
                f"request body over {self.limit} bytes; send one style of attribute=value pairs",
            )
        if not status:
            await self.app(scope, receive, send)
            return
        body = _json_bytes({"error": "bad_request", "message": message})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _pin_parameters(service: StyleService) -> dict[str, Any]:
    """OpenAPI query parameters for the pins (one per attribute, its values as an enum) so that /docs
    offers them."""
    return {
        "parameters": [
            {
                "name": a,
                "in": "query",
                "required": False,
                "description": f"Pin '{a}' to one of its values",
                "schema": {"type": "string", "enum": list(service.model.values_[a])},
            }
            for a in service.attributes
        ]
    }


def create_app(service: StyleService) -> FastAPI:
    """The API and the explore page over one StyleService (model + mapping + caches)."""
    app = FastAPI(
        title="avatargen",
        version=__version__,
        description="Avataaars avatars drawn from a learned style model, with exact probabilities: "
        "P(style), P(style | pins), Bayes' rule, sampling under pins. " + PIN_DOC,
    )
    app.state.service = service
    app.add_middleware(BodyLimit)
    templates = Jinja2Templates(directory=str(_package_dir("templates")))
    app.mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static")
    pins_doc = _pin_parameters(service)
    style_json: LRUCache[bytes] = LRUCache(65_536, 64 * 2**20, len)

    registry = CollectorRegistry()
    rendered = Counter(
        "avatargen_avatars_rendered", "Avatars drawn (cache misses)", ["kind"], registry=registry
    )
    served = Counter(
        "avatargen_avatars_served", "Avatar answers (incl. cache hits and 304)", ["kind"], registry=registry
    )
    render_seconds = Histogram(
        "avatargen_render_seconds",
        "Time to draw one uncached avatar",
        ["kind"],
        buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2),
        registry=registry,
    )

    def pins_of(request: Request, allowed: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        return service.pins(request.query_params.multi_items(), allowed)

    # CPU-bound work (sampling, drawing, resvg) runs in threads, at most one per core: more threads only
    # contend for the interpreter and stretch every request's latency.
    limiter = anyio.CapacityLimiter(max(1, min(4, os.cpu_count() or 1)))

    async def off_loop(fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn, limiter=limiter)

    # ------------------------------------------------------------------------------- errors

    @app.exception_handler(ServeError)
    async def _serve_error(_request: Request, exc: ServeError) -> Response:
        return _json(exc.body, exc.status)

    @app.exception_handler(UserError)
    async def _user_error(_request: Request, exc: UserError) -> Response:
        return _json({"error": "bad_parameter", "message": str(exc)}, 422)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        errs = exc.errors()
        parts = []
        for e in errs:
            loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "body"))
            got = f" (got {e['input']!r})" if "input" in e and not isinstance(e["input"], dict) else ""
            parts.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}{got}")
        first = errs[0].get("loc", ()) if errs else ()
        name = str(first[-1]) if first else None
        return _json({"error": "bad_parameter", "message": "; ".join(parts), "attribute": name}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        kind = "not_found" if exc.status_code == 404 else "bad_request"
        return _json({"error": kind, "message": str(exc.detail)}, exc.status_code)

    # ------------------------------------------------------------------------------ avatars

    async def avatar(kind: str, request: Request, seed: int, size: str) -> Response:
        pins = pins_of(request, ("seed", "size"))
        px = served_size(size)
        served.labels(kind).inc()
        hit = service.avatars.get((kind, seed, px, pins))
        etag = hit.etag if hit is not None else service.etag(kind, seed, px, pins)
        if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
            return Response(status_code=304, headers={"ETag": etag, "Cache-Control": IMMUTABLE})
        if hit is None:

            def work() -> Rendered:
                t0 = time.perf_counter()
                r = service.avatar(kind, seed, px, pins)
                render_seconds.labels(kind).observe(time.perf_counter() - t0)
                rendered.labels(kind).inc()
                return r

            hit = await off_loop(work)
        return Response(hit.body, media_type=hit.media_type, headers=hit.headers)

    seed_q = Query(
        0, ge=0, le=MAX_SEED, description="Random seed: the same seed and pins draw the same style."
    )
    size_q = Query(
        DEFAULT_SIZE, description="WIDTHxHEIGHT (8..1024 per side) or a scale of 264x280 (1x, 2x)."
    )
    avatar_doc = (
        "The style drawn from P(. | pins) with `seed`. Same URL, same bytes: strong `ETag` "
        "(`If-None-Match` -> 304) and `Cache-Control: public, max-age=31536000, immutable`. Headers: "
        "`X-Style` = the style as JSON with non-ASCII characters \\u-escaped (header-safe; decode with "
        "JSON.parse / json.loads), `X-Style-Probability` = P(style), `X-Style-Given-Probability` = "
        "P(style | pins). " + PIN_DOC
    )

    @app.get(
        "/v1/avatar.svg",
        response_class=Response,
        responses={**ERRORS, 200: {"content": {"image/svg+xml": {}}}},
        openapi_extra=pins_doc,
        summary="An avatar as SVG",
        description=avatar_doc,
    )
    async def avatar_svg(request: Request, seed: int = seed_q, size: str = size_q) -> Response:
        return await avatar("svg", request, seed, size)

    @app.get(
        "/v1/avatar.png",
        response_class=Response,
        responses={**ERRORS, 200: {"content": {"image/png": {}}}},
        openapi_extra=pins_doc,
        summary="An avatar as PNG (RGBA, resvg)",
        description=avatar_doc,
    )
    async def avatar_png(request: Request, seed: int = seed_q, size: str = size_q) -> Response:
        return await avatar("png", request, seed, size)

    # --------------------------------------------------------------------------- style queries

    @app.get(
        "/v1/style",
        response_model=schemas.StyleOut,
        responses=ERRORS,
        openapi_extra=pins_doc,
        summary="The style a seed draws under the pins, with P(style) and its chain-rule breakdown",
        description=PIN_DOC,
    )
    async def style(request: Request, seed: int = seed_q) -> Response:
        pins = pins_of(request, ("seed",))
        key = (seed, pins)
        body = style_json.get(key)
        if body is None:

            def work() -> bytes:
                d = service.draw(seed, pins)
                svg_url, png_url = service.avatar_urls(d.style)
                out = schemas.StyleOut(
                    seed=seed,
                    pins=dict(pins),
                    style=d.style,
                    probability=d.probability,
                    given_probability=d.given_probability,
                    pins_probability=d.pins_probability,
                    breakdown=[schemas.Factor(**f) for f in service.breakdown(d.style)],
                    svg_url=svg_url,
                    png_url=png_url,
                )
                return out.model_dump_json().encode()

            # a draw is tens of microseconds now (StyleModel.sample_one with cached tables): a thread hop
            # would cost more than the work, so it runs on the event loop
            body = work()
            style_json.put(key, body)
        return Response(body, media_type="application/json")

    @app.post(
        "/v1/probability",
        response_model=schemas.ProbabilityOut,
        responses=ERRORS,
        summary="P(style) of a full style (chain rule) or a partial one (total probability)",
    )
    async def probability(req: schemas.ProbabilityIn = Body(...)) -> Response:
        return _json(service.probability(req.style))

    @app.get(
        "/v1/posterior",
        response_model=schemas.PosteriorOut,
        responses=ERRORS,
        openapi_extra=pins_doc,
        summary="P(query | pins) for every value of the query attribute (Bayes' rule)",
        description=PIN_DOC,
    )
    async def posterior(
        request: Request, query: str = Query(..., description="The attribute asked about.")
    ) -> Response:
        return _json(service.posterior(query, pins_of(request, ("query",))))

    @app.get(
        "/v1/marginals",
        response_model=schemas.MarginalsOut,
        responses=ERRORS,
        openapi_extra=pins_doc,
        summary="For every attribute, P(value | the pins on the other attributes)",
        description=PIN_DOC,
    )
    async def marginals(request: Request) -> Response:
        pins = pins_of(request, ())
        return _json(await off_loop(lambda: service.marginals(pins)))

    @app.get(
        "/v1/sample",
        response_model=schemas.SampleOut,
        responses=ERRORS,
        openapi_extra=pins_doc,
        summary=f"n styles drawn from P(. | pins) with their probabilities (n <= {MAX_N})",
        description=PIN_DOC,
    )
    async def sample(
        request: Request,
        n: int = Query(12, description=f"Number of styles, 0..{MAX_N}."),
        unique: bool = Query(False, description="No repeats and none of the training rows."),
        seed: int = seed_q,
    ) -> Response:
        pins = pins_of(request, ("n", "unique", "seed"))
        return _json(await off_loop(lambda: service.sample(n, seed, unique, pins)))

    @app.get(
        "/v1/most-probable",
        response_model=schemas.SampleOut,
        responses=ERRORS,
        openapi_extra=pins_doc,
        summary=f"The k most probable styles under the pins, best first (k <= {MAX_K})",
        description=PIN_DOC,
    )
    async def most_probable(request: Request, k: int = Query(5, description=f"0..{MAX_K}")) -> Response:
        pins = pins_of(request, ("k",))
        return _json(await off_loop(lambda: service.most_probable(k, pins)))

    schema_body = _json_bytes(service.schema())

    @app.get(
        "/v1/schema", response_model=schemas.SchemaOut, summary="Attributes, values, rules, mapping, limits"
    )
    async def schema() -> Response:
        return Response(schema_body, media_type="application/json")

    # ---------------------------------------------------------------------- page and operations

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def explore(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            "explore.html",
            {
                "schema_json": schema_body.decode().replace("<", "\\u003c"),
                "version": __version__,
                "mapping": service.mapping.name,
            },
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return _json({"status": "ok", "model_digest": service.digest})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def app_from_env() -> FastAPI:
    """App factory for uvicorn workers: the model and mapping named by the environment."""
    mapping = os.environ.get(MAPPING_ENV) or None
    return create_app(StyleService(load_model(os.environ[MODEL_ENV]), mapping))


def check_port(host: str, port: int) -> None:
    """UserError when ``host:port`` cannot be bound (in use, or not a local address)."""
    if not 0 < port < 65536:
        raise UserError(f"--port {port}: give a port 1..65535")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        raise UserError(
            f"--host {host} --port {port}: cannot listen there ({exc.strerror}); pick another port"
        ) from None


def run_server(
    model: str,
    mapping: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8001,
    workers: int = 1,
    access_log: bool = False,
) -> None:
    """Load and check the model and mapping (errors before listening), then serve on uvicorn."""
    import uvicorn

    if workers < 1:
        raise UserError(f"--workers {workers}: give 1 or more")
    service = StyleService(load_model(model), mapping)
    check_port(host, port)
    print(
        f"avatargen serve: {len(service.attributes)} attributes, mapping {service.mapping.name}; "
        f"http://{host}:{port}/ (page), http://{host}:{port}/docs (API)",
        flush=True,
    )
    if workers == 1:
        uvicorn.run(create_app(service), host=host, port=port, access_log=access_log, log_level="warning")
        return
    os.environ[MODEL_ENV] = str(Path(model).resolve()) if Path(model).exists() else model
    if mapping:
        os.environ[MAPPING_ENV] = str(Path(mapping).resolve()) if Path(mapping).exists() else mapping
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "avatargen.serve.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level="warning",
    )
    sock = config.bind_socket()
    # Workers get the listening socket through multiprocessing, where asyncio no longer recognises it as
    # TCP and skips TCP_NODELAY: Nagle + delayed ACKs then add ~40 ms to every answer. Accepted
    # connections inherit the option from the listening socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()
