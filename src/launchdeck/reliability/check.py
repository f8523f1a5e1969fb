"""The gate's error_budget check: the error-budget policy, enforced where deploys are decided.

It reads the system's SLO budgets through `SloService` and an admin's active gate override
(the approval), then lets the pure `evaluate_policy` decide. Budgets are production's: a change
to an environment that is not production-like passes with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from launchdeck.gate.model import Check, CheckOutcome, CheckResult, GateRequest
from launchdeck.gate.service import default_checks
from launchdeck.reliability.policy import CHECK, ObjectiveState, evaluate_policy
from launchdeck.reliability.service import SloService, SourceFactory
from launchdeck.reliability.spec import ReliabilitySpec
from launchdeck.store import Database, SqlStateStore
from launchdeck.store.calendar import SqlCalendarStore
from launchdeck.workspace.model import ResourceKind

__all__ = ["ErrorBudgetCheck", "installed_checks"]


class ErrorBudgetCheck:
    name = CHECK

    def __init__(self, db: Database, slos: SloService, *, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.slos = slos
        self.clock = clock

    def evaluate(self, request: GateRequest, *, at: datetime) -> CheckResult:
        with self.db.read() as session:
            state = SqlStateStore(session)
            environment = state.get(ResourceKind.ENVIRONMENT, request.environment)
            settings = state.settings()
            approvals = [
                o
                for o in SqlCalendarStore(session).overrides(at)
                if o.system == request.system
                and o.environment in (None, request.environment)
                and o.starts_at <= at < o.ends_at
            ]
        if not environment.production_like:
            return CheckResult(
                check=CHECK,
                outcome=CheckOutcome.PASS,
                summary=f"error budgets are production's; {request.environment} is not "
                "production-like",
            )
        policy = (settings.reliability if settings else ReliabilitySpec()).policy
        report = self.slos.status(request.system, at=at)
        states = [
            ObjectiveState(
                slo=s.slo,
                objective=s.objective,
                target=s.target,
                remaining=s.remaining,
                burn_rate=s.current_burn_rate,
                protected_by=s.protected_by,
                error=s.error,
            )
            for s in report.statuses
        ]
        approval = min(approvals, key=lambda o: o.id) if approvals else None
        result = evaluate_policy(
            policy,
            states,
            request.change_type,
            system=request.system,
            approval=(
                f"{approval.created_by}'s override until {approval.ends_at:%Y-%m-%d %H:%M UTC} "
                f"({approval.reason})"
                if approval
                else None
            ),
        )
        if (
            approval
            and result.outcome is CheckOutcome.WARN
            and result.summary.startswith("approved")
        ):
            return result.model_copy(update={"facts": {**result.facts, "override": approval.id}})
        return result


def installed_checks(
    db: Database, *, clock: Callable[[], datetime], sources: SourceFactory
) -> list[Check]:
    """The gate's checks with the error_budget one filled in (the others still placeholders)."""
    budget = ErrorBudgetCheck(db, SloService(db, clock=clock, sources=sources), clock=clock)
    return [budget if c.name == CHECK else c for c in default_checks()]
