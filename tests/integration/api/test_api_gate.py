"""The gate, overrides, the calendar, its iCalendar feed and ad-hoc freezes over real HTTP:
verdicts for any token, writes by scope, problem+json for everything refused.

The API's clock is the test's `clock`; the example's Black Friday runs 2026-11-27 05:00Z to
11-29 04:59Z, frozen (tier 1) from 11-26 05:00Z to 12-01 04:59Z.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar
import pytest
from api_builders import EXAMPLE, IssueToken, assert_problem, bearer

from launchdeck.auth.model import Scope
from launchdeck.store import Database
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""Most of this suite is about HTTP, not the engine: SQLite only, PostgreSQL for a few."""
BLACK_FRIDAY_AFTERNOON = "2026-11-27T15:00:00Z"
CMS_ON_BLACK_FRIDAY = {"system": "cms", "at": BLACK_FRIDAY_AFTERNOON}


@pytest.fixture
def applied(db: Database, clock: Any) -> None:
    """The Black Friday example, applied straight to the store."""
    spec = load_workspace(EXAMPLE).spec
    WorkspaceService(db, actor="seed", clock=clock).apply(spec)


def _check(http: httpx.Client, token: str, **body: Any) -> dict[str, Any]:
    response = http.post("/api/v1/gate/check", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    verdict: dict[str, Any] = response.json()
    return verdict


def _sets(window: dict[str, Any]) -> dict[str, Any]:
    """A freeze window with its set-valued fields sorted (JSON gives sets in no fixed order)."""
    sets = {"allow", "systems", "environments"}
    return {k: sorted(v) if k in sets else v for k, v in window.items()}


def _events(http: httpx.Client, token: str, kind: str) -> list[dict[str, Any]]:
    response = http.get("/api/v1/timeline", params={"kind": kind}, headers=bearer(token))
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


# --- the gate ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_any_token_may_ask_the_gate_and_each_block_names_who_asked(
    http: httpx.Client, issue_token: IssueToken
) -> None:
    asked = {
        name: _check(http, issue_token(name, scope), **CMS_ON_BLACK_FRIDAY)
        for name, scope in [
            ("dashboard", Scope.READ),
            ("ci-deployer", Scope.DEPLOY),
            ("flag-bot", Scope.FLAGS_WRITE),
            ("pager", Scope.INCIDENTS),
        ]
    }

    verdicts = list(asked.values())
    assert {v["decision"] for v in verdicts} == {"block"}
    assert {v["next_allowed_at"] for v in verdicts} == {"2026-12-07T02:00:00Z"}
    assert verdicts == [verdicts[0]] * 4
    assert [c["check"] for c in verdicts[0]["checks"]] == [
        "freeze_window",
        "active_release",
        "error_budget",
        "open_incident",
    ]
    events = _events(http, issue_token("auditor", Scope.READ), "gate.blocked")
    assert [(e["actor"], e["subject"]) for e in events] == [
        ("pager", "system/cms"),
        ("flag-bot", "system/cms"),
        ("ci-deployer", "system/cms"),
        ("dashboard", "system/cms"),
    ]


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
def test_asking_the_gate_without_a_valid_token_is_401(http: httpx.Client) -> None:
    missing = http.post("/api/v1/gate/check", json=CMS_ON_BLACK_FRIDAY)
    unknown = http.post(
        "/api/v1/gate/check",
        json=CMS_ON_BLACK_FRIDAY,
        headers=bearer("ld_0123456789abcdef_" + "x" * 32),
    )

    for response in (missing, unknown):
        assert_problem(response, status=401, code="unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "body.system", "Field required"),
        (
            {"system": "cms", "change_type": "deploy"},
            "body.change_type",
            "Input should be 'rollback', 'hotfix', 'content', 'config', 'flag', 'feature' or "
            "'reliability'",
        ),
        (
            {"system": "cms", "at": "2026-11-27T15:00:00"},
            "body.at",
            "Input should have timezone info",
        ),
        (
            {"system": "Checkout_API"},
            "body.system",
            "String should match pattern '^[a-z0-9][a-z0-9-]{0,62}$'",
        ),
        ({"system": "cms", "env": "staging"}, "body.env", "Extra inputs are not permitted"),
        (
            {"system": "cms", "at": "9999-12-31T00:00:00Z"},
            "body.at",
            "the year must be between 1970 and 2999",
        ),
    ],
    ids=[
        "no system",
        "unknown change type",
        "a time without a zone",
        "malformed system id",
        "a misspelled field",
        "a time no calendar reaches",
    ],
)
def test_a_malformed_gate_request_is_a_422_problem_and_records_nothing(
    http: httpx.Client, read_token: str, body: dict[str, Any], field: str, message: str
) -> None:
    response = http.post("/api/v1/gate/check", json=body, headers=bearer(read_token))

    problem = assert_problem(response, status=422, code="invalid_request")
    assert problem["detail"] == f"{field}: {message}"
    assert problem["errors"][0] == {"field": field, "message": message}
    assert _events(http, read_token, "gate") == []


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize(
    ("body", "detail", "hint"),
    [
        ({"system": "nope"}, "no system 'nope'", "see 'launchdeck systems list'"),
        (
            {"system": "cms", "environment": "qa"},
            "no environment 'qa'",
            "use one of: production, staging",
        ),
    ],
    ids=["unknown system", "unknown environment"],
)
def test_a_check_of_something_unknown_is_a_404_problem_with_a_hint(
    http: httpx.Client, read_token: str, body: dict[str, Any], detail: str, hint: str
) -> None:
    response = http.post("/api/v1/gate/check", json=body, headers=bearer(read_token))

    problem = assert_problem(response, status=404, code="not_found")
    assert (problem["detail"], problem["hint"]) == (detail, hint)


# --- overrides --------------------------------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_an_admin_override_warns_instead_of_blocking_until_it_ends(
    http: httpx.Client, admin_token: str, read_token: str, clock: Any
) -> None:
    clock.now = datetime(2026, 11, 27, 14, tzinfo=UTC)
    body = {"system": "cms", "until": "2026-11-27T16:00:00Z", "reason": "copy fix"}

    created = http.post("/api/v1/gate/overrides", json=body, headers=bearer(admin_token))
    during = _check(http, read_token, **CMS_ON_BLACK_FRIDAY)
    at_its_end = _check(http, read_token, system="cms", at="2026-11-27T16:00:00Z")
    listed = http.get("/api/v1/gate/overrides", headers=bearer(read_token)).json()
    clock.advance(timedelta(hours=2))
    listed_later = http.get("/api/v1/gate/overrides", headers=bearer(read_token)).json()

    assert created.status_code == 201, created.text
    override = created.json()
    assert {k: v for k, v in override.items() if k != "id"} == {
        "system": "cms",
        "environment": None,
        "starts_at": "2026-11-27T14:00:00Z",
        "ends_at": "2026-11-27T16:00:00Z",
        "reason": "copy fix",
        "created_by": "admin-bot",
        "created_at": "2026-11-27T14:00:00Z",
    }
    assert (during["decision"], during["overrides"]) == ("warn", [override])
    assert during["checks"][0]["outcome"] == "warn"
    assert during["checks"][0]["summary"].startswith(
        "overridden by admin-bot until 2026-11-27 16:00 UTC (copy fix): campaign freeze "
        "'Black Friday 2026' "
    )
    assert during["checks"][0]["facts"]["override"] == override["id"]
    assert (at_its_end["decision"], at_its_end["overrides"]) == ("block", [])
    assert listed == [override]
    assert listed_later == []
    events = _events(http, read_token, "gate.override_added")
    assert [(e["actor"], e["subject"], e["payload"]) for e in events] == [
        (
            "admin-bot",
            f"override/{override['id']}",
            {"until": "2026-11-27T16:00:00+00:00", "reason": "copy fix"},
        )
    ]


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
def test_an_override_for_one_environment_leaves_the_others_frozen(
    http: httpx.Client, admin_token: str, read_token: str, clock: Any
) -> None:
    clock.now = datetime(2026, 11, 27, 14, tzinfo=UTC)
    body = {
        "system": "cms",
        "environment": "staging",
        "until": "2026-11-27T16:00:00Z",
        "reason": "staging only",
    }
    assert http.post("/api/v1/gate/overrides", json=body, headers=bearer(admin_token)).is_success

    verdict = _check(http, read_token, **CMS_ON_BLACK_FRIDAY)

    assert (verdict["decision"], verdict["overrides"]) == ("block", [])


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize("scope", [Scope.READ, Scope.DEPLOY], ids=["read", "deploy"])
def test_only_an_admin_may_add_an_override(
    http: httpx.Client, issue_token: IssueToken, read_token: str, scope: Scope
) -> None:
    token = issue_token("release-bot", scope)
    body = {"system": "cms", "until": "2026-11-27T16:00:00Z", "reason": "please"}

    response = http.post("/api/v1/gate/overrides", json=body, headers=bearer(token))

    problem = assert_problem(response, status=403, code="forbidden")
    assert problem["detail"] == "token 'release-bot' lacks the 'admin' scope"
    assert http.get("/api/v1/gate/overrides", headers=bearer(token)).json() == []
    assert _events(http, read_token, "gate") == []


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize(
    ("body", "status", "code", "detail"),
    [
        (
            {"system": "cms", "until": "2026-11-20T11:00:00Z", "reason": "late"},
            400,
            "usage",
            "an override must end in the future",
        ),
        (
            {"system": "nope", "until": "2026-11-21T00:00:00Z", "reason": "r"},
            404,
            "not_found",
            "no system 'nope'",
        ),
        (
            {"system": "cms", "until": "2026-11-21T00:00:00Z"},
            422,
            "invalid_request",
            "body.reason: Field required",
        ),
    ],
    ids=["ends in the past", "unknown system", "no reason"],
)
def test_a_refused_override_is_a_problem_and_adds_nothing(
    http: httpx.Client,
    admin_token: str,
    body: dict[str, Any],
    status: int,
    code: str,
    detail: str,
) -> None:
    response = http.post("/api/v1/gate/overrides", json=body, headers=bearer(admin_token))

    assert assert_problem(response, status=status, code=code)["detail"] == detail
    assert http.get("/api/v1/gate/overrides", headers=bearer(admin_token)).json() == []


# --- calendar ---------------------------------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
def test_the_calendar_lists_campaigns_and_freezes_for_a_system(
    http: httpx.Client, read_token: str
) -> None:
    params = {"from": "2026-11-27T06:00:00Z", "to": "2026-11-29T00:00:00Z", "system": "cms"}

    response = http.get("/api/v1/calendar", params=params, headers=bearer(read_token))

    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["start"], view["end"], view["timezone"]) == (
        "2026-11-27T06:00:00Z",
        "2026-11-29T00:00:00Z",
        "America/New_York",
    )
    assert [c["campaign_id"] for c in view["campaigns"]] == [
        "black-friday",
        "small-business-saturday",
    ]
    assert [(f["id"], f["starts_at"], f["ends_at"]) for f in view["freezes"]] == [
        ("campaign:black-friday", "2026-11-26T05:00:00Z", "2026-12-01T04:59:00Z")
    ]


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize(
    ("params", "status", "code", "detail"),
    [
        ({"to": "2026-11-29T00:00:00Z"}, 422, "invalid_request", "query.from: Field required"),
        (
            {"from": "2026-11-27", "to": "2026-11-29T00:00:00Z"},
            422,
            "invalid_request",
            "query.from: Input should have timezone info",
        ),
        (
            {"from": "2026-11-29T00:00:00Z", "to": "2026-11-27T00:00:00Z"},
            400,
            "usage",
            "--to must be after --from",
        ),
        (
            {"from": "0001-01-01T00:00:00Z", "to": "2026-11-29T00:00:00Z"},
            400,
            "usage",
            "--from and --to must lie between the years 1970 and 2999",
        ),
        (
            {"from": "2026-11-27T00:00:00Z", "to": "2026-11-29T00:00:00Z", "system": "nope"},
            404,
            "not_found",
            "no system 'nope'",
        ),
    ],
    ids=[
        "no start",
        "a day without a time zone",
        "end before start",
        "a start no calendar reaches",
        "unknown system",
    ],
)
def test_a_calendar_that_cannot_be_shown_is_a_problem(
    http: httpx.Client,
    read_token: str,
    params: dict[str, str],
    status: int,
    code: str,
    detail: str,
) -> None:
    response = http.get("/api/v1/calendar", params=params, headers=bearer(read_token))

    assert assert_problem(response, status=status, code=code)["detail"] == detail


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
def test_the_ics_feed_has_one_event_per_campaign_and_freeze_window(
    http: httpx.Client, read_token: str, clock: Any
) -> None:
    # The feed covers 30 days back to 400 days ahead of the server's clock (2026-11-20 12:00Z).
    span = {
        "from": (clock.now - timedelta(days=30)).isoformat(),
        "to": (clock.now + timedelta(days=400)).isoformat(),
    }
    view = http.get("/api/v1/calendar", params=span, headers=bearer(read_token)).json()

    response = http.get("/api/v1/calendar.ics", headers=bearer(read_token))
    anonymous = http.get("/api/v1/calendar.ics")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    feed = icalendar.Calendar.from_ical(response.content)
    events = {str(e["UID"]): e for e in feed.walk("VEVENT")}
    assert set(events) == {f"campaign-{c['campaign_id']}@launchdeck" for c in view["campaigns"]} | {
        f"freeze-{f['id']}@launchdeck" for f in view["freezes"]
    }
    assert len(events) == len(feed.walk("VEVENT"))
    black_friday = events["campaign-black-friday@launchdeck"]
    assert (black_friday.decoded("DTSTART"), black_friday.decoded("DTEND")) == (
        datetime(2026, 11, 27, 5, tzinfo=UTC),
        datetime(2026, 11, 29, 4, 59, tzinfo=UTC),
    )
    freeze = events["freeze-campaign:black-friday@launchdeck"]
    assert (str(freeze["SUMMARY"]), freeze.decoded("DTSTART"), freeze.decoded("DTEND")) == (
        "Deploy freeze: Black Friday 2026",
        datetime(2026, 11, 26, 5, tzinfo=UTC),
        datetime(2026, 12, 1, 4, 59, tzinfo=UTC),
    )
    assert_problem(anonymous, status=401, code="unauthorized")


# --- ad-hoc freezes ---------------------------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_a_deploy_token_freezes_an_admin_lifts_and_a_reader_only_reads(
    http: httpx.Client, issue_token: IssueToken, admin_token: str, read_token: str
) -> None:
    deployer = issue_token("release-bot", Scope.DEPLOY)
    body = {"reason": "canary looks off", "until": "2026-11-20T16:00:00Z", "system": "search"}

    by_reader = http.post("/api/v1/freezes", json=body, headers=bearer(read_token))
    created = http.post("/api/v1/freezes", json=body, headers=bearer(deployer))
    freeze_id = created.json()["id"]
    listed = http.get("/api/v1/freezes", headers=bearer(read_token)).json()
    lift_by_deployer = http.delete(f"/api/v1/freezes/{freeze_id}", headers=bearer(deployer))
    lifted = http.delete(f"/api/v1/freezes/{freeze_id}", headers=bearer(admin_token))
    again = http.delete(f"/api/v1/freezes/{freeze_id}", headers=bearer(admin_token))

    assert assert_problem(by_reader, status=403, code="forbidden")["detail"] == (
        "token 'dashboard' lacks the 'deploy' scope"
    )
    assert created.status_code == 201, created.text
    window = created.json()
    assert freeze_id.startswith("adhoc:")
    assert {k: v for k, v in window.items() if k not in {"id", "allow"}} == {
        "kind": "adhoc",
        "name": "canary looks off",
        "starts_at": "2026-11-20T12:00:00Z",
        "ends_at": "2026-11-20T16:00:00Z",
        "systems": ["search"],
        "environments": [],
        "reason": "added by release-bot",
        "campaign_id": None,
    }
    assert sorted(window["allow"]) == ["hotfix", "rollback"]
    assert [_sets(w) for w in listed] == [_sets(window)]
    assert assert_problem(lift_by_deployer, status=403, code="forbidden")["detail"] == (
        "token 'release-bot' lacks the 'admin' scope"
    )
    assert lifted.status_code == 200, lifted.text
    assert _sets(lifted.json()) == _sets(window)
    assert assert_problem(again, status=404, code="not_found")["detail"] == (
        f"no active freeze {freeze_id!r}"
    )
    assert http.get("/api/v1/freezes", headers=bearer(read_token)).json() == []
    events = _events(http, read_token, "freeze")
    assert [(e["kind"], e["actor"], e["system"]) for e in events] == [
        ("freeze.lifted", "admin-bot", "search"),
        ("freeze.added", "release-bot", "search"),
    ]


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
def test_an_ad_hoc_freeze_blocks_the_gate_through_the_api(
    http: httpx.Client, admin_token: str, read_token: str
) -> None:
    body = {
        "reason": "landing page rebuild",
        "start": "2026-10-06T00:00:00Z",
        "until": "2026-10-07T00:00:00Z",
        "system": "landing-pages",
        "allow": ["rollback"],
    }
    assert http.post("/api/v1/freezes", json=body, headers=bearer(admin_token)).is_success

    cms = _check(http, read_token, system="cms", at="2026-10-06T12:00:00Z", change_type="hotfix")
    pixel_in_staging = _check(
        http, read_token, system="tracking-pixel", environment="staging", at="2026-10-06T12:00:00Z"
    )

    assert (cms["decision"], cms["next_allowed_at"]) == ("block", "2026-10-07T00:00:00Z")
    assert cms["checks"][0]["summary"] == (
        "freeze 'landing page rebuild' (added by admin-bot) on cms → landing-pages until "
        "2026-10-07 00:00 UTC; allows rollback"
    )
    assert pixel_in_staging["decision"] == "allow"


@SQLITE_ONLY
@pytest.mark.usefixtures("applied")
@pytest.mark.parametrize(
    ("body", "status", "code", "detail"),
    [
        ({"reason": "r"}, 422, "invalid_request", "body.until: Field required"),
        (
            {"reason": "r", "until": "2026-11-20T16:00:00"},
            422,
            "invalid_request",
            "body.until: Input should have timezone info",
        ),
        (
            {"reason": "r", "until": "2026-11-20T16:00:00Z", "allow": ["everything"]},
            422,
            "invalid_request",
            "body.allow.0: Input should be 'rollback', 'hotfix', 'content', 'config', 'flag', "
            "'feature' or 'reliability'",
        ),
        (
            {"reason": "", "until": "2026-11-20T16:00:00Z"},
            422,
            "invalid_request",
            "body.reason: String should have at least 1 character",
        ),
        (
            {"reason": "r", "until": "2026-11-20T11:00:00Z"},
            400,
            "usage",
            "a freeze must end after it starts",
        ),
        (
            {"reason": "r", "until": "2026-11-20T16:00:00Z", "system": "nope"},
            404,
            "not_found",
            "no system 'nope'",
        ),
    ],
    ids=[
        "no end",
        "an end without a time zone",
        "an unknown change type",
        "an empty reason",
        "an end before now",
        "an unknown system",
    ],
)
def test_a_refused_freeze_is_a_problem_and_adds_nothing(
    http: httpx.Client,
    admin_token: str,
    body: dict[str, Any],
    status: int,
    code: str,
    detail: str,
) -> None:
    response = http.post("/api/v1/freezes", json=body, headers=bearer(admin_token))

    assert assert_problem(response, status=status, code=code)["detail"] == detail
    assert http.get("/api/v1/freezes", headers=bearer(admin_token)).json() == []
