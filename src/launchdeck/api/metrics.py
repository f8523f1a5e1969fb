"""Prometheus metrics of one app instance (its own registry: no process-wide globals)."""

from __future__ import annotations

import time

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from launchdeck import __version__

__all__ = ["install_metrics"]


def install_metrics(app: FastAPI) -> CollectorRegistry:
    """Count and time every request by route template; return the registry /metrics serves."""
    registry = CollectorRegistry()
    requests = Counter(
        "launchdeck_http_requests",
        "HTTP requests answered, by route template and status code.",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "launchdeck_http_request_duration_seconds",
        "Time to answer an HTTP request.",
        ["method", "route"],
        registry=registry,
    )
    info = Gauge("launchdeck_build_info", "Build information.", ["version"], registry=registry)
    info.labels(version=__version__).set(1)

    # A plain ASGI middleware: `@app.middleware("http")` would stream every request body
    # through an extra task and memory channel, a measurable share of event ingest.
    app.add_middleware(_Observe, requests=requests, latency=latency)
    return registry


class _Observe:
    """Times and counts each HTTP request by route template and status code."""

    def __init__(self, app: ASGIApp, *, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = _route_template(scope)
            self.latency.labels(scope["method"], template).observe(time.perf_counter() - started)
            self.requests.labels(scope["method"], template, str(status)).inc()


def _route_template(scope: Scope) -> str:
    """The template of the route that answered, with its router's prefix; "unmatched" if none.

    FastAPI may hand over an included route without its prefix (`/systems/{system_id}` for
    `/api/v1/systems/cms`). A template has as many segments as the path it matched, so the
    prefix is the path's leading segments the template does not cover.
    """
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    segments = scope["path"].split("/")
    prefix = "/".join(segments[: max(len(segments) - template.count("/"), 1)])
    return prefix + template
