"""Prometheus metrics of the service (prometheus-client, one registry per app so tests stay apart):
requests and errors, latency, verdicts by class, scores, batch sizes, and the model in use."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # no *_created series: less noise for scrapers and people

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SCORE_BUCKETS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 0.69, 1.0, 2.0, 3.0, 5.0, 10.0)


class ServiceMetrics:
    """The metric families; ``render()`` gives the Prometheus text format."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "spillguard_requests", "HTTP requests by route and status code", ["route", "status"], registry=r
        )
        self.errors = Counter("spillguard_errors", "Rejected requests by error code", ["code"], registry=r)
        self.latency = Histogram(
            "spillguard_request_latency_seconds", "Request latency by route", ["route"],
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.verdicts = Counter("spillguard_verdicts", "Verdicts by class", ["verdict"], registry=r)
        self.scores = Histogram(
            "spillguard_score", "Scores of scored images", buckets=SCORE_BUCKETS, registry=r
        )
        self.batch = Histogram(
            "spillguard_batch_images", "Images per model call of the micro-batcher",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), registry=r,
        )  # fmt: skip
        self.model = Gauge(
            "spillguard_model_info", "The model in use (value 1)", ["model_id", "config", "rule"], registry=r
        )
        self.reloads = Counter("spillguard_reloads", "Model reloads by outcome", ["outcome"], registry=r)

    def set_model(self, model_id: str, config: str, rule: str) -> None:
        """Mark the model in use (the previous one's series is removed)."""
        self.model.clear()
        self.model.labels(model_id, config, rule).set(1)

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
