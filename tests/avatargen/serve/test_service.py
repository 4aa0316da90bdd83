"""Service internals: the LRU cache, canonical pins, and naming the rules behind impossible pins."""

from __future__ import annotations

import pandas as pd
import pytest

from avatargen.serve.cache import LRUCache
from avatargen.serve.service import ServeError, StyleService, explain_impossible, header_json
from avatargen.styles.model import StyleModel


def test_lru_evicts_oldest_by_count_and_bytes() -> None:
    c: LRUCache[bytes] = LRUCache(3, max_bytes=10, cost=len)
    c.put("a", b"1234")
    c.put("b", b"1234")
    assert c.get("a") == b"1234"  # a is now the most recent
    c.put("c", b"1234")  # 12 bytes > 10: b (oldest) goes
    assert c.get("b") is None and c.get("a") is not None and c.get("c") is not None
    c.put("big", b"x" * 11)  # over the whole budget: not kept
    assert c.get("big") is None and c.total <= 10
    value, cached = c.get_or_compute("d", lambda: b"12")
    assert value == b"12" and not cached
    assert c.get_or_compute("d", lambda: b"zz") == (b"12", True)
    assert c.hits >= 4 and c.misses >= 3


def test_pins_are_canonical(service: StyleService) -> None:
    a = service.pins([("clothes", "Hoodie"), ("seed", "3"), ("HAIR_COLOR", "blonde")], allowed=("seed",))
    assert a == (("hair_color", "blonde"), ("clothes", "hoodie"))
    with pytest.raises(ServeError) as e:
        service.pins([("seed", "3")])
    assert e.value.status == 422 and e.value.body["attribute"] == "seed"


def test_header_json_is_ascii_and_round_trips() -> None:
    import json

    style = {"прическа": "длинные в пучок", "a": 'quote " and ; comma,'}
    text = header_json(style)
    assert text.isascii() and "\n" not in text
    assert json.loads(text) == style


def chained_model() -> StyleModel:
    """a=x => b=y and c=z => b=w: pinning a=x and c=z is impossible through b, which is not pinned."""
    rows = pd.DataFrame(
        {
            "a": ["x", "x", "u", "u", "u", "u"],
            "b": ["y", "y", "w", "w", "y", "w"],
            "c": ["v", "v", "z", "z", "v", "v"],
        }
    )
    rules = {
        "format_version": 1,
        "rules": [{"if": {"a": "x"}, "then": {"b": "y"}}, {"if": {"c": "z"}, "then": {"b": "w"}}],
    }
    return StyleModel(alpha=1.0, rules=rules).fit(rows)


def test_impossible_pins_name_every_rule_of_the_chain() -> None:
    m = chained_model()
    assert m.probability({"a": "x", "c": "z"}) == 0
    message, rule = explain_impossible(m, {"a": "x", "c": "z"})
    assert "rule 1 (a=x => b=y)" in message and "rule 2 (c=z => b=w)" in message
    assert rule is not None and "rule 1" in rule and "rule 2" in rule
    message, rule = explain_impossible(m, {"a": "x", "b": "w"})
    assert rule == "a=x => b=y"


def test_zero_count_without_rule_is_named() -> None:
    rows = pd.DataFrame({"a": ["x", "x", "u"], "b": ["y", "y", "w"]})
    m = StyleModel(
        alpha=0.0, structure="declared", rules={"format_version": 1, "depends_on": {"b": "a"}}
    ).fit(rows)
    assert m.probability({"a": "x", "b": "w"}) == 0
    message, rule = explain_impossible(m, {"a": "x", "b": "w"})
    assert rule is None and "a=x together with b=w" in message


@pytest.mark.parametrize("which", ["example", "cyrillic"])
def test_drawn_style_is_model_sample_of_the_seed(
    which: str, model: StyleModel, cyrillic_model: StyleModel
) -> None:
    """The served style of (seed, pins) is by definition model.sample(1, default_rng(seed), given=pins):
    same values, same P(style) float, for many seeds and pin sets (the fast path may change no draw)."""
    import numpy as np

    m = model if which == "example" else cyrillic_model
    svc = StyleService(m)
    rng = np.random.default_rng(1)
    full = m.sample(3, rng)
    pin_sets: list[dict[str, str]] = [{}]
    for i in range(len(full)):
        st = {a: str(full[a].iloc[i]) for a in m.attributes_}
        pin_sets += [dict(list(st.items())[: i + 1]), dict(list(st.items())[-(i + 1) :]), st]
    for given in pin_sets:
        pins = svc.pins(given.items())
        for seed in [*range(40), 2**32 - 1]:
            df = m.sample(1, np.random.default_rng(seed), given=given or None)
            d = svc.draw(seed, pins)
            assert d.style == {a: str(df[a].array[0]) for a in m.attributes_}, (seed, given)
            assert repr(d.probability) == repr(float(df["probability"].to_numpy()[0]))
            assert d.pins_probability == (m.probability(given) if given else 1.0)
    st = svc.draw(7, ()).style
    assert svc.breakdown(st) == m.breakdown(st).to_dict(orient="records")


# ---------------------------------------------------------------- property tests (issue 10, query parsing)

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import given as for_examples  # noqa: E402 - `given` names pins in the tests above
from hypothesis import strategies as st  # noqa: E402

from avatargen.serve.service import MAX_SIDE, MIN_SIDE, RESERVED, served_size  # noqa: E402

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["hairstyle", "HairStyle ", "bob", "BOB", "none", "прическа", "каре", "", "\x00", "seed", "size"]
)


@FAST
@for_examples(items=st.lists(st.tuples(_text, _text), max_size=6), allowed=st.sets(st.sampled_from(RESERVED)))
def test_pins_random_query_items(
    service: StyleService, items: list[tuple[str, str]], allowed: set[str]
) -> None:
    # any query string is canonical pins or a 422 with a one-line message, never another exception
    try:
        pins = service.pins(items, allowed)
    except ServeError as exc:
        assert exc.status == 422 and "\n" not in exc.body["message"] and exc.body["error"]
        return
    names = [a for a, _ in pins]
    assert names == [a for a in service.attributes if a in names]  # model order, each once
    assert all(v in service.model.values_[a] for a, v in pins)


@FAST
@for_examples(text=st.text(max_size=16) | st.from_regex(r"-?[0-9.e]{0,6}[xX*][0-9.e-]{0,6}", fullmatch=True))
def test_served_size_random_text(text: str) -> None:
    try:
        w, h = served_size(text)
    except ServeError as exc:
        assert exc.status == 422 and exc.body["error"] == "bad_size" and "\n" not in exc.body["message"]
        return
    assert MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE
