"""StyleService: canonical pins (any query string is pins or a one-line 422), header-safe style JSON,
and the style a seed draws is the model's sample of that seed."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as for_examples  # `given` names pins in the model's API
from hypothesis import strategies as st

from avatargen.serve.errors import ServeError
from avatargen.serve.limits import RESERVED
from avatargen.serve.service import StyleService, header_json
from avatargen.styles.model import StyleModel


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
