"""The style queries: the style a seed draws, P(style), Bayes' rule, marginals, sampling, the most
probable styles and the model's schema (``/v1/...`` JSON endpoints)."""

from __future__ import annotations

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from avatargen.serve import schemas
from avatargen.serve.dependencies import State, pins_of
from avatargen.serve.errors import ERRORS
from avatargen.serve.limits import MAX_K, MAX_N
from avatargen.serve.openapi import PINNED_QUERY
from avatargen.serve.params import SEED
from avatargen.serve.responses import json_response

router = APIRouter()


@router.get(
    "/v1/style",
    response_model=schemas.StyleOut,
    summary="The style a seed draws under the pins, with P(style) and its chain-rule breakdown",
    **PINNED_QUERY,
)
async def style(request: Request, state: State, seed: int = SEED) -> Response:
    pins = pins_of(request, state, ("seed",))
    key = (seed, pins)
    body = state.style_bodies.get(key)
    if body is None:
        service = state.service
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
        # a draw is tens of microseconds now (StyleModel.sample_one with cached tables): a thread hop
        # would cost more than the work, so it runs on the event loop
        body = out.model_dump_json().encode()
        state.style_bodies.put(key, body)
    return Response(body, media_type="application/json")


@router.post(
    "/v1/probability",
    response_model=schemas.ProbabilityOut,
    responses=ERRORS,
    summary="P(style) of a full style (chain rule) or a partial one (total probability)",
)
async def probability(state: State, req: schemas.ProbabilityIn = Body(...)) -> Response:
    return json_response(state.service.probability(req.style))


@router.get(
    "/v1/posterior",
    response_model=schemas.PosteriorOut,
    summary="P(query | pins) for every value of the query attribute (Bayes' rule)",
    **PINNED_QUERY,
)
async def posterior(
    request: Request, state: State, query: str = Query(..., description="The attribute asked about.")
) -> Response:
    return json_response(state.service.posterior(query, pins_of(request, state, ("query",))))


@router.get(
    "/v1/marginals",
    response_model=schemas.MarginalsOut,
    summary="For every attribute, P(value | the pins on the other attributes)",
    **PINNED_QUERY,
)
async def marginals(request: Request, state: State) -> Response:
    pins = pins_of(request, state, ())
    return json_response(await state.cpu.run(lambda: state.service.marginals(pins)))


@router.get(
    "/v1/sample",
    response_model=schemas.SampleOut,
    summary=f"n styles drawn from P(. | pins) with their probabilities (n <= {MAX_N})",
    **PINNED_QUERY,
)
async def sample(
    request: Request,
    state: State,
    n: int = Query(12, description=f"Number of styles, 0..{MAX_N}."),
    unique: bool = Query(False, description="No repeats and none of the training rows."),
    seed: int = SEED,
) -> Response:
    pins = pins_of(request, state, ("n", "unique", "seed"))
    return json_response(await state.cpu.run(lambda: state.service.sample(n, seed, unique, pins)))


@router.get(
    "/v1/most-probable",
    response_model=schemas.SampleOut,
    summary=f"The k most probable styles under the pins, best first (k <= {MAX_K})",
    **PINNED_QUERY,
)
async def most_probable(
    request: Request, state: State, k: int = Query(5, description=f"0..{MAX_K}")
) -> Response:
    pins = pins_of(request, state, ("k",))
    return json_response(await state.cpu.run(lambda: state.service.most_probable(k, pins)))


@router.get(
    "/v1/schema", response_model=schemas.SchemaOut, summary="Attributes, values, rules, mapping, limits"
)
async def schema(state: State) -> Response:
    return Response(state.schema_body, media_type="application/json")
