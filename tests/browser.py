"""The headless browser of the page tests: Debian's chromium (never `playwright install`), its flags,
and opening it (and a page that records its script errors) the same way in every page test."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless through Playwright, closed at the end (also when the test fails);
    the test is skipped, with the reason, when chromium or Playwright is not installed."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright (the browser extra) is not installed"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def page_with_errors(browser: Any, **options: Any) -> tuple[Any, list[str]]:
    """A new page of ``browser`` (Playwright ``new_page`` options) and the list that collects the
    page's uncaught script errors, for the test to assert empty."""
    page = browser.new_page(**options)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors
