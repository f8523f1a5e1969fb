"""Prometheus metrics of one app instance (its own registry: no process-wide globals)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        template = _route_template(request)
        latency.labels(request.method, template).observe(time.perf_counter() - started)
        requests.labels(request.method, template, str(response.status_code)).inc()
        return response

    return registry


def _route_template(request: Request) -> str:
    """The template of the route that answered, with its router's prefix; "unmatched" if none.

    FastAPI may hand over an included route without its prefix (`/systems/{system_id}` for
    `/api/v1/systems/cms`). A template has as many segments as the path it matched, so the
    prefix is the path's leading segments the template does not cover.
    """
    template = getattr(request.scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    segments = request.scope["path"].split("/")
    prefix = "/".join(segments[: max(len(segments) - template.count("/"), 1)])
    return prefix + template
