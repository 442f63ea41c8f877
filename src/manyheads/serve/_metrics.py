"""Prometheus metrics of the service (``GET /metrics``), documented in docs/serving.md.

* ``manyheads_requests_total{model, route, status}``: answered requests;
* ``manyheads_request_seconds{model, route}``: latency histogram, from the first byte of the
  request to the last of the response;
* ``manyheads_batch_rows{model}``: rows per network call (micro-batches, or requests);
* ``manyheads_errors_total{code}``: error responses by their ``error.code``.

``route`` is one of :data:`ROUTES` and ``model`` a served model's name (or ``""``), so that the
label sets stay small whatever paths clients ask for. With several workers
(``PROMETHEUS_MULTIPROC_DIR`` set, as ``manyheads serve --workers N`` does), ``/metrics``
adds up every worker's values.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from manyheads.serve._errors import CODE_HEADER
from manyheads.serve._middleware import HTTPMiddleware

__all__ = ["ROUTES", "MetricsMiddleware", "ServeMetrics", "route_of"]

#: The ``route`` label's values.
ROUTES = ("predict", "model", "models", "health", "ready", "metrics", "docs", "other")
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class ServeMetrics:
    """The service's metrics, in their own registry (one per application)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "manyheads_requests",
            "Requests answered, by model, route and status code.",
            ["model", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "manyheads_request_seconds",
            "Request latency in seconds, by model and route.",
            ["model", "route"],
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "manyheads_batch_rows",
            "Rows per network call, by model.",
            ["model"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "manyheads_errors", "Error responses by error code.", ["code"], registry=self.registry
        )

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric (every worker's, with several)."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


def route_of(path: str, models: set[str] | dict[str, object]) -> tuple[str, str]:
    """(model, route) labels of a request path.

    Example:
        >>> route_of("/v1/models/census/predict", {"census"})
        ('census', 'predict')
        >>> route_of("/v1/models/nope/predict", {"census"})
        ('', 'predict')
        >>> route_of("/wp-admin", {"census"})
        ('', 'other')
    """
    parts = path.strip("/").split("/")
    if parts[:2] == ["v1", "models"] and len(parts) in (3, 4):
        model = parts[2] if parts[2] in models else ""
        if len(parts) == 3:
            return model, "model"
        return model, "predict" if parts[3] == "predict" else "other"
    if parts == ["v1", "models"]:
        return "", "models"
    if parts[0] in ("health", "ready", "metrics") and len(parts) == 1:
        return "", parts[0]
    if parts[0] in ("docs", "openapi.json", "redoc") and len(parts) == 1:
        return "", "docs"
    return "", "other"


class MetricsMiddleware(HTTPMiddleware):
    """ASGI middleware counting and timing every HTTP request.

    Args:
        app: the application.
        metrics: where to count.
        models: the served models' names.
    """

    def __init__(self, app: ASGIApp, metrics: ServeMetrics, models: set[str]) -> None:
        super().__init__(app)
        self.metrics = metrics
        self.models = models

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, then count it and its latency (and its error code)."""
        start = time.perf_counter()
        status = [500]
        code: list[str] = []

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
                for key, value in message.get("headers", []):
                    if key == CODE_HEADER.encode():
                        code.append(value.decode())
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:  # a bug: the outermost middleware answers 500 "internal"
            code.append("internal")
            raise
        finally:
            model, route = route_of(scope["path"], self.models)
            self.metrics.requests.labels(model, route, str(status[0])).inc()
            self.metrics.latency.labels(model, route).observe(time.perf_counter() - start)
            if code:
                self.metrics.errors.labels(code[0]).inc()
