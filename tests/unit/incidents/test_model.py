"""The incident model: which status moves are allowed, the priority a severity implies, the
durations from the start of impact, and what a request refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from launchdeck.incidents.model import (
    OPEN_STATUSES,
    Incident,
    OpenRequest,
    Priority,
    Status,
    TaskRequest,
    can_move,
    default_priority,
    view,
)
from launchdeck.incidents.severity import Assessment, Severity, Signal

STARTED = datetime(2026, 11, 27, 14, 40, tzinfo=UTC)
M = timedelta(minutes=1)


def an_incident(**fields: Any) -> Incident:
    values: dict[str, Any] = {
        "id": 7,
        "title": "Checkout is down",
        "systems": ("checkout-api",),
        "signal": Signal.OUTAGE,
        "severity": Severity.SEV1,
        "priority": Priority.P1,
        "status": Status.ACTIVE,
        "started_at": STARTED,
        "detected_at": STARTED + 5 * M,
        "opened_at": STARTED + 7 * M,
        "opened_by": "alice",
        "assessment": Assessment(
            severity=Severity.SEV1,
            at=STARTED + 5 * M,
            signal=Signal.OUTAGE,
            traffic_share=1.0,
            rule="a rule",
        ),
        "assessed_at": STARTED + 7 * M,
        **fields,
    }
    return Incident(**values)


# --- statuses -----------------------------------------------------------------------------

S = Status
MOVES = [
    (S.TRIAGE, S.ACTIVE, True),
    (S.TRIAGE, S.MITIGATED, True),
    (S.TRIAGE, S.RESOLVED, True),
    (S.ACTIVE, S.MITIGATED, True),
    (S.ACTIVE, S.RESOLVED, True),
    (S.MITIGATED, S.RESOLVED, True),
    (S.RESOLVED, S.POSTMORTEM_DONE, True),
    (S.MITIGATED, S.ACTIVE, True),
    (S.RESOLVED, S.ACTIVE, True),
    (S.RESOLVED, S.TRIAGE, False),
    (S.ACTIVE, S.TRIAGE, False),
    (S.MITIGATED, S.TRIAGE, False),
    (S.RESOLVED, S.MITIGATED, False),
    (S.POSTMORTEM_DONE, S.ACTIVE, False),
    (S.POSTMORTEM_DONE, S.RESOLVED, False),
    (S.ACTIVE, S.ACTIVE, False),
    (S.TRIAGE, S.TRIAGE, False),
]


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    MOVES,
    ids=[f"{c} -> {n}: {'allowed' if ok else 'refused'}" for c, n, ok in MOVES],
)
def test_statuses_move_forward_and_a_mitigated_or_resolved_incident_may_reopen(
    current: Status, new: Status, allowed: bool
) -> None:
    assert can_move(current, new) is allowed


def test_every_status_but_the_first_is_reachable_and_triage_only_at_the_start() -> None:
    reachable = {new for current in Status for new in Status if can_move(current, new)}

    assert reachable == set(Status) - {Status.TRIAGE}


def test_an_incident_is_open_until_it_is_resolved() -> None:
    assert {Status.TRIAGE, Status.ACTIVE, Status.MITIGATED} == OPEN_STATUSES
    assert [an_incident(status=s).open for s in Status] == [True, True, True, False, False]


@pytest.mark.parametrize(
    ("severity", "priority"),
    [
        (Severity.SEV1, Priority.P1),
        (Severity.SEV2, Priority.P2),
        (Severity.SEV3, Priority.P3),
        (Severity.SEV4, Priority.P4),
    ],
    ids=["SEV1 is P1", "SEV2 is P2", "SEV3 is P3", "SEV4 is P4"],
)
def test_default_priority_follows_the_severity(severity: Severity, priority: Priority) -> None:
    assert default_priority(severity) is priority


# --- durations ----------------------------------------------------------------------------


def test_durations_run_from_the_start_of_impact() -> None:
    incident = an_incident(
        mitigated_at=STARTED + 25 * M, resolved_at=STARTED + 90 * M, status=Status.RESOLVED
    )

    assert incident.time_to_detect == 5 * M
    assert incident.time_to_mitigate == 25 * M
    assert incident.time_to_resolve == 90 * M
    assert view(incident).durations.model_dump() == {
        "time_to_detect_s": 300.0,
        "time_to_mitigate_s": 1500.0,
        "time_to_resolve_s": 5400.0,
    }


def test_an_open_incident_has_no_time_to_mitigate_or_resolve_yet() -> None:
    incident = an_incident()

    assert (incident.time_to_mitigate, incident.time_to_resolve) == (None, None)
    assert view(incident).durations.model_dump() == {
        "time_to_detect_s": 300.0,
        "time_to_mitigate_s": None,
        "time_to_resolve_s": None,
    }


def test_an_incident_resolved_without_a_mitigation_step_was_mitigated_when_resolved() -> None:
    incident = an_incident(resolved_at=STARTED + 40 * M, status=Status.RESOLVED)

    assert incident.time_to_mitigate == 40 * M
    assert incident.time_to_resolve == 40 * M


def test_an_incident_detected_as_it_started_took_no_time_to_detect() -> None:
    incident = an_incident(detected_at=STARTED)

    assert incident.time_to_detect == timedelta(0)
    assert view(incident).durations.time_to_detect_s == 0.0


def test_the_reference_is_inc_and_the_id() -> None:
    assert an_incident(id=42).ref == "INC-42"


def test_a_view_carries_the_incident_with_its_entries_and_tasks() -> None:
    incident = an_incident()

    shown = view(incident)

    assert (shown.incident, shown.entries, shown.tasks) == (incident, (), ())


# --- requests -----------------------------------------------------------------------------


def test_an_open_request_defaults_to_a_manual_outage() -> None:
    request = OpenRequest(title="  Checkout is down  ", systems=("checkout-api",))

    assert request.title == "Checkout is down"
    assert (request.signal, request.source, request.severity, request.dedupe_key) == (
        Signal.OUTAGE,
        "manual",
        None,
        None,
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"systems": ()},
        {"systems": ("Checkout API",)},
        {"title": "   "},
        {"traffic_share": 0},
        {"traffic_share": 1.5},
        {"detected_at": datetime(2026, 11, 27, 15)},
        {"severity": "SEV5"},
        {"priority": "P0"},
        {"impact": "huge"},
    ],
    ids=[
        "no system",
        "a system that is not an id",
        "a blank title",
        "no traffic affected",
        "more than all traffic",
        "a naive detection time",
        "an unknown severity",
        "an unknown priority",
        "an unknown field",
    ],
)
def test_an_open_request_refuses_what_cannot_be_an_incident(fields: dict[str, Any]) -> None:
    values: dict[str, Any] = {"title": "Checkout is down", "systems": ("checkout-api",), **fields}

    with pytest.raises(ValidationError):
        OpenRequest(**values)


def test_an_action_item_type_is_mitigate_prevent_or_process() -> None:
    allowed = [
        TaskRequest(title="x", kind="action_item", action_type=t).action_type
        for t in ("mitigate", "prevent", "process")
    ]

    with pytest.raises(ValidationError):
        TaskRequest(title="x", kind="action_item", action_type="blame")
    assert allowed == ["mitigate", "prevent", "process"]
