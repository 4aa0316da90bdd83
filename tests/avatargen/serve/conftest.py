"""Fixtures for the service tests: the built-in example model (saved to a file, as `avatargen serve`
reads it), a Cyrillic model drawn with the course mapping, TestClients, and a live uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from avatargen.render.mapping import load_mapping
from avatargen.serve.main import create_app
from avatargen.serve.service import StyleService, load_model
from avatargen.styles.model import StyleModel

COURSE_RULES = {
    "format_version": 1,
    "rules": [
        {"if": {"прическа": "нет волос"}, "then": {"цвет волос": "нет"}},
        {"if": {"цвет волос": "нет"}, "then": {"прическа": "нет волос"}},
    ],
}


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in example model (`avatargen serve example`) saved as JSON."""
    path = tmp_path_factory.mktemp("serve") / "example.json"
    load_model("example").save(path)
    return path


@pytest.fixture(scope="session")
def model(model_file: Path) -> StyleModel:
    return StyleModel.load(model_file)


@pytest.fixture(scope="session")
def service(model: StyleModel) -> StyleService:
    return StyleService(model)


@pytest.fixture(scope="session")
def client(service: StyleService) -> Iterator[TestClient]:
    with TestClient(create_app(service)) as c:
        yield c


@pytest.fixture(scope="session")
def cyrillic_model() -> StyleModel:
    """Per-attribute counts over every value of the course mapping (Russian names, spaces), with the
    course's no-hair rules; counts seeded, so the model is fixed."""
    rng = np.random.default_rng(3)
    attrs: dict[str, dict[str, int]] = {}
    for am in load_mapping("course_ru").attributes.values():
        attrs[am.name] = {label: int(rng.integers(1, 9)) for label in am.labels.values() if label != "нет"}
    return StyleModel(alpha=1.0, rules=COURSE_RULES).fit({"attributes": attrs})


@pytest.fixture(scope="session")
def cyrillic_client(cyrillic_model: StyleModel) -> Iterator[TestClient]:
    with TestClient(create_app(StyleService(cyrillic_model, "course_ru"))) as c:
        yield c


@dataclass
class LiveServer:
    url: str
    server: object


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(model_file: Path) -> Iterator[LiveServer]:
    """uvicorn in a thread on 127.0.0.1 and a free port, serving the saved example model; stopped at
    teardown (also when a test fails)."""
    import uvicorn

    port = free_port()
    app = create_app(StyleService(StyleModel.load(model_file)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield LiveServer(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
