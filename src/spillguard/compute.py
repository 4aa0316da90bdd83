"""Where torch runs: whether it is installed (the ``train`` extra), the CPU thread count (set once by
each entry point) and the device. Importing this module imports no torch."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sharedcore.extras import require

if TYPE_CHECKING:
    import torch


def require_torch(what: str) -> None:
    """UserError (one line naming ``what`` and the install command: the ``train`` extra, after the
    pinned CPU build) when torch is not installed. Imports nothing."""
    require(what, "train", packages=("torch",))


def limit_threads(default: int = 1) -> int:
    """Cap torch's CPU threads at ``default`` (at most the core count) unless SPILLGUARD_THREADS is set.

    Process-wide, so only entry points call it (the CLI's torch commands, benchmarks, the test
    session), once. One thread by default: on a shared 2-core machine two torch threads oversubscribe
    the cores and trained 5x and scored 1.6x slower in our measurements (benchmarks/bench_spill.py);
    scoring runs JPEG decoding in a second thread beside it instead. Returns the thread count set.
    """
    import torch

    env = os.environ.get("SPILLGUARD_THREADS", "")
    n = int(env) if env.isdigit() and int(env) > 0 else min(default, os.cpu_count() or 1)
    torch.set_num_threads(n)
    return n


def pick_device(name: str) -> torch.device:
    """ "auto" -> CUDA when available, else CPU; otherwise the named device."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
