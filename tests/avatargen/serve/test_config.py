"""ServeConfig checks serve's options once, on construction, with the shared port check."""

from __future__ import annotations

import pytest

from avatargen.serve.config import WORKER_BYTES, ServeConfig
from sharedcore.errors import UserError


def test_port_0_is_a_free_port_and_the_range_is_the_shared_one() -> None:
    assert ServeConfig("example", port=0).port == 0
    assert ServeConfig("example", port=65535).port == 65535
    for bad in (-1, 65536, 70000):
        with pytest.raises(UserError) as e:
            ServeConfig("example", port=bad)
        assert "--port" in str(e.value) and str(bad) in str(e.value) and "\n" not in str(e.value)


def test_workers_are_bounded_by_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21: --workers 1000 started a model-loading process per worker until memory ran out; the
    bound is the usable cores and the memory available (each worker about WORKER_BYTES)."""
    from sharedcore import machine

    monkeypatch.setattr(machine, "usable_cpus", lambda: 8)
    monkeypatch.setattr(machine, "available_memory", lambda: 3 * WORKER_BYTES + 1)  # memory holds 3
    assert ServeConfig("example", workers=3).workers == 3
    for bad in (0, -1, 4, 1000):
        with pytest.raises(UserError) as e:
            ServeConfig("example", workers=bad)
        assert str(e.value).startswith(
            f"--workers {bad}: this machine holds 1 to 3 worker process(es) (8 usable"
        )
        assert "\n" not in str(e.value)
    monkeypatch.setattr(machine, "available_memory", lambda: None)  # unknown memory: the cores bound it
    assert ServeConfig("example", workers=8).workers == 8
    with pytest.raises(UserError, match="holds 1 to 8 "):
        ServeConfig("example", workers=9)
