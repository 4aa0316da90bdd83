"""Prometheus counters of one avatar app (``GET /metrics``): avatars served and drawn, and the time
to draw one uncached avatar, each by kind (svg, png)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest


class AvatarMetrics:
    """A registry of its own per app, so that two apps in one process count apart."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rendered = Counter(
            "avatargen_avatars_rendered", "Avatars drawn (cache misses)", ["kind"], registry=self.registry
        )
        self.served = Counter(
            "avatargen_avatars_served",
            "Avatar answers (incl. cache hits and 304)",
            ["kind"],
            registry=self.registry,
        )
        self.render_seconds = Histogram(
            "avatargen_render_seconds",
            "Time to draw one uncached avatar",
            ["kind"],
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2),
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The counters in the Prometheus text format."""
        return generate_latest(self.registry)
