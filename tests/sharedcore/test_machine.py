"""What the machine holds: the bound of a worker count is the usable cores and the available memory."""

from __future__ import annotations

import pytest

from sharedcore import machine
from sharedcore.errors import UserError


def test_the_bound_is_the_smaller_of_cores_and_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "usable_cpus", lambda: 16)
    monkeypatch.setattr(machine, "available_memory", lambda: 5 * 2**30)
    assert machine.process_bound(2**30)[0] == 5  # memory: 5 GiB / 1 GiB
    assert machine.process_bound(2**20)[0] == 16  # cores
    monkeypatch.setattr(machine, "available_memory", lambda: 10)
    assert machine.process_bound(2**30)[0] == 1  # one process is always allowed
    with pytest.raises(UserError) as e:
        machine.check_process_count(2, "--workers 2", 2**30)
    assert str(e.value) == (
        "--workers 2: this machine holds 1 to 1 worker process(es) (16 usable CPU core(s), 0.0 GiB memory "
        "available, each worker about 1024 MiB); give a count in that range"
    )
    for bad in (0, -5, True):
        with pytest.raises(UserError):
            machine.check_process_count(bad, f"--workers {bad}", 2**20)  # type: ignore[arg-type]


def test_the_machine_is_read() -> None:
    assert machine.usable_cpus() >= 1
    mem = machine.available_memory()
    assert mem is None or mem > 0
