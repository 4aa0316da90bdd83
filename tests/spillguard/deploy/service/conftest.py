"""Fixtures of the service tests: an app on the tiny run with its own database, and test images."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn, ...) is not installed")

from fastapi.testclient import TestClient

from spillguard.deploy.service.config import ServiceConfig
from spillguard.deploy.service.main import create_app

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def jpeg(arr: np.ndarray, quality: int = 92) -> bytes:
    """uint8 (H, W, 3) -> JPEG bytes."""
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="session")
def spill_jpegs(tiny_data: Path) -> list[bytes]:
    """Known spill images of the tiny data set (the tiny run flags most of them)."""
    return [p.read_bytes() for p in sorted((tiny_data / "proliv").glob("*.jpg"))]


@pytest.fixture(scope="session")
def normal_jpegs(tiny_data: Path) -> list[bytes]:
    """Normal training images of the tiny data set."""
    return [p.read_bytes() for p in sorted((tiny_data / "train").glob("*.jpg"))[:60]]


@pytest.fixture
def make_client(tiny_run: Path, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """make_client(**ServiceConfig fields) -> a started TestClient (stopped at teardown)."""
    started: list[TestClient] = []

    def make(**kw: object) -> TestClient:
        fields: dict[str, object] = {"run": tiny_run, "db": tmp_path / "v.sqlite", "token": TOKEN}
        fields.update(kw)
        client = TestClient(create_app(ServiceConfig(**fields)))  # type: ignore[arg-type]
        client.__enter__()
        started.append(client)
        return client

    yield make
    for c in started:
        c.__exit__(None, None, None)
