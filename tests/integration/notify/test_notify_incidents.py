"""Notifications end to end: incidents, gate blocks and recorded deploys of the Black Friday
example reach a receiver on loopback as the example's `notifications:` routes them.

The example routes incident news, gate blocks and recorded deploys on checkout-api (among
others) to `payments-oncall` (Slack, URL in NORTHWIND_SLACK_PAYMENTS_WEBHOOK), and plain news of
SEV1/SEV2 incidents for campaign owners to `marketing-updates` (Teams, URL in
NORTHWIND_TEAMS_MARKETING_WEBHOOK). Black Friday 2026 (tier 1, $185,000/h, on checkout-api) runs
2026-11-27 05:00Z to 11-29 04:59Z. Timeouts are tiny (0.3 s, two attempts, 0.01 s backoff): the
slowest test, the hanging receiver, takes about 0.6 s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from receiver import SECRET_PATH, Hit, Receiver, Reply, serving
from sqlalchemy import select

from launchdeck.auth.model import Scope
from launchdeck.auth.service import TokenService
from launchdeck.calendar.model import ChangeType
from launchdeck.gate.model import Decision, GateRequest
from launchdeck.gate.service import GateService
from launchdeck.incidents.model import Entry, EntryKind, OpenRequest
from launchdeck.incidents.service import IncidentService
from launchdeck.notify.outbox import Notifications
from launchdeck.notify.slack import HEADER_CHARS, MAX_BLOCKS, units
from launchdeck.store import Database
from launchdeck.store.incidents import SqlIncidentStore
from launchdeck.store.tables import Base
from launchdeck.timeline.model import Event, RecordRequest, TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""About delivery, not the engine: the store suite runs incidents on PostgreSQL."""

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "black-friday" / "launchdeck.yaml"
SLACK_ENV = "NORTHWIND_SLACK_PAYMENTS_WEBHOOK"
TEAMS_ENV = "NORTHWIND_TEAMS_MARKETING_WEBHOOK"
TIMEOUT_S = 0.3
ATTEMPTS = 2
BACKOFF_S = 0.01

APPLIED_AT = datetime(2026, 10, 1, tzinfo=UTC)
QUIET = datetime(2026, 11, 10, 15, tzinfo=UTC)
"""A quiet week: no campaign runs on checkout-api."""
BF_AFTERNOON = datetime(2026, 11, 27, 15, tzinfo=UTC)
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
OWNERS = "For: @dana-growth, ecommerce-marketing@northwind.example"


@pytest.fixture
def applied(db: Database, clock: Any) -> None:
    """The Black Friday example, applied long before anything here happens."""
    clock.now = APPLIED_AT
    WorkspaceService(db, actor="seed", clock=clock).apply(load_workspace(EXAMPLE).spec)
    clock.now = BF_AFTERNOON


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as running:
        yield running


@pytest.fixture
def environ(receiver: Receiver) -> dict[str, str]:
    """Where the example's channels point: each at its own path of the receiver."""
    return {SLACK_ENV: receiver.url("payments"), TEAMS_ENV: receiver.url("marketing")}


@pytest.fixture
def notifications(db: Database, clock: Any, environ: dict[str, str]) -> Notifications:
    return Notifications(
        db,
        clock=clock,
        environ=environ,
        timeout_s=TIMEOUT_S,
        attempts=ATTEMPTS,
        backoff_s=BACKOFF_S,
    )


@pytest.fixture
def incidents(
    db: Database, clock: Any, applied: None, notifications: Notifications
) -> IncidentService:
    return IncidentService(db, actor="pager", clock=clock, outbox=notifications)


def checkout_down() -> OpenRequest:
    return OpenRequest(title="Checkout is down", systems=("checkout-api",))


def entries(db: Database, incident_id: int, kind: EntryKind) -> list[Entry]:
    with db.read() as session:
        return [e for e in SqlIncidentStore(session).entries(incident_id) if e.kind is kind]


def events(db: Database, kind: str) -> list[Event]:
    """Events of `kind`, oldest first."""
    page = TimelineService(db).query(TimelineQuery(kind=kind, limit=100))
    return sorted(page.events, key=lambda e: e.id)


def slack_header(hit: Hit) -> str:
    header: str = hit.json()["blocks"][0]["text"]["text"]
    return header


def card(hit: Hit) -> dict[str, Any]:
    content: dict[str, Any] = hit.json()["attachments"][0]["content"]
    return content


def first_text_block(hit: Hit) -> str:
    text: str = card(hit)["body"][0]["items"][0]["text"]
    return text


def assert_slack_payload(hit: Hit) -> dict[str, Any]:
    """Block Kit within Slack's limits, with the `text` fallback notifications need."""
    payload: dict[str, Any] = hit.json()
    assert hit.headers["Content-Type"] == "application/json"
    assert isinstance(payload["text"], str)
    assert payload["text"].strip() != ""
    assert 1 <= len(payload["blocks"]) <= MAX_BLOCKS
    header = payload["blocks"][0]
    assert (header["type"], header["text"]["type"]) == ("header", "plain_text")
    assert units(header["text"]["text"]) <= HEADER_CHARS
    assert payload["text"].startswith(header["text"]["text"])
    return payload


def assert_teams_payload(hit: Hit) -> dict[str, Any]:
    """A Workflows message holding one Adaptive Card."""
    payload: dict[str, Any] = hit.json()
    assert hit.headers["Content-Type"] == "application/json"
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD
    content = attachment["content"]
    assert (content["type"], content["version"]) == ("AdaptiveCard", "1.4")
    assert isinstance(content["body"], list)
    assert content["body"] != []
    return payload


def assert_told_marketing(entry: Entry) -> None:
    """The entry for the campaign owners' message (its title is the message's own)."""
    assert entry.text.startswith("told marketing-updates (campaign_owners): ")
    assert entry.text.endswith(": Checkout is down")
    assert entry.data == {"channel": "marketing-updates", "ok": True, "status": 200}


def assert_no_webhook_url_stored(db: Database, receiver: Receiver) -> None:
    """No row of any table (timeline payloads, incident entries …) holds a webhook URL."""
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                text = repr(tuple(row))
                for secret in (receiver.base, SECRET_PATH, "s3cr3t"):
                    assert secret not in text, f"{table.name} holds a webhook URL"


# --- incidents --------------------------------------------------------------------------------


def test_a_sev1_on_checkout_during_black_friday_tells_payments_in_slack_and_marketing_in_teams(
    db: Database, incidents: IncidentService, receiver: Receiver
) -> None:
    opened = incidents.open(checkout_down())

    assert opened.incident.severity == "SEV1"
    (slack,) = receiver.at("payments")
    payload = assert_slack_payload(slack)
    assert slack_header(slack) == "🔴 [SEV1] INC-1 opened: Checkout is down"
    summary = payload["blocks"][1]["text"]["text"]
    assert summary.startswith(
        "SEV1 because signal is outage and a tier-1 campaign is affected (a tier-1 campaign is "
        "down). "
    )
    fields = [f["text"] for block in payload["blocks"] for f in block.get("fields", [])]
    assert "*Severity*\nSEV1" in fields
    assert "*Priority*\nP1" in fields
    assert "*Revenue at risk*\n$185,000/h" in fields
    assert "*Campaigns*\nBlack Friday 2026" in fields
    context = [e["text"] for e in payload["blocks"][-1]["elements"]]
    assert context[0] == "`incident.opened`"

    (teams,) = receiver.at("marketing")
    assert_teams_payload(teams)
    headline = first_text_block(teams)
    assert "Black Friday 2026" in headline
    assert "Checkout is down" in headline
    assert "SEV" not in headline
    texts = [b["text"] for b in card(teams)["body"] if b["type"] == "TextBlock"]
    assert texts[0] == (
        "Black Friday 2026 is affected: checkout-api is down. About $185,000/h of sales are at "
        "risk while this lasts. The on-call team is working on it; the liaison will keep you "
        "posted."
    )
    assert OWNERS in texts
    (facts,) = [b["facts"] for b in card(teams)["body"] if b["type"] == "FactSet"]
    assert {f["title"]: f["value"] for f in facts} == {
        "Impact": "critical",
        "Affected systems": "checkout-api",
        "At risk": "$185,000/h",
        "Incident": "INC-1 (triage)",
    }
    assert "SEV" not in json.dumps(card(teams))  # plain language, no jargon, anywhere

    told = entries(db, 1, EntryKind.NOTIFICATION)
    assert [(e.actor, e.data) for e in told] == [
        ("launchdeck", {"channel": "payments-oncall", "ok": True, "status": 200}),
        ("launchdeck", {"channel": "marketing-updates", "ok": True, "status": 200}),
    ]
    assert told[0].text == "told payments-oncall (engineers): INC-1 opened: Checkout is down"
    assert_told_marketing(told[1])
    assert events(db, "notify.failed") == []
    assert_no_webhook_url_stored(db, receiver)


def test_the_campaign_owners_headline_names_the_campaign_once(
    incidents: IncidentService, receiver: Receiver
) -> None:
    """The renderers put "<campaigns> is affected:" before the title: the title must not repeat
    the campaign (tests/unit/notify/test_teams.py pins that headline shape)."""
    incidents.open(checkout_down())

    (teams,) = receiver.at("marketing")
    assert first_text_block(teams) == "🔴 Black Friday 2026 is affected: Checkout is down"


def test_a_severity_raised_by_the_calendar_is_told_again(
    db: Database, incidents: IncidentService, receiver: Receiver, clock: Any
) -> None:
    clock.now = QUIET
    opened = incidents.open(checkout_down())
    quiet_posts = (len(receiver.at("payments")), len(receiver.at("marketing")))
    clock.now = BF_AFTERNOON

    shown = incidents.show(opened.incident.id)
    shown_again = incidents.show(opened.incident.id)

    assert (opened.incident.severity, shown.incident.severity) == ("SEV3", "SEV1")
    assert shown_again.incident.severity == "SEV1"
    # In the quiet week no campaign is reached: the engineers hear of it, marketing does not.
    assert quiet_posts == (1, 0)
    first, raised = receiver.at("payments")
    assert slack_header(first) == "🟠 [SEV3] INC-1 opened: Checkout is down"
    assert_slack_payload(raised)
    assert slack_header(raised) == "🔴 [SEV1] INC-1 changed severity: Checkout is down"
    (teams,) = receiver.at("marketing")
    assert_teams_payload(teams)
    assert "Black Friday 2026" in first_text_block(teams)
    assert "SEV" not in first_text_block(teams)
    assert OWNERS in [b.get("text") for b in card(teams)["body"]]
    assert [(e.data["channel"], e.data["ok"]) for e in entries(db, 1, EntryKind.NOTIFICATION)] == [
        ("payments-oncall", True),
        ("payments-oncall", True),
        ("marketing-updates", True),
    ]


# --- failures ---------------------------------------------------------------------------------


def test_a_receiver_that_always_fails_is_on_the_timeline_and_the_open_still_succeeds(
    db: Database, incidents: IncidentService, receiver: Receiver, environ: dict[str, str]
) -> None:
    environ[SLACK_ENV] = receiver.script("payments", Reply(500, f"no {SECRET_PATH}".encode()))

    opened = incidents.open(checkout_down())

    assert (opened.incident.id, opened.incident.severity) == (1, "SEV1")
    assert len(receiver.at("payments")) == ATTEMPTS
    assert len(receiver.at("marketing")) == 1
    (failed,) = events(db, "notify.failed")
    assert (failed.subject, failed.system, failed.actor, failed.occurred_at) == (
        "channel/payments-oncall",
        "checkout-api",
        "launchdeck",
        BF_AFTERNOON,
    )
    assert failed.payload == {
        "message": "incident.opened",
        "title": "INC-1 opened: Checkout is down",
        "channel": "payments-oncall",
        "attempts": ATTEMPTS,
        "status": 500,
        "error": "HTTP 500",
    }
    could_not, told = entries(db, 1, EntryKind.NOTIFICATION)
    assert (could_not.text, could_not.data) == (
        "could not tell (HTTP 500, 2 tries) payments-oncall (engineers): "
        "INC-1 opened: Checkout is down",
        {"channel": "payments-oncall", "ok": False, "status": 500},
    )
    assert_told_marketing(told)
    assert_no_webhook_url_stored(db, receiver)


def test_a_hanging_receiver_fails_within_the_bound_and_the_open_still_returns(
    db: Database, incidents: IncidentService, receiver: Receiver, environ: dict[str, str]
) -> None:
    environ[SLACK_ENV] = receiver.script("payments", Reply(hang_s=10))

    started = time.monotonic()
    opened = incidents.open(checkout_down())
    elapsed = time.monotonic() - started

    assert opened.incident.severity == "SEV1"
    # A bound on the sender (every attempt times out, one backoff between), not a benchmark.
    assert ATTEMPTS * TIMEOUT_S <= elapsed < ATTEMPTS * TIMEOUT_S + BACKOFF_S + 2.0
    assert len(receiver.at("payments")) == ATTEMPTS
    (failed,) = events(db, "notify.failed")
    assert {k: failed.payload[k] for k in ("channel", "attempts", "status", "error")} == {
        "channel": "payments-oncall",
        "attempts": ATTEMPTS,
        "status": None,
        "error": f"timed out after {TIMEOUT_S:g} s",
    }
    assert [e.data["ok"] for e in entries(db, 1, EntryKind.NOTIFICATION)] == [False, True]
    assert_no_webhook_url_stored(db, receiver)


def test_an_unset_webhook_variable_is_named_and_the_other_channel_is_still_told(
    db: Database, incidents: IncidentService, receiver: Receiver, environ: dict[str, str]
) -> None:
    del environ[SLACK_ENV]

    incidents.open(checkout_down())

    assert receiver.at("payments") == []
    assert len(receiver.at("marketing")) == 1
    (failed,) = events(db, "notify.failed")
    assert {k: failed.payload[k] for k in ("channel", "attempts", "status", "error")} == {
        "channel": "payments-oncall",
        "attempts": 0,
        "status": None,
        "error": f"environment variable {SLACK_ENV} is not set",
    }
    (could_not,) = [e for e in entries(db, 1, EntryKind.NOTIFICATION) if not e.data["ok"]]
    assert could_not.text.startswith(
        f"could not tell (environment variable {SLACK_ENV} is not set, 0 tries) payments-oncall"
    )


# --- gate blocks and recorded changes ---------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_a_gate_block_on_checkout_is_posted_to_the_payments_channel(
    db: Database, clock: Any, notifications: Notifications, receiver: Receiver
) -> None:
    gate = GateService(db, actor="ci-deployer", clock=clock, on_block=notifications.gate_blocked)

    blocked = gate.check(GateRequest(system="checkout-api", change_type=ChangeType.FEATURE))
    allowed = gate.check(GateRequest(system="checkout-api", change_type=ChangeType.ROLLBACK))
    elsewhere = gate.check(GateRequest(system="cms", change_type=ChangeType.FEATURE))

    assert (blocked.decision, allowed.decision, elsewhere.decision) == (
        Decision.BLOCK,
        Decision.WARN,
        Decision.BLOCK,
    )
    # Only the block on a routed system is posted; cms is not payments' business.
    (slack,) = receiver.at("payments")
    payload = assert_slack_payload(slack)
    assert slack_header(slack) == "🟠 Blocked: feature to checkout-api in production"
    assert payload["blocks"][1]["text"]["text"].startswith(
        "freeze_window: campaign freeze 'Black Friday 2026' (tier 1"
    )
    assert payload["blocks"][-1]["elements"][0]["text"] == "`gate.blocked`"
    assert receiver.at("marketing") == []
    assert events(db, "notify.failed") == []


@pytest.mark.usefixtures("applied")
def test_a_recorded_deploy_is_posted_to_the_payments_channel(
    db: Database, clock: Any, notifications: Notifications, receiver: Receiver
) -> None:
    timeline = TimelineService(
        db, actor="ci-deployer", clock=clock, on_record=notifications.change_recorded
    )

    timeline.record(
        RecordRequest(
            kind="deploy",
            system="checkout-api",
            environment="production",
            version="v2.4.1",
            note="retry payment authorisation once",
        )
    )
    timeline.record(RecordRequest(kind="deploy", system="cms", version="v9.1"))
    timeline.record(RecordRequest(kind="config", system="checkout-api", note="max_cart_items 60"))

    (slack,) = receiver.at("payments")
    payload = assert_slack_payload(slack)
    assert slack_header(slack) == "ℹ️ Deploy of checkout-api v2.4.1 to production"
    assert payload["blocks"][1]["text"]["text"] == "retry payment authorisation once"
    fields = [f["text"] for block in payload["blocks"] for f in block.get("fields", [])]
    assert "*By*\nci-deployer" in fields
    assert payload["blocks"][-1]["elements"][0]["text"] == "`deploy.recorded`"
    assert receiver.at("marketing") == []


# --- through the API server -------------------------------------------------------------------


@pytest.mark.usefixtures("applied")
def test_the_api_server_reads_the_webhook_urls_from_its_environment(
    live_server: Any,
    db: Database,
    clock: Any,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for proxy in ("http_proxy", "https_proxy", "all_proxy"):  # the receiver is on loopback
        monkeypatch.delenv(proxy, raising=False)
        monkeypatch.delenv(proxy.upper(), raising=False)
    monkeypatch.setenv(SLACK_ENV, receiver.url("payments"))
    monkeypatch.setenv(TEAMS_ENV, receiver.url("marketing"))
    token = TokenService(db, actor="test-setup", clock=clock).create("pager", [Scope.INCIDENTS])
    body = {"title": "Checkout is down", "systems": ["checkout-api"]}

    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        response = http.post(
            "/api/v1/incidents", json=body, headers={"Authorization": f"Bearer {token.token}"}
        )

    assert response.status_code == 201, response.text
    (slack,) = receiver.at("payments")
    assert slack_header(slack) == "🔴 [SEV1] INC-1 opened: Checkout is down"
    (teams,) = receiver.at("marketing")
    assert_teams_payload(teams)
    assert "Black Friday 2026" in first_text_block(teams)
    assert [e.data["ok"] for e in entries(db, 1, EntryKind.NOTIFICATION)] == [True, True]
    assert_no_webhook_url_stored(db, receiver)


def test_in_the_background_the_open_returns_before_a_hanging_channel_gives_up(
    db: Database, applied: None, clock: Any, receiver: Receiver, environ: dict[str, str]
) -> None:
    environ[SLACK_ENV] = receiver.script("payments", Reply(hang_s=10))
    executor = ThreadPoolExecutor(max_workers=2)
    notifications = Notifications(
        db,
        clock=clock,
        environ=environ,
        timeout_s=1.0,  # a hanging channel takes 2 s to give up: far longer than the open
        attempts=2,
        backoff_s=BACKOFF_S,
        executor=executor,
    )
    incidents = IncidentService(db, actor="pager", clock=clock, outbox=notifications)

    started = time.monotonic()
    opened = incidents.open(checkout_down())
    returned_after = time.monotonic() - started
    told_before = entries(db, opened.incident.id, EntryKind.NOTIFICATION)
    executor.shutdown(wait=True)  # as the API server does when it stops

    # The open did not wait for even one timeout of the hanging channel (a correctness bound).
    assert returned_after < 1.0
    assert told_before == []
    assert len(receiver.at("payments")) == 2
    assert len(receiver.at("marketing")) == 1
    told = entries(db, opened.incident.id, EntryKind.NOTIFICATION)
    assert [e.data["ok"] for e in told] == [False, True]
    (failed,) = events(db, "notify.failed")
    assert failed.payload["error"] == "timed out after 1 s"
