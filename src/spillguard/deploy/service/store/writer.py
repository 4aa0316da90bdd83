"""The one writer thread of a store: queued writes are committed together (group commit), each in its
own savepoint so that one failing write fails only its own future. Works on any DB-API connection in
autocommit mode that speaks ``SAVEPOINT`` (SQLite, PostgreSQL); the store gives how a transaction
begins and what is checked before each commit."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

GROUP_MAX = 512  # most writes in one transaction
J = TypeVar("J")


def next_group(jobs: queue.SimpleQueue[J | None]) -> tuple[list[J], bool]:
    """One group commit's jobs: wait for the first, then take what is queued, up to GROUP_MAX;
    True once the closing ``None`` was taken (the writer's last group)."""
    job = jobs.get()
    group: list[J] = []
    while job is not None:
        group.append(job)
        if len(group) >= GROUP_MAX:
            break
        try:
            job = jobs.get_nowait()
        except queue.Empty:
            break
    return group, job is None


@dataclass
class _Job:
    fn: Callable[[Any], Any]
    future: Future[Any]


class Writer:
    """A thread owning ``conn``: ``submit(fn)`` queues ``fn(conn)`` and returns a future resolved after
    its transaction commits. ``check()`` runs before each transaction (raise to fail the whole group);
    ``on_close(conn)`` runs once the queue is drained, before the connection closes."""

    def __init__(
        self,
        conn: Any,
        begin: str = "BEGIN",
        check: Callable[[], None] | None = None,
        on_close: Callable[[Any], None] | None = None,
        name: str = "store-writer",
    ) -> None:
        self._conn, self._begin, self._check, self._on_close = conn, begin, check, on_close
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[Any], Any]) -> Future[Any]:
        """Queue ``fn(conn)``; the future holds its result or exception once committed."""
        fut: Future[Any] = Future()
        if self._closed:
            fut.set_exception(RuntimeError("the verdict store is closed"))
        else:
            self._queue.put(_Job(fn, fut))
        return fut

    def close(self) -> None:
        """Commit everything queued, then close the connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        stop = False
        while not stop:
            jobs, stop = next_group(self._queue)
            if jobs:
                self._commit(jobs)
        if self._on_close is not None:
            self._on_close(self._conn)
        self._conn.close()

    def _commit(self, jobs: list[_Job]) -> None:
        """One transaction for all jobs; each job in its own savepoint, so one failure fails only it."""
        conn, results, begun = self._conn, [], False
        try:
            if self._check is not None:
                self._check()
            conn.execute(self._begin)
            begun = True
            for job in jobs:
                conn.execute("SAVEPOINT job")
                try:
                    results.append((True, job.fn(conn)))
                    conn.execute("RELEASE SAVEPOINT job")
                except Exception as exc:  # reported to the caller of that job
                    conn.execute("ROLLBACK TO SAVEPOINT job")
                    conn.execute("RELEASE SAVEPOINT job")
                    results.append((False, exc))
            conn.execute("COMMIT")
        except Exception as exc:  # the commit itself failed: every job fails
            if begun:
                try:
                    conn.execute("ROLLBACK")
                except Exception:  # no transaction left to roll back
                    pass
            for job in jobs:
                job.future.set_exception(exc)
            return
        for job, (ok, value) in zip(jobs, results, strict=True):
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
