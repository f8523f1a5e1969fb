"""The gate's open_incident check: an open SEV1/SEV2 on a system blocks every change to it that
is not remediation (rollback, hotfix, reliability work), and says which incident and why.

The severity it uses is the incident's at the instant asked about: a computed severity is
reassessed against the calendar at `at` (a campaign starting later in the incident raises it),
a severity set by hand is taken as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from launchdeck.gate.model import CheckOutcome, CheckResult, GateRequest
from launchdeck.incidents.model import Incident, Status
from launchdeck.incidents.service import ImpactContext, impact_context, impact_inputs
from launchdeck.incidents.severity import Severity, assess
from launchdeck.store import Database, SqlStateStore
from launchdeck.store.incidents import SqlIncidentStore
from launchdeck.workspace.model import ResourceKind

__all__ = ["CHECK", "OpenIncidentCheck"]

CHECK = "open_incident"
_TICK = timedelta(microseconds=1)


class OpenIncidentCheck:
    name = CHECK

    def __init__(self, db: Database, *, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def evaluate(self, request: GateRequest, *, at: datetime) -> CheckResult:
        with self.db.read() as session:
            environment = SqlStateStore(session).get(ResourceKind.ENVIRONMENT, request.environment)
            incidents = [
                i
                for i in SqlIncidentStore(session).open_incidents()
                if request.system in i.systems and i.detected_at <= at
            ]
            if not incidents:
                return CheckResult(
                    check=CHECK,
                    outcome=CheckOutcome.PASS,
                    summary=f"no open incident on {request.system}",
                )
            ctx = impact_context(session, start=at, end=at + _TICK)
        severities = {i.id: self._severity(i, ctx, at) for i in incidents}
        worst = min(incidents, key=lambda i: (severities[i.id].rank, i.id))
        severity = severities[worst.id]
        facts: dict[str, float | int | str | None] = {
            "incident": worst.ref,
            "severity": str(severity),
            "status": str(worst.status),
            "open_incidents": len(incidents),
        }
        label = f"{worst.ref} ({severity}, {worst.status}: {worst.title})"
        if not environment.production_like:
            return CheckResult(
                check=CHECK,
                outcome=CheckOutcome.PASS,
                summary=f"{label} is open, but {request.environment} is not production-like",
                facts=facts,
            )
        if severity not in ctx.policy.block_severities:
            return CheckResult(
                check=CHECK,
                outcome=CheckOutcome.PASS,
                summary=f"{label} is open; {severity} does not hold changes back",
                facts=facts,
            )
        allowed = ", ".join(str(c) for c in ctx.policy.remediation)
        if request.change_type in ctx.policy.remediation:
            return CheckResult(
                check=CHECK,
                outcome=CheckOutcome.PASS,
                summary=f"{label} is open; a {request.change_type} is allowed as remediation",
                facts=facts,
            )
        if worst.status is Status.MITIGATED:
            return CheckResult(
                check=CHECK,
                outcome=CheckOutcome.WARN,
                summary=f"{label} is mitigated but not resolved: change with care",
                facts=facts,
            )
        return CheckResult(
            check=CHECK,
            outcome=CheckOutcome.BLOCK,
            summary=f"{label} is open on {request.system}: only {allowed} until it is mitigated",
            facts=facts,
        )

    @staticmethod
    def _severity(incident: Incident, ctx: ImpactContext, at: datetime) -> Severity:
        if incident.severity_manual:
            return incident.severity
        return assess(ctx.policy, impact_inputs(incident, ctx), ctx.occurrences, at=at).severity
