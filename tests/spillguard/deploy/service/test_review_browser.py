"""The review page in a real headless Chromium (Debian's package, driven by Playwright for Python):
confirm one pit with the button, mark one a false alarm with the keyboard, check rows and counts."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest

from spillguard.deploy.service.config import ServiceConfig
from tests.browser import CHROMIUM, chromium, page_with_errors

from .conftest import TOKEN
from .live import app_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
    ),
]


def _count(page: object, ident: str) -> int:
    return int(page.locator(f"#{ident}").inner_text())  # type: ignore[attr-defined]


def test_review_page_confirm_one_reject_one(tiny_run: Path, tmp_path: Path, spill_jpegs: list[bytes]) -> None:
    db = tmp_path / "v.sqlite"
    with app_in_thread(ServiceConfig(run=tiny_run, db=db, token=TOKEN)) as url:
        flagged = []
        for i, data in enumerate(spill_jpegs[:12]):
            r = httpx.post(f"{url}/v1/score?camera=cam{i % 2}", content=data).json()
            if r["verdict"] == "spill":
                flagged.append(r)
        assert len(flagged) >= 3
        top = sorted(flagged, key=lambda r: -r["score"])
        with chromium() as browser:
            page, errors = page_with_errors(browser, viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/review")
            cards = page.locator("article.pit")
            assert cards.count() == len(flagged)
            assert [int(x) for x in cards.evaluate_all("els => els.map(e => e.dataset.id)")] == [
                r["id"] for r in top
            ]
            assert _count(page, "n-waiting") == len(flagged)
            # the images are really loaded and drawn pixelated (not blurred)
            photo = page.locator("article.pit img.photo").first
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
            assert photo.evaluate("e => getComputedStyle(e).imageRendering") == "pixelated"
            assert photo.evaluate("e => e.getBoundingClientRect().width / e.naturalWidth") >= 3
            errmap = page.locator("article.pit img.errmap").first
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=errmap.element_handle())
            page.fill("#operator", "olga")
            page.fill("#token", TOKEN)
            # confirm the first (highest score) with the button
            page.locator(f'article.pit[data-id="{top[0]["id"]}"] button.spill').click()
            page.wait_for_selector(f'article.pit[data-id="{top[0]["id"]}"]', state="detached")
            # the next pit is selected: mark it a false alarm with the F key
            page.locator("h1").click()  # focus out of the inputs; shortcuts ignore typing
            assert page.locator("article.pit.selected").get_attribute("data-id") == str(top[1]["id"])
            page.keyboard.press("f")
            page.wait_for_selector(f'article.pit[data-id="{top[1]["id"]}"]', state="detached")
            assert _count(page, "n-waiting") == len(flagged) - 2
            assert _count(page, "n-confirmed") == 1 and _count(page, "n-false") == 1
            assert "Saved" in page.locator("#status").inner_text()
            # the counts survive a reload of the page (they come from the database)
            page.reload()
            assert page.locator("article.pit").count() == len(flagged) - 2
            assert _count(page, "n-waiting") == len(flagged) - 2
            assert _count(page, "n-confirmed") == 1 and _count(page, "n-false") == 1
            # camera filter
            page.select_option("#f-camera", "cam0")
            page.locator("form.filters button[type=submit]").click()
            page.wait_for_url("**camera=cam0**")
            cams = page.locator("article.pit dd").all_inner_texts()
            assert "cam1" not in cams
            assert not errors, errors
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT verdict_id, label, operator FROM feedback ORDER BY id").fetchall()
    assert rows == [(top[0]["id"], "spill", "olga"), (top[1]["id"], "no_spill", "olga")]


def test_review_page_says_why_an_old_verdict_has_no_error_map(
    tiny_run: Path, tmp_path: Path, spill_jpegs: list[bytes]
) -> None:
    """Verdicts of a model whose run was retrained in place since: the page marks them as not the
    current model's, and the error map (409 from the server) is replaced by the server's reason."""
    from .test_explain_models import other_run

    first = tmp_path / "first"
    shutil.copytree(tiny_run, first)
    second = other_run(tiny_run, tmp_path / "second", 1.15)
    db = tmp_path / "v.sqlite"
    with app_in_thread(ServiceConfig(run=first, db=db, token=TOKEN)) as url:
        old = [httpx.post(f"{url}/v1/score", content=d).json() for d in spill_jpegs[:8]]
    old_ids = {r["id"] for r in old if r["verdict"] == "spill"}
    assert old_ids
    shutil.copyfile(second / "checkpoint.pt", first / "checkpoint.pt")  # first retrained in place
    with app_in_thread(ServiceConfig(run=second, db=db, token=TOKEN)) as url:
        new = [httpx.post(f"{url}/v1/score", content=d).json() for d in spill_jpegs[8:16]]
        new_ids = {r["id"] for r in new if r["verdict"] == "spill"}
        assert new_ids
        with chromium() as browser:
            page, errors = page_with_errors(browser, viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/review?limit=200")
            vid = min(old_ids)
            card = page.locator(f'article.pit[data-id="{vid}"]')
            note = card.locator("figure.no-errmap .note")
            note.wait_for(timeout=30_000)
            assert "retrained or replaced in place" in note.inner_text()
            assert old[0]["model"]["id"] in card.locator("dd.model-id").inner_text()
            assert "not the current model" in card.locator("dd.model-id").inner_text()
            mine = page.locator(f'article.pit[data-id="{min(new_ids)}"] img.errmap')
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=mine.element_handle())
            assert page.locator(f'article.pit[data-id="{min(new_ids)}"] dd.old-model').count() == 0
            assert not errors, errors
