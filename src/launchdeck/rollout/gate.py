"""The gate's active_release decision. Pure: the shell (`check.py`) reads the active release of
the system in the environment; this decides.

One release at a time per system and environment is a fact of the store (a second `deploy` is
refused), so the gate says it first: a change that would ship code or content (feature,
hotfix, config, content) is blocked while a release is in progress; a rollback is always
allowed; a flag or reliability change is let through with a warning, since it muddies the
running release's analysis (canary and baseline no longer differ by the release alone).
"""

from __future__ import annotations

from launchdeck.calendar.model import ChangeType
from launchdeck.gate.model import CheckOutcome, CheckResult, GateRequest
from launchdeck.rollout.record import ReleaseRecord

__all__ = ["CHECK", "evaluate"]

CHECK = "active_release"
_WARN_ONLY = (ChangeType.FLAG, ChangeType.RELIABILITY)


def _label(record: ReleaseRecord) -> str:
    release = record.release
    where = f"step {release.step + 1}" if not release.blue_green else "blue-green"
    weight = f", {release.weight:g} % on the canary" if release.weight else ""
    return (
        f"release {record.ref} of {release.system} {release.version} is "
        f"{release.phase.replace('_', ' ')} ({where}{weight})"
    )


def evaluate(request: GateRequest, active: ReleaseRecord | None) -> CheckResult:
    """`active`: the release in progress on `request.system` in `request.environment`."""
    if active is None:
        return CheckResult(
            check=CHECK,
            outcome=CheckOutcome.PASS,
            summary=f"no release in progress on {request.system} in {request.environment}",
        )
    release = active.release
    facts: dict[str, float | int | str | None] = {
        "release": active.id,
        "version": release.version,
        "phase": str(release.phase),
        "weight": release.weight,
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
