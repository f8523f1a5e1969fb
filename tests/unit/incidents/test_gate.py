"""The gate's open_incident decision: which open incidents hold a change back, and why."""

from __future__ import annotations

import pytest

from launchdeck.calendar.model import ChangeType
from launchdeck.gate.model import CheckOutcome, GateRequest
from launchdeck.incidents.gate import evaluate
from launchdeck.incidents.model import Status
from launchdeck.incidents.severity import IncidentPolicy, Severity
from unit.incidents.test_model import an_incident

POLICY = IncidentPolicy()


def request(change_type: ChangeType = ChangeType.FEATURE) -> GateRequest:
    return GateRequest(system="checkout-api", change_type=change_type)


def test_no_open_incident_passes() -> None:
    result = evaluate(request(), [], POLICY, production_like=True)

    assert (result.outcome, result.summary) == (
        CheckOutcome.PASS,
        "no open incident on checkout-api",
    )


def test_an_active_sev2_blocks_even_beside_a_mitigated_sev1() -> None:
    mitigated = an_incident(id=1, title="Cards fail", status=Status.MITIGATED)
    active = an_incident(id=2, title="Slow checkout", status=Status.ACTIVE)

    result = evaluate(
        request(),
        [(mitigated, Severity.SEV1), (active, Severity.SEV2)],
        POLICY,
        production_like=True,
    )

    assert result.outcome is CheckOutcome.BLOCK
    assert result.summary == (
        "INC-2 (SEV2, active: Slow checkout) is open on checkout-api: "
        "only rollback, hotfix, reliability until it is mitigated"
    )
    assert result.facts == {
        "incident": "INC-2",
        "severity": "SEV2",
        "status": "active",
        "open_incidents": 2,
    }


def test_only_mitigated_blocking_incidents_warn_and_name_the_worst() -> None:
    sev2 = an_incident(id=1, title="Slow checkout", status=Status.MITIGATED)
    sev1 = an_incident(id=2, title="Cards fail", status=Status.MITIGATED)

    result = evaluate(
        request(), [(sev2, Severity.SEV2), (sev1, Severity.SEV1)], POLICY, production_like=True
    )

    assert (result.outcome, result.summary) == (
        CheckOutcome.WARN,
        "INC-2 (SEV1, mitigated: Cards fail) is mitigated but not resolved: change with care",
    )


@pytest.mark.parametrize("change_type", [ChangeType.ROLLBACK, ChangeType.HOTFIX])
def test_remediation_passes_an_active_sev1(change_type: ChangeType) -> None:
    active = an_incident(id=3, title="Cards fail", status=Status.ACTIVE)

    result = evaluate(request(change_type), [(active, Severity.SEV1)], POLICY, production_like=True)

    assert (result.outcome, result.summary) == (
        CheckOutcome.PASS,
        f"INC-3 (SEV1, active: Cards fail) is open; a {change_type} is allowed as remediation",
    )


def test_a_sev3_does_not_hold_changes_back_and_staging_is_not_held_at_all() -> None:
    sev3 = an_incident(id=4, title="Search slow", status=Status.ACTIVE)
    sev1 = an_incident(id=5, title="Cards fail", status=Status.ACTIVE)

    low = evaluate(request(), [(sev3, Severity.SEV3)], POLICY, production_like=True)
    to_staging = GateRequest(system="checkout-api", environment="staging")
    staging = evaluate(to_staging, [(sev1, Severity.SEV1)], POLICY, production_like=False)

    assert (low.outcome, low.summary) == (
        CheckOutcome.PASS,
        "INC-4 (SEV3, active: Search slow) is open; SEV3 does not hold changes back",
    )
    assert (staging.outcome, staging.summary) == (
        CheckOutcome.PASS,
        "INC-5 (SEV1, active: Cards fail) is open, but staging is not production-like",
    )
