"""The gate's error_budget check: the error-budget policy, enforced where deploys are decided.

It reads the system's SLO budgets through `SloService` and an admin's active gate override
(the approval), then lets the pure `evaluate_policy` decide. Budgets are production's: a change
to an environment that is not production-like passes with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from launchdeck.gate.model import CheckResult, GateRequest, active_overrides
from launchdeck.reliability.policy import CHECK, Approval, ObjectiveState, evaluate_policy
from launchdeck.reliability.service import SloService
from launchdeck.reliability.spec import ReliabilitySpec
from launchdeck.store import Database, SqlStateStore
from launchdeck.store.calendar import SqlCalendarStore
from launchdeck.workspace.model import ResourceKind

__all__ = ["ErrorBudgetCheck"]


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
            approvals = active_overrides(
                SqlCalendarStore(session).overrides(at),
                system=request.system,
                environment=request.environment,
                at=at,
            )
        statuses = (
            self.slos.status(request.system, at=at).statuses if environment.production_like else ()
        )
        return evaluate_policy(
            (settings.reliability if settings else ReliabilitySpec()).policy,
            [
                ObjectiveState(
                    slo=s.slo,
                    objective=s.objective,
                    target=s.target,
                    remaining=s.remaining,
                    burn_rate=s.current_burn_rate,
                    protected_by=s.protected_by,
                    error=s.error,
                )
                for s in statuses
            ],
            request.change_type,
            system=request.system,
            environment=request.environment,
            production_like=environment.production_like,
            approval=Approval.of(approvals[0]) if approvals else None,
        )
