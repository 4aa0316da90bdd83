"""Signals in tests that interrupt a child process, whatever way the suite itself was started.

A suite started from a background job, ``nohup`` or ``trap "" INT`` inherits SIGINT as *ignored*, and
a child inherits that too: Python then installs no KeyboardInterrupt handler and a test's Ctrl-C never
arrives ("signal was not delivered"). Every test that signals a child starts it with
``preexec_fn=default_signals``; a test that signals its own process uses ``own_default_signals``.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def default_signals() -> None:
    """``Popen(preexec_fn=...)``: in the child, before exec, SIGINT and SIGTERM back to the default
    and unblocked, so the program starts as from an interactive shell (Python adds its own handlers)."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


@contextmanager
def own_default_signals() -> Iterator[None]:
    """In this (test) process: SIGINT raises KeyboardInterrupt and SIGTERM is the default while inside,
    as in an interactive session; the handlers the suite had are restored after."""
    before = {sig: signal.getsignal(sig) for sig in SIGNALS}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
