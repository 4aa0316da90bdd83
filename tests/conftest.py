"""Shared fixtures: where ../shared lives, and skipping cleanly when it is absent."""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("WANDB_MODE", "disabled")
# Bug reports of the CLIs' last-resort handler (sharedcore.console.run_cli) land here, for this
# process and every CLI subprocess a test starts; `no_bug_reports` fails a test that adds one.
os.environ.setdefault("SHAREDCORE_CRASH_DIR", tempfile.mkdtemp(prefix="pytest-crash-"))

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for ``shared_dir`` needs the real data: it is marked ``realdata`` by that alone."""
    for item in items:
        if "shared_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


def built_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """``build(path)`` once per test run, however many pytest-xdist workers ask: the first builds ``name``
    in a folder the run's workers share, under a lock; the others wait and get the same path.
    For session fixtures that train or write costly inputs the tests only read."""
    base = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # .../pytest-N/popen-gwK: pytest-N is this run's
        base = base.parent
    folder = base / "built-once"
    folder.mkdir(exist_ok=True)
    target, done = folder / name, folder / f"{name}.done"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if build fails
        if not done.exists():
            if target.exists():  # a half-built one from a worker whose build failed
                shutil.rmtree(target)
            build(target)
            done.touch()
    return target


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
