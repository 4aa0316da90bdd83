"""The assembled app: /docs lists every pin with its values, the page, static files and probes answer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from avatargen.styles.model import StyleModel


def test_docs_and_page(client: TestClient, model: StyleModel) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/v1/avatar.png"]["get"]["parameters"]}
    assert {"seed", "size", *model.attributes_} <= set(params)
    assert params["hairstyle"]["schema"]["enum"] == model.values_["hairstyle"]
    assert "ProbabilityIn" in spec["components"]["schemas"]
    page = client.get("/")
    assert page.status_code == 200 and "explore.js" in page.text
    assert client.get("/static/explore.js").status_code == 200
    assert client.get("/healthz").json()["status"] == "ok"
    assert "avatargen_avatars_served" in client.get("/metrics").text
