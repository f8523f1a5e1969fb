"""What a release's moves put on the timeline, and who is told. Pure.

Every history entry a change adds becomes an event (`release.started`, `.progressing`,
`.paused`, `.waiting`, `.promoted`, `.rolled_back`), a change of the canary's weight a
`release.weight`; a rollback carries its evidence (each metric of the analyses' last
measurements with its numbers), the weight it had and, with a `revenue:` section, what it cost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from launchdeck.rollout.record import ReleaseRecord
from launchdeck.rollout.release import Phase, Release, desired
from launchdeck.timeline.model import NewEvent

__all__ = ["ENDS", "TOLD", "evidence", "release_event", "transitions"]

_KINDS: Final = {
    Phase.PENDING: "release.waiting",
    Phase.PROGRESSING: "release.progressing",
    Phase.PAUSED: "release.paused",
    Phase.PROMOTED: "release.promoted",
    Phase.ROLLED_BACK: "release.rolled_back",
}
ENDS: Final = ("release.promoted", "release.rolled_back")
TOLD: Final = ("release.paused", "release.promoted", "release.rolled_back", "release.started")
"""Kinds people are told about (Slack, Teams … as the workspace routes them)."""


def transitions(
    current: ReleaseRecord,
    release: Release,
    now: datetime,
    *,
    actor: str,
    revenue: dict[str, Any] | None = None,
) -> list[NewEvent]:
    """The events of the move from `current.release` to `release`, oldest first."""
    before = current.release
    events = []
    weight = desired(release).weight
    if weight != desired(before).weight and not release.phase.over:
        note = f"{weight:g} % of visitors on {release.version}"
        events.append(
            release_event(current, "release.weight", now, actor=actor, note=note, weight=weight)
        )
    for at, phase, reason in release.history[len(before.history) :]:
        kind = "release.started" if reason == "started" else _KINDS[phase]
        extra: dict[str, Any] = {}
        if phase is Phase.ROLLED_BACK:
            extra["evidence"] = evidence(before, release)
            extra["weight"] = 100.0 if before.switched else desired(before).weight
            if revenue:
                extra["revenue"] = revenue
        events.append(release_event(current, kind, at, actor=actor, note=reason, **extra))
    return events


def release_event(
    current: ReleaseRecord, kind: str, at: datetime, *, actor: str, note: str, **payload: Any
) -> NewEvent:
    """One event about `current`'s release (the note cut at 2,000 characters)."""
    release = current.release
    return NewEvent(
        occurred_at=at,
        actor=actor,
        kind=kind,
        subject=f"release/{current.id}",
        system=release.system,
        environment=release.environment,
        payload={
            "release": current.id,
            "version": release.version,
            "previous": release.previous,
            "strategy": release.strategy.strategy,
            "note": note[:2000],
            **payload,
        },
    )


def evidence(before: Release, after: Release) -> list[dict[str, Any]]:
    """The metrics of the analyses' last measurements, as they stood at the rollback."""
    found = []
    for run in (after.step_run or before.step_run, after.background_run or before.background_run):
        if run is None or not run.measurements:
            continue
        for result in run.measurements[-1].results:
            found.append(
                {
                    "metric": result.name,
                    "verdict": str(result.verdict),
                    "reason": result.reason,
                    "numbers": {k: float(v) for k, v in result.numbers.items()},
                }
            )
    return found
