"""OFREP, the SDK snapshot and the event stream over real HTTP, with the official OpenFeature
OFREP provider (`openfeature-provider-ofrep`) as the client where it can be.

The workspace has `staging` and `production`; the flags below are on in staging only. The API's
clock is the test's `clock` (2026-11-20 12:00Z), so a scheduled change fires when the test moves
it. SDK keys read staging; API tokens name the environment per request.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from api_builders import IssueToken, assert_problem, bearer
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagEvaluationDetails, Reason
from prometheus_client.parser import text_string_to_metric_families

from launchdeck.auth.model import Scope
from launchdeck.flags.model import FlagSpec
from launchdeck.flags.records import ManagedBy, VersionAction
from launchdeck.flags.service import FlagService
from launchdeck.store import Database
from launchdeck.store.flags import SqlFlagStore
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

WORKSPACE = {
    "workspace": {"name": "northwind"},
    "environments": [{"id": "staging"}, {"id": "production", "production_like": True}],
}


def _on(fallthrough: dict[str, Any], **config: Any) -> dict[str, Any]:
    return {"staging": {"enabled": True, "fallthrough": fallthrough, **config}}


def _country_in(values: list[str], variant: str) -> list[dict[str, Any]]:
    return [
        {
            "when": {"attribute": "country", "op": "in", "values": values},
            "serve": {"variant": variant},
        }
    ]


FLAGS: list[dict[str, Any]] = [
    {"key": "dark-mode", "environments": _on({"variant": "on"})},
    {
        "key": "banner-text",
        "type": "string",
        "variants": {"hello": "Hello", "welcome": "Welcome back"},
        "off_variant": "hello",
        "environments": _on({"variant": "hello"}, rules=_country_in(["US", "CA"], "welcome")),
    },
    {
        "key": "max-items",
        "type": "integer",
        "variants": {"few": 10, "many": 50},
        "off_variant": "few",
        "environments": _on({"variant": "many"}),
    },
    {
        "key": "discount-rate",
        "type": "float",
        "variants": {"none": 0, "some": 0.15},
        "off_variant": "none",
        "environments": _on(
            {"variant": "none"},
            rules=[
                {
                    "when": {"attribute": "plan", "op": "in", "values": ["pro"]},
                    "serve": {"variant": "some"},
                }
            ],
        ),
    },
    {
        "key": "checkout-layout",
        "type": "object",
        "variants": {"classic": {"steps": 3}, "one-page": {"steps": 1}},
        "off_variant": "classic",
        "environments": _on({"variant": "one-page"}),
    },
    {
        "key": "new-checkout",
        "environments": _on({"rollout": {"weights": {"on": 50, "off": 50}}}),
    },
    {"key": "kill-switch", "environments": {"staging": {"enabled": False}}},
    {"key": "code-default", "environments": _on({"code_default": True})},
]
KEYS = sorted(f["key"] for f in FLAGS)


@pytest.fixture(autouse=True)
def flags(db: Database, clock: Any) -> None:
    """The workspace and the flags, written straight to the store before the server answers."""
    WorkspaceService(db, actor="seed", clock=clock).apply(WorkspaceSpec.model_validate(WORKSPACE))
    service = FlagService(db, actor="seed", clock=clock)
    for flag in FLAGS:
        service.create(FlagSpec.model_validate(flag))


@pytest.fixture
def sdk_key(db: Database, clock: Any) -> str:
    return FlagService(db, actor="seed", clock=clock).create_sdk_key("web-shop", "staging").key


@pytest.fixture
def writer(issue_token: IssueToken) -> str:
    return issue_token("flag-editor", Scope.FLAGS_WRITE)


def _provider_client(url: str, headers: dict[str, str]) -> OpenFeatureClient:
    domain = f"ofrep-{uuid.uuid4().hex}"
    provider = OFREPProvider(url, headers_factory=lambda: headers, timeout=10)
    api.set_provider_and_wait(provider, domain)
    return api.get_client(domain)


@pytest.fixture
def openfeature(live_server: Any, sdk_key: str) -> Iterator[OpenFeatureClient]:
    """An OpenFeature client on the official OFREP provider, with the staging SDK key."""
    yield _provider_client(live_server.url, {"X-API-Key": sdk_key})
    api.clear_providers()


def _details(
    client: OpenFeatureClient, kind: str, key: str, default: Any, **attributes: Any
) -> FlagEvaluationDetails[Any]:
    context = EvaluationContext(
        targeting_key=attributes.pop("user", "user-1"), attributes=attributes
    )
    method = getattr(client, f"get_{kind}_details")
    details: FlagEvaluationDetails[Any] = method(key, default, context)
    return details


def _ofrep(
    http: httpx.Client,
    credential: str,
    path: str,
    context: Any = None,
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /ofrep/v1/<path> with the credential as X-API-Key and `context` (if any)."""
    body = {} if context is None else {"context": context}
    headers = {"X-API-Key": credential, **(headers or {})}
    return http.post(f"/ofrep/v1/{path}", json=body, headers=headers)


def _change(http: httpx.Client, writer: str, key: str, patch: dict[str, Any]) -> None:
    response = http.post(
        f"/api/v1/flags/{key}/changes",
        json={"environment": "staging", "patch": patch},
        headers=bearer(writer),
    )
    assert response.status_code == 200, response.text


# the official provider ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "key", "default", "attributes", "value", "reason", "variant"),
    [
        ("boolean", "dark-mode", False, {}, True, Reason.STATIC, "on"),
        (
            "string",
            "banner-text",
            "?",
            {"country": "US"},
            "Welcome back",
            Reason.TARGETING_MATCH,
            "welcome",
        ),
        ("string", "banner-text", "?", {"country": "DE"}, "Hello", Reason.DEFAULT, "hello"),
        ("integer", "max-items", 0, {}, 50, Reason.STATIC, "many"),
        ("float", "discount-rate", 1.0, {"plan": "pro"}, 0.15, Reason.TARGETING_MATCH, "some"),
        ("float", "discount-rate", 1.0, {"plan": "free"}, 0.0, Reason.DEFAULT, "none"),
        ("object", "checkout-layout", {}, {}, {"steps": 1}, Reason.STATIC, "one-page"),
        ("boolean", "kill-switch", True, {}, False, Reason.DISABLED, "off"),
        ("boolean", "code-default", True, {}, True, Reason.DEFAULT, ""),
        ("boolean", "code-default", False, {}, False, Reason.DEFAULT, ""),
    ],
    ids=[
        "a boolean",
        "a string, targeted",
        "a string, not targeted",
        "an integer",
        "a float, targeted",
        "a float's whole-number variant",
        "an object",
        "a disabled flag serves its off variant",
        "the code default is the caller's default (true)",
        "the code default is the caller's default (false)",
    ],
)
def test_the_official_provider_reads_every_type(
    openfeature: OpenFeatureClient,
    kind: str,
    key: str,
    default: Any,
    attributes: dict[str, Any],
    value: Any,
    reason: Reason,
    variant: str,
) -> None:
    details = _details(openfeature, kind, key, default, **attributes)

    assert (details.value, details.reason, details.variant) == (value, reason, variant)
    assert type(details.value) is type(value)
    assert details.error_code is None


def test_a_rollout_splits_users_and_keeps_each_in_place(openfeature: OpenFeatureClient) -> None:
    users = [f"user-{i}" for i in range(200)]

    first = {u: _details(openfeature, "boolean", "new-checkout", False, user=u) for u in users}
    again = {u: _details(openfeature, "boolean", "new-checkout", False, user=u) for u in users[:20]}

    on = sum(1 for d in first.values() if d.value)
    assert {d.reason for d in first.values()} == {Reason.SPLIT}
    assert {(d.value, d.variant) for d in first.values()} == {(True, "on"), (False, "off")}
    assert 70 <= on <= 130, on
    assert {u: d.value for u, d in again.items()} == {u: first[u].value for u in users[:20]}


@pytest.mark.parametrize(
    ("kind", "key", "default", "error"),
    [
        ("boolean", "no-such-flag", True, ErrorCode.FLAG_NOT_FOUND),
        ("string", "dark-mode", "fallback", ErrorCode.TYPE_MISMATCH),
        ("float", "max-items", 2.5, ErrorCode.TYPE_MISMATCH),
    ],
    ids=["an unknown flag", "a boolean read as a string", "an integer read as a float"],
)
def test_an_error_gives_the_callers_default_and_its_code(
    openfeature: OpenFeatureClient, kind: str, key: str, default: Any, error: ErrorCode
) -> None:
    details = _details(openfeature, kind, key, default)

    assert (details.value, details.reason, details.error_code) == (default, Reason.ERROR, error)


def test_a_wrong_key_gives_the_default_as_unauthorized(live_server: Any) -> None:
    client = _provider_client(live_server.url, {"X-API-Key": "lds_0123abcd_not-the-secret"})
    try:
        details = _details(client, "boolean", "dark-mode", False)
    finally:
        api.clear_providers()

    assert (details.value, details.error_code, details.error_message) == (
        False,
        ErrorCode.GENERAL,
        "unauthorized",
    )


def test_an_api_token_reads_the_environment_its_request_names(
    live_server: Any, read_token: str
) -> None:
    staging = _provider_client(
        live_server.url,
        {"Authorization": f"Bearer {read_token}", "X-Launchdeck-Environment": "staging"},
    )
    production = _provider_client(
        live_server.url,
        {"Authorization": f"Bearer {read_token}", "X-Launchdeck-Environment": "production"},
    )
    nowhere = _provider_client(live_server.url, {"Authorization": f"Bearer {read_token}"})
    try:
        answers = {
            name: _details(client, "boolean", "dark-mode", True)
            for name, client in [
                ("staging", staging),
                ("production", production),
                ("none", nowhere),
            ]
        }
    finally:
        api.clear_providers()

    assert (answers["staging"].value, answers["staging"].reason) == (True, Reason.STATIC)
    assert (answers["production"].value, answers["production"].reason) == (False, Reason.DISABLED)
    assert (answers["none"].value, answers["none"].error_code) == (True, ErrorCode.GENERAL)
    assert "X-Launchdeck-Environment" in (answers["none"].error_message or "")


# the wire -----------------------------------------------------------------------------------


def test_one_flag_answers_in_ofrep_shape(http: httpx.Client, sdk_key: str) -> None:
    answers = {
        key: _ofrep(http, sdk_key, f"evaluate/flags/{key}", {"targetingKey": "u-1"})
        for key in ("dark-mode", "code-default", "no-such-flag")
    }

    assert {k: r.status_code for k, r in answers.items()} == {
        "dark-mode": 200,
        "code-default": 200,
        "no-such-flag": 404,
    }
    assert answers["dark-mode"].headers["content-type"] == "application/json"
    assert answers["dark-mode"].json() == {
        "key": "dark-mode",
        "value": True,
        "reason": "STATIC",
        "variant": "on",
        "metadata": {},
    }
    assert answers["code-default"].json() == {
        "key": "code-default",
        "reason": "DEFAULT",
        "variant": "",
        "metadata": {},
    }
    assert answers["no-such-flag"].json() == {
        "key": "no-such-flag",
        "errorCode": "FLAG_NOT_FOUND",
        "errorDetails": "no flag 'no-such-flag' in environment 'staging'",
    }


@pytest.mark.parametrize(
    ("content", "code", "details"),
    [
        (b'{"context": ', "PARSE_ERROR", "the body is not JSON (Expecting value"),
        (b"[]", "PARSE_ERROR", "the body is a JSON array, not an object"),
        (b'{"context": "user-1"}', "INVALID_CONTEXT", "context is a JSON string"),
    ],
    ids=["broken JSON", "not an object", "a context that is not an object"],
)
@pytest.mark.parametrize(
    "path", ["evaluate/flags/dark-mode", "evaluate/flags"], ids=["one", "bulk"]
)
def test_a_bad_body_is_400_with_the_ofrep_error_code(
    http: httpx.Client, sdk_key: str, path: str, content: bytes, code: str, details: str
) -> None:
    response = http.post(
        f"/ofrep/v1/{path}",
        content=content,
        headers={"X-API-Key": sdk_key, "Content-Type": "application/json"},
    )

    body = response.json()
    assert response.status_code == 400
    key = None if path == "evaluate/flags" else "dark-mode"
    assert (body["errorCode"], body.get("key")) == (code, key)
    assert body["errorDetails"].startswith(details)


def test_a_missing_body_is_the_empty_context(http: httpx.Client, sdk_key: str) -> None:
    response = http.post("/ofrep/v1/evaluate/flags/banner-text", headers={"X-API-Key": sdk_key})

    assert (response.status_code, response.json()["value"]) == (200, "Hello")


def test_an_api_token_without_an_environment_is_told_both_ways_to_name_one(
    http: httpx.Client, read_token: str
) -> None:
    response = http.post("/ofrep/v1/evaluate/flags/dark-mode", json={}, headers=bearer(read_token))

    assert response.status_code == 400
    assert response.json() == {
        "key": "dark-mode",
        "errorCode": "GENERAL",
        "errorDetails": "an API token reads the environment the request names: add "
        "?environment=<id> or the header 'X-Launchdeck-Environment: <id>' "
        "(an SDK key names its own)",
    }


def test_an_api_token_names_the_environment_in_the_query(
    http: httpx.Client, read_token: str
) -> None:
    staging = http.post(
        "/ofrep/v1/evaluate/flags/dark-mode?environment=staging",
        json={},
        headers=bearer(read_token),
    )
    unknown = http.post(
        "/ofrep/v1/evaluate/flags/dark-mode?environment=qa", json={}, headers=bearer(read_token)
    )

    assert (staging.status_code, staging.json()["value"]) == (200, True)
    assert (unknown.status_code, unknown.json()["errorCode"]) == (400, "GENERAL")
    assert unknown.json()["errorDetails"].startswith(
        "no environment 'qa'; use one of: production, staging"
    )


def test_an_sdk_key_reads_its_own_environment_only(http: httpx.Client, sdk_key: str) -> None:
    response = http.post(
        "/ofrep/v1/evaluate/flags/dark-mode?environment=production",
        json={},
        headers={"X-API-Key": sdk_key},
    )

    body = assert_problem(response, status=403, code="forbidden")
    assert body["detail"] == "SDK key 'web-shop' reads environment 'staging' only"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "lds_0123abcd_Zm9vYmFyLXNlY3JldC12YWx1ZQ"},
        {"Authorization": "Bearer lds_not-a-key"},
        {"Authorization": "Bearer ld_0123456789abcdef_Zm9vYmFyLXNlY3JldA"},
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
    ],
    ids=[
        "no credential",
        "an unknown SDK key",
        "a malformed SDK key",
        "an unknown token",
        "basic auth",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/ofrep/v1/evaluate/flags/dark-mode"),
        ("post", "/ofrep/v1/evaluate/flags"),
        ("get", "/ofrep/v1/configuration"),
        ("get", "/ofrep/v1/sse"),
        ("get", "/api/v1/sdk/snapshot"),
    ],
    ids=["one", "bulk", "configuration", "events", "snapshot"],
)
def test_a_missing_or_unknown_credential_is_401_without_echoing_it(
    http: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> None:
    response = http.request(method.upper(), path, headers=headers)

    assert_problem(response, status=401, code="unauthorized")
    exposed = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    for value in headers.values():
        assert value.split(" ")[-1] not in exposed


def test_a_revoked_sdk_key_is_401(http: httpx.Client, db: Database, clock: Any) -> None:
    service = FlagService(db, actor="seed", clock=clock)
    created = service.create_sdk_key("old-app", "staging")
    service.revoke_sdk_key(created.info.id)

    response = _ofrep(http, created.key, "evaluate/flags/dark-mode")

    assert assert_problem(response, status=401, code="unauthorized")["detail"] == (
        "SDK key 'old-app' was revoked"
    )


def test_an_sdk_key_never_reaches_the_management_api(http: httpx.Client, sdk_key: str) -> None:
    answers = [
        http.get("/api/v1/flags", headers=bearer(sdk_key)),
        http.post("/api/v1/flags/evaluate", json={}, headers=bearer(sdk_key)),
        http.get("/api/v1/workspace", headers=bearer(sdk_key)),
    ]

    for response in answers:
        assert_problem(response, status=401, code="unauthorized")


# bulk, ETags and the snapshot -----------------------------------------------------------------


def test_bulk_answers_every_flag_and_names_the_event_stream(
    live_server: Any, http: httpx.Client, sdk_key: str, read_token: str
) -> None:
    with_key = _ofrep(http, sdk_key, "evaluate/flags", {"targetingKey": "u-1", "country": "US"})
    with_token = http.post(
        "/ofrep/v1/evaluate/flags",
        json={"context": {"targetingKey": "u-1"}},
        headers={**bearer(read_token), "X-Launchdeck-Environment": "staging"},
    )

    body = with_key.json()
    answers = {f["key"]: f for f in body["flags"]}
    assert with_key.status_code == 200
    assert sorted(answers) == KEYS
    assert answers["banner-text"] == {
        "key": "banner-text",
        "value": "Welcome back",
        "reason": "TARGETING_MATCH",
        "variant": "welcome",
        "metadata": {},
    }
    assert "value" not in answers["code-default"]
    assert answers["discount-rate"]["value"] == 0.0
    assert body["eventStreams"] == [
        {"type": "sse", "url": f"{live_server.url}/ofrep/v1/sse", "inactivityDelaySec": 120}
    ]
    assert with_token.json()["eventStreams"][0]["url"] == (
        f"{live_server.url}/ofrep/v1/sse?environment=staging"
    )


def test_bulk_is_304_while_the_answer_is_the_same_and_200_once_it_changes(
    http: httpx.Client, sdk_key: str, writer: str
) -> None:
    context = {"targetingKey": "u-1", "country": "US"}
    first = _ofrep(http, sdk_key, "evaluate/flags", context)
    etag = first.headers["etag"]

    same = _ofrep(http, sdk_key, "evaluate/flags", context, headers={"If-None-Match": etag})
    other_context = _ofrep(
        http, sdk_key, "evaluate/flags", {"targetingKey": "u-1", "country": "DE"}
    )
    _change(http, writer, "dark-mode", {"enabled": False})
    after_change = _ofrep(http, sdk_key, "evaluate/flags", context, headers={"If-None-Match": etag})

    assert (same.status_code, same.content, same.headers["etag"]) == (304, b"", etag)
    assert other_context.status_code == 200
    assert other_context.headers["etag"] != etag
    assert after_change.status_code == 200
    assert after_change.headers["etag"] not in (etag, other_context.headers["etag"])
    dark_mode = next(f for f in after_change.json()["flags"] if f["key"] == "dark-mode")
    assert (dark_mode["value"], dark_mode["reason"]) == (False, "DISABLED")


def test_the_snapshot_carries_its_etag_and_is_304_until_a_flag_changes(
    http: httpx.Client, sdk_key: str, writer: str
) -> None:
    first = http.get("/api/v1/sdk/snapshot", headers={"X-API-Key": sdk_key})
    etag = first.headers["etag"]

    same = http.get("/api/v1/sdk/snapshot", headers={"X-API-Key": sdk_key, "If-None-Match": etag})
    _change(http, writer, "dark-mode", {"enabled": False})
    changed = http.get(
        "/api/v1/sdk/snapshot", headers={"X-API-Key": sdk_key, "If-None-Match": etag}
    )

    snapshot = first.json()
    assert first.status_code == 200
    assert (snapshot["environment"], snapshot["etag"]) == ("staging", etag)
    assert [f["key"] for f in snapshot["flags"]] == KEYS
    assert {tuple(f["environments"]) for f in snapshot["flags"]} == {("staging",)}
    assert (same.status_code, same.content) == (304, b"")
    assert changed.status_code == 200
    assert changed.headers["etag"] == changed.json()["etag"] != etag


def test_the_snapshot_needs_an_environment_with_an_api_token(
    http: httpx.Client, read_token: str
) -> None:
    missing = http.get("/api/v1/sdk/snapshot", headers=bearer(read_token))
    unknown = http.get("/api/v1/sdk/snapshot?environment=qa", headers=bearer(read_token))
    named = http.get("/api/v1/sdk/snapshot?environment=production", headers=bearer(read_token))

    assert assert_problem(missing, status=400, code="usage")["detail"].startswith(
        "an API token reads the environment the request names"
    )
    assert assert_problem(unknown, status=404, code="not_found")["detail"] == "no environment 'qa'"
    assert named.json()["environment"] == "production"


def test_the_configuration_has_an_etag(http: httpx.Client, sdk_key: str) -> None:
    first = http.get("/ofrep/v1/configuration", headers={"X-API-Key": sdk_key})
    again = http.get(
        "/ofrep/v1/configuration",
        headers={"X-API-Key": sdk_key, "If-None-Match": first.headers["etag"]},
    )

    assert first.status_code == 200
    assert first.json()["capabilities"]["cacheInvalidation"]["polling"] == {
        "enabled": True,
        "minPollingIntervalMs": 1000,
    }
    assert again.status_code == 304


def test_a_change_made_by_another_process_is_served_within_the_check_interval(
    http: httpx.Client, sdk_key: str, db: Database, clock: Any
) -> None:
    before = _ofrep(http, sdk_key, "evaluate/flags/max-items").json()["value"]
    other_process = FlagService(db, actor="cli", clock=clock)  # not the server's: no invalidation
    flag = other_process.get_flag("max-items").spec
    staging = flag.environments["staging"].model_copy(update={"enabled": False})
    with db.unit_of_work() as uow:
        SqlFlagStore(uow.session).put(
            flag.with_environment("staging", staging),
            expected_version=1,
            actor="cli",
            now=clock(),
            managed_by=ManagedBy.API,
            comment=None,
            action=VersionAction.CHANGED,
        )
        uow.commit()

    deadline = time.monotonic() + 5
    after = before
    while after == before and time.monotonic() < deadline:
        after = _ofrep(http, sdk_key, "evaluate/flags/max-items").json()["value"]

    assert (before, after) == (50, 10)


def test_ofrep_requests_are_counted_in_the_metrics(
    http: httpx.Client, sdk_key: str, read_token: str
) -> None:
    _ofrep(http, sdk_key, "evaluate/flags/dark-mode")
    _ofrep(http, sdk_key, "evaluate/flags")

    counts = _request_counts(http, read_token)

    assert counts[("POST", "/ofrep/v1/evaluate/flags/{key}", "200")] == 1
    assert counts[("POST", "/ofrep/v1/evaluate/flags", "200")] == 1


def _request_counts(http: httpx.Client, read_token: str) -> dict[tuple[str, str, str], float]:
    text = http.get("/metrics", headers=bearer(read_token)).text
    return {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "launchdeck_http_requests_total"
    }


# server-sent events ---------------------------------------------------------------------------


def _next_event(lines: Iterator[str]) -> dict[str, Any]:
    """The next `data:` line's JSON, skipping comments and blank lines."""
    for line in lines:
        if line.startswith("data: "):
            event: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return event
    raise AssertionError("the stream ended without an event")


def test_a_flag_change_reaches_an_open_stream_with_the_new_etag(
    live_server: Any, http: httpx.Client, sdk_key: str, writer: str
) -> None:
    with (
        httpx.Client(base_url=live_server.url, timeout=5) as client,
        client.stream("GET", "/ofrep/v1/sse", headers={"X-API-Key": sdk_key}) as stream,
    ):
        lines = stream.iter_lines()
        opening = [next(lines), next(lines)]
        _change(http, writer, "dark-mode", {"enabled": False})
        event = _next_event(lines)

    snapshot = http.get("/api/v1/sdk/snapshot", headers={"X-API-Key": sdk_key})
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert opening == [": connected", ""]
    assert event == {"type": "refetchEvaluation", "etag": snapshot.headers["etag"]}


def test_a_scheduled_change_fires_without_a_write_and_the_stream_says_so(
    live_server: Any, http: httpx.Client, sdk_key: str, writer: str, clock: Any
) -> None:
    scheduled = http.post(
        "/api/v1/flags/dark-mode/schedule",
        json={
            "environment": "staging",
            "change": {"at": (clock() + timedelta(hours=1)).isoformat(), "set": {"enabled": False}},
        },
        headers=bearer(writer),
    )
    assert scheduled.status_code == 200, scheduled.text
    before = _ofrep(http, sdk_key, "evaluate/flags/dark-mode").json()
    etag = http.get("/api/v1/sdk/snapshot", headers={"X-API-Key": sdk_key}).headers["etag"]

    with (
        httpx.Client(base_url=live_server.url, timeout=5) as client,
        client.stream("GET", "/ofrep/v1/sse", headers={"X-API-Key": sdk_key}) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines) == ": connected"
        clock.advance(timedelta(hours=2))
        event = _next_event(lines)

    after = _ofrep(http, sdk_key, "evaluate/flags/dark-mode").json()
    assert (before["value"], before["reason"]) == (True, "STATIC")
    assert event == {"type": "refetchEvaluation", "etag": etag}
    assert (after["value"], after["reason"]) == (False, "DISABLED")


def test_the_stream_needs_an_environment_with_an_api_token(
    http: httpx.Client, read_token: str
) -> None:
    response = http.get("/ofrep/v1/sse", headers=bearer(read_token))

    assert assert_problem(response, status=400, code="usage")["detail"].startswith(
        "an API token reads the environment the request names"
    )


@pytest.fixture
def short_streams(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A live server whose event streams end after half a second."""
    monkeypatch.setenv("LAUNCHDECK_SSE_MAX_STREAM_S", "0.5")
    return request.getfixturevalue("live_server")


def test_a_stream_ends_after_its_longest_duration(short_streams: Any, sdk_key: str) -> None:
    with (
        httpx.Client(base_url=short_streams.url, timeout=5) as client,
        client.stream("GET", "/ofrep/v1/sse", headers={"X-API-Key": sdk_key}) as stream,
    ):
        lines = list(stream.iter_lines())

    assert lines == [": connected", ""]


# the rate limit -------------------------------------------------------------------------------


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A live server allowing 1 OFREP request a second per credential (bursts of 2)."""
    monkeypatch.setenv("LAUNCHDECK_OFREP_RATE_LIMIT", "1")
    return request.getfixturevalue("live_server")


def test_over_the_rate_limit_is_429_with_retry_after(limited: Any, sdk_key: str) -> None:
    with httpx.Client(base_url=limited.url, timeout=10) as client:
        answers = [_ofrep(client, sdk_key, "evaluate/flags/dark-mode") for _ in range(3)]
        snapshot = client.get("/api/v1/sdk/snapshot", headers={"X-API-Key": sdk_key})

    refused = answers[2]
    assert assert_problem(snapshot, status=429, code="rate_limited")["detail"] == (
        "over 1 requests a second with this credential; retry in 1 s"
    )
    assert snapshot.headers["retry-after"] == "1"
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert refused.headers["retry-after"] == "1"
    assert refused.json() == {
        "key": "dark-mode",
        "errorCode": "GENERAL",
        "errorDetails": "over 1 requests a second with this credential; retry in 1 s",
    }


def test_the_official_provider_pauses_for_retry_after(
    limited: Any, sdk_key: str, read_token: str
) -> None:
    client = _provider_client(limited.url, {"X-API-Key": sdk_key})
    try:
        answers = [_details(client, "boolean", "dark-mode", False) for _ in range(4)]
    finally:
        api.clear_providers()
    with httpx.Client(base_url=limited.url, timeout=10) as http:
        counts = _request_counts(http, read_token)

    assert [(d.value, d.error_code) for d in answers] == [
        (True, None),
        (True, None),
        (False, ErrorCode.GENERAL),
        (False, ErrorCode.GENERAL),
    ]
    assert answers[2].error_message == "Rate limited, retry after: 1"
    assert (answers[3].error_message or "").startswith(
        "OFREP evaluation paused due to TooManyRequests"
    )
    route = "/ofrep/v1/evaluate/flags/{key}"
    assert (counts[("POST", route, "200")], counts[("POST", route, "429")]) == (2, 1)
