"""Flag management over real HTTP: create, change, schedule, history, restore, archive,
segments, evaluation, change requests and SDK keys, with their scopes and their 404/409/422.

The workspace has `staging` and `production` (production-like), one system and no campaigns, so
the gate allows production changes; changes go to staging unless a test is about production.
The API's clock is the test's `clock`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from api_builders import IssueToken, assert_problem, bearer

from launchdeck.auth.model import Scope
from launchdeck.flags.model import GovernanceSpec
from launchdeck.store import Database
from launchdeck.store.flags import SqlFlagStore
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

WORKSPACE = {
    "workspace": {"name": "northwind"},
    "environments": [{"id": "staging"}, {"id": "production", "production_like": True}],
    "systems": [{"id": "checkout-web"}],
}


@pytest.fixture(autouse=True)
def environments(db: Database, clock: Any) -> None:
    WorkspaceService(db, actor="seed", clock=clock).apply(WorkspaceSpec.model_validate(WORKSPACE))


@pytest.fixture
def writer(issue_token: IssueToken) -> str:
    return issue_token("flag-editor", Scope.FLAGS_WRITE)


def a_flag(key: str = "new-checkout", **fields: Any) -> dict[str, Any]:
    """A boolean flag, on in staging for everyone unless `fields` say otherwise."""
    staging = {"enabled": True, "fallthrough": {"variant": "on"}}
    return {"key": key, "environments": {"staging": staging}, **fields}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _create(http: httpx.Client, token: str, **fields: Any) -> dict[str, Any]:
    stored: dict[str, Any] = _ok(
        http.post("/api/v1/flags", json=a_flag(**fields), headers=bearer(token)), 201
    )
    return stored


def _change(
    http: httpx.Client, token: str, key: str, patch: dict[str, Any], **body: Any
) -> httpx.Response:
    return http.post(
        f"/api/v1/flags/{key}/changes",
        json={"environment": "staging", "patch": patch, **body},
        headers=bearer(token),
    )


def test_a_created_flag_is_listed_and_read_back_at_version_1(
    http: httpx.Client, writer: str, read_token: str
) -> None:
    created = _create(http, writer, description="One-page checkout")

    listed = _ok(http.get("/api/v1/flags", headers=bearer(read_token)))
    read = _ok(http.get("/api/v1/flags/new-checkout", headers=bearer(read_token)))

    assert (created["version"], created["managed_by"], created["created_by"]) == (
        1,
        "api",
        "flag-editor",
    )
    assert [f["spec"]["key"] for f in listed] == ["new-checkout"]
    assert read == created
    assert read["spec"]["description"] == "One-page checkout"
    assert read["spec"]["environments"]["staging"]["enabled"] is True


def test_a_change_applies_as_a_new_version_and_history_keeps_both(
    http: httpx.Client, writer: str, read_token: str
) -> None:
    _create(http, writer)

    outcome = _ok(_change(http, writer, "new-checkout", {"enabled": False}, comment="bug #12"))
    history = _ok(http.get("/api/v1/flags/new-checkout/history", headers=bearer(read_token)))

    assert outcome["outcome"] == "applied"
    assert outcome["gate"] == "not asked: turning a flag off is remediation, always allowed"
    assert outcome["flag"]["version"] == 2
    assert outcome["flag"]["spec"]["environments"]["staging"]["enabled"] is False
    assert [(v["version"], v["action"], v["comment"]) for v in history] == [
        (1, "created", None),
        (2, "changed", "bug #12"),
    ]


def test_turning_a_flag_off_in_production_is_never_gated(http: httpx.Client, writer: str) -> None:
    created = _create(
        http,
        writer,
        system="checkout-web",
        environments={"production": {"enabled": True, "fallthrough": {"variant": "on"}}},
    )

    response = http.post(
        "/api/v1/flags/new-checkout/changes",
        json={"environment": "production", "patch": {"enabled": False}},
        headers=bearer(writer),
    )

    outcome = _ok(response)
    assert created["spec"]["environments"]["production"]["enabled"] is True
    assert outcome["outcome"] == "applied"
    assert outcome["gate"] == "not asked: turning a flag off is remediation, always allowed"
    assert outcome["flag"]["spec"]["environments"]["production"]["enabled"] is False


def test_a_scheduled_change_is_stored_on_the_flag(http: httpx.Client, writer: str) -> None:
    _create(http, writer)

    response = http.post(
        "/api/v1/flags/new-checkout/schedule",
        json={
            "environment": "staging",
            "change": {"at": "2026-11-27T05:00:00Z", "set": {"enabled": False}},
            "comment": "off for Black Friday",
        },
        headers=bearer(writer),
    )

    outcome = _ok(response)
    schedule = outcome["flag"]["spec"]["environments"]["staging"]["schedule"]
    assert outcome["outcome"] == "scheduled"
    assert [(c["at"], c["set"]["enabled"]) for c in schedule] == [("2026-11-27T05:00:00Z", False)]


def test_restoring_makes_an_old_version_current_again(http: httpx.Client, writer: str) -> None:
    _create(http, writer)
    _ok(_change(http, writer, "new-checkout", {"enabled": False}))

    restored = _ok(
        http.post("/api/v1/flags/new-checkout/restore", json={"version": 1}, headers=bearer(writer))
    )

    assert restored["version"] == 3
    assert restored["spec"]["environments"]["staging"]["enabled"] is True


def test_an_archived_flag_leaves_the_list_but_keeps_its_history(
    http: httpx.Client, writer: str, read_token: str
) -> None:
    _create(http, writer)

    archived = _ok(http.delete("/api/v1/flags/new-checkout", headers=bearer(writer)))
    active = _ok(http.get("/api/v1/flags", headers=bearer(read_token)))
    everything = _ok(http.get("/api/v1/flags?archived=true", headers=bearer(read_token)))
    history = _ok(http.get("/api/v1/flags/new-checkout/history", headers=bearer(read_token)))

    assert archived["archived_at"] is not None
    assert active == []
    assert [f["spec"]["key"] for f in everything] == ["new-checkout"]
    assert [v["action"] for v in history] == ["created", "archived"]


def test_a_segment_is_created_listed_and_used_by_evaluation(
    http: httpx.Client, writer: str, read_token: str
) -> None:
    segment = {"key": "beta-testers", "included": ["user-7"]}
    stored = _ok(http.put("/api/v1/segments/beta-testers", json=segment, headers=bearer(writer)))
    rule = {"when": {"op": "in_segment", "values": ["beta-testers"]}, "serve": {"variant": "on"}}
    _create(
        http,
        writer,
        environments={
            "staging": {"enabled": True, "rules": [rule], "fallthrough": {"variant": "off"}}
        },
    )

    segments = _ok(http.get("/api/v1/segments", headers=bearer(read_token)))
    results = {
        user: _ok(
            http.post(
                "/api/v1/flags/evaluate",
                json={"environment": "staging", "context": {"targetingKey": user}},
                headers=bearer(read_token),
            )
        )["results"]["new-checkout"]
        for user in ("user-7", "user-8")
    }

    assert stored["version"] == 1
    assert [s["spec"]["key"] for s in segments] == ["beta-testers"]
    assert (results["user-7"]["value"], results["user-7"]["reason"]) == (True, "TARGETING_MATCH")
    assert (results["user-8"]["value"], results["user-8"]["reason"]) == (False, "DEFAULT")


def test_a_segment_whose_body_names_another_key_is_refused(http: httpx.Client, writer: str) -> None:
    response = http.put(
        "/api/v1/segments/beta-testers",
        json={"key": "alpha-testers", "included": ["user-7"]},
        headers=bearer(writer),
    )

    body = assert_problem(response, status=400, code="usage")
    assert body["detail"] == "the body's key 'alpha-testers' is not the path's 'beta-testers'"


def test_a_flag_serving_one_variant_for_weeks_is_reported_stale(
    http: httpx.Client, writer: str, read_token: str, clock: Any
) -> None:
    everywhere = {"enabled": True, "fallthrough": {"variant": "on"}}
    _create(
        http,
        writer,
        system="checkout-web",
        environments={"staging": everywhere, "production": everywhere},
    )
    fresh = _ok(http.get("/api/v1/stale-flags", headers=bearer(read_token)))
    clock.advance(timedelta(days=8))

    stale = _ok(http.get("/api/v1/stale-flags", headers=bearer(read_token)))

    assert fresh == []
    assert [(f["key"], f["reason"], f["variant"]) for f in stale] == [
        ("new-checkout", "fully rolled out", "on")
    ]


def test_a_change_request_needs_approval_from_someone_else_then_applies(
    http: httpx.Client, db: Database, writer: str, issue_token: IssueToken, read_token: str
) -> None:
    with db.unit_of_work() as uow:
        SqlFlagStore(uow.session).set_governance(GovernanceSpec(approvals={"staging": 1}))
        uow.commit()
    reviewer = issue_token("reviewer", Scope.FLAGS_WRITE)
    _create(http, writer)

    requested = _ok(_change(http, writer, "new-checkout", {"fallthrough": {"variant": "off"}}))
    request_id = requested["change_request"]["id"]
    own = http.post(
        f"/api/v1/flag-change-requests/{request_id}/approve", json={}, headers=bearer(writer)
    )
    approved = _ok(
        http.post(
            f"/api/v1/flag-change-requests/{request_id}/approve",
            json={"comment": "ok"},
            headers=bearer(reviewer),
        )
    )
    pending = _ok(http.get("/api/v1/flag-change-requests", headers=bearer(read_token)))
    applied = _ok(
        http.post(f"/api/v1/flag-change-requests/{request_id}/apply", headers=bearer(reviewer))
    )

    assert requested["outcome"] == "approval_required"
    assert requested["flag"]["version"] == 1
    assert assert_problem(own, status=409, code="conflict")["detail"] == (
        f"flag-editor wrote change request {request_id} and cannot approve it"
    )
    assert approved["status"] == "approved"
    assert [r["id"] for r in pending] == [request_id]
    assert applied["outcome"] == "applied"
    staging = applied["flag"]["spec"]["environments"]["staging"]
    assert staging["fallthrough"]["variant"] == "off"


def test_an_admin_creates_lists_and_revokes_sdk_keys(http: httpx.Client, admin_token: str) -> None:
    created = _ok(
        http.post(
            "/api/v1/sdk-keys",
            json={"name": "web-shop", "environment": "staging"},
            headers=bearer(admin_token),
        ),
        201,
    )
    key_id = created["info"]["id"]

    listed = _ok(http.get("/api/v1/sdk-keys", headers=bearer(admin_token)))
    revoked = _ok(http.delete(f"/api/v1/sdk-keys/{key_id}", headers=bearer(admin_token)))

    assert created["key"].startswith(f"lds_{key_id}_")
    assert [(k["id"], k["name"], k["environment"]) for k in listed] == [
        (key_id, "web-shop", "staging")
    ]
    assert created["key"] not in str(listed)
    assert revoked["revoked_at"] is not None


def test_an_sdk_key_for_an_unknown_environment_is_404(http: httpx.Client, admin_token: str) -> None:
    response = http.post(
        "/api/v1/sdk-keys", json={"name": "web", "environment": "qa"}, headers=bearer(admin_token)
    )

    body = assert_problem(response, status=404, code="not_found")
    assert body["detail"] == "no environment 'qa'"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/flags", a_flag()),
        ("post", "/api/v1/flags/new-checkout/changes", {"environment": "staging", "patch": {}}),
        ("delete", "/api/v1/flags/new-checkout", None),
        ("put", "/api/v1/segments/beta", {"key": "beta", "included": ["u"]}),
    ],
    ids=["create", "change", "archive", "segment"],
)
def test_a_reading_token_cannot_change_flags(
    http: httpx.Client, read_token: str, method: str, path: str, body: Any
) -> None:
    response = http.request(method.upper(), path, json=body, headers=bearer(read_token))

    detail = assert_problem(response, status=403, code="forbidden")["detail"]
    assert detail == "token 'dashboard' lacks the 'flags:write' scope"


def test_a_flag_writer_cannot_manage_sdk_keys(http: httpx.Client, writer: str) -> None:
    answers = [
        http.get("/api/v1/sdk-keys", headers=bearer(writer)),
        http.post(
            "/api/v1/sdk-keys",
            json={"name": "web", "environment": "staging"},
            headers=bearer(writer),
        ),
    ]

    for response in answers:
        detail = assert_problem(response, status=403, code="forbidden")["detail"]
        assert detail == "token 'flag-editor' lacks the 'admin' scope"


def test_creating_an_existing_flag_is_409(http: httpx.Client, writer: str) -> None:
    _create(http, writer)

    response = http.post("/api/v1/flags", json=a_flag(), headers=bearer(writer))

    assert assert_problem(response, status=409, code="conflict")["detail"] == (
        "flag 'new-checkout' already exists"
    )


def test_a_change_made_against_an_old_version_is_409(http: httpx.Client, writer: str) -> None:
    _create(http, writer)
    _ok(_change(http, writer, "new-checkout", {"enabled": False}))

    response = _change(http, writer, "new-checkout", {"enabled": True}, expected_version=1)

    detail = assert_problem(response, status=409, code="conflict")["detail"]
    assert detail == "flag 'new-checkout' is at version 2, not 1: someone changed it meanwhile"


def test_archiving_a_prerequisite_of_another_flag_is_409(http: httpx.Client, writer: str) -> None:
    _create(http, writer, key="payments-v2")
    _create(http, writer, prerequisites=[{"flag": "payments-v2"}])

    response = http.delete("/api/v1/flags/payments-v2", headers=bearer(writer))

    detail = assert_problem(response, status=409, code="conflict")["detail"]
    assert detail == "flag 'payments-v2' is a prerequisite of new-checkout"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {
                "environments": {
                    "staging": {"fallthrough": {"rollout": {"weights": {"on": 60, "off": 30}}}}
                }
            },
            "body.environments.staging.fallthrough.rollout.weights",
            "the weights add up to 90 %, not 100 %",
        ),
        (
            {"environments": {"staging": {"fallthrough": {"variant": "maybe"}}}},
            "body",
            "environments.staging.fallthrough serves 'maybe', which is not a variant (off, on)",
        ),
        (
            {"type": "string", "variants": {"a": "x", "b": 2}},
            "body",
            "variant 'b' = 2 is not a string value",
        ),
    ],
    ids=["weights that do not add up", "an unknown variant", "a variant of another type"],
)
def test_an_invalid_flag_is_422_naming_the_field(
    http: httpx.Client, writer: str, fields: dict[str, Any], field: str, message: str
) -> None:
    response = http.post("/api/v1/flags", json=a_flag(**fields), headers=bearer(writer))

    body = assert_problem(response, status=422, code="invalid_request")
    assert body["errors"][0]["field"] == field
    assert body["errors"][0]["message"].startswith(message)


def test_a_flag_in_an_unknown_environment_is_422(http: httpx.Client, writer: str) -> None:
    response = http.post(
        "/api/v1/flags",
        json=a_flag(environments={"qa": {"enabled": True}}),
        headers=bearer(writer),
    )

    body = assert_problem(response, status=422, code="validation_failed")
    assert len(body["errors"]) == 1
    assert "qa" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "detail"),
    [
        ("get", "/api/v1/flags/nope", None, "no flag 'nope'"),
        ("get", "/api/v1/flags/nope/history", None, "no flag 'nope'"),
        (
            "post",
            "/api/v1/flags/nope/changes",
            {"environment": "staging", "patch": {"enabled": False}},
            "no flag 'nope'",
        ),
        (
            "post",
            "/api/v1/flags/new-checkout/changes",
            {"environment": "qa", "patch": {"enabled": True}},
            "no environment 'qa'",
        ),
        (
            "post",
            "/api/v1/flags/new-checkout/restore",
            {"version": 9},
            "flag 'new-checkout' has no version 9",
        ),
        (
            "post",
            "/api/v1/flag-change-requests/cr-00000000/approve",
            {},
            "no change request 'cr-00000000'",
        ),
        ("delete", "/api/v1/sdk-keys/0123456789ab", None, "no SDK key with id '0123456789ab'"),
    ],
    ids=[
        "an unknown flag",
        "the history of an unknown flag",
        "a change to an unknown flag",
        "a change in an unknown environment",
        "an unknown version",
        "an unknown change request",
        "an unknown SDK key",
    ],
)
def test_unknown_things_are_404(
    http: httpx.Client,
    writer: str,
    admin_token: str,
    method: str,
    path: str,
    body: Any,
    detail: str,
) -> None:
    _create(http, writer)

    response = http.request(method.upper(), path, json=body, headers=bearer(admin_token))

    assert assert_problem(response, status=404, code="not_found")["detail"] == detail
