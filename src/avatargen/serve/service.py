"""What the HTTP API answers, without HTTP: pins checked against a StyleModel, the style a seed
draws under the pins, its probability, and the avatar drawn from it (SVG / PNG bytes, cached).

The style of ``(seed, pins)`` is by definition ``model.sample(1, numpy.random.default_rng(seed),
given=pins)``: the same request always gives the same style and the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

from avatargen import __version__
from avatargen.render.draw import resolve_mapping, sized_svg, style_svg, svg_to_png
from avatargen.render.mapping import StyleMapping, normalise
from avatargen.serve.cache import LRUCache
from avatargen.serve.errors import ServeError
from avatargen.serve.impossible import explain_impossible
from avatargen.serve.limits import DEFAULT_SIZE, MAX_K, MAX_N, MAX_SIDE, MIN_SIDE, RESERVED, check_seed
from avatargen.styles.model import StyleModel
from sharedcore.errors import UserError

IMMUTABLE = "public, max-age=31536000, immutable"
EXAMPLE_NAME = "example"  # `avatargen serve example`: the built-in example model

Pins = tuple[tuple[str, str], ...]  # canonical: (attribute, value) in the model's attribute order


@dataclass(frozen=True)
class Drawn:
    """The style a seed draws under some pins, with P(style), P(pins) and P(style | pins)."""

    seed: int
    pins: Pins
    style: dict[str, str]
    probability: float
    pins_probability: float

    @property
    def given_probability(self) -> float:
        """P(style | pins)."""
        return self.probability / self.pins_probability if self.pins_probability > 0 else 0.0


@dataclass(frozen=True)
class Rendered:
    """Bytes of one avatar answer with its headers (ETag, Cache-Control, X-Style...)."""

    body: bytes
    media_type: str
    headers: dict[str, str]

    @property
    def etag(self) -> str:
        return self.headers["ETag"]


def load_model(spec: str | os.PathLike[str]) -> StyleModel:
    """A saved StyleModel, or with ``example`` (when no such file exists) the built-in example table
    fitted with its rules, exactly as ``avatargen styles fit example_styles.csv --rules example_rules.yaml``."""
    path = Path(spec)
    if str(spec) == EXAMPLE_NAME and not path.exists():
        from avatargen.styles.data import EXAMPLE_RULES, EXAMPLE_STYLES, load_styles

        return StyleModel(rules=EXAMPLE_RULES).fit(load_styles(EXAMPLE_STYLES))
    return StyleModel.load(path)


def header_json(obj: Mapping[str, str]) -> str:
    """``obj`` as compact JSON with every non-ASCII character escaped (``\\uXXXX``): a valid,
    header-safe HTTP field value that ``JSON.parse`` / ``json.loads`` decode back to the names."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))


class StyleService:
    """A fitted StyleModel and a mapping behind the API: validation, drawing, rendering, caches.

    ``cache_bytes``: budget of the LRU of rendered avatars (bytes); ``style_cache``: drawn styles kept.
    """

    def __init__(
        self,
        model: StyleModel,
        mapping: StyleMapping | str | os.PathLike[str] | None = None,
        cache_bytes: int = 256 * 2**20,
        style_cache: int = 65_536,
    ) -> None:
        self.model = model
        clash = [a for a in model.attributes_ if a in RESERVED]
        if clash:
            raise UserError(
                f"attribute '{clash[0]}' has the name of a query parameter ({', '.join(RESERVED)}); "
                "rename it in the data and refit the model to serve it"
            )
        self.mapping = resolve_mapping(mapping, model.values_)
        self.mapping.check(model.values_)
        self.attributes = list(model.attributes_)
        self._index = {a: i for i, a in enumerate(self.attributes)}
        self._attr_lookup = {normalise(a): a for a in self.attributes}
        self._value_lookup = {a: {normalise(v): v for v in model.values_[a]} for a in self.attributes}
        digest = hashlib.sha256(json.dumps(model.to_json(), sort_keys=True).encode())
        digest.update(repr(sorted(self.mapping.rows(), key=lambda r: tuple(r.values()))).encode())
        digest.update(__version__.encode())
        self.digest = digest.hexdigest()[:16]
        self.avatars: LRUCache[Rendered] = LRUCache(1 << 20, cache_bytes, lambda r: len(r.body) + 512)
        self.styles: LRUCache[Drawn] = LRUCache(style_cache)
        self.svgs: LRUCache[str] = LRUCache(4096)
        self.evidence: LRUCache[float] = LRUCache(4096)

    # ------------------------------------------------------------------------------------- pins

    def pins(self, items: Iterable[tuple[str, str]], allowed: Iterable[str] = ()) -> Pins:
        """Validate query parameters that pin attributes (names matched case-blind, NFC); the canonical
        pins in model order. Unknown names -> 422 naming them with the known ones."""
        allowed = set(allowed)
        out: dict[str, str] = {}
        given: dict[str, str] = {}
        for key, raw in items:
            if key in allowed:
                if key in given and given[key] != raw:  # FastAPI would keep the last one silently
                    raise ServeError(
                        422,
                        "bad_parameter",
                        f"parameter '{key}' is given twice ('{given[key]}' and '{raw}'); give it once",
                        attribute=key,
                    )
                given[key] = raw
                continue
            a = self._attr_lookup.get(normalise(key))
            if a is None:
                params = f"; parameters of this endpoint: {', '.join(sorted(allowed))}" if allowed else ""
                raise ServeError(
                    422,
                    "unknown_attribute",
                    f"unknown attribute '{key}'; the model has: {', '.join(self.attributes)}{params}",
                    attribute=key,
                    known=self.attributes,
                )
            v = self._value_lookup[a].get(normalise(raw))
            if v is None:
                vals = self.model.values_[a]
                raise ServeError(
                    422,
                    "unknown_value",
                    f"attribute '{a}' has no value '{raw}'; known values: {', '.join(vals)}",
                    attribute=a,
                    value=raw,
                    known=vals,
                )
            if a in out and out[a] != v:
                raise ServeError(
                    422,
                    "bad_parameter",
                    f"attribute '{a}' is pinned twice ('{out[a]}' and '{v}'); pin it once",
                    attribute=a,
                )
            out[a] = v
        return tuple((a, out[a]) for a in self.attributes if a in out)

    def check_possible(self, pins: Pins) -> float:
        """P(pins) (1 for no pins); pins of probability 0 -> 422 naming the rule that forbids them."""
        if not pins:
            return 1.0
        p = self.evidence.get(pins)
        if p is None:
            p = self.model.probability(dict(pins))
            self.evidence.put(pins, p)
        if p <= 0:
            message, rule = explain_impossible(self.model, dict(pins))
            raise ServeError(422, "impossible_pins", message, rule=rule)
        return p

    # ---------------------------------------------------------------------------------- drawing

    def draw(self, seed: int, pins: Pins) -> Drawn:
        """The style ``model.sample(1, default_rng(seed), given=pins)`` with its probabilities (cached)."""
        check_seed(seed)
        key = (seed, pins)
        hit = self.styles.get(key)
        if hit is not None:
            return hit
        p_pins = self.check_possible(pins)
        # StyleModel.sample_one is draw-for-draw model.sample(1, ...) (tests/avatargen/styles/test_sample_one.py)
        style, p = self.model.sample_one(np.random.default_rng(seed), given=dict(pins))
        drawn = Drawn(seed, pins, style, p, p_pins)
        self.styles.put(key, drawn)
        return drawn

    def breakdown(self, style: Mapping[str, str]) -> list[dict[str, Any]]:
        """Chain-rule factors of a full style (StyleModel.breakdown) as plain records."""
        return self.model.breakdown_records(dict(style))

    def svg_text(self, style: Mapping[str, str]) -> str:
        """The avatar SVG (264x280 viewBox) of a style, cached by style."""
        key = tuple(style[a] for a in self.attributes)
        svg, _ = self.svgs.get_or_compute(key, lambda: style_svg(style, self.mapping))
        return svg

    def etag(self, kind: str, seed: int, size: tuple[int, int], pins: Pins) -> str:
        """A strong ETag of an avatar URL: the model, mapping and version digest plus the canonical request
        (the bytes are a function of these alone, so a 304 needs no drawing)."""
        key = json.dumps([self.digest, kind, seed, size, pins], ensure_ascii=True)
        return '"' + hashlib.sha256(key.encode()).hexdigest()[:24] + '"'

    def avatar(self, kind: str, seed: int, size: tuple[int, int], pins: Pins) -> Rendered:
        """The SVG or PNG (``kind``) of the style drawn for (seed, pins) at ``size`` (w, h), with its
        headers; cached by the canonical request."""
        key = (kind, seed, size, pins)
        hit = self.avatars.get(key)
        if hit is not None:
            return hit
        drawn = self.draw(seed, pins)
        svg = sized_svg(self.svg_text(drawn.style), size)
        body = svg.encode() if kind == "svg" else svg_to_png(svg, size)
        headers = {
            "ETag": self.etag(kind, seed, size, pins),
            "Cache-Control": IMMUTABLE,
            "X-Style": header_json(drawn.style),
            "X-Style-Probability": repr(drawn.probability),
            "X-Style-Given-Probability": repr(drawn.given_probability),
        }
        r = Rendered(body, "image/svg+xml" if kind == "svg" else "image/png", headers)
        self.avatars.put(key, r)
        return r

    def avatar_urls(self, style: Mapping[str, str]) -> tuple[str, str]:
        """URLs that always draw exactly ``style`` (every attribute pinned)."""
        q = urlencode([(a, style[a]) for a in self.attributes])
        return f"/v1/avatar.svg?{q}", f"/v1/avatar.png?{q}"

    # ------------------------------------------------------------------------------ probability

    def probability(self, style: Mapping[str, str]) -> dict[str, Any]:
        """P(style) of a full (chain rule + breakdown) or partial (total probability) style."""
        pins = self.pins(style.items())
        st = dict(pins)
        full = len(st) == len(self.attributes)
        p = self.model.probability(st)
        return {
            "style": st,
            "full": full,
            "method": "chain rule" if full else "total probability",
            "probability": p,
            "log2_probability": math.log2(p) if p > 0 else None,
            "breakdown": self.breakdown(st) if full else None,
        }

    def posterior(self, query: str, pins: Pins) -> dict[str, Any]:
        """P(query = v | pins) for every value v (StyleModel.posterior)."""
        a = self._attr_lookup.get(normalise(query))
        if a is None:
            raise ServeError(
                422,
                "unknown_attribute",
                f"query: unknown attribute '{query}'; the model has: {', '.join(self.attributes)}",
                attribute=query,
                known=self.attributes,
            )
        p_pins = self.check_possible(pins)
        post = self.model.posterior(a, dict(pins))
        return {
            "query": a,
            "given": dict(pins),
            "evidence_probability": p_pins,
            "posterior": [{"value": v, "probability": p} for v, p in post.items()],
        }

    def marginals(self, pins: Pins) -> dict[str, Any]:
        """For every attribute, P(value | pins on the other attributes) (a pinned attribute shows what
        each of its values would have without its own pin)."""
        p_pins = self.check_possible(pins)
        pinned = dict(pins)
        out = []
        for a in self.attributes:
            others = {b: v for b, v in pinned.items() if b != a}
            post = self.model.posterior(a, others)
            out.append(
                {
                    "attribute": a,
                    "pinned": pinned.get(a),
                    "given": others,
                    "values": [{"value": v, "probability": p} for v, p in post.items()],
                }
            )
        return {
            "pins": pinned,
            "pins_probability": p_pins,
            "n_styles": self.model.n_styles(pinned),
            "attributes": out,
        }

    def _styles_out(self, df: Any, p_pins: float) -> list[dict[str, Any]]:
        rows = []
        for r in df.to_dict(orient="records"):
            style = {a: str(r[a]) for a in self.attributes}
            svg_url, png_url = self.avatar_urls(style)
            p = float(r["probability"])
            rows.append(
                {
                    "style": style,
                    "probability": p,
                    "given_probability": p / p_pins,
                    "svg_url": svg_url,
                    "png_url": png_url,
                }
            )
        return rows

    def sample(self, n: int, seed: int, unique: bool, pins: Pins) -> dict[str, Any]:
        """``n`` styles from P(. | pins) with StyleModel.sample (at most MAX_N)."""
        check_seed(seed)
        if not 0 <= n <= MAX_N:
            raise ServeError(422, "too_many", f"n={n}: ask for 0..{MAX_N} styles per request")
        p_pins = self.check_possible(pins)
        try:
            df = self.model.sample(n, np.random.default_rng(seed), given=dict(pins), unique=unique)
        except UserError as exc:  # e.g. fewer unique styles than n
            raise ServeError(422, "too_many", str(exc).replace("-n ", "n=", 1)) from None
        return {
            "pins": dict(pins),
            "pins_probability": p_pins,
            "seed": seed,
            "unique": unique,
            "styles": self._styles_out(df, p_pins),
        }

    def most_probable(self, k: int, pins: Pins) -> dict[str, Any]:
        """The ``k`` most probable styles under the pins, best first (StyleModel.most_probable)."""
        if not 0 <= k <= MAX_K:
            raise ServeError(422, "too_many", f"k={k}: ask for 0..{MAX_K} styles per request")
        p_pins = self.check_possible(pins)
        df = self.model.most_probable(k, given=dict(pins))
        return {"pins": dict(pins), "pins_probability": p_pins, "styles": self._styles_out(df, p_pins)}

    def schema(self) -> dict[str, Any]:
        """Attributes, values, parents, rules, the mapping in use and the limits."""
        drawn: dict[str, dict[str, str]] = {}
        for row in self.mapping.rows():
            drawn.setdefault(normalise(row["attribute"]), {})[normalise(row["value"])] = row["parts"]
        m = self.model
        attrs = []
        for a in self.attributes:
            parts = drawn.get(normalise(a), {})
            attrs.append(
                {
                    "name": a,
                    "values": list(m.values_[a]),
                    "parent": m.parents_[a],
                    "drawn_as": {v: parts.get(normalise(v), "(default)") for v in m.values_[a]},
                }
            )
        return {
            "attributes": attrs,
            "rules": [str(r) for r in m.rules_.rules],
            "n_rows": m.n_rows_,
            "data_kind": m.data_kind_,
            "entropy_bits": m.entropy(),
            "n_styles": m.n_styles(),
            "mapping": {
                "name": self.mapping.name,
                "description": self.mapping.description,
                "defaults": self.mapping.unset_parts(),
            },
            "limits": {
                "max_n": MAX_N,
                "max_k": MAX_K,
                "min_side": MIN_SIDE,
                "max_side": MAX_SIDE,
                "default_size": DEFAULT_SIZE,
                "reserved_parameters": list(RESERVED),
            },
            "model_digest": self.digest,
        }
