"""The gate's checks as installed: each capability's check in place of its placeholder.

The one place that knows every capability's check, so `gate/` imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from launchdeck.gate.model import Check
    from launchdeck.reliability.service import SourceFactory
    from launchdeck.store import Database

__all__ = ["installed_checks"]


def installed_checks(
    db: Database, *, clock: Callable[[], datetime], sources: SourceFactory
) -> list[Check]:
    """active_release (releases), error_budget (SLOs) and open_incident (incidents)."""
    from launchdeck.gate.service import default_checks
    from launchdeck.incidents.check import OpenIncidentCheck
    from launchdeck.reliability.check import ErrorBudgetCheck
    from launchdeck.reliability.service import SloService
    from launchdeck.rollout.check import ActiveReleaseCheck

    installed: dict[str, Check] = {
        "active_release": ActiveReleaseCheck(db),
        "error_budget": ErrorBudgetCheck(
            db, SloService(db, clock=clock, sources=sources), clock=clock
        ),
        "open_incident": OpenIncidentCheck(db),
    }
    return [installed.get(c.name, c) for c in default_checks()]
