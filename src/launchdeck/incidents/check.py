"""The gate's open_incident check, the shell half: read the open incidents on the system and
their severity at the instant asked about, then let the pure `incidents.gate.evaluate` decide.

A computed severity is reassessed against the calendar at `at` (a campaign starting later in the
incident raises it); a severity set by hand is taken as it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from launchdeck.gate.model import CheckResult, GateRequest
from launchdeck.incidents.gate import CHECK, evaluate
from launchdeck.incidents.service import impact_context, impact_inputs
from launchdeck.incidents.severity import IncidentPolicy, assess
from launchdeck.store import Database, SqlStateStore
from launchdeck.store.incidents import SqlIncidentStore
from launchdeck.workspace.model import ResourceKind

__all__ = ["CHECK", "OpenIncidentCheck"]

_TICK = timedelta(microseconds=1)


class OpenIncidentCheck:
    name = CHECK

    def __init__(self, db: Database) -> None:
        self.db = db

    def evaluate(self, request: GateRequest, *, at: datetime) -> CheckResult:
        with self.db.read() as session:
            environment = SqlStateStore(session).get(ResourceKind.ENVIRONMENT, request.environment)
            incidents = [
                i
                for i in SqlIncidentStore(session).open_incidents()
                if request.system in i.systems and i.detected_at <= at
            ]
            if not incidents:  # the common case: no campaign or policy to read
                return evaluate(request, [], IncidentPolicy(), production_like=True)
            ctx = impact_context(session, start=at, end=at + _TICK)
        severities = [
            (
                i,
                i.severity
                if i.severity_manual
                else assess(ctx.policy, impact_inputs(i, ctx), ctx.occurrences, at=at).severity,
            )
            for i in incidents
        ]
        return evaluate(
            request, severities, ctx.policy, production_like=environment.production_like
        )
