"""GET /v1/avatar.svg and /v1/avatar.png against the StyleModel served: the same URL gives the same
bytes and ETag (304 on If-None-Match), equivalent URLs share one entry, non-ASCII names travel
percent-encoded and come back header-safe."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient

from avatargen.render.draw import png_to_image
from avatargen.serve.main import create_app
from avatargen.serve.service import StyleService
from avatargen.styles.model import StyleModel

PINS = {"hair_color": "blonde", "clothes": "hoodie"}


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_same_url_same_bytes_etag_and_headers(client: TestClient, model: StyleModel, kind: str) -> None:
    url = f"/v1/avatar.{kind}?seed=5&size=132x140&" + urlencode(PINS)
    r1 = client.get(url)
    assert r1.status_code == 200, r1.text
    # a fresh service (empty caches, model reloaded) gives the same bytes and ETag
    with TestClient(create_app(StyleService(StyleModel.from_json(model.to_json())))) as other:
        r2 = other.get(url)
    assert r2.content == r1.content
    assert r2.headers["etag"] == r1.headers["etag"]
    assert "max-age=31536000" in r1.headers["cache-control"]
    style = json.loads(r1.headers["x-style"])
    assert style == client.get("/v1/style?seed=5&" + urlencode(PINS)).json()["style"]
    assert float(r1.headers["x-style-probability"]) == model.probability(style)
    assert r1.headers["x-style"].isascii()
    # conditional request: 304 without a body
    r3 = client.get(url, headers={"If-None-Match": r1.headers["etag"]})
    assert r3.status_code == 304 and r3.content == b""
    assert r3.headers["etag"] == r1.headers["etag"]
    # another size, seed or pin is another resource
    assert client.get(url.replace("seed=5", "seed=6")).headers["etag"] != r1.headers["etag"]
    assert client.get(url.replace("132x140", "264x280")).headers["etag"] != r1.headers["etag"]
    if kind == "png":
        assert png_to_image(r1.content).size == (132, 140)
        assert r1.headers["content-type"] == "image/png"
    else:
        assert r1.content.startswith(b"<svg") and b'width="132" height="140"' in r1.content[:400]


def test_equivalent_urls_share_the_canonical_entry(client: TestClient) -> None:
    a = client.get("/v1/avatar.svg?seed=2&hair_color=blonde&clothes=hoodie")
    b = client.get("/v1/avatar.svg?clothes=Hoodie&HAIR_COLOR=blonde&seed=2")
    assert a.content == b.content and a.headers["etag"] == b.headers["etag"]


def test_cyrillic_names_url_encoded(cyrillic_client: TestClient, cyrillic_model: StyleModel) -> None:
    pins = {"прическа": "длинные в пучок", "цвет волос": "рыжий"}
    url = "/v1/avatar.png?seed=3&size=1x&" + urlencode(pins)  # UTF-8, percent-encoded
    assert "%D0%BF" in url
    r = cyrillic_client.get(url)
    assert r.status_code == 200, r.text
    style = json.loads(r.headers["x-style"])
    assert {k: style[k] for k in pins} == pins
    assert "\\u" in r.headers["x-style"] and r.headers["x-style"].isascii()
    assert float(r.headers["x-style-probability"]) == pytest.approx(
        cyrillic_model.probability(style), rel=1e-12
    )
    post = cyrillic_client.get(
        "/v1/posterior?query=" + quote("цвет волос") + "&" + urlencode({"прическа": "нет волос"})
    )
    assert post.status_code == 200
    assert {p["value"]: p["probability"] for p in post.json()["posterior"]}["нет"] == pytest.approx(1.0)
    bad = cyrillic_client.get("/v1/style?" + urlencode({"прическа": "нет волос", "цвет волос": "рыжий"}))
    assert bad.status_code == 422
    assert bad.json()["rule"] == "прическа=нет волос => цвет волос=нет"


@pytest.mark.realdata
def test_course_counts_model_served(shared_dir: Path) -> None:
    """The course's own counts (../shared) with its rules: Cyrillic pins, the course_ru mapping, the rule."""
    from avatargen.styles.data import load_styles

    rules = Path(__file__).resolve().parents[4] / "src/avatargen/data/course_rules.yaml"
    m = StyleModel(rules=rules).fit(load_styles(shared_dir / "data/styles/course_counts.json"))
    with TestClient(create_app(StyleService(m))) as c:
        assert c.get("/v1/schema").json()["mapping"]["name"] == "course_ru"
        r = c.get("/v1/avatar.svg?" + urlencode({"seed": 1, "прическа": "длинные в пучок"}))
        assert r.status_code == 200, r.text
        assert json.loads(r.headers["x-style"])["прическа"] == "длинные в пучок"
        assert float(r.headers["x-style-probability"]) == m.probability(json.loads(r.headers["x-style"]))
        bad = c.get("/v1/style?" + urlencode({"прическа": "нет волос", "цвет волос": "рыжий"})).json()
        assert bad["rule"] == "прическа=нет волос => цвет волос=нет"
