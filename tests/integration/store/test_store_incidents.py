"""Incidents on the store, SQLite and PostgreSQL: severity from the example's campaign calendar,
kept up to date as campaigns start and end, "what changed?", the status machine, dedupe and
Alertmanager, tasks and entries, and what the outbox is told.

The example's Black Friday 2026 (tier 1, $185,000/h, on checkout-api among others) runs
2026-11-27 05:00Z to 11-29 04:59Z; checkout-api depends on tracking-pixel. The workspace is
applied on 2026-10-01, so its own events are long before any incident here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from store_builders import edited, item

from launchdeck.errors import Conflict, NotFound, UsageError
from launchdeck.incidents.alerts import AlertmanagerWebhook
from launchdeck.incidents.model import (
    Entry,
    EntryKind,
    EntryRequest,
    IncidentSource,
    IncidentView,
    OpenRequest,
    Priority,
    Status,
    TaskKind,
    TaskRequest,
    TaskStatus,
    UpdateRequest,
)
from launchdeck.incidents.service import IncidentService
from launchdeck.incidents.severity import Severity, Signal
from launchdeck.store import Database, SqlTimeline
from launchdeck.timeline.model import Event, NewEvent, TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.model import Campaign
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


APPLIED_AT = _utc(2026, 10, 1)
QUIET = _utc(2026, 11, 10, 15)
"""A quiet week: no campaign runs on checkout-api."""
EVE = _utc(2026, 11, 26, 20)
"""The evening before Black Friday (New York time): still quiet for checkout-api."""
BF_START, BF_END = _utc(2026, 11, 27, 5), _utc(2026, 11, 29, 4, 59)
BF_AFTERNOON = _utc(2026, 11, 27, 15)
M, H = timedelta(minutes=1), timedelta(hours=1)

SEV1_RULE = "signal is outage and a tier-1 campaign is affected (a tier-1 campaign is down)"
SEV3_RULE = (
    "signal is outage and a tier-1 system is affected "
    "(a tier-1 system is down, though no campaign is live on it)"
)
BF_REASON = (
    "Black Friday 2026 (tier 1) is live and reached via checkout-api: "
    "$185,000/h × 100% = $185,000/h at risk"
)
SEV1_EXPLAINED = (
    f"SEV1 because {SEV1_RULE}. checkout-api: outage, 100% of traffic affected; "
    f"{BF_REASON}; revenue at risk: $185,000/h"
)
SEV3_EXPLAINED = (
    f"SEV3 because {SEV3_RULE}. checkout-api: outage, 100% of traffic affected; "
    "no live campaign is reached by the affected systems"
)


class RecordingOutbox:
    """The outbox port, remembering what it was told: (kind, incident ref, severity, campaigns)."""

    def __init__(self) -> None:
        self.told: list[tuple[str, str, Severity, list[str]]] = []

    def incident_changed(
        self, kind: str, view: IncidentView, campaigns: Sequence[Campaign]
    ) -> None:
        self.told.append(
            (kind, view.incident.ref, view.incident.severity, [c.id for c in campaigns])
        )


@pytest.fixture
def applied(service: WorkspaceService, example_spec: WorkspaceSpec, clock: Any) -> WorkspaceSpec:
    clock.now = APPLIED_AT
    service.apply(example_spec)
    return example_spec


@pytest.fixture
def outbox() -> RecordingOutbox:
    return RecordingOutbox()


@pytest.fixture
def incidents(
    db: Database, clock: Any, applied: WorkspaceSpec, outbox: RecordingOutbox
) -> IncidentService:
    return IncidentService(db, actor="bob", clock=clock, outbox=outbox)


def checkout_down(**fields: Any) -> OpenRequest:
    return OpenRequest(**{"title": "Checkout is down", "systems": ("checkout-api",), **fields})


def events(db: Database, kind: str) -> list[Event]:
    """Events of `kind`, oldest first."""
    page = TimelineService(db).query(TimelineQuery(kind=kind, limit=100))
    return sorted(page.events, key=lambda e: e.id)


def of_kind(entries: Sequence[Entry], kind: EntryKind) -> list[Entry]:
    return [e for e in entries if e.kind is kind]


def record(
    db: Database,
    *,
    at: datetime,
    system: str,
    kind: str = "deploy.recorded",
    payload: dict[str, Any] | None = None,
) -> Event:
    """A change made outside launchdeck (a CI deploy), on the timeline at `at`."""
    with db.unit_of_work() as uow:
        event = SqlTimeline(uow.session).append(
            NewEvent(
                occurred_at=at,
                actor="ci@northwind.example",
                kind=kind,
                subject=f"system/{system}",
                system=system,
                environment="production",
                payload=payload or {},
            )
        )
        uow.commit()
    return event


# --- severity from the calendar -----------------------------------------------------------


def test_the_same_checkout_outage_is_sev1_on_black_friday_and_sev3_in_a_quiet_week(
    db: Database, incidents: IncidentService, clock: Any, outbox: RecordingOutbox
) -> None:
    clock.now = QUIET
    quiet = incidents.open(checkout_down())
    clock.now = BF_AFTERNOON
    black_friday = incidents.open(checkout_down())

    assert (quiet.incident.severity, quiet.incident.priority) == (Severity.SEV3, Priority.P3)
    assert quiet.incident.assessment.rule == SEV3_RULE
    assert quiet.incident.assessment.revenue_at_risk_per_hour == {}
    assert [e.text for e in of_kind(quiet.entries, EntryKind.OPENED)] == [
        f"opened (manual): {SEV3_EXPLAINED}"
    ]

    incident = black_friday.incident
    assert (incident.ref, incident.severity, incident.priority) == ("INC-2", "SEV1", "P1")
    assert (incident.status, incident.severity_manual, incident.priority_manual) == (
        Status.TRIAGE,
        False,
        False,
    )
    assert (incident.detected_at, incident.started_at, incident.opened_at) == (
        BF_AFTERNOON,
        BF_AFTERNOON,
        BF_AFTERNOON,
    )
    assert incident.opened_by == "bob"
    assessment = incident.assessment
    assert (assessment.severity, assessment.rule) == (Severity.SEV1, SEV1_RULE)
    assert assessment.revenue_at_risk_per_hour == {"USD": 185_000.0}
    (campaign,) = assessment.campaigns
    assert (campaign.campaign_id, campaign.tier, campaign.path) == (
        "black-friday",
        1,
        ("checkout-api", "Black Friday 2026"),
    )
    assert (campaign.starts_at, campaign.ends_at) == (BF_START, BF_END)
    (opened,) = black_friday.entries
    assert (opened.kind, opened.at, opened.actor, opened.pinned) == (
        EntryKind.OPENED,
        BF_AFTERNOON,
        "bob",
        True,
    )
    assert opened.text == f"opened (manual): {SEV1_EXPLAINED}"

    (_, event) = events(db, "incident.opened")
    assert (event.subject, event.system, event.actor, event.occurred_at) == (
        "incident/2",
        "checkout-api",
        "bob",
        BF_AFTERNOON,
    )
    assert event.payload == {
        "incident": 2,
        "systems": ["checkout-api"],
        "severity": "SEV1",
        "title": "Checkout is down",
        "source": "manual",
        "campaigns": ["black-friday"],
        "revenue_at_risk_per_hour": {"USD": 185_000.0},
    }
    assert outbox.told == [
        ("incident.opened", "INC-1", Severity.SEV3, []),
        ("incident.opened", "INC-2", Severity.SEV1, ["black-friday"]),
    ]


def test_a_campaign_starting_mid_incident_raises_the_severity_at_its_start_and_its_end_lowers_it(
    db: Database, incidents: IncidentService, clock: Any, outbox: RecordingOutbox
) -> None:
    clock.now = EVE
    opened = incidents.open(checkout_down())
    clock.now = BF_AFTERNOON
    during = incidents.show(opened.incident.id)
    shown_again = incidents.show(opened.incident.id)
    clock.now = _utc(2026, 11, 29, 12)
    after = incidents.show(opened.incident.id)

    assert (opened.incident.severity, opened.incident.priority) == (Severity.SEV3, Priority.P3)
    assert (during.incident.severity, during.incident.priority) == (Severity.SEV1, Priority.P1)
    assert during.incident.assessment.revenue_at_risk_per_hour == {"USD": 185_000.0}
    assert during.incident.assessed_at == BF_AFTERNOON
    (raised,) = of_kind(during.entries, EntryKind.SEVERITY)
    assert (raised.at, raised.actor, raised.pinned) == (BF_START, "launchdeck", True)
    assert raised.text == f"SEV3 → SEV1 as Black Friday 2026 started: {SEV1_EXPLAINED}"
    assert shown_again.entries == during.entries  # nothing new happened in between

    assert (after.incident.severity, after.incident.priority) == (Severity.SEV3, Priority.P3)
    assert after.incident.assessment.campaigns == ()
    lowered = of_kind(after.entries, EntryKind.SEVERITY)[-1]
    assert (lowered.at, lowered.pinned) == (BF_END, True)
    assert lowered.text == f"SEV1 → SEV3 as Black Friday 2026 ended: {SEV3_EXPLAINED}"
    # Small Business Saturday (landing-pages, cms) started and ended meanwhile: not reached.
    assert len(of_kind(after.entries, EntryKind.SEVERITY)) == 2

    changed = events(db, "incident.severity_changed")
    assert [(e.occurred_at, e.actor, e.subject) for e in changed] == [
        (BF_START, "launchdeck", "incident/1"),
        (BF_END, "launchdeck", "incident/1"),
    ]
    assert changed[0].payload == {
        "incident": 1,
        "systems": ["checkout-api"],
        "before": "SEV3",
        "after": "SEV1",
        "why": "Black Friday 2026 started",
        "revenue_at_risk_per_hour": {"USD": 185_000.0},
    }
    assert changed[1].payload["why"] == "Black Friday 2026 ended"
    assert outbox.told == [
        ("incident.opened", "INC-1", Severity.SEV3, []),
        ("incident.severity_changed", "INC-1", Severity.SEV1, ["black-friday"]),
        ("incident.severity_changed", "INC-1", Severity.SEV3, []),
    ]


def test_listing_open_incidents_brings_their_severity_up_to_date(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = EVE
    checkout = incidents.open(checkout_down())
    crm = incidents.open(OpenRequest(title="CRM export late", systems=("crm-sync",)))
    clock.now = BF_AFTERNOON

    listed = incidents.list_incidents()
    on_checkout = incidents.list_incidents(system="checkout-api")

    assert [(i.ref, i.severity) for i in listed] == [
        (crm.incident.ref, Severity.SEV4),
        (checkout.incident.ref, Severity.SEV1),
    ]
    assert [i.ref for i in on_checkout] == [checkout.incident.ref]
    with pytest.raises(NotFound) as unknown:
        incidents.list_incidents(system="nope")
    assert unknown.value.message == "no system 'nope'"


def test_an_incident_opened_after_the_fact_records_the_changes_since_its_detection(
    incidents: IncidentService, clock: Any
) -> None:
    """Detected on the eve, opened on Black Friday afternoon: the rise is on the record."""
    clock.now = BF_AFTERNOON

    view = incidents.open(checkout_down(detected_at=EVE, started_at=EVE - 10 * M))

    assert (view.incident.severity, view.incident.priority) == (Severity.SEV1, Priority.P1)
    assert [(e.kind, e.at) for e in view.entries] == [
        (EntryKind.OPENED, EVE),
        (EntryKind.SEVERITY, BF_START),
    ]
    assert view.entries[0].text == f"opened (manual): {SEV3_EXPLAINED}"
    assert view.entries[1].text.startswith("SEV3 → SEV1 as Black Friday 2026 started: ")
    assert view.durations.time_to_detect_s == 600.0


def test_a_priority_set_by_hand_stays_while_the_severity_follows_the_calendar(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = EVE
    opened = incidents.open(checkout_down(priority=Priority.P2))
    clock.now = BF_AFTERNOON

    shown = incidents.show(opened.incident.id)

    assert (opened.incident.severity, opened.incident.priority) == (Severity.SEV3, Priority.P2)
    assert opened.incident.priority_manual is True
    assert (shown.incident.severity, shown.incident.priority) == (Severity.SEV1, Priority.P2)


def test_a_severity_set_by_hand_is_kept_and_the_computed_change_is_noted(
    db: Database, incidents: IncidentService, clock: Any, outbox: RecordingOutbox
) -> None:
    clock.now = EVE
    opened = incidents.open(checkout_down(severity=Severity.SEV2))
    clock.now = BF_AFTERNOON
    shown = incidents.show(opened.incident.id)
    clock.advance(M)
    handed_back = incidents.update(opened.incident.id, UpdateRequest(auto_severity=True))

    assert (opened.incident.severity, opened.incident.priority) == (Severity.SEV2, Priority.P2)
    assert opened.incident.severity_manual is True
    assert [e.text for e in of_kind(opened.entries, EntryKind.SEVERITY)] == [
        "severity set to SEV2 by hand (computed: SEV3)"
    ]
    assert (shown.incident.severity, shown.incident.severity_manual) == (Severity.SEV2, True)
    assert shown.incident.assessment.severity is Severity.SEV1
    noted = of_kind(shown.entries, EntryKind.SEVERITY)[-1]
    assert (noted.at, noted.pinned) == (BF_START, False)
    assert noted.text == (
        "computed severity SEV3 → SEV1 (Black Friday 2026 started); kept by hand at SEV2"
    )
    # The calendar moved only the computed severity: no severity_changed event at its start.
    assert [e for e in events(db, "incident.severity_changed") if e.occurred_at == BF_START] == []
    assert [kind for kind, *_ in outbox.told] == ["incident.opened", "incident.severity_changed"]

    assert (handed_back.incident.severity, handed_back.incident.priority) == (
        Severity.SEV1,
        Priority.P1,
    )
    assert handed_back.incident.severity_manual is False
    texts = [e.text for e in of_kind(handed_back.entries, EntryKind.SEVERITY)[-2:]]
    assert texts == ["the severity follows the calendar again", f"SEV2 → {SEV1_EXPLAINED}"]


def test_a_severity_set_by_hand_later_notes_what_was_computed(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = BF_AFTERNOON
    opened = incidents.open(checkout_down())
    clock.advance(5 * M)

    updated = incidents.update(opened.incident.id, UpdateRequest(severity=Severity.SEV2))

    assert (updated.incident.severity, updated.incident.priority) == (Severity.SEV2, Priority.P2)
    assert updated.incident.severity_manual is True
    (entry,) = of_kind(updated.entries, EntryKind.SEVERITY)
    assert (entry.at, entry.actor) == (BF_AFTERNOON + 5 * M, "bob")
    assert entry.text == "severity: SEV1 → SEV2, set by hand (computed: SEV1)"


def test_a_degradation_or_a_smaller_share_is_reassessed_when_it_changes(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = BF_AFTERNOON
    opened = incidents.open(checkout_down())
    clock.advance(10 * M)

    degraded = incidents.update(
        opened.incident.id, UpdateRequest(signal=Signal.DEGRADATION, traffic_share=0.2)
    )

    assert (degraded.incident.severity, degraded.incident.priority) == (
        Severity.SEV2,
        Priority.P2,
    )
    assert degraded.incident.assessment.revenue_at_risk_per_hour == {"USD": 37_000.0}
    assert [e.text for e in of_kind(degraded.entries, EntryKind.NOTE)] == [
        "signal: outage → degradation",
        "traffic_share: - → 0.2",
    ]
    (entry,) = of_kind(degraded.entries, EntryKind.SEVERITY)
    assert entry.text.startswith(
        "SEV1 → SEV2 because a tier-1 campaign is affected (a tier-1 campaign is degraded). "
        "checkout-api: degradation, 20% of traffic affected; "
    )
    assert "$185,000/h × 20% = $37,000/h at risk" in entry.text


# --- what changed -------------------------------------------------------------------------


def test_changes_on_the_system_and_what_it_depends_on_shortly_before_detection_are_suspects(
    db: Database, incidents: IncidentService, clock: Any
) -> None:
    detected = BF_AFTERNOON - 30 * M
    deploy = record(db, at=detected - 20 * M, system="checkout-api", payload={"version": "v2.4.0"})
    pixel = record(
        db,
        at=detected - 2 * H,
        system="tracking-pixel",
        kind="config.recorded",
        payload={"note": "consent mode"},
    )
    record(db, at=detected - 10 * M, system="email-renderer", payload={"version": "v9"})
    record(db, at=detected + 10 * M, system="checkout-api", payload={"version": "v2.4.1"})
    record(db, at=detected - 7 * H, system="checkout-api", payload={"version": "v2.3.9"})
    clock.now = BF_AFTERNOON

    view = incidents.open(checkout_down(detected_at=detected))

    changes = of_kind(view.entries, EntryKind.CHANGE)
    assert [(e.at, e.actor, e.text) for e in changes] == [
        (
            detected - 2 * H,
            "ci@northwind.example",
            "config.recorded tracking-pixel (production): note consent mode",
        ),
        (
            detected - 20 * M,
            "ci@northwind.example",
            "deploy.recorded checkout-api (production): version v2.4.0",
        ),
    ]
    assert [e.data for e in changes] == [
        {"event": pixel.id, "kind": "config.recorded", "subject": "system/tracking-pixel"},
        {"event": deploy.id, "kind": "deploy.recorded", "subject": "system/checkout-api"},
    ]
    # The incident's own timeline reads in time order: the changes come before the opening.
    assert [e.kind for e in view.entries] == [
        EntryKind.CHANGE,
        EntryKind.CHANGE,
        EntryKind.OPENED,
    ]


def test_a_workspace_change_to_the_system_is_a_suspect(
    db: Database, service: WorkspaceService, incidents: IncidentService, clock: Any
) -> None:
    def fewer_cart_items(data: dict[str, Any]) -> None:
        checkout = item(data, "systems", "checkout-api")
        checkout["environments"]["production"]["config"]["max_cart_items"] = 20

    clock.now = BF_AFTERNOON - 45 * M
    service.apply(edited(fewer_cart_items))
    clock.now = BF_AFTERNOON

    view = incidents.open(checkout_down())

    (change,) = of_kind(view.entries, EntryKind.CHANGE)
    assert (change.at, change.actor) == (BF_AFTERNOON - 45 * M, "alice")
    assert change.text.startswith("system.changed checkout-api")
    assert change.data["subject"] == "system/checkout-api"


def test_the_lookback_is_the_policy_s(
    db: Database, service: WorkspaceService, incidents: IncidentService, clock: Any
) -> None:
    def one_hour(data: dict[str, Any]) -> None:
        data["incidents"] = {"what_changed_hours": 1}

    service.apply(edited(one_hour))  # at APPLIED_AT, long before
    record(db, at=BF_AFTERNOON - 50 * M, system="checkout-api", payload={"version": "v2"})
    record(db, at=BF_AFTERNOON - 70 * M, system="checkout-api", payload={"version": "v1"})
    clock.now = BF_AFTERNOON

    view = incidents.open(checkout_down())

    assert [e.text for e in of_kind(view.entries, EntryKind.CHANGE)] == [
        "deploy.recorded checkout-api (production): version v2"
    ]


# --- the status machine -------------------------------------------------------------------


def test_statuses_move_forward_and_set_their_timestamps_and_durations(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = QUIET
    opened = incidents.open(checkout_down(started_at=QUIET - 10 * M))
    ref = opened.incident.id
    clock.advance(5 * M)
    active = incidents.update(ref, UpdateRequest(status=Status.ACTIVE, commander="carol"))
    clock.advance(15 * M)
    mitigated = incidents.update(ref, UpdateRequest(status=Status.MITIGATED))
    clock.advance(30 * M)
    resolved = incidents.update(ref, UpdateRequest(status=Status.RESOLVED))

    assert opened.incident.status is Status.TRIAGE
    assert (active.incident.status, active.incident.roles.commander) == (Status.ACTIVE, "carol")
    assert (mitigated.incident.status, mitigated.incident.mitigated_at) == (
        Status.MITIGATED,
        QUIET + 20 * M,
    )
    assert mitigated.incident.open is True
    incident = resolved.incident
    assert (incident.status, incident.mitigated_at, incident.resolved_at, incident.open) == (
        Status.RESOLVED,
        QUIET + 20 * M,
        QUIET + 50 * M,
        False,
    )
    assert resolved.durations.model_dump() == {
        "time_to_detect_s": 600.0,
        "time_to_mitigate_s": 1800.0,
        "time_to_resolve_s": 3600.0,
    }
    assert [(e.at, e.text) for e in of_kind(resolved.entries, EntryKind.STATUS)] == [
        (QUIET + 5 * M, "status: triage → active"),
        (QUIET + 20 * M, "status: active → mitigated"),
        (QUIET + 50 * M, "status: mitigated → resolved"),
    ]
    assert [e.text for e in of_kind(resolved.entries, EntryKind.ROLE)] == ["commander: carol"]
    assert incidents.list_incidents() == []
    assert [i.ref for i in incidents.list_incidents(all=True)] == ["INC-1"]


def test_a_resolved_incident_does_not_go_back_to_triage_but_may_reopen(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id
    clock.advance(H)
    resolved = incidents.update(ref, UpdateRequest(status=Status.RESOLVED))
    clock.advance(H)

    with pytest.raises(UsageError) as refused:
        incidents.update(ref, UpdateRequest(status=Status.TRIAGE))
    reopened = incidents.update(ref, UpdateRequest(status=Status.ACTIVE))

    assert refused.value.message == "INC-1 cannot go from resolved to triage"
    assert refused.value.hint is not None and "can reopen as active" in refused.value.hint
    assert resolved.incident.resolved_at == QUIET + H
    assert resolved.incident.mitigated_at == QUIET + H  # resolving mitigates too
    incident = reopened.incident
    assert (incident.status, incident.resolved_at, incident.mitigated_at, incident.open) == (
        Status.ACTIVE,
        None,
        None,
        True,
    )
    assert reopened.durations.time_to_resolve_s is None
    assert [i.ref for i in incidents.list_incidents()] == ["INC-1"]
    assert of_kind(reopened.entries, EntryKind.STATUS)[-1].text == "status: resolved → active"


def test_each_update_is_one_timeline_event_named_for_what_happened(
    db: Database, incidents: IncidentService, clock: Any, outbox: RecordingOutbox
) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id
    clock.advance(M)
    incidents.update(ref, UpdateRequest(status=Status.ACTIVE))
    incidents.update(ref, UpdateRequest(title="Checkout returns 502s"))
    incidents.update(ref, UpdateRequest(severity=Severity.SEV1))
    incidents.update(ref, UpdateRequest(status=Status.MITIGATED))
    incidents.update(ref, UpdateRequest(status=Status.RESOLVED))

    found = [e for e in events(db, "incident") if e.kind != "incident.opened"]

    assert [e.kind for e in found] == [
        "incident.status_changed",
        "incident.updated",
        "incident.severity_changed",
        "incident.mitigated",
        "incident.resolved",
    ]
    assert found[-1].payload["status"] == "resolved"
    assert found[1].payload["changes"] == ["title: Checkout is down → Checkout returns 502s"]
    assert [kind for kind, *_ in outbox.told] == [
        "incident.opened",
        "incident.status_changed",
        "incident.severity_changed",
        "incident.mitigated",
        "incident.resolved",
    ]


def test_a_note_alone_is_added_as_a_note_entry(
    db: Database, incidents: IncidentService, clock: Any
) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id
    clock.advance(M)

    noted = incidents.update(ref, UpdateRequest(note="payments vendor confirms", pinned=True))

    (note,) = of_kind(noted.entries, EntryKind.NOTE)
    assert (note.at, note.actor, note.text, note.pinned) == (
        QUIET + M,
        "bob",
        "payments vendor confirms",
        True,
    )
    (event,) = events(db, "incident.updated")
    assert event.payload["note"] == "payments vendor confirms"


def test_an_update_that_changes_nothing_is_refused(incidents: IncidentService, clock: Any) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id

    with pytest.raises(UsageError) as refused:
        incidents.update(ref, UpdateRequest(title="Checkout is down"))

    assert refused.value.message == "nothing to update"


def test_the_impact_cannot_start_after_detection(incidents: IncidentService, clock: Any) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id

    with pytest.raises(UsageError) as refused:
        incidents.update(ref, UpdateRequest(started_at=QUIET + M))
    moved = incidents.update(ref, UpdateRequest(started_at=QUIET - 30 * M))

    assert refused.value.message == "the impact cannot start after the incident was detected"
    assert moved.durations.time_to_detect_s == 1800.0


# --- dedupe and alerts --------------------------------------------------------------------


def test_an_open_with_the_same_dedupe_key_adds_to_the_open_incident_until_it_is_resolved(
    incidents: IncidentService, clock: Any, outbox: RecordingOutbox
) -> None:
    clock.now = QUIET
    first = incidents.open(checkout_down(dedupe_key="checkout-5xx"))
    clock.advance(10 * M)
    again = incidents.open(checkout_down(title="Checkout still down", dedupe_key="checkout-5xx"))
    clock.advance(M)
    incidents.update(first.incident.id, UpdateRequest(status=Status.RESOLVED))
    clock.advance(M)
    after = incidents.open(checkout_down(dedupe_key="checkout-5xx"))

    assert again.incident.id == first.incident.id
    (alert,) = of_kind(again.entries, EntryKind.ALERT)
    assert (alert.at, alert.text) == (QUIET + 10 * M, "fired again: Checkout still down")
    assert alert.data == {"source": "manual", "dedupe_key": "checkout-5xx"}
    assert after.incident.id != first.incident.id
    assert after.incident.ref == "INC-2"
    assert [i.ref for i in incidents.list_incidents(all=True)] == ["INC-2", "INC-1"]
    assert [kind for kind, *_ in outbox.told].count("incident.opened") == 2


PAGE_TITLE = "Checkout API availability: error budget burning fast"


def page(status: str = "firing", **labels: str) -> dict[str, Any]:
    """A burn-rate alert as Alertmanager posts it, for the rules `slo rules` writes."""
    return {
        "status": status,
        "labels": {
            "alertname": "CheckoutApiAvailabilityBurnRatePage",
            "severity": "page",
            "sloth_service": "checkout-api",
            "sloth_slo": "checkout-api-availability",
            **labels,
        },
        "annotations": {"title": PAGE_TITLE},
        "startsAt": "2026-11-27T14:57:00Z",
    }


def test_alertmanager_pages_open_incidents_tickets_and_unknown_systems_are_skipped(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = BF_AFTERNOON
    body = {
        "status": "firing",
        "alerts": [
            page(),
            page(alertname="CheckoutApiAvailabilityBurnRateTicket", severity="ticket"),
            page(alertname="GhostBurnRatePage", sloth_service="ghost"),
        ],
    }

    result = incidents.alerts(AlertmanagerWebhook.model_validate(body))

    assert result.incidents == [1]
    assert result.skipped == [
        "CheckoutApiAvailabilityBurnRateTicket: not a page with a system label",
        "GhostBurnRatePage: no system 'ghost'",
    ]
    incident = incidents.show(1).incident
    assert (incident.source, incident.signal, incident.type) == (
        IncidentSource.BURN_ALERT,
        Signal.DEGRADATION,
        "slo-burn",
    )
    assert incident.detected_at == _utc(2026, 11, 27, 14, 57)
    assert incident.title == PAGE_TITLE
    # A burning budget is a degradation: a quarter of Black Friday's traffic, below 50k/h.
    assert (incident.severity, incident.assessment.revenue_at_risk_per_hour) == (
        Severity.SEV2,
        {"USD": 46_250.0},
    )


def test_a_refiring_alert_adds_to_its_incident_and_a_resolved_one_is_noted(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = BF_AFTERNOON
    incidents.alerts(AlertmanagerWebhook.model_validate({"alerts": [page()]}))
    clock.advance(5 * M)
    again = incidents.alerts(AlertmanagerWebhook.model_validate({"alerts": [page()]}))
    clock.advance(30 * M)
    resolved = incidents.alerts(
        AlertmanagerWebhook.model_validate({"status": "resolved", "alerts": [page("resolved")]})
    )

    view = incidents.show(1)
    assert again.incidents == [1]
    assert resolved.skipped == []
    assert [(e.at, e.text) for e in of_kind(view.entries, EntryKind.ALERT)] == [
        (BF_AFTERNOON + 5 * M, "fired again: Checkout API availability: error budget burning fast"),
        (
            BF_AFTERNOON + 35 * M,
            "alert resolved: Checkout API availability: error budget burning fast",
        ),
    ]
    assert view.incident.status is Status.TRIAGE  # people resolve incidents, alerts do not
    assert [i.ref for i in incidents.list_incidents(all=True)] == ["INC-1"]


def test_an_alert_that_claims_to_start_in_the_future_is_detected_now(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = _utc(2026, 11, 27, 14)  # the alert says 14:57

    result = incidents.alerts(AlertmanagerWebhook.model_validate({"alerts": [page()]}))

    incident = incidents.show(result.incidents[0]).incident
    assert (incident.detected_at, incident.started_at) == (clock.now, clock.now)


# --- tasks, entries, refusals -------------------------------------------------------------


def test_tasks_and_action_items_are_kept_with_their_entries(
    db: Database, incidents: IncidentService, clock: Any
) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id
    clock.advance(M)
    rollback = incidents.add_task(ref, TaskRequest(title="Roll back v2.4.0", owner="dana"))
    canary = incidents.add_task(
        ref,
        TaskRequest(
            title="Canary checkout deploys",
            kind=TaskKind.ACTION_ITEM,
            action_type="prevent",
            due_at=_utc(2026, 12, 15),
        ),
    )
    clock.advance(10 * M)
    done = incidents.set_task(ref, rollback.id, done=True)

    assert (rollback.title, rollback.owner, rollback.status, rollback.created_at) == (
        "Roll back v2.4.0",
        "dana",
        TaskStatus.OPEN,
        QUIET + M,
    )
    assert (canary.kind, canary.action_type, canary.due_at) == (
        TaskKind.ACTION_ITEM,
        "prevent",
        _utc(2026, 12, 15),
    )
    assert (done.status, done.done_at) == (TaskStatus.DONE, QUIET + 11 * M)
    view = incidents.show(ref)
    assert [t.id for t in view.tasks] == [rollback.id, canary.id]
    assert view.tasks[0] == done
    assert [e.text for e in of_kind(view.entries, EntryKind.TASK)] == [
        f"task #{rollback.id}: Roll back v2.4.0 → dana",
        f"action item #{canary.id}: Canary checkout deploys",
        f"task #{rollback.id} done: Roll back v2.4.0",
    ]
    assert [e.payload["title"] for e in events(db, "incident.task_added")] == [
        "Roll back v2.4.0",
        "Canary checkout deploys",
    ]

    reopened = incidents.set_task(ref, rollback.id, done=False)
    assert (reopened.status, reopened.done_at) == (TaskStatus.OPEN, None)
    with pytest.raises(NotFound) as missing:
        incidents.set_task(ref, 999, done=True)
    assert missing.value.message == "INC-1 has no task 999"


def test_entries_can_be_pinned_and_unpinned(incidents: IncidentService, clock: Any) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id
    noted = incidents.add_entry(ref, EntryRequest(text="vendor status page is green"))
    (note,) = of_kind(noted.entries, EntryKind.NOTE)

    pinned = incidents.pin(ref, note.id, pinned=True)
    unpinned = incidents.pin(ref, note.id, pinned=False)

    assert note.pinned is False
    assert of_kind(pinned.entries, EntryKind.NOTE)[0].pinned is True
    assert of_kind(unpinned.entries, EntryKind.NOTE)[0].pinned is False
    with pytest.raises(NotFound) as missing:
        incidents.pin(ref, 999_999, pinned=True)
    assert missing.value.message == "INC-1 has no entry 999999"


def test_a_runbook_step_is_an_entry_and_a_timeline_event(
    db: Database, incidents: IncidentService, clock: Any
) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id
    clock.advance(3 * M)

    view = incidents.add_entry(
        ref,
        EntryRequest(
            kind=EntryKind.RUNBOOK,
            text="checkout-rollback step 2: rolled back to v2.3.9",
            data={"runbook": "checkout-rollback", "step": 2},
        ),
    )
    incidents.add_entry(ref, EntryRequest(text="a plain note"))

    (step,) = of_kind(view.entries, EntryKind.RUNBOOK)
    assert (step.at, step.actor, step.text) == (
        QUIET + 3 * M,
        "bob",
        "checkout-rollback step 2: rolled back to v2.3.9",
    )
    assert step.data == {"runbook": "checkout-rollback", "step": 2}
    (event,) = events(db, "incident.runbook_step")
    assert (event.occurred_at, event.subject, event.system) == (
        QUIET + 3 * M,
        "incident/1",
        "checkout-api",
    )
    assert event.payload == {
        "incident": 1,
        "systems": ["checkout-api"],
        "text": "checkout-rollback step 2: rolled back to v2.3.9",
        "runbook": "checkout-rollback",
        "step": 2,
    }


def test_an_incident_on_an_unknown_system_is_refused_with_a_hint(
    db: Database, incidents: IncidentService, clock: Any
) -> None:
    clock.now = QUIET

    with pytest.raises(NotFound) as refused:
        incidents.open(OpenRequest(title="Down", systems=("checkout-api", "nope")))

    assert refused.value.message == "no system 'nope'"
    assert refused.value.hint == "list them with 'launchdeck systems list'"
    assert incidents.list_incidents(all=True) == []
    assert events(db, "incident") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"detected_at": QUIET + M},
            "an incident starts before (or when) it is detected, and is detected by now",
        ),
        (
            {"detected_at": QUIET - H, "started_at": QUIET - 30 * M},
            "an incident starts before (or when) it is detected, and is detected by now",
        ),
    ],
    ids=["detected in the future", "started after it was detected"],
)
def test_impossible_times_are_refused(
    db: Database, incidents: IncidentService, clock: Any, fields: dict[str, Any], message: str
) -> None:
    clock.now = QUIET

    with pytest.raises(UsageError) as refused:
        incidents.open(checkout_down(**fields))

    assert refused.value.message == message
    assert refused.value.hint == "check --started and --detected"
    assert incidents.list_incidents(all=True) == []


def test_an_unknown_incident_is_not_found(incidents: IncidentService) -> None:
    with pytest.raises(NotFound) as missing:
        incidents.show(41)

    assert missing.value.message == "no incident INC-41"
    assert missing.value.hint == "list them with 'launchdeck incident list'"


def test_a_runbook_step_cannot_rename_the_incident_or_systems_of_its_event(
    db: Database, incidents: IncidentService, clock: Any
) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id

    incidents.add_entry(
        ref,
        EntryRequest(
            kind=EntryKind.RUNBOOK,
            text="step 1 done",
            data={"incident": 999, "systems": ["cms"], "runbook": "r"},
        ),
    )

    (event,) = events(db, "incident.runbook_step")
    assert (event.payload["incident"], event.payload["systems"]) == (ref, ["checkout-api"])


def test_a_change_of_status_and_severity_at_once_tells_both(
    incidents: IncidentService, outbox: RecordingOutbox, clock: Any
) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id

    incidents.update(ref, UpdateRequest(status=Status.ACTIVE, severity=Severity.SEV1))

    assert [(kind, severity) for kind, _, severity, _ in outbox.told] == [
        ("incident.opened", Severity.SEV3),
        ("incident.status_changed", Severity.SEV1),
        ("incident.severity_changed", Severity.SEV1),
    ]


def test_an_incident_cannot_reopen_while_another_holds_its_alert(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = QUIET
    first = incidents.open(checkout_down(dedupe_key="alert:checkout-api:availability"))
    incidents.update(first.incident.id, UpdateRequest(status=Status.RESOLVED))
    second = incidents.open(checkout_down(dedupe_key="alert:checkout-api:availability"))

    with pytest.raises(Conflict) as raised:
        incidents.update(first.incident.id, UpdateRequest(status=Status.ACTIVE))

    assert raised.value.message == (
        f"{second.incident.ref} is open for the same alert (alert:checkout-api:availability)"
    )
    assert incidents.show(first.incident.id).incident.status is Status.RESOLVED


def test_an_alert_with_a_malformed_system_label_is_skipped_and_the_rest_open(
    incidents: IncidentService, clock: Any
) -> None:
    clock.now = BF_AFTERNOON
    page = {
        "status": "firing",
        "labels": {"alertname": "Burn", "severity": "page", "sloth_service": "checkout-api"},
    }
    bad = {**page, "labels": {**page["labels"], "sloth_service": "Checkout_API"}}

    result = incidents.alerts(AlertmanagerWebhook.model_validate({"alerts": [bad, page]}))

    assert len(result.incidents) == 1
    (skipped,) = result.skipped
    assert skipped.startswith("Burn: systems: ")


def test_what_changed_reads_every_page_of_the_window(
    db: Database, incidents: IncidentService, clock: Any
) -> None:
    trigger = record(db, at=BF_AFTERNOON - 5 * H, system="checkout-api", payload={"version": "v9"})
    with db.unit_of_work() as uow:  # 600 later events that are not changes fill the first page
        for n in range(600):
            SqlTimeline(uow.session).append(
                NewEvent(
                    occurred_at=BF_AFTERNOON - 4 * H + n * timedelta(seconds=1),
                    actor="gate",
                    kind="gate.blocked",
                    subject="system/checkout-api",
                    system="checkout-api",
                )
            )
        uow.commit()
    clock.now = BF_AFTERNOON

    view = incidents.open(checkout_down())

    (change,) = of_kind(view.entries, EntryKind.CHANGE)
    assert change.data["event"] == trigger.id


def test_a_task_done_is_on_the_timeline(
    db: Database, incidents: IncidentService, clock: Any
) -> None:
    clock.now = QUIET
    ref = incidents.open(checkout_down()).incident.id
    task = incidents.add_task(ref, TaskRequest(title="Page payments", owner="@payments"))

    incidents.set_task(ref, task.id, done=True)

    (event,) = events(db, "incident.task_done")
    assert (event.payload["task"], event.payload["title"]) == (task.id, "Page payments")
