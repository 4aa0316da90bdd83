"""The LRU cache of rendered avatars and drawn styles: evicts the oldest by count and by bytes."""

from __future__ import annotations

from avatargen.serve.cache import LRUCache


def test_lru_evicts_oldest_by_count_and_bytes() -> None:
    c: LRUCache[bytes] = LRUCache(3, max_bytes=10, cost=len)
    c.put("a", b"1234")
    c.put("b", b"1234")
    assert c.get("a") == b"1234"  # a is now the most recent
    c.put("c", b"1234")  # 12 bytes > 10: b (oldest) goes
    assert c.get("b") is None and c.get("a") is not None and c.get("c") is not None
    c.put("big", b"x" * 11)  # over the whole budget: not kept
    assert c.get("big") is None and c.total <= 10
    value, cached = c.get_or_compute("d", lambda: b"12")
    assert value == b"12" and not cached
    assert c.get_or_compute("d", lambda: b"zz") == (b"12", True)
    assert c.hits >= 4 and c.misses >= 3
