"""An SLO objective's status at an instant: the budget, burn per window, alert tiers, ETA. Pure.

`objective_status` is the evaluator behind `launchdeck slo status`, the API and the gate; it
computes from buckets a source returned, so tests drive it with exact counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from launchdeck.reliability.budget import (
    EventIndex,
    TargetSpan,
    burn_rate,
    compute_budget,
    target_at,
    time_to_exhaustion,
)
from launchdeck.reliability.burn import AlertTier, evaluate_tiers
from launchdeck.reliability.model import Bucket, BudgetingMethod, Objective, SloDefinition
from launchdeck.reliability.windows import nominal_length

__all__ = [
    "BURN_WINDOWS",
    "BurnPoint",
    "ObjectiveStatus",
    "TierStatus",
    "WindowBurn",
    "burn_down",
    "objective_status",
]

BURN_WINDOWS = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=3),
)
CURRENT_BURN_WINDOW = timedelta(hours=1)


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WindowBurn(_Wire):
    window_s: int
    burn_rate: float | None
    error_ratio: float | None
    events: float


class TierStatus(_Wire):
    tier: str
    severity: str
    factor: float
    long_s: int
    short_s: int
    long_burn: float | None
    short_burn: float | None
    firing: bool
    note: str


class BurnPoint(_Wire):
    at: datetime
    remaining: float


class ObjectiveStatus(_Wire):
    """One objective of one SLO, as of `at`. The API's and the CLI's `--json` shape."""

    slo: str
    system: str
    display_name: str
    objective: str
    method: BudgetingMethod
    window: str
    rolling: bool
    at: datetime
    period_start: datetime
    period_end: datetime
    target: float
    """In force at `at`: a protected window's stricter objective while it is live."""
    base_target: float
    protected_by: str | None = None
    sli: float | None
    good: float
    total: float
    bad: float
    allowed: float
    unit: str
    remaining: float | None
    consumed: float | None
    period_burn_rate: float | None
    current_burn_rate: float | None
    """Over the last hour."""
    time_to_exhaustion_s: float | None
    exhausted: bool
    burn: tuple[WindowBurn, ...] = ()
    alerts: tuple[TierStatus, ...] = ()
    error: str | None = None
    """Why the SLI could not be read; the numbers are then empty."""

    @property
    def firing(self) -> tuple[TierStatus, ...]:
        return tuple(a for a in self.alerts if a.firing)


def _identity(
    definition: SloDefinition,
    objective: Objective,
    *,
    at: datetime,
    period: tuple[datetime, datetime],
) -> dict[str, Any]:
    """The fields that say which objective of which SLO, as of when, over which period."""
    return {
        "slo": definition.name,
        "system": definition.system,
        "display_name": definition.display_name,
        "objective": objective.name,
        "method": definition.method,
        "window": definition.window.duration,
        "rolling": definition.window.rolling,
        "at": at,
        "period_start": period[0],
        "period_end": period[1],
        "base_target": objective.target,
    }


def _protected_by(spans: Sequence[TargetSpan], base: float, at: datetime) -> str | None:
    live = [s for s in spans if s.start <= at < s.end and s.target > base]
    return max(live, key=lambda s: s.target).reason if live else None


def objective_status(
    definition: SloDefinition,
    objective: Objective,
    buckets: Sequence[Bucket],
    *,
    at: datetime,
    period: tuple[datetime, datetime],
    spans: Sequence[TargetSpan] = (),
    tiers: Sequence[AlertTier] = (),
    min_events: float = 0,
    burn_buckets: Sequence[Bucket] | None = None,
) -> ObjectiveStatus:
    """Status of `objective` from `buckets` covering the period up to `at`.

    `burn_buckets` (events at a fine step, e.g. 5 minutes) feed the burn rates and alerts when
    the budget buckets are coarser, as time slices can be; `buckets` otherwise.
    """
    start, end = period
    budget = compute_budget(
        definition.method,
        objective,
        buckets,
        period_start=start,
        period_end=end,
        at=at,
        spans=spans,
    )
    fine = EventIndex(burn_buckets if burn_buckets is not None else buckets)
    target = target_at(objective.target, spans, at - timedelta(microseconds=1))
    burns = [burn_rate(fine, at=at, window=w, target=target) for w in BURN_WINDOWS]
    current = burn_rate(fine, at=at, window=CURRENT_BURN_WINDOW, target=target)
    states = evaluate_tiers(
        fine,
        at=at,
        target=target,
        period=nominal_length(definition.window.duration),
        tiers=tiers,
        min_events=min_events,
    )
    eta = time_to_exhaustion(budget, current.burn_rate)
    return ObjectiveStatus(
        **_identity(definition, objective, at=at, period=period),
        target=target,
        protected_by=_protected_by(spans, objective.target, at - timedelta(microseconds=1)),
        sli=budget.sli,
        good=budget.good,
        total=budget.total,
        bad=budget.bad,
        allowed=budget.allowed,
        unit=budget.unit,
        remaining=budget.remaining,
        consumed=budget.consumed,
        period_burn_rate=budget.burn_rate,
        current_burn_rate=current.burn_rate,
        time_to_exhaustion_s=eta.total_seconds() if eta is not None else None,
        exhausted=budget.exhausted,
        burn=tuple(
            WindowBurn(
                window_s=int(b.window.total_seconds()),
                burn_rate=b.burn_rate,
                error_ratio=b.error_ratio,
                events=b.events,
            )
            for b in burns
        ),
        alerts=tuple(
            TierStatus(
                tier=s.tier.name,
                severity=s.tier.severity,
                factor=s.factor,
                long_s=int(s.tier.long.total_seconds()),
                short_s=int(s.tier.short.total_seconds()),
                long_burn=s.long.burn_rate,
                short_burn=s.short.burn_rate,
                firing=s.firing,
                note=s.note,
            )
            for s in states
        ),
    )


def unread_status(
    definition: SloDefinition,
    objective: Objective,
    *,
    at: datetime,
    period: tuple[datetime, datetime],
    error: str,
) -> ObjectiveStatus:
    """The status of an objective whose SLI could not be read: no numbers, the reason."""
    return ObjectiveStatus(
        **_identity(definition, objective, at=at, period=period),
        target=objective.target,
        sli=None,
        good=0,
        total=0,
        bad=0,
        allowed=0,
        unit="events" if definition.method is BudgetingMethod.OCCURRENCES else "slices",
        remaining=None,
        consumed=None,
        period_burn_rate=None,
        current_burn_rate=None,
        time_to_exhaustion_s=None,
        exhausted=False,
        error=error,
    )


def burn_down(
    buckets: Sequence[Bucket],
    status: ObjectiveStatus,
    *,
    step: timedelta = timedelta(hours=1),
    slice_target: float | None = None,
) -> list[BurnPoint]:
    """Budget left through the period so far: 1 - spent up to t / the allowance at `at`.

    For the slice methods a bucket is a slice: its spend is 1 when its good ratio is below
    `slice_target` (Timeslices) or its bad ratio (RatioTimeslices), as `compute_budget` counts.
    """
    if status.allowed <= 0 or status.remaining is None:
        return []
    inside = sorted(
        (b for b in buckets if status.period_start <= b.start < status.at), key=lambda b: b.start
    )
    with_data = [b for b in inside if b.total > 0]
    if status.unit == "events":
        spend = [(b.start, b.bad) for b in inside]
    elif status.method is BudgetingMethod.TIMESLICES:
        threshold = slice_target if slice_target is not None else 1.0
        spend = [(b.start, 1.0 if b.good / b.total < threshold else 0.0) for b in with_data]
    else:
        spend = [(b.start, b.bad / b.total) for b in with_data]
    points = [BurnPoint(at=status.period_start, remaining=1.0)]
    spent, next_at, index = 0.0, status.period_start + step, 0
    while next_at < status.at:
        while index < len(spend) and spend[index][0] < next_at:
            spent += spend[index][1]
            index += 1
        points.append(BurnPoint(at=next_at, remaining=1 - spent / status.allowed))
        next_at += step
    points.append(BurnPoint(at=status.at, remaining=status.remaining))
    return points
