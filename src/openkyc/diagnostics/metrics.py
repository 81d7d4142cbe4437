"""Prometheus metrics of one service process (a registry per app instance)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "openkyc_requests_total", "API requests by action and status.", ["action", "status"], registry=self.registry
        )
        self.errors = Counter("openkyc_errors_total", "API errors by code.", ["code"], registry=self.registry)
        self.latency = Histogram(
            "openkyc_request_seconds",
            "API request duration by action.",
            ["action"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )

    def observe(self, action: str, status: int, seconds: float, error_code: str | None) -> None:
        self.requests.labels(action=action, status=str(status)).inc()
        self.latency.labels(action=action).observe(seconds)
        if error_code:
            self.errors.labels(code=error_code).inc()
