"""The gate's open_incident decision. Pure: the shell (`check.py`) reads the open incidents on
the system and their severity at the instant asked about; this decides.

Every open incident of a blocking severity counts, not only the worst one: an active SEV2 blocks
even beside a mitigated SEV1.
"""

from __future__ import annotations

from collections.abc import Sequence

from launchdeck.gate.model import CheckOutcome, CheckResult, GateRequest
from launchdeck.incidents.model import Incident, Status
from launchdeck.incidents.severity import IncidentPolicy, Severity

__all__ = ["CHECK", "evaluate"]

CHECK = "open_incident"


def _label(incident: Incident, severity: Severity) -> str:
    return f"{incident.ref} ({severity}, {incident.status}: {incident.title})"


def evaluate(
    request: GateRequest,
    incidents: Sequence[tuple[Incident, Severity]],
    policy: IncidentPolicy,
    *,
    production_like: bool,
) -> CheckResult:
    """`incidents`: the open ones on `request.system`, each with its severity at the gate's `at`."""
    if not incidents:
        return CheckResult(
            check=CHECK, outcome=CheckOutcome.PASS, summary=f"no open incident on {request.system}"
        )
    ranked = sorted(incidents, key=lambda pair: (pair[1].rank, pair[0].id))
    blocking = [(i, s) for i, s in ranked if s in policy.block_severities]
    holding = [(i, s) for i, s in blocking if i.status is not Status.MITIGATED]
    incident, severity = (holding or blocking or ranked)[0]
    facts: dict[str, float | int | str | None] = {
        "incident": incident.ref,
        "severity": str(severity),
        "status": str(incident.status),
        "open_incidents": len(incidents),
    }
    label = _label(incident, severity)

    def result(outcome: CheckOutcome, summary: str) -> CheckResult:
        return CheckResult(check=CHECK, outcome=outcome, summary=summary, facts=facts)

    if not production_like:
        return result(
            CheckOutcome.PASS,
            f"{label} is open, but {request.environment} is not production-like",
        )
    if not blocking:
        return result(CheckOutcome.PASS, f"{label} is open; {severity} does not hold changes back")
    if request.change_type in policy.remediation:
        return result(
            CheckOutcome.PASS,
            f"{label} is open; a {request.change_type} is allowed as remediation",
        )
    if not holding:
        return result(CheckOutcome.WARN, f"{label} is mitigated but not resolved: change with care")
    allowed = ", ".join(str(c) for c in policy.remediation)
    return result(
        CheckOutcome.BLOCK,
        f"{label} is open on {request.system}: only {allowed} until it is mitigated",
    )
