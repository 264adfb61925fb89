"""Prometheus metrics of one app, and the middleware that records them with an access log.

Every app has its own ``CollectorRegistry``, so two apps in one process (tests) never share
counts. With ``--workers N`` each worker process counts its own requests; a scrape of
``/metrics`` reads the worker that answers it.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["REFUSAL_REASONS", "InstrumentMiddleware", "ServeMetrics"]

access_log = logging.getLogger("crossover.serve.access")

_LATENCY_BUCKETS_S = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)

#: Why the server refused a request (or closed a connection) before the app answered it:
#: ``body_too_large`` (413), ``headers_timeout`` (408, or closed when nothing came),
#: ``body_timeout`` (408), ``max_connections`` (503).
REFUSAL_REASONS = ("body_too_large", "headers_timeout", "body_timeout", "max_connections")


class ServeMetrics:
    """The counters and histograms of one served model."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "crossover_http_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "crossover_http_request_duration_seconds",
            "Time from receiving a request to sending its last byte, by route template.",
            ["route"],
            buckets=_LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.request_texts = Histogram(
            "crossover_request_texts",
            "Texts per accepted request, by route template.",
            ["route"],
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.batch_texts = Histogram(
            "crossover_model_batch_texts",
            "Texts per model call (a micro-batch of one or more requests), by call.",
            ["call"],
            buckets=_SIZE_BUCKETS,
            registry=self.registry,
        )

        self.refused = Counter(
            "crossover_http_refused",
            "Requests refused, or connections closed, by the server's limits, by reason: "
            + ", ".join(REFUSAL_REASONS)
            + ".",
            ["reason"],
            registry=self.registry,
        )
        for reason in REFUSAL_REASONS:  # every reason shows, at 0, from the start
            self.refused.labels(reason)
        self.connections = Gauge(
            "crossover_http_connections",
            "Connections open in this server process.",
            registry=self.registry,
        )
        self.max_body_bytes = Gauge(
            "crossover_http_max_body_bytes",
            "Largest request body accepted (--max-body-mb), in bytes.",
            registry=self.registry,
        )
        self.request_timeout_seconds = Gauge(
            "crossover_http_request_timeout_seconds",
            "Longest wait for a request's headers, and then for its body (--request-timeout-s).",
            registry=self.registry,
        )
        self.max_connections = Gauge(
            "crossover_http_max_connections",
            "Most open connections served at once by this process (--max-connections).",
            registry=self.registry,
        )

    def set_limits(
        self, max_body_bytes: int, request_timeout_s: float, max_connections: int
    ) -> None:
        """Record the configured limits as gauges."""
        self.max_body_bytes.set(max_body_bytes)
        self.request_timeout_seconds.set(request_timeout_s)
        self.max_connections.set(max_connections)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class InstrumentMiddleware:
    """Count, time and log every HTTP request (pure ASGI: no body buffering).

    The route label is the route's template (``/v1/predict``), never the raw path, so that
    neither metrics nor logs grow with, or reveal, what clients put in URLs. The access log
    records method, route, status and duration only: no body, no query, no header (so no key).
    """

    def __init__(self, app: ASGIApp, metrics: ServeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            elapsed_s = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(template, method, str(status)).inc()
            self.metrics.latency.labels(template).observe(elapsed_s)
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed_s * 1000, 3),
                    }
                },
            )
