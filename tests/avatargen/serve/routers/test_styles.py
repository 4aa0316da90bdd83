"""The style queries against the StyleModel they serve: the style a seed draws, P(style), Bayes'
rule, marginals, sampling and the schema give the model's own numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fastapi.testclient import TestClient

from avatargen.serve.limits import MAX_N
from avatargen.styles.model import StyleModel

PINS = {"hair_color": "blonde", "clothes": "hoodie"}


def test_style_is_the_models_sample_with_its_probability(client: TestClient, model: StyleModel) -> None:
    for seed in (0, 7, 123456789):
        r = client.get("/v1/style", params={"seed": seed, **PINS})
        assert r.status_code == 200, r.text
        body = r.json()
        expect = model.sample(1, np.random.default_rng(seed), given=PINS).iloc[0]
        assert body["style"] == {a: str(expect[a]) for a in model.attributes_}
        assert body["probability"] == pytest.approx(model.probability(body["style"]), rel=1e-12)
        assert math.prod(f["probability"] for f in body["breakdown"]) == pytest.approx(
            body["probability"], rel=1e-12
        )
        assert body["pins_probability"] == pytest.approx(model.probability(PINS), rel=1e-12)
        assert body["given_probability"] == pytest.approx(
            body["probability"] / body["pins_probability"], rel=1e-12
        )
        for a, v in PINS.items():
            assert body["style"][a] == v
    # different seeds draw different styles (with these pins there are 346,500)
    styles = {
        json.dumps(client.get("/v1/style", params={"seed": s, **PINS}).json()["style"]) for s in range(20)
    }
    assert len(styles) > 15


def test_probability_full_and_partial(client: TestClient, model: StyleModel) -> None:
    full = client.get("/v1/style?seed=11").json()["style"]
    r = client.post("/v1/probability", json={"style": full})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["full"] and body["method"] == "chain rule"
    assert body["probability"] == model.probability(full)
    assert body["log2_probability"] == pytest.approx(math.log2(body["probability"]))
    assert [f["attribute"] for f in body["breakdown"]] == list(model.breakdown(full)["attribute"])
    # partial: total probability; check it against the chain P(a) P(b | a) from the posterior endpoint
    part = client.post("/v1/probability", json={"style": PINS}).json()
    assert not part["full"] and part["method"] == "total probability" and part["breakdown"] is None
    p_hair = client.post("/v1/probability", json={"style": {"hair_color": "blonde"}}).json()["probability"]
    post = client.get("/v1/posterior?query=clothes&hair_color=blonde").json()["posterior"]
    p_hoodie = {p["value"]: p["probability"] for p in post}["hoodie"]
    assert part["probability"] == pytest.approx(p_hair * p_hoodie, rel=1e-12)
    # an impossible style is a valid question: probability 0
    zero = client.post("/v1/probability", json={"style": {"hairstyle": "none", "hair_color": "black"}}).json()
    assert zero["probability"] == 0 and zero["log2_probability"] is None


def test_posterior_marginals_and_schema(client: TestClient, model: StyleModel) -> None:
    r = client.get("/v1/posterior", params={"query": "hairstyle", **PINS}).json()
    got = {p["value"]: p["probability"] for p in r["posterior"]}
    assert got == pytest.approx(model.posterior("hairstyle", PINS), rel=1e-12)
    assert sum(got.values()) == pytest.approx(1.0)
    m = client.get("/v1/marginals").json()
    for entry in m["attributes"]:
        want = model.marginals()[entry["attribute"]]
        assert {v["value"]: v["probability"] for v in entry["values"]} == pytest.approx(want, rel=1e-12)
    m = client.get("/v1/marginals", params=PINS).json()
    by = {e["attribute"]: e for e in m["attributes"]}
    assert by["clothes"]["pinned"] == "hoodie" and by["clothes"]["given"] == {"hair_color": "blonde"}
    assert m["n_styles"] == model.n_styles(PINS)
    schema = client.get("/v1/schema").json()
    assert [a["name"] for a in schema["attributes"]] == model.attributes_
    assert schema["attributes"][0]["values"] == model.values_[model.attributes_[0]]
    assert schema["mapping"]["name"] == "english"
    assert schema["limits"]["max_n"] == MAX_N
    assert "hairstyle=none => hair_color=none" in schema["rules"]


def test_sample_and_most_probable(client: TestClient, model: StyleModel) -> None:
    r = client.get("/v1/sample", params={"n": 25, "unique": "true", "seed": 4, **PINS})
    assert r.status_code == 200, r.text
    styles = r.json()["styles"]
    assert len(styles) == 25
    assert len({json.dumps(s["style"]) for s in styles}) == 25
    want = model.sample(25, np.random.default_rng(4), given=PINS, unique=True)
    assert [s["style"]["hairstyle"] for s in styles] == [str(x) for x in want["hairstyle"]]
    for s in styles:
        assert s["probability"] == pytest.approx(model.probability(s["style"]), rel=1e-12)
    # the avatar URL of a sampled style draws exactly that style
    first = client.get(styles[0]["svg_url"])
    assert json.loads(first.headers["x-style"]) == styles[0]["style"]
    top = client.get("/v1/most-probable", params={"k": 3, **PINS}).json()["styles"]
    ref = model.most_probable(3, given=PINS)
    assert [t["probability"] for t in top] == pytest.approx(list(ref["probability"]), rel=1e-12)
