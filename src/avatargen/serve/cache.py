"""A thread-safe least-recently-used cache with a size budget: rendered avatars (bytes) and drawn
styles, keyed by the canonical form of a request (so equivalent URLs share an entry)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """At most ``max_items`` entries and ``max_bytes`` of total cost (``cost(value)``, default 1 per
    entry); the least recently used entries go first. ``hits`` / ``misses`` count lookups."""

    def __init__(
        self, max_items: int, max_bytes: int | None = None, cost: Callable[[V], int] | None = None
    ) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._cost = cost or (lambda _v: 1)
        self._data: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.total = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        """The cached value of ``key`` (marked as recently used), or None."""
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value``; evicts the oldest entries beyond the budgets (a value over budget is not kept)."""
        c = self._cost(value)
        if self.max_items <= 0 or (self.max_bytes is not None and c > self.max_bytes):
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.total -= old[1]
            self._data[key] = (value, c)
            self.total += c
            while len(self._data) > self.max_items or (
                self.max_bytes is not None and self.total > self.max_bytes
            ):
                _, (_, oc) = self._data.popitem(last=False)
                self.total -= oc

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> tuple[V, bool]:
        """(value, was_cached): the cached value, or ``compute()`` stored and returned."""
        value = self.get(key)
        if value is not None:
            return value, True
        value = compute()
        self.put(key, value)
        return value, False

    def __len__(self) -> int:
        return len(self._data)
