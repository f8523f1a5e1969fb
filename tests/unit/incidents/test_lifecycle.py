"""What an update does to an incident, without a database: fields, entries, timestamps, event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from launchdeck.errors import UsageError
from launchdeck.incidents.lifecycle import event_kind, plain_changes, status_fields
from launchdeck.incidents.model import EntryKind, Priority, Status, UpdateRequest
from launchdeck.incidents.severity import Severity
from unit.incidents.test_model import STARTED, an_incident

NOW = STARTED + timedelta(hours=1)


def test_resolving_without_a_mitigation_step_sets_both_times() -> None:
    fields = status_fields(an_incident(status=Status.ACTIVE), Status.RESOLVED, NOW)

    assert fields == {"status": Status.RESOLVED, "resolved_at": NOW, "mitigated_at": NOW}


def test_reopening_clears_the_mitigation_and_resolution() -> None:
    resolved = an_incident(status=Status.RESOLVED, mitigated_at=NOW, resolved_at=NOW)

    assert status_fields(resolved, Status.ACTIVE, NOW) == {
        "status": Status.ACTIVE,
        "mitigated_at": None,
        "resolved_at": None,
        "postmortem_at": None,
    }


def test_a_move_backwards_is_a_usage_error_with_the_way_forward() -> None:
    with pytest.raises(UsageError) as raised:
        status_fields(an_incident(status=Status.RESOLVED), Status.TRIAGE, NOW)

    assert raised.value.message == "INC-7 cannot go from resolved to triage"
    assert raised.value.hint is not None and "reopen as active" in raised.value.hint


def test_each_changed_field_gets_an_entry_and_unchanged_ones_none() -> None:
    incident = an_incident(title="Checkout is down")
    request = UpdateRequest(
        title="Checkout is down",
        traffic_share=0.5,
        scribe="@lee",
        add_participants=("@kim",),
        priority=Priority.P2,
    )

    changes, entries = plain_changes(incident, request, NOW)

    assert set(changes) == {"traffic_share", "roles", "priority", "priority_manual"}
    assert entries == [
        (EntryKind.NOTE, "traffic_share: - → 0.5"),
        (EntryKind.ROLE, "scribe: @lee"),
        (EntryKind.ROLE, "joined: @kim"),
        (EntryKind.PRIORITY, "priority: P1 → P2"),
    ]


def test_the_event_is_the_status_reached_else_the_severity_change() -> None:
    active = an_incident(status=Status.ACTIVE)

    assert event_kind(active, active.model_copy(update={"status": Status.RESOLVED})) == (
        "incident.resolved"
    )
    assert event_kind(active, active.model_copy(update={"severity": Severity.SEV2})) == (
        "incident.severity_changed"
    )
    assert event_kind(active, active) == "incident.updated"
