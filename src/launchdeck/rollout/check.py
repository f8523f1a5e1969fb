"""The gate's active_release check, the shell half: read the active release of the system in
the environment, then let the pure `rollout.gate.evaluate` decide."""

from __future__ import annotations

from datetime import datetime

from launchdeck.gate.model import CheckResult, GateRequest
from launchdeck.rollout.gate import CHECK, evaluate
from launchdeck.store import Database
from launchdeck.store.releases import active_release

__all__ = ["CHECK", "ActiveReleaseCheck"]


class ActiveReleaseCheck:
    name = CHECK

    def __init__(self, db: Database) -> None:
        self.db = db

    def evaluate(self, request: GateRequest, *, at: datetime) -> CheckResult:
        with self.db.read() as session:
            active = active_release(session, request.system, request.environment)
        return evaluate(request, active)
