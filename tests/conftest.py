"""Shared fixtures: where ../shared lives, and skipping cleanly when it is absent."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("WANDB_MODE", "disabled")
# Bug reports of the CLIs' last-resort handler (sharedcore.console.run_cli) land here, for this
# process and every CLI subprocess a test starts; `no_bug_reports` fails a test that adds one.
os.environ.setdefault("SHAREDCORE_CRASH_DIR", tempfile.mkdtemp(prefix="pytest-crash-"))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder with the real data; skips the test when it is absent."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"real data not found at {SHARED} (set SHARED_DIR to point to it)")
    return SHARED


@pytest.fixture(autouse=True)
def no_bug_reports() -> Iterator[None]:
    """Fail any test during which a CLI reached its last-resort handler (a bug, not a user's mistake).

    Tests that provoke the handler on purpose point SHAREDCORE_CRASH_DIR elsewhere (monkeypatch).
    """
    crash = Path(os.environ["SHAREDCORE_CRASH_DIR"])
    before = set(crash.glob("*.log")) if crash.is_dir() else set()
    yield
    new = (set(crash.glob("*.log")) if crash.is_dir() else set()) - before
    if new:
        log = sorted(new)[0]
        pytest.fail(f"the last-resort handler was reached (a bug): see {log}\n{log.read_text()[-3000:]}")
