"""Health, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio

import httpx
from api_builders import assert_problem, bearer
from prometheus_client.parser import text_string_to_metric_families

from launchdeck.api.app import create_app
from launchdeck.store import Database


def test_healthz_answers_without_a_token(http: httpx.Client) -> None:
    response = http.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_answers_ready_with_a_working_database(http: httpx.Client) -> None:
    response = http.get("/readyz")

    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    # Nothing listens on port 1; the engine is created but never connects successfully.
    db = Database("postgresql+psycopg://launchdeck@127.0.0.1:1/none?connect_timeout=2")
    app = create_app(db=db)

    async def probe() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get("/readyz"), await client.get("/healthz")

    try:
        ready, healthy = asyncio.run(probe())
    finally:
        db.dispose()

    body = assert_problem(ready, status=503, code="upstream_unavailable")
    assert (
        body["detail"]
        == "cannot reach the database at postgresql+psycopg://launchdeck@127.0.0.1:1/none?connect_timeout=2"
    )
    assert healthy.status_code == 200


def _samples(text: str, name: str) -> dict[tuple[str, str, str], float]:
    """The samples of counter `name`, keyed by (method, route, status)."""
    return {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def test_metrics_count_requests_by_route_template(http: httpx.Client, read_token: str) -> None:
    for system_id in ("no-such-system", "another-missing-one"):
        http.get(f"/api/v1/systems/{system_id}", headers=bearer(read_token))
    http.get("/api/v1/systems", headers=bearer(read_token))
    http.get("/healthz")
    http.get("/api/v1/timeline")  # no token
    http.get("/not/a/route")

    response = http.get("/metrics", headers=bearer(read_token))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text, "launchdeck_http_requests_total")
    assert samples == {
        ("GET", "/api/v1/systems/{system_id}", "404"): 2.0,
        ("GET", "/api/v1/systems", "200"): 1.0,
        ("GET", "/healthz", "200"): 1.0,
        ("GET", "/api/v1/timeline", "401"): 1.0,
        ("GET", "unmatched", "404"): 1.0,
    }
    assert "launchdeck_http_request_duration_seconds_bucket" in response.text
    assert 'launchdeck_build_info{version="' in response.text


def test_metrics_need_a_token(http: httpx.Client) -> None:
    assert_problem(http.get("/metrics"), status=401, code="unauthorized")


def test_the_openapi_document_is_served(http: httpx.Client) -> None:
    response = http.get("/api/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "launchdeck"
    assert {"/api/v1/workspace/plan", "/api/v1/workspace/apply", "/api/v1/timeline"} <= set(
        document["paths"]
    )
