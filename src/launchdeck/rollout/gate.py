"""The gate's active_release decision. Pure: the shell (`check.py`) reads the active release of
the system in the environment; this decides.

One release at a time per system and environment is a fact of the store (a second `deploy` is
refused), so the gate says it first: a change that would ship code or content (feature,
hotfix, config, content) is blocked while a release is in progress; a rollback is always
allowed; a flag or reliability change is let through with a warning, since it muddies the
running release's analysis (canary and baseline no longer differ by the release alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from launchdeck.calendar.model import ChangeType
from launchdeck.gate.model import CheckOutcome, CheckResult, GateRequest

if TYPE_CHECKING:  # not at run time: the gate must not import the judge's statistics
    from launchdeck.rollout.record import ReleaseRecord

__all__ = ["CHECK", "ActiveRelease", "evaluate"]

CHECK = "active_release"
_WARN_ONLY = (ChangeType.FLAG, ChangeType.RELIABILITY)


@dataclass(frozen=True, slots=True)
class ActiveRelease:
    """What the check says of the release in progress (read from its row, not decoded)."""

    id: int
    system: str
    version: str
    phase: str
    step: int
    weight: float
    blue_green: bool

    @classmethod
    def of(cls, record: ReleaseRecord) -> ActiveRelease:
        release = record.release
        return cls(
            id=record.id,
            system=release.system,
            version=release.version,
            phase=str(release.phase),
            step=release.step,
            weight=release.weight,
            blue_green=release.blue_green,
        )


def _label(active: ActiveRelease) -> str:
    where = f"step {active.step + 1}" if not active.blue_green else "blue-green"
    weight = f", {active.weight:g} % on the canary" if active.weight else ""
    return (
        f"release #{active.id} of {active.system} {active.version} is "
        f"{active.phase.replace('_', ' ')} ({where}{weight})"
    )


def evaluate(request: GateRequest, active: ActiveRelease | ReleaseRecord | None) -> CheckResult:
    """`active`: the release in progress on `request.system` in `request.environment`."""
    if active is not None and not isinstance(active, ActiveRelease):
        active = ActiveRelease.of(active)
    if active is None:
        return CheckResult(
            check=CHECK,
            outcome=CheckOutcome.PASS,
            summary=f"no release in progress on {request.system} in {request.environment}",
        )
    facts: dict[str, float | int | str | None] = {
        "release": active.id,
        "version": active.version,
        "phase": active.phase,
        "weight": active.weight,
    }
    label = _label(active)
    if request.change_type is ChangeType.ROLLBACK:
        outcome, summary = CheckOutcome.PASS, f"{label}; a rollback is always allowed"
    elif request.change_type in _WARN_ONLY:
        outcome = CheckOutcome.WARN
        summary = f"{label}: a {request.change_type} change now muddies its analysis"
    else:
        outcome = CheckOutcome.BLOCK
        summary = f"{label}: one release at a time; promote or abort it first"
    return CheckResult(check=CHECK, outcome=outcome, summary=summary, facts=facts)
