"""Authentication and scopes, checked on every operation of the route table.

The operations come from the app's own OpenAPI document, so a new route is checked the day it
is added: it needs a token, and it needs `admin` if it changes anything.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from api_builders import (
    ADMIN_READS,
    DEPLOY_WRITES,
    EVENT_WRITES,
    FLAG_WRITES,
    INCIDENT_WRITES,
    MUTATING,
    PUBLIC,
    READ_ONLY_POSTS,
    IssueToken,
    assert_problem,
    bearer,
    fill_path,
    operations,
)

from launchdeck.auth.model import Scope, make_token


def _route_table(http: httpx.Client) -> list[tuple[str, str, str]]:
    """(method, template, a concrete URL) for every declared operation but the public ones."""
    openapi = http.get("/api/openapi.json").json()
    table = [
        (method, path, fill_path(path, operation))
        for method, path, operation in operations(openapi)
        if (method, path) not in PUBLIC
    ]
    assert len(table) >= 10, "the route table looks empty"
    return table


def _call(http: httpx.Client, method: str, url: str, headers: dict[str, str]) -> httpx.Response:
    return http.request(method.upper(), url, headers=headers)


def test_every_operation_but_health_needs_a_token(http: httpx.Client) -> None:
    table = _route_table(http)

    answers = {(m, p): _call(http, m, url, {}) for m, p, url in table}

    assert {key: r.status_code for key, r in answers.items()} == dict.fromkeys(answers, 401)
    for response in answers.values():
        assert_problem(response, status=401, code="unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"


def test_the_schema_declares_the_token_on_exactly_the_operations_that_need_one(
    http: httpx.Client,
) -> None:
    openapi = http.get("/api/openapi.json").json()

    unsecured = {(m, p) for m, p, op in operations(openapi) if not op.get("security")}

    assert unsecured == set(PUBLIC)
    assert openapi["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "launchdeck API token",
    }


@pytest.mark.parametrize(
    "scopes",
    [(Scope.READ,), (Scope.DEPLOY,), (Scope.FLAGS_WRITE, Scope.INCIDENTS)],
    ids=["read only", "deploy only", "flags:write and incidents"],
)
def test_a_token_without_admin_is_forbidden_every_mutating_operation(
    http: httpx.Client, issue_token: IssueToken, scopes: tuple[Scope, ...]
) -> None:
    token = issue_token("limited", *scopes)
    table = _route_table(http)
    mutating = [
        (m, p, url)
        for m, p, url in table
        if m in MUTATING
        and (m, p) not in READ_ONLY_POSTS
        and not (Scope.DEPLOY in scopes and (m, p) in DEPLOY_WRITES)
        and not (Scope.INCIDENTS in scopes and (m, p) in INCIDENT_WRITES)
        and not (Scope.FLAGS_WRITE in scopes and (m, p) in FLAG_WRITES)
        and not (Scope.EVENTS_WRITE in scopes and (m, p) in EVENT_WRITES)
    ]

    answers = {(m, p): _call(http, m, url, bearer(token)) for m, p, url in mutating}

    assert len(mutating) >= 3, "no mutating route found: this test would pass vacuously"
    assert {key: r.status_code for key, r in answers.items()} == dict.fromkeys(answers, 403)
    for (method, path), response in answers.items():
        body = assert_problem(response, status=403, code="forbidden")
        needed = (
            "deploy"
            if (method, path) in DEPLOY_WRITES
            else "incidents"
            if (method, path) in INCIDENT_WRITES
            else "flags:write"
            if (method, path) in FLAG_WRITES
            else "events:write"
            if (method, path) in EVENT_WRITES
            else "admin"
        )
        assert body["detail"] == f"token 'limited' lacks the {needed!r} scope"


@pytest.mark.parametrize(
    "scopes",
    [(Scope.READ,), (Scope.DEPLOY,)],
    ids=["read", "any other scope implies read"],
)
def test_a_reading_token_reaches_every_reading_operation(
    http: httpx.Client, issue_token: IssueToken, scopes: tuple[Scope, ...]
) -> None:
    token = issue_token("reader", *scopes)
    reading = [
        (m, p, url)
        for m, p, url in _route_table(http)
        if (m not in MUTATING or (m, p) in READ_ONLY_POSTS) and (m, p) not in ADMIN_READS
    ]

    answers = {(m, p): _call(http, m, url, bearer(token)).status_code for m, p, url in reading}

    assert ("post", "/api/v1/workspace/plan") in answers
    assert {k: s for k, s in answers.items() if s in (401, 403)} == {}


@pytest.mark.parametrize("operation", sorted(ADMIN_READS), ids=lambda op: " ".join(op).upper())
def test_reading_the_token_list_needs_admin(
    http: httpx.Client, read_token: str, operation: tuple[str, str]
) -> None:
    method, path = operation

    response = _call(http, method, path, bearer(read_token))

    body = assert_problem(response, status=403, code="forbidden")
    assert body["detail"] == "token 'dashboard' lacks the 'admin' scope"


def test_an_admin_token_is_never_refused(http: httpx.Client, admin_token: str) -> None:
    table = _route_table(http)

    answers = {(m, p): _call(http, m, url, bearer(admin_token)).status_code for m, p, url in table}

    assert {k: s for k, s in answers.items() if s in (401, 403)} == {}
    assert answers[("get", "/api/v1/tokens")] == 200
    assert answers[("delete", "/api/v1/tokens/{token_id}")] == 404  # a well-formed unknown id
    assert answers[("post", "/api/v1/workspace/apply")] == 422  # no body


def _bad_tokens(issue_token: IssueToken, clock: Any, valid: str) -> dict[str, str]:
    revoked = issue_token("revoked-bot", Scope.ADMIN)
    expired = issue_token("expired-bot", Scope.ADMIN, expires_at=clock() + timedelta(hours=1))
    return {
        "unknown": make_token("0123456789abcdef", "Zm9vYmFyLXNlY3JldC12YWx1ZS0xMjM0NTY3ODkw"),
        "wrong secret": valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB"),
        "malformed": "definitely-not-a-launchdeck-token",
        "empty secret": "ld_0123456789abcdef_",
        "revoked": revoked,
        "expired": expired,
    }


def test_bad_tokens_are_refused_without_echoing_them(
    http: httpx.Client, issue_token: IssueToken, clock: Any, admin_token: str
) -> None:
    bad = _bad_tokens(issue_token, clock, admin_token)
    token_id = bad["revoked"].split("_")[1]
    assert http.delete(f"/api/v1/tokens/{token_id}", headers=bearer(admin_token)).status_code == 200
    clock.advance(timedelta(hours=1))

    answers = {name: http.get("/api/v1/systems", headers=bearer(t)) for name, t in bad.items()}

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(bad, 401)
    details = {
        name: assert_problem(r, status=401, code="unauthorized") for name, r in answers.items()
    }
    assert details["revoked"]["detail"] == "API token 'revoked-bot' was revoked"
    assert details["expired"]["detail"] == "API token 'expired-bot' expired"
    assert details["unknown"]["detail"] == "unknown API token"
    assert details["malformed"]["detail"] == "malformed API token"
    for name, response in answers.items():
        exposed = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        secret = bad[name].split("_", 2)[-1]
        assert bad[name] not in exposed, name
        assert secret == "" or secret not in exposed, name


@pytest.mark.parametrize(
    "authorization",
    ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Token ld_0123456789abcdef_secret", ""],
    ids=["basic auth", "bearer without a token", "another scheme", "empty header"],
)
def test_an_authorization_header_without_a_bearer_token_is_unauthorized(
    http: httpx.Client, authorization: str
) -> None:
    response = http.get("/api/v1/workspace", headers={"Authorization": authorization})

    body = assert_problem(response, status=401, code="unauthorized")
    assert body["detail"] == "this endpoint needs an API token"
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_stops_working_the_moment_it_is_revoked(
    http: httpx.Client, issue_token: IssueToken, admin_token: str
) -> None:
    token = issue_token("soon-revoked", Scope.READ)
    assert http.get("/api/v1/workspace", headers=bearer(token)).status_code == 200

    revoked = http.delete(f"/api/v1/tokens/{token.split('_')[1]}", headers=bearer(admin_token))

    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert http.get("/api/v1/workspace", headers=bearer(token)).status_code == 401
