"""The explore page in a real headless Chromium (Debian's, driven by Playwright): pin two attributes,
read a probability off the page and check it against `avatargen styles prob` run as a CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, page_with_errors

from ..conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def cli_posterior(model_file: Path, pins: dict[str, str], query: str) -> dict[str, float]:
    args = [f"{a}={v}" for a, v in pins.items()]
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "avatargen",
            "styles",
            "prob",
            str(model_file),
            *args,
            "--query",
            query,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {str(k): float(v) for k, v in json.loads(res.stdout)["posterior"].items()}


def test_pin_two_attributes_and_read_a_probability(
    browser: Any, live_server: LiveServer, model_file: Path
) -> None:
    page, errors = page_with_errors(browser)
    page.goto(live_server.url + "/")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    page.select_option('select[data-attr="hair_color"]', "blonde")
    page.select_option('select[data-attr="clothes"]', "hoodie")
    page.wait_for_function(
        "document.body.dataset.state === 'ready' && document.body.dataset.pins === 'hair_color=blonde&clothes=hoodie'"
    )
    # the URL holds the pins
    assert page.url.endswith("?hair_color=blonde&clothes=hoodie")
    cli = cli_posterior(model_file, {"hair_color": "blonde", "clothes": "hoodie"}, "hairstyle")
    row = page.locator('#attrs tr[data-attr="hairstyle"][data-value="bob"]')
    shown = float(row.get_attribute("data-probability") or "nan")
    assert shown == pytest.approx(cli["bob"], rel=1e-12)
    assert row.locator("td.num").inner_text() == f"{cli['bob']:.4f}"
    # every value of every other attribute is listed, with probabilities summing to 1
    for attr in ("hairstyle", "skin", "eyes"):
        probs = [
            float(x)
            for x in page.locator(f'#attrs tr[data-attr="{attr}"]').evaluate_all(
                "rs => rs.map(r => r.dataset.probability)"
            )
        ]
        assert sum(probs) == pytest.approx(1.0)
    # a grid of sampled avatars and the most probable styles, all drawn
    assert page.locator("#grid figure").count() == 12
    assert page.locator("#top li").count() == 5
    page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    # a shared URL restores the view; an impossible pin shows the rule
    page.goto(live_server.url + "/?hair_color=blonde&clothes=hoodie")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    assert page.locator('select[data-attr="clothes"]').input_value() == "hoodie"
    assert float(
        page.locator('#attrs tr[data-attr="hairstyle"][data-value="bob"]').get_attribute("data-probability")
        or "nan"
    ) == pytest.approx(cli["bob"], rel=1e-12)
    page.select_option('select[data-attr="hairstyle"]', "none")
    page.wait_for_function("document.body.dataset.state === 'error'")
    assert "hair_color=none" in page.locator("#error").inner_text()
    assert errors == []
    page.close()
