"""The gate's open_incident check on SQLite and PostgreSQL, as installed: an open SEV1/SEV2 on a
system holds back every change to it but remediation, and the severity it goes by is the one at
the instant asked about.

The example's Black Friday 2026 (tier 1, on checkout-api) runs 2026-11-27 05:00Z to 11-29 04:59Z;
in a quiet week an outage of checkout-api is SEV3. Only open_incident is looked at here: the
other checks (freezes, error budgets) have their own suites.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from store_builders import edited

from launchdeck.calendar.model import ChangeType
from launchdeck.checks import installed_checks
from launchdeck.gate.model import CheckOutcome, CheckResult, Decision, GateRequest, Verdict
from launchdeck.gate.service import GateService
from launchdeck.incidents.check import OpenIncidentCheck
from launchdeck.incidents.model import IncidentView, OpenRequest, Status, UpdateRequest
from launchdeck.incidents.service import IncidentService
from launchdeck.incidents.severity import Severity
from launchdeck.reliability.service import prometheus_sources
from launchdeck.store import Database
from launchdeck.timeline.model import TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


QUIET = _utc(2026, 11, 10, 15)
EVE = _utc(2026, 11, 26, 20)
BF_START = _utc(2026, 11, 27, 5)
BF_AFTERNOON = _utc(2026, 11, 27, 15)
AFTER_BF = _utc(2026, 11, 29, 12)
M = timedelta(minutes=1)
TITLE = "Checkout is down"
REMEDIATION = [ChangeType.ROLLBACK, ChangeType.HOTFIX, ChangeType.RELIABILITY]


@pytest.fixture
def applied(service: WorkspaceService, example_spec: WorkspaceSpec, clock: Any) -> WorkspaceSpec:
    clock.now = _utc(2026, 10, 1)
    service.apply(example_spec)
    return example_spec


@pytest.fixture
def incidents(db: Database, clock: Any, applied: WorkspaceSpec) -> IncidentService:
    return IncidentService(db, actor="bob", clock=clock)


@pytest.fixture
def gate(db: Database, clock: Any, applied: WorkspaceSpec, prometheus_url: str) -> GateService:
    """The gate with the installed checks; Prometheus is a closed port (no SLO is read here)."""
    checks = installed_checks(db, clock=clock, sources=prometheus_sources(prometheus_url))
    return GateService(db, actor="ci", clock=clock, checks=checks)


def open_incident(verdict: Verdict) -> CheckResult:
    (found,) = [c for c in verdict.checks if c.check == "open_incident"]
    return found


def checkout(
    change_type: ChangeType = ChangeType.FEATURE,
    *,
    environment: str = "production",
    at: datetime | None = None,
    system: str = "checkout-api",
) -> GateRequest:
    return GateRequest(system=system, environment=environment, change_type=change_type, at=at)


def down(
    incidents: IncidentService, *, status: Status = Status.ACTIVE, **fields: Any
) -> IncidentView:
    """checkout-api down, opened now and moved to `status`."""
    view = incidents.open(OpenRequest(**{"title": TITLE, "systems": ("checkout-api",), **fields}))
    if status is Status.TRIAGE:
        return view
    return incidents.update(view.incident.id, UpdateRequest(status=status))


def test_an_active_sev1_blocks_a_feature_and_names_the_incident_and_what_it_allows(
    incidents: IncidentService, gate: GateService, clock: Any
) -> None:
    clock.now = BF_AFTERNOON
    incident = down(incidents).incident

    check = open_incident(gate.check(checkout()))

    assert incident.severity is Severity.SEV1
    assert check.outcome is CheckOutcome.BLOCK
    assert check.summary == (
        f"INC-1 (SEV1, active: {TITLE}) is open on checkout-api: only rollback, hotfix, "
        "reliability until it is mitigated"
    )
    assert check.facts == {
        "incident": "INC-1",
        "severity": "SEV1",
        "status": "active",
        "open_incidents": 1,
    }


def test_in_a_quiet_week_an_incident_set_to_sev1_by_hand_alone_blocks_the_deploy(
    db: Database, incidents: IncidentService, gate: GateService, clock: Any
) -> None:
    """No freeze then: the block is the incident's, and the timeline records it."""
    clock.now = QUIET
    down(incidents, severity=Severity.SEV1)

    verdict = gate.check(checkout())

    assert verdict.decision is Decision.BLOCK
    assert [(c.check, c.outcome) for c in verdict.checks if c.outcome is CheckOutcome.BLOCK] == [
        ("open_incident", CheckOutcome.BLOCK)
    ]
    (event,) = TimelineService(db).query(TimelineQuery(kind="gate.blocked")).events
    assert {
        "check": "open_incident",
        "outcome": "block",
        "summary": open_incident(verdict).summary,
    } in event.payload["checks"]


@pytest.mark.parametrize("change_type", REMEDIATION, ids=[str(c) for c in REMEDIATION])
def test_remediation_goes_ahead_during_a_sev1(
    incidents: IncidentService,
    gate: GateService,
    clock: Any,
    change_type: ChangeType,
) -> None:
    clock.now = QUIET
    down(incidents, severity=Severity.SEV1)

    verdict = gate.check(checkout(change_type))

    check = open_incident(verdict)
    assert check.outcome is CheckOutcome.PASS
    assert check.summary == (
        f"INC-1 (SEV1, active: {TITLE}) is open; a {change_type} is allowed as remediation"
    )
    assert verdict.decision is not Decision.BLOCK


def test_a_mitigated_sev1_warns(incidents: IncidentService, gate: GateService, clock: Any) -> None:
    clock.now = BF_AFTERNOON
    down(incidents, status=Status.MITIGATED)

    check = open_incident(gate.check(checkout()))

    assert check.outcome is CheckOutcome.WARN
    assert check.summary == (
        f"INC-1 (SEV1, mitigated: {TITLE}) is mitigated but not resolved: change with care"
    )
    assert check.facts["status"] == "mitigated"


def test_a_sev2_blocks_as_well(incidents: IncidentService, gate: GateService, clock: Any) -> None:
    clock.now = QUIET
    down(incidents, status=Status.TRIAGE, severity=Severity.SEV2)

    check = open_incident(gate.check(checkout(ChangeType.CONFIG)))

    assert check.outcome is CheckOutcome.BLOCK
    assert check.summary.startswith(f"INC-1 (SEV2, triage: {TITLE}) is open on checkout-api")


def test_staging_is_not_held_back(
    incidents: IncidentService, gate: GateService, clock: Any
) -> None:
    clock.now = BF_AFTERNOON
    down(incidents)

    check = open_incident(gate.check(checkout(environment="staging")))

    assert check.outcome is CheckOutcome.PASS
    assert check.summary == (
        f"INC-1 (SEV1, active: {TITLE}) is open, but staging is not production-like"
    )
    assert check.facts["incident"] == "INC-1"


def test_a_sev3_incident_does_not_hold_changes_back(
    incidents: IncidentService, gate: GateService, clock: Any
) -> None:
    clock.now = QUIET
    down(incidents)

    check = open_incident(gate.check(checkout()))

    assert check.outcome is CheckOutcome.PASS
    assert (
        check.summary == f"INC-1 (SEV3, active: {TITLE}) is open; SEV3 does not hold changes back"
    )
    assert check.facts["severity"] == "SEV3"


@pytest.mark.parametrize(
    "system",
    ["landing-pages", "tracking-pixel", "email-renderer"],
    ids=[
        "a system on the same campaign",
        "a system checkout-api depends on",
        "an unrelated system",
    ],
)
def test_other_systems_are_not_held_back(
    incidents: IncidentService, gate: GateService, clock: Any, system: str
) -> None:
    clock.now = QUIET
    down(incidents, severity=Severity.SEV1)

    check = open_incident(gate.check(checkout(system=system)))

    assert (check.outcome, check.summary) == (
        CheckOutcome.PASS,
        f"no open incident on {system}",
    )


def test_a_resolved_incident_holds_nothing_back(
    incidents: IncidentService, gate: GateService, clock: Any
) -> None:
    clock.now = QUIET
    incident = down(incidents, severity=Severity.SEV1).incident
    clock.advance(30 * M)
    incidents.update(incident.id, UpdateRequest(status=Status.RESOLVED))

    check = open_incident(gate.check(checkout()))

    assert (check.outcome, check.summary) == (
        CheckOutcome.PASS,
        "no open incident on checkout-api",
    )


def test_the_severity_is_the_one_at_the_instant_asked_about(
    incidents: IncidentService, gate: GateService, clock: Any
) -> None:
    """Opened on the eve as SEV3; a deploy planned for Black Friday meets a SEV1."""
    clock.now = EVE
    down(incidents)

    tonight = open_incident(gate.check(checkout()))
    black_friday = open_incident(gate.check(checkout(at=BF_AFTERNOON)))
    at_its_start = open_incident(gate.check(checkout(at=BF_START)))
    just_before = open_incident(gate.check(checkout(at=BF_START - M)))
    after_it = open_incident(gate.check(checkout(at=AFTER_BF)))
    before_detection = open_incident(gate.check(checkout(at=EVE - M)))

    assert (tonight.outcome, tonight.facts["severity"]) == (CheckOutcome.PASS, "SEV3")
    assert (black_friday.outcome, black_friday.facts["severity"]) == (CheckOutcome.BLOCK, "SEV1")
    assert black_friday.summary.startswith(f"INC-1 (SEV1, active: {TITLE}) is open on checkout-api")
    assert (at_its_start.outcome, just_before.outcome) == (CheckOutcome.BLOCK, CheckOutcome.PASS)
    assert (after_it.outcome, after_it.facts["severity"]) == (CheckOutcome.PASS, "SEV3")
    assert before_detection.summary == "no open incident on checkout-api"


def test_on_black_friday_the_check_uses_the_calendar_even_before_anyone_looks_again(
    db: Database, incidents: IncidentService, clock: Any
) -> None:
    """The stored severity is still SEV3 (nobody has shown the incident since the eve)."""
    clock.now = EVE
    down(incidents)
    clock.now = BF_AFTERNOON
    check = OpenIncidentCheck(db)

    result = check.evaluate(checkout(), at=BF_AFTERNOON)

    assert (result.outcome, result.facts["severity"]) == (CheckOutcome.BLOCK, "SEV1")


def test_a_severity_set_by_hand_is_taken_as_it_is(
    incidents: IncidentService, gate: GateService, clock: Any
) -> None:
    clock.now = EVE
    down(incidents, severity=Severity.SEV3)

    check = open_incident(gate.check(checkout(at=BF_AFTERNOON)))

    assert (check.outcome, check.facts["severity"]) == (CheckOutcome.PASS, "SEV3")


def test_with_several_incidents_the_worst_is_named(
    incidents: IncidentService, gate: GateService, clock: Any
) -> None:
    clock.now = QUIET
    down(incidents, severity=Severity.SEV3)
    down(incidents, severity=Severity.SEV2, title="Checkout slow")
    down(incidents, severity=Severity.SEV2, title="Checkout erroring")

    check = open_incident(gate.check(checkout()))

    assert check.outcome is CheckOutcome.BLOCK
    assert check.facts == {
        "incident": "INC-2",
        "severity": "SEV2",
        "status": "active",
        "open_incidents": 3,
    }
    assert check.summary.startswith("INC-2 (SEV2, active: Checkout slow)")


def test_the_workspace_policy_says_which_severities_block_and_what_is_remediation(
    db: Database,
    service: WorkspaceService,
    incidents: IncidentService,
    gate: GateService,
    clock: Any,
) -> None:
    def strict(data: dict[str, Any]) -> None:
        data["incidents"] = {
            "block_severities": ["SEV1", "SEV2", "SEV3"],
            "remediation": ["rollback"],
        }

    service.apply(edited(strict))
    clock.now = QUIET
    down(incidents)

    feature = open_incident(gate.check(checkout()))
    hotfix = open_incident(gate.check(checkout(ChangeType.HOTFIX)))
    rollback = open_incident(gate.check(checkout(ChangeType.ROLLBACK)))

    assert (feature.outcome, hotfix.outcome, rollback.outcome) == (
        CheckOutcome.BLOCK,
        CheckOutcome.BLOCK,
        CheckOutcome.PASS,
    )
    assert hotfix.summary == (
        f"INC-1 (SEV3, active: {TITLE}) is open on checkout-api: only rollback until it is "
        "mitigated"
    )
