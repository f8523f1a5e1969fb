"""Incidents over real HTTP: open, read, update, tasks and entries by scope; Alertmanager's
webhook with the labels `launchdeck slo rules` generates; "what changed?" from a deploy recorded
through POST /api/v1/timeline; and the gate holding changes back while a SEV1 is open.

The API's clock is the test's `clock`. The example's Black Friday 2026 (tier 1, $185,000/h, on
checkout-api among others) runs 2026-11-27 05:00Z to 11-29 04:59Z; checkout-api depends on
tracking-pixel. The workspace is applied on 2026-11-20, long before any incident here. No
webhook URL is set, so the server's notifications fail at once, without a request.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from api_builders import EXAMPLE, IssueToken, assert_problem, bearer

from launchdeck.auth.model import Scope
from launchdeck.store import Database
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""About HTTP, not the engine: the store suite runs incidents on PostgreSQL too."""

BF_AFTERNOON = datetime(2026, 11, 27, 15, tzinfo=UTC)
OPENED_AT = "2026-11-27T15:00:00Z"
M = timedelta(minutes=1)
WEBHOOK_ENV = ("NORTHWIND_SLACK_PAYMENTS_WEBHOOK", "NORTHWIND_TEAMS_MARKETING_WEBHOOK")

SEV1_RULE = "signal is outage and a tier-1 campaign is affected (a tier-1 campaign is down)"
SEV1_EXPLAINED = (
    f"SEV1 because {SEV1_RULE}. checkout-api: outage, 100% of traffic affected; "
    "Black Friday 2026 (tier 1) is live and reached via checkout-api: "
    "$185,000/h × 100% = $185,000/h at risk; revenue at risk: $185,000/h"
)
STATUS_HINT = (
    "statuses move forward: triage → active → mitigated → resolved → postmortem_done; "
    "a mitigated or resolved incident can reopen as active"
)
PAGE = "CheckoutApiAvailabilityBurnRatePageFast"
PAGE_TITLE = "Checkout API availability: error budget burning 13.44x too fast"
PAGE_DEDUPE_KEY = "alert:checkout-api:checkout-api-availability"


@pytest.fixture(autouse=True)
def no_webhooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's notifications read these: unset, nothing leaves the machine."""
    for name in WEBHOOK_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def applied(db: Database, clock: Any) -> None:
    """The Black Friday example, applied straight to the store; then the clock moves to Black
    Friday afternoon."""
    spec = load_workspace(EXAMPLE).spec
    WorkspaceService(db, actor="seed", clock=clock).apply(spec)
    clock.now = BF_AFTERNOON


@pytest.fixture
def responder(issue_token: IssueToken) -> str:
    return issue_token("pager", Scope.INCIDENTS)


@pytest.fixture
def deployer(issue_token: IssueToken) -> str:
    return issue_token("ci-deployer", Scope.DEPLOY)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _open(http: httpx.Client, token: str, **fields: Any) -> dict[str, Any]:
    body = {"title": "Checkout is down", "systems": ["checkout-api"], **fields}
    view: dict[str, Any] = _ok(
        http.post("/api/v1/incidents", json=body, headers=bearer(token)), 201
    )
    return view


def _patch(http: httpx.Client, token: str, incident_id: int, **body: Any) -> httpx.Response:
    return http.patch(f"/api/v1/incidents/{incident_id}", json=body, headers=bearer(token))


def _show(http: httpx.Client, token: str, incident_id: int) -> dict[str, Any]:
    view: dict[str, Any] = _ok(http.get(f"/api/v1/incidents/{incident_id}", headers=bearer(token)))
    return view


def _list(http: httpx.Client, token: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _ok(
        http.get("/api/v1/incidents", params=params, headers=bearer(token))
    )
    return found


def _events(http: httpx.Client, token: str, kind: str) -> list[dict[str, Any]]:
    page = _ok(http.get("/api/v1/timeline", params={"kind": kind}, headers=bearer(token)))
    events: list[dict[str, Any]] = page["events"]
    return events


def _of_kind(view: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in view["entries"] if e["kind"] == kind]


def _alert(alertname: str, severity: str, *, status: str = "firing", **annotations: str) -> Any:
    """One alert as Alertmanager sends it for a rule `launchdeck slo rules` generated."""
    return {
        "status": status,
        "labels": {
            "alertname": alertname,
            "sloth_id": "checkout-api-availability",
            "sloth_service": "checkout-api",
            "sloth_slo": "checkout-api-availability",
            "severity": severity,
            "sloth_severity": severity,
            "tier": "page-fast" if severity == "page" else "ticket-fast",
        },
        "annotations": annotations
        or {
            "title": PAGE_TITLE,
            "summary": "Checkout API availability (checkout-api-availability) is burning its 28d "
            "error budget faster than 13.44x over 1h and 5m",
        },
        "startsAt": "2026-11-27T14:55:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-27T15:20:00Z",
        "generatorURL": "http://prometheus.northwind.example/graph?g0.expr=slo",
        "fingerprint": "5f2a9c1b7d3e4a60",
    }


def _webhook(*alerts: Any, status: str = "firing") -> dict[str, Any]:
    """Alertmanager's webhook body, version 4, with the fields launchdeck ignores as well."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="CheckoutApiAvailabilityBurnRatePageFast"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "launchdeck",
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": alerts[0]["labels"],
        "commonAnnotations": alerts[0]["annotations"],
        "externalURL": "http://alertmanager.northwind.example",
        "alerts": list(alerts),
    }


def _post_alerts(http: httpx.Client, token: str, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = _ok(
        http.post("/api/v1/incidents/alerts", json=body, headers=bearer(token))
    )
    return result


# --- open, read -------------------------------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_a_responder_opens_a_sev1_on_checkout_during_black_friday_and_anyone_reads_it(
    http: httpx.Client, responder: str, read_token: str
) -> None:
    opened = _open(http, responder, commander="alice")

    incident = opened["incident"]
    assert {k: incident[k] for k in ("id", "title", "systems", "signal", "severity")} == {
        "id": 1,
        "title": "Checkout is down",
        "systems": ["checkout-api"],
        "signal": "outage",
        "severity": "SEV1",
    }
    assert (incident["priority"], incident["status"], incident["source"]) == (
        "P1",
        "triage",
        "manual",
    )
    assert (incident["severity_manual"], incident["priority_manual"]) == (False, False)
    assert (incident["opened_by"], incident["roles"]["commander"]) == ("pager", "alice")
    assert incident["detected_at"] == incident["opened_at"] == "2026-11-27T15:00:00Z"
    assessment = incident["assessment"]
    assert (assessment["severity"], assessment["rule"]) == ("SEV1", SEV1_RULE)
    assert assessment["revenue_at_risk_per_hour"] == {"USD": 185_000.0}
    assert [
        (c["campaign_id"], c["name"], c["tier"], c["revenue_at_risk_per_hour"], c["path"])
        for c in assessment["campaigns"]
    ] == [
        ("black-friday", "Black Friday 2026", 1, 185_000.0, ["checkout-api", "Black Friday 2026"])
    ]
    (entry,) = opened["entries"]
    assert {k: entry[k] for k in ("kind", "at", "actor", "pinned", "text")} == {
        "kind": "opened",
        "at": "2026-11-27T15:00:00Z",
        "actor": "pager",
        "pinned": True,
        "text": f"opened (manual): {SEV1_EXPLAINED}",
    }
    assert opened["tasks"] == []
    assert opened["durations"] == {
        "time_to_detect_s": 0.0,
        "time_to_mitigate_s": None,
        "time_to_resolve_s": None,
    }

    listed = _list(http, read_token)
    shown = _show(http, read_token, 1)

    assert [(i["id"], i["severity"], i["status"]) for i in listed] == [(1, "SEV1", "triage")]
    assert shown["incident"] == incident
    assert shown["entries"][0] == entry
    (event,) = _events(http, read_token, "incident.opened")
    assert (event["actor"], event["subject"], event["system"]) == (
        "pager",
        "incident/1",
        "checkout-api",
    )
    assert event["payload"]["campaigns"] == ["black-friday"]
    assert event["payload"]["revenue_at_risk_per_hour"] == {"USD": 185_000.0}


@pytest.mark.usefixtures("applied")
def test_a_notification_that_cannot_be_sent_is_on_the_incident_and_the_open_still_succeeds(
    http: httpx.Client, responder: str, read_token: str
) -> None:
    _open(http, responder)

    shown = _show(http, read_token, 1)

    told = [
        (e["actor"], e["data"]["channel"], e["data"]["ok"]) for e in _of_kind(shown, "notification")
    ]
    assert told == [
        ("launchdeck", "payments-oncall", False),
        ("launchdeck", "marketing-updates", False),
    ]
    failures = _events(http, read_token, "notify.failed")
    assert sorted((e["payload"]["channel"], e["payload"]["error"]) for e in failures) == [
        ("marketing-updates", "environment variable NORTHWIND_TEAMS_MARKETING_WEBHOOK is not set"),
        ("payments-oncall", "environment variable NORTHWIND_SLACK_PAYMENTS_WEBHOOK is not set"),
    ]


@pytest.mark.usefixtures("applied")
def test_a_read_token_cannot_open_an_incident(
    http: httpx.Client, read_token: str, deployer: str
) -> None:
    body = {"title": "Checkout is down", "systems": ["checkout-api"]}

    answers = [
        http.post("/api/v1/incidents", json=body, headers=bearer(token))
        for token in (read_token, deployer)
    ]

    for answer, name in zip(answers, ("dashboard", "ci-deployer"), strict=True):
        problem = assert_problem(answer, status=403, code="forbidden")
        assert problem["detail"] == f"token {name!r} lacks the 'incidents' scope"
        assert problem["hint"] == "create a token with --scope incidents"
    assert _list(http, read_token, all=True) == []
    assert _events(http, read_token, "incident") == []


@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"title": "Checkout is down", "systems": ["checkout-api"], "traffic_share": 2},
            "body.traffic_share",
            "Input should be less than or equal to 1",
        ),
        (
            {"title": "Checkout is down", "systems": []},
            "body.systems",
            "Tuple should have at least 1 item after validation, not 0",
        ),
        ({"systems": ["checkout-api"]}, "body.title", "Field required"),
        (
            {"title": "Checkout is down", "systems": ["checkout-api"], "severity": "SEV5"},
            "body.severity",
            "Input should be 'SEV1', 'SEV2', 'SEV3' or 'SEV4'",
        ),
        (
            {"title": "x", "systems": ["checkout-api"], "started_at": "2026-11-27T14:00:00"},
            "body.started_at",
            "Input should have timezone info",
        ),
        (
            {"title": "x", "systems": ["checkout-api"], "sev": "SEV1"},
            "body.sev",
            "Extra inputs are not permitted",
        ),
    ],
    ids=[
        "a traffic share above 1",
        "no system",
        "no title",
        "an unknown severity",
        "a time without a zone",
        "a misspelled field",
    ],
)
def test_a_malformed_incident_is_a_422_problem_and_opens_nothing(
    http: httpx.Client,
    responder: str,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    response = http.post("/api/v1/incidents", json=body, headers=bearer(responder))

    problem = assert_problem(response, status=422, code="invalid_request")
    assert problem["errors"][0] == {"field": field, "message": message}
    assert _list(http, responder, all=True) == []


@pytest.mark.usefixtures("applied")
def test_an_incident_on_an_unknown_system_is_a_404_problem(
    http: httpx.Client, responder: str
) -> None:
    body = {"title": "Checkout is down", "systems": ["checkout-api", "payments-gw"]}

    response = http.post("/api/v1/incidents", json=body, headers=bearer(responder))

    problem = assert_problem(response, status=404, code="not_found")
    assert problem["detail"] == "no system 'payments-gw'"
    assert _list(http, responder, all=True) == []


@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize(
    ("method", "path", "body", "detail"),
    [
        ("GET", "/api/v1/incidents/99", None, "no incident INC-99"),
        ("PATCH", "/api/v1/incidents/99", {"status": "active"}, "no incident INC-99"),
        ("POST", "/api/v1/incidents/99/tasks", {"title": "look"}, "no incident INC-99"),
        ("POST", "/api/v1/incidents/99/entries", {"text": "hello"}, "no incident INC-99"),
        ("PATCH", "/api/v1/incidents/1/tasks/42", {"done": True}, "INC-1 has no task 42"),
        ("PATCH", "/api/v1/incidents/1/entries/4242", {"pinned": True}, "INC-1 has no entry 4242"),
    ],
    ids=[
        "show",
        "update",
        "add a task",
        "add an entry",
        "an unknown task",
        "an unknown entry",
    ],
)
def test_an_unknown_incident_task_or_entry_is_a_404_problem(
    http: httpx.Client,
    responder: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    detail: str,
) -> None:
    _open(http, responder)

    response = http.request(method, path, json=body, headers=bearer(responder))

    problem = assert_problem(response, status=404, code="not_found")
    assert problem["detail"] == detail


# --- update, tasks, entries -------------------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_status_moves_forward_and_an_illegal_move_is_a_400_problem_with_a_hint(
    http: httpx.Client, responder: str, read_token: str, clock: Any
) -> None:
    _open(http, responder)
    clock.advance(5 * M)
    active = _ok(_patch(http, responder, 1, status="active", commander="alice", note="on it"))
    clock.advance(25 * M)
    mitigated = _ok(_patch(http, responder, 1, status="mitigated"))
    clock.advance(30 * M)
    resolved = _ok(_patch(http, responder, 1, status="resolved"))
    backwards = _patch(http, responder, 1, status="triage")
    nothing = _patch(http, responder, 1)
    by_reader = _patch(http, read_token, 1, status="active")

    assert (active["incident"]["status"], active["incident"]["roles"]["commander"]) == (
        "active",
        "alice",
    )
    assert [(e["kind"], e["text"]) for e in active["entries"] if e["at"] > OPENED_AT] == [
        ("role", "commander: alice"),
        ("status", "status: triage → active"),
        ("note", "on it"),
    ]
    assert mitigated["incident"]["mitigated_at"] == "2026-11-27T15:30:00Z"
    assert mitigated["durations"]["time_to_mitigate_s"] == 1800.0
    assert (resolved["incident"]["status"], resolved["incident"]["resolved_at"]) == (
        "resolved",
        "2026-11-27T16:00:00Z",
    )
    assert resolved["durations"] == {
        "time_to_detect_s": 0.0,
        "time_to_mitigate_s": 1800.0,
        "time_to_resolve_s": 3600.0,
    }
    problem = assert_problem(backwards, status=400, code="usage")
    assert problem["detail"] == "INC-1 cannot go from resolved to triage"
    assert problem["hint"] == STATUS_HINT
    problem = assert_problem(nothing, status=400, code="usage")
    assert problem["detail"] == "nothing to update"
    assert_problem(by_reader, status=403, code="forbidden")

    shown = _show(http, read_token, 1)
    assert shown["incident"]["status"] == "resolved"
    assert [e["text"] for e in _of_kind(shown, "status")] == [
        "status: triage → active",
        "status: active → mitigated",
        "status: mitigated → resolved",
    ]
    assert _list(http, read_token) == []
    assert [i["id"] for i in _list(http, read_token, all=True)] == [1]
    kinds = [e["kind"] for e in reversed(_events(http, read_token, "incident"))]
    assert kinds == [
        "incident.opened",
        "incident.status_changed",
        "incident.mitigated",
        "incident.resolved",
    ]

    reopened = _ok(_patch(http, responder, 1, status="active"))
    assert (reopened["incident"]["status"], reopened["incident"]["resolved_at"]) == (
        "active",
        None,
    )


@pytest.mark.usefixtures("applied")
def test_tasks_are_added_and_marked_done_with_an_entry_each(
    http: httpx.Client, responder: str, read_token: str, clock: Any
) -> None:
    _open(http, responder)
    clock.advance(2 * M)
    body = {"title": "Fail over the payment provider", "owner": "bob"}

    added = http.post("/api/v1/incidents/1/tasks", json=body, headers=bearer(responder))
    by_reader = http.post("/api/v1/incidents/1/tasks", json=body, headers=bearer(read_token))
    clock.advance(10 * M)
    done = http.patch("/api/v1/incidents/1/tasks/1", json={"done": True}, headers=bearer(responder))

    task = _ok(added, 201)
    assert {k: task[k] for k in ("id", "incident_id", "title", "kind", "owner", "status")} == {
        "id": 1,
        "incident_id": 1,
        "title": "Fail over the payment provider",
        "kind": "task",
        "owner": "bob",
        "status": "open",
    }
    assert (task["created_at"], task["done_at"]) == ("2026-11-27T15:02:00Z", None)
    assert_problem(by_reader, status=403, code="forbidden")
    finished = _ok(done)
    assert (finished["status"], finished["done_at"]) == ("done", "2026-11-27T15:12:00Z")
    shown = _show(http, read_token, 1)
    assert [t["status"] for t in shown["tasks"]] == ["done"]
    assert [e["text"] for e in _of_kind(shown, "task")] == [
        "task #1: Fail over the payment provider → bob",
        "task #1 done: Fail over the payment provider",
    ]


@pytest.mark.usefixtures("applied")
def test_a_runbook_step_is_an_entry_and_an_event_and_entries_can_be_pinned(
    http: httpx.Client, responder: str, read_token: str, clock: Any
) -> None:
    _open(http, responder)
    clock.advance(3 * M)
    step = {
        "kind": "runbook",
        "text": "deployment-rollback step 2: rolled checkout-api back to v2.3.9",
        "data": {"runbook": "deployment-rollback", "step": 2},
    }

    added = http.post("/api/v1/incidents/1/entries", json=step, headers=bearer(responder))
    view = _ok(added, 201)
    (entry,) = _of_kind(view, "runbook")
    pinned = http.patch(
        f"/api/v1/incidents/1/entries/{entry['id']}",
        json={"pinned": True},
        headers=bearer(responder),
    )
    by_reader = http.patch(
        f"/api/v1/incidents/1/entries/{entry['id']}",
        json={"pinned": False},
        headers=bearer(read_token),
    )
    not_a_kind = http.post(
        "/api/v1/incidents/1/entries",
        json={"kind": "opened", "text": "again"},
        headers=bearer(responder),
    )

    assert (entry["at"], entry["actor"], entry["pinned"], entry["text"]) == (
        "2026-11-27T15:03:00Z",
        "pager",
        False,
        step["text"],
    )
    assert entry["data"] == {"runbook": "deployment-rollback", "step": 2}
    (event,) = _events(http, read_token, "incident.runbook_step")
    assert event["payload"] == {
        "incident": 1,
        "systems": ["checkout-api"],
        "text": step["text"],
        "runbook": "deployment-rollback",
        "step": 2,
    }
    after_pin = _ok(pinned)
    assert [e["pinned"] for e in _of_kind(after_pin, "runbook")] == [True]
    assert_problem(by_reader, status=403, code="forbidden")
    problem = assert_problem(not_a_kind, status=422, code="invalid_request")
    assert problem["errors"][0]["field"] == "body.kind"
    assert [e["pinned"] for e in _of_kind(_show(http, read_token, 1), "runbook")] == [True]


# --- Alertmanager -----------------------------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_a_firing_page_opens_one_incident_and_firing_again_adds_an_alert_entry(
    http: httpx.Client, responder: str, read_token: str, clock: Any
) -> None:
    page = _webhook(_alert(PAGE, "page"))

    first = _post_alerts(http, responder, page)
    clock.advance(5 * M)
    again = _post_alerts(http, responder, page)

    assert first == {"incidents": [1], "skipped": []}
    assert again == {"incidents": [1], "skipped": []}
    (incident,) = _list(http, read_token, all=True)
    assert (incident["title"], incident["source"], incident["type"]) == (
        PAGE_TITLE,
        "burn_alert",
        "slo-burn",
    )
    assert (incident["signal"], incident["systems"], incident["dedupe_key"]) == (
        "degradation",
        ["checkout-api"],
        PAGE_DEDUPE_KEY,
    )
    assert incident["summary"].startswith("Checkout API availability (checkout-api-availability)")
    assert incident["started_at"] == incident["detected_at"] == "2026-11-27T14:55:00Z"
    assert incident["opened_at"] == "2026-11-27T15:00:00Z"
    # A degradation reaches 25 % of Black Friday's traffic: a tier-1 campaign degraded is SEV2.
    assert (incident["severity"], incident["opened_by"]) == ("SEV2", "pager")
    assert incident["assessment"]["revenue_at_risk_per_hour"] == {"USD": 46_250.0}
    shown = _show(http, read_token, 1)
    (opened,) = _of_kind(shown, "opened")
    assert opened["text"].startswith("opened (burn_alert): SEV2 because ")
    (fired,) = _of_kind(shown, "alert")
    assert (fired["at"], fired["text"]) == ("2026-11-27T15:05:00Z", f"fired again: {PAGE_TITLE}")
    assert len(_events(http, read_token, "incident.opened")) == 1


@pytest.mark.usefixtures("applied")
def test_a_ticket_is_skipped_with_a_reason_and_opens_nothing(
    http: httpx.Client, responder: str, read_token: str
) -> None:
    ticket = "CheckoutApiAvailabilityBurnRateTicketFast"
    no_system = _alert("SomethingElse", "page")
    for label in ("sloth_service", "sloth_id", "sloth_slo"):
        del no_system["labels"][label]

    result = _post_alerts(http, responder, _webhook(_alert(ticket, "ticket"), no_system))

    assert result == {
        "incidents": [],
        "skipped": [
            f"{ticket}: not a page with a system label",
            "SomethingElse: not a page with a system label",
        ],
    }
    assert _list(http, read_token, all=True) == []


@pytest.mark.usefixtures("applied")
def test_a_resolved_page_is_noted_on_its_incident_which_stays_open(
    http: httpx.Client, responder: str, read_token: str, clock: Any
) -> None:
    _post_alerts(http, responder, _webhook(_alert(PAGE, "page")))
    clock.advance(20 * M)

    result = _post_alerts(
        http, responder, _webhook(_alert(PAGE, "page", status="resolved"), status="resolved")
    )

    assert result == {"incidents": [1], "skipped": []}
    shown = _show(http, read_token, 1)
    assert shown["incident"]["status"] == "triage"
    (noted,) = _of_kind(shown, "alert")
    assert (noted["at"], noted["text"]) == ("2026-11-27T15:20:00Z", f"alert resolved: {PAGE_TITLE}")
    assert noted["data"] == {"dedupe_key": PAGE_DEDUPE_KEY}


@pytest.mark.usefixtures("applied")
def test_alerts_need_the_incidents_scope(http: httpx.Client, read_token: str) -> None:
    response = http.post(
        "/api/v1/incidents/alerts", json=_webhook(_alert(PAGE, "page")), headers=bearer(read_token)
    )

    problem = assert_problem(response, status=403, code="forbidden")
    assert problem["detail"] == "token 'dashboard' lacks the 'incidents' scope"
    assert _list(http, read_token, all=True) == []


# --- what changed? ----------------------------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_a_deploy_recorded_before_detection_is_a_change_entry_of_the_incident(
    http: httpx.Client, responder: str, deployer: str, read_token: str, clock: Any
) -> None:
    clock.now = BF_AFTERNOON - 30 * M
    pixel = {
        "kind": "deploy",
        "system": "tracking-pixel",
        "environment": "production",
        "version": "v2.4.0",
        "note": "consent banner rework",
        "url": "https://ci.northwind.example/runs/8812",
    }
    cms = {"kind": "deploy", "system": "cms", "environment": "production", "version": "v9.1"}

    recorded = http.post("/api/v1/timeline", json=pixel, headers=bearer(deployer))
    unrelated = http.post("/api/v1/timeline", json=cms, headers=bearer(deployer))
    refused = http.post("/api/v1/timeline", json=pixel, headers=bearer(read_token))
    clock.now = BF_AFTERNOON
    opened = _open(http, responder)

    event = _ok(recorded, 201)
    assert {k: event[k] for k in ("kind", "actor", "subject", "system", "environment")} == {
        "kind": "deploy.recorded",
        "actor": "ci-deployer",
        "subject": "system/tracking-pixel",
        "system": "tracking-pixel",
        "environment": "production",
    }
    assert event["occurred_at"] == "2026-11-27T14:30:00Z"
    assert event["payload"] == {
        "version": "v2.4.0",
        "note": "consent banner rework",
        "url": "https://ci.northwind.example/runs/8812",
    }
    _ok(unrelated, 201)
    problem = assert_problem(refused, status=403, code="forbidden")
    assert problem["detail"] == "token 'dashboard' lacks the 'deploy' scope"
    assert [e["system"] for e in _events(http, read_token, "deploy.recorded")] == [
        "cms",
        "tracking-pixel",
    ]

    # checkout-api depends on tracking-pixel: its deploy is a suspect; the cms deploy is not.
    (change,) = _of_kind(opened, "change")
    assert {k: change[k] for k in ("at", "actor", "text")} == {
        "at": "2026-11-27T14:30:00Z",
        "actor": "ci-deployer",
        "text": "deploy.recorded tracking-pixel (production): "
        "version v2.4.0, note consent banner rework",
    }
    assert change["data"] == {
        "event": event["id"],
        "kind": "deploy.recorded",
        "subject": "system/tracking-pixel",
    }
    assert [e["kind"] for e in opened["entries"]] == ["change", "opened"]


@pytest.mark.usefixtures("applied")
def test_a_recorded_change_of_an_unknown_system_or_in_the_future_is_refused(
    http: httpx.Client, deployer: str, read_token: str
) -> None:
    unknown = http.post(
        "/api/v1/timeline", json={"kind": "deploy", "system": "nope"}, headers=bearer(deployer)
    )
    future = http.post(
        "/api/v1/timeline",
        json={"kind": "deploy", "system": "cms", "at": "2026-11-27T16:00:00Z"},
        headers=bearer(deployer),
    )
    wrong_kind = http.post(
        "/api/v1/timeline", json={"kind": "release", "system": "cms"}, headers=bearer(deployer)
    )

    assert assert_problem(unknown, status=404, code="not_found")["detail"] == "no system 'nope'"
    problem = assert_problem(future, status=400, code="usage")
    assert problem["detail"] == (
        "a recorded change cannot be in the future (2026-11-27T16:00:00+00:00)"
    )
    assert (
        assert_problem(wrong_kind, status=422, code="invalid_request")["errors"][0]["field"]
        == "body.kind"
    )
    assert _events(http, read_token, "deploy.recorded") == []


# --- the gate ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_an_open_sev1_blocks_a_feature_to_checkout_but_lets_a_rollback_through(
    http: httpx.Client, responder: str, read_token: str
) -> None:
    before = _check(http, read_token, change_type="feature")
    _open(http, responder)

    feature = _check(http, read_token, change_type="feature")
    rollback = _check(http, read_token, change_type="rollback")
    elsewhere = _check(http, read_token, change_type="feature", system="crm-sync")

    assert _open_incident(before) == ("pass", "no open incident on checkout-api")
    label = "INC-1 (SEV1, triage: Checkout is down)"
    assert feature["decision"] == "block"
    assert _open_incident(feature) == (
        "block",
        f"{label} is open on checkout-api: only rollback, hotfix, reliability until it is "
        "mitigated",
    )
    facts = next(c for c in feature["checks"] if c["check"] == "open_incident")["facts"]
    assert facts == {
        "incident": "INC-1",
        "severity": "SEV1",
        "status": "triage",
        "open_incidents": 1,
    }
    assert _open_incident(rollback) == (
        "pass",
        f"{label} is open; a rollback is allowed as remediation",
    )
    # The freeze allows a rollback with a warning; nothing blocks it.
    assert rollback["decision"] == "warn"
    assert [c["check"] for c in rollback["checks"] if c["outcome"] == "block"] == []
    assert _open_incident(elsewhere) == ("pass", "no open incident on crm-sync")


@pytest.mark.usefixtures("applied")
def test_a_mitigated_sev1_only_warns(http: httpx.Client, responder: str, read_token: str) -> None:
    _open(http, responder)
    _ok(_patch(http, responder, 1, status="mitigated"))

    feature = _check(http, read_token, change_type="feature")

    assert _open_incident(feature) == (
        "warn",
        "INC-1 (SEV1, mitigated: Checkout is down) is mitigated but not resolved: change with care",
    )


def _check(http: httpx.Client, token: str, **body: Any) -> dict[str, Any]:
    body = {"system": "checkout-api", **body}
    verdict: dict[str, Any] = _ok(http.post("/api/v1/gate/check", json=body, headers=bearer(token)))
    return verdict


def _open_incident(verdict: dict[str, Any]) -> tuple[str, str]:
    (check,) = [c for c in verdict["checks"] if c["check"] == "open_incident"]
    return check["outcome"], check["summary"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/incidents",
            {"title": "Old", "systems": ["cms"], "detected_at": "0001-01-02T00:00:00Z"},
            "detected_at",
        ),
        (
            "/api/v1/incidents",
            {"title": "Old", "systems": ["cms"], "started_at": "9999-12-31T23:00:00+00:00"},
            "started_at",
        ),
    ],
    ids=["detected in year 1", "started in year 9999"],
)
def test_an_instant_outside_the_plausible_years_is_a_422_not_a_crash(
    http: httpx.Client, responder: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = http.post(path, json=body, headers=bearer(responder))

    problem = assert_problem(response, status=422, code="invalid_request")
    assert field in json.dumps(problem)
    assert "the year must be between 1970 and 2999" in json.dumps(problem)
