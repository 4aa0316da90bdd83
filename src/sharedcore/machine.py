"""What this machine can hold: usable CPU cores, available memory, and the bound of a process count a
user gives (``avatargen serve --workers``, ``spillguard predict --cluster local:N``); and worker
processes that end with the process that started them.

A count beyond the bound is refused before anything starts, in one line naming the value, what the
machine has and the range to give: each worker loads a model, and 1,000 of them exhausted memory
until the kernel's OOM killer took other processes.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from sharedcore.errors import UserError

MIB = 1024 * 1024


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. a container's cpuset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def available_memory() -> int | None:
    """Bytes of memory available to new processes (Linux ``MemAvailable``, within a cgroup limit where
    one is set), or None where it cannot be read."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
                break
    except (OSError, ValueError, IndexError):
        pass
    try:  # cgroup v2: the container's own limit, less what it already uses
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            found.append(max(0, int(limit) - int(used)))
    except OSError:
        pass
    return min(found) if found else None


def process_bound(per_process: int) -> tuple[int, str]:
    """(most worker processes of ``per_process`` bytes each this machine can hold, why): one per usable
    core (more only queue for the cores), and no more than available memory holds."""
    cpus = usable_cpus()
    memory = available_memory()
    by_memory = cpus if memory is None else max(1, memory // per_process)
    bound = min(cpus, by_memory)
    mem_text = "" if memory is None else f", {memory / 2**30:.1f} GiB memory available"
    why = f"{cpus} usable CPU core(s){mem_text}, each worker about {per_process // MIB} MiB"
    return bound, why


def check_process_count(value: int, shown: str, per_process: int) -> int:
    """``value`` when 1 <= value <= ``process_bound(per_process)``; else a one-line UserError naming
    the value as the user gave it (``shown``, e.g. "--workers 1000"), what the machine has and the
    range to give."""
    bound, why = process_bound(per_process)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= bound:
        raise UserError(
            f"{shown}: this machine holds 1 to {bound} worker process(es) ({why}); give a count in that range"
        )
    return value


def die_with_parent(parent: int | None = None) -> None:
    """In a worker process: end (SIGTERM) when the process that started it dies, even by SIGKILL, so a
    killed server leaves no orphan worker (Linux ``PR_SET_PDEATHSIG``; elsewhere nothing). ``parent``:
    the starter's process id, to catch a starter that died before this call."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:  # it died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
