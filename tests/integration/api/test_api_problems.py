"""Every error the API answers is RFC 9457 problem+json with our stable fields."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from api_builders import assert_problem, bearer, example_body


def test_an_unknown_system_is_404_not_found(http: httpx.Client, read_token: str) -> None:
    response = http.get("/api/v1/systems/no-such-system", headers=bearer(read_token))

    body = assert_problem(response, status=404, code="not_found")
    assert body["detail"] == "no system 'no-such-system'"
    assert body["hint"] == "list them with 'launchdeck systems list'"


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/api/v1/environments/qa", "no environment 'qa'"),
        ("/api/v1/campaigns/prime-day", "no campaign 'prime-day'"),
    ],
    ids=["environment", "campaign"],
)
def test_other_unknown_resources_are_404_not_found(
    http: httpx.Client, read_token: str, path: str, detail: str
) -> None:
    response = http.get(path, headers=bearer(read_token))

    assert assert_problem(response, status=404, code="not_found")["detail"] == detail


def test_an_unknown_route_is_404_problem_json(http: httpx.Client) -> None:
    response = http.get("/api/v1/no-such-route")

    assert_problem(response, status=404, code="not_found")


def test_a_wrong_method_is_405_problem_json(http: httpx.Client, admin_token: str) -> None:
    response = http.put("/api/v1/workspace/apply", headers=bearer(admin_token))

    assert_problem(response, status=405, code="method_not_allowed")


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{}", "body.workspace"),
        (b'{"workspace": {"name": "x"}, "colour": "blue"}', "body.colour"),
        (b'{"workspace": {"name": "x", "timezone": "Mars/Olympus"}}', "body.workspace.timezone"),
        (b"[1, 2", "body.5"),
    ],
    ids=["a missing section", "an unknown key", "an unknown time zone", "broken json"],
)
def test_an_invalid_body_is_422_with_the_field(
    http: httpx.Client, read_token: str, content: bytes, field: str
) -> None:
    response = http.post(
        "/api/v1/workspace/plan",
        content=content,
        headers={**bearer(read_token), "Content-Type": "application/json"},
    )

    body = assert_problem(response, status=422, code="invalid_request")
    assert body["errors"][0]["field"] == field
    assert body["detail"].startswith(f"{field}: ")


def test_broken_cross_references_are_422_listing_every_problem(
    http: httpx.Client, read_token: str
) -> None:
    spec = example_body()
    spec["systems"][0]["depends_on"] = ["paymnts"]
    spec["campaigns"][0]["systems"] = ["landing-page"]

    response = http.post("/api/v1/workspace/plan", json=spec, headers=bearer(read_token))

    body = assert_problem(response, status=422, code="validation_failed")
    assert body["detail"] == "2 problems in the workspace"
    assert [(e["field"], e["message"]) for e in body["errors"]] == [
        ("systems[0].depends_on[0]", "unknown system 'paymnts'"),
        ("campaigns[0].systems[0]", "unknown system 'landing-page'"),
    ]
    assert body["errors"][1]["hint"] == "did you mean 'landing-pages'?"


def test_a_stale_expected_revision_is_409_conflict(http: httpx.Client, admin_token: str) -> None:
    spec = example_body()
    first = http.post("/api/v1/workspace/apply", json=spec, headers=bearer(admin_token))
    assert first.status_code == 200

    response = http.post(
        "/api/v1/workspace/apply",
        params={"expected_revision": 0},
        json=spec,
        headers=bearer(admin_token),
    )

    body = assert_problem(response, status=409, code="conflict")
    assert body["detail"] == "the plan was made against revision 0, the store is at 1"
    assert body["hint"] == "run 'launchdeck plan' again and review the new changes"


def test_no_token_is_401_with_a_bearer_challenge(http: httpx.Client) -> None:
    response = http.get("/api/v1/timeline")

    body = assert_problem(response, status=401, code="unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["hint"].startswith("send 'Authorization: Bearer <token>'")


def test_a_missing_scope_is_403_naming_it(http: httpx.Client, read_token: str) -> None:
    response = http.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["read"]}, headers=bearer(read_token)
    )

    body = assert_problem(response, status=403, code="forbidden")
    assert body["detail"] == "token 'dashboard' lacks the 'admin' scope"
    assert body["hint"] == "create a token with --scope admin"
    assert "www-authenticate" not in response.headers


def test_a_garbage_timeline_cursor_is_400_usage(http: httpx.Client, read_token: str) -> None:
    response = http.get(
        "/api/v1/timeline", params={"cursor": "garbage"}, headers=bearer(read_token)
    )

    body = assert_problem(response, status=400, code="usage")
    assert body["detail"] == "invalid timeline cursor"


@pytest.mark.parametrize(
    ("method", "path", "request_kwargs", "field"),
    [
        (
            "GET",
            "/api/v1/timeline",
            {"params": {"since": "0001-01-01T00:00:00+05:00"}},
            "query.since",
        ),
        (
            "GET",
            "/api/v1/timeline",
            {"params": {"until": "9999-12-31T23:59:59-05:00"}},
            "query.until",
        ),
        (
            "POST",
            "/api/v1/tokens",
            {"json": {"name": "x", "scopes": ["read"], "expires_at": "9999-12-31T23:59:59-05:00"}},
            "body.expires_at",
        ),
    ],
    ids=["since before year 1 in UTC", "until after year 9999 in UTC", "a token expiry"],
)
def test_an_instant_without_a_utc_form_is_422_not_500(
    http: httpx.Client,
    admin_token: str,
    method: str,
    path: str,
    request_kwargs: dict[str, Any],
    field: str,
) -> None:
    """Found by this suite: these reached the database and failed there with a 500."""
    response = http.request(method, path, headers=bearer(admin_token), **request_kwargs)

    body = assert_problem(response, status=422, code="invalid_request")
    assert body["errors"][0]["field"] == field
    assert "out of range once converted to UTC" in body["errors"][0]["message"]


def test_a_cursor_past_any_event_id_is_400_not_500(http: httpx.Client, read_token: str) -> None:
    """Found by this suite: on SQLite the id overflowed inside the driver (a 500)."""
    cursor = base64.urlsafe_b64encode(b"v1:99999999999999999999").decode().rstrip("=")

    response = http.get("/api/v1/timeline", params={"cursor": cursor}, headers=bearer(read_token))

    assert assert_problem(response, status=400, code="usage")["detail"] == "invalid timeline cursor"
