"""Prometheus metrics of an ingress replica, served as text at ``GET /metrics``.

| metric                               | kind      | labels       | meaning                 |
|--------------------------------------|-----------|--------------|-------------------------|
| ``ringrift_serve_requests_total``    | counter   | path, status | HTTP requests answered  |
| ``ringrift_serve_request_seconds``   | histogram | path         | time to answer          |
| ``ringrift_serve_pending_positions`` | gauge     |              | positions in flight     |
| ``ringrift_serve_rejected_total``    | counter   | reason       | 503 overload / 504      |
| ``ringrift_serve_moves_total``       | counter   | model        | moves chosen            |
| ``ringrift_serve_simulations_total`` | counter   | model        | search simulations run  |
| ``ringrift_serve_batch_size``        | histogram | model        | searches in the step    |

Each replica keeps its own registry (a process of its own); Prometheus scrapes each, or
Ray's own metrics (the dashboard's Prometheus endpoint) cover Serve's request counters.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
REGISTRY = CollectorRegistry()
REQUESTS = Counter("ringrift_serve_requests", "HTTP requests answered", ["path", "status"],
                   registry=REGISTRY)
SECONDS = Histogram("ringrift_serve_request_seconds", "time to answer", ["path"],
                    registry=REGISTRY)
PENDING = Gauge("ringrift_serve_pending_positions", "positions in flight", registry=REGISTRY)
REJECTED = Counter("ringrift_serve_rejected", "requests refused: overload, deadline",
                   ["reason"], registry=REGISTRY)
MOVES = Counter("ringrift_serve_moves", "moves chosen", ["model"], registry=REGISTRY)
SIMULATIONS = Counter("ringrift_serve_simulations", "search simulations run", ["model"],
                      registry=REGISTRY)
BATCH = Histogram("ringrift_serve_batch_size", "searches in flight in the step that "
                  "finished a position's search", ["model"],
                  buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=REGISTRY)
_PATHS = ("/ai/move", "/ai/moves_batch", "/health", "/ready", "/metrics", "/play")


def install(app: FastAPI) -> None:
    """Count every request of ``app`` by path (the known ones; others as ``other``) and
    status, and time it (`CountRequests`)."""
    app.add_middleware(CountRequests)


class CountRequests:
    """Plain ASGI middleware (cheaper than Starlette's ``BaseHTTPMiddleware``). It stays a
    module-level class: Serve pickles the app, and a closure would carry copies of the
    counters."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), [500]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = scope["path"]
            path = path if path in _PATHS else "/play/*" if path.startswith("/play/") \
                else "other"
            REQUESTS.labels(path, str(status[0])).inc()
            SECONDS.labels(path).observe(time.perf_counter() - start)


def observe_move(model: str, simulations: int, batch: int) -> None:
    """Record one answered position of ``model``."""
    MOVES.labels(model).inc()
    SIMULATIONS.labels(model).inc(simulations)
    BATCH.labels(model).observe(batch)


def exposition() -> bytes:
    """The registry in Prometheus text format."""
    return generate_latest(REGISTRY)
