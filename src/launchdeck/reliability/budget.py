"""Error budgets, exactly. Pure: buckets of counted events in, a `Budget` out.

- Occurrences are event-weighted: allowed bad = sum over events of (1 - objective) and
  bad = the events that failed. Never a mean of 5-minute ratios, so a busy hour weighs what
  it weighs.
- Timeslices count bad slices (a slice's good ratio below timeSliceTarget) against
  (1 - objective) x the period's slices. A slice with no events is good: nothing failed.
- RatioTimeslices add up each slice's bad ratio against the same allowance.
- The objective can change with time: a protected campaign window (`TargetSpan`) holds the
  SLO to a stricter objective while it lasts, so the allowance of every event or slice uses
  the objective in force when it happened.

remaining = (allowed bad - bad) / allowed bad; burn rate = error ratio / (1 - objective).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate

from launchdeck.reliability.model import Bucket, BudgetingMethod, Objective

__all__ = [
    "Budget",
    "BurnWindow",
    "EventIndex",
    "TargetSpan",
    "burn_rate",
    "compute_budget",
    "target_at",
    "time_to_exhaustion",
]


@dataclass(frozen=True, slots=True)
class TargetSpan:
    """A stricter objective for [start, end), e.g. checkout at 99.95 % during Black Friday."""

    start: datetime
    end: datetime
    target: float
    reason: str


def target_at(base: float, spans: Sequence[TargetSpan], at: datetime) -> float:
    """The objective in force at `at`: the strictest of the base and the spans covering it."""
    strictest = base
    for span in spans:
        if span.start <= at < span.end and span.target > strictest:
            strictest = span.target
    return strictest


def _allowance(target: float) -> float:
    # In binary floating point 1 - 0.999 is 0.0010000000000000009: unrounded, a budget spent to
    # its last allowed event would read 1e-15 left and never count as exhausted.
    return round(1 - target, 12)


@dataclass(frozen=True, slots=True)
class Budget:
    method: BudgetingMethod
    target: float
    """The objective in force at the end of the data (a protected window's, if one is live)."""
    period_start: datetime
    period_end: datetime
    good: float
    """Good events (Occurrences) or good slices (Timeslices); the good-ratio sum for
    RatioTimeslices."""
    total: float
    """Events, or slices with data."""
    bad: float
    """What was spent: bad events, bad slices, or the sum of slices' bad ratios."""
    allowed: float
    """What the objective allows in the same unit as `bad`."""
    unit: str
    """'events' or 'slices'."""

    @property
    def sli(self) -> float | None:
        """Good / total over the period so far (None without data)."""
        return self.good / self.total if self.total > 0 else None

    @property
    def consumed(self) -> float | None:
        """Share of the budget spent (above 1 when overspent); None when nothing is allowed yet."""
        if self.allowed > 0:
            return self.bad / self.allowed
        return None if self.bad == 0 else float("inf")

    @property
    def remaining(self) -> float | None:
        """(allowed - bad) / allowed: 1 untouched, 0 exhausted, negative overspent."""
        consumed = self.consumed
        return None if consumed is None else 1.0 - consumed

    @property
    def exhausted(self) -> bool:
        remaining = self.remaining
        return remaining is not None and remaining <= 0

    @property
    def burn_rate(self) -> float | None:
        """The period's average burn: error ratio / (1 - objective) for events."""
        if self.total <= 0:
            return None
        allowed_ratio = self.allowed / self.total if self.unit == "events" else None
        if allowed_ratio is not None:
            return (self.bad / self.total) / allowed_ratio if allowed_ratio > 0 else None
        return (self.bad / self.total) / (1 - self.target) if self.target < 1 else None


def compute_budget(
    method: BudgetingMethod,
    objective: Objective,
    buckets: Sequence[Bucket],
    *,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    spans: Sequence[TargetSpan] = (),
) -> Budget:
    """The budget of the period [period_start, period_end) as of `at`.

    `buckets` hold the events of [period_start, at); for the slice methods each bucket is one
    slice of `objective.time_slice_window`. Buckets outside the period are ignored.
    """
    inside = [b for b in buckets if period_start <= b.start < min(at, period_end)]
    target_now = target_at(objective.target, spans, min(at, period_end) - timedelta(microseconds=1))
    if method is BudgetingMethod.OCCURRENCES:
        good = math.fsum(b.good for b in inside)
        total = math.fsum(b.total for b in inside)
        # Events grouped by the objective in force when they happened (one group without a
        # protected window): the allowance is a few products, not one per bucket.
        by_target: dict[float, list[float]] = {}
        for b in inside:
            by_target.setdefault(target_at(objective.target, spans, b.start), []).append(b.total)
        allowed = math.fsum(_allowance(t) * math.fsum(totals) for t, totals in by_target.items())
        return Budget(
            method=method,
            target=target_now,
            period_start=period_start,
            period_end=period_end,
            good=good,
            total=total,
            bad=total - good,
            allowed=allowed,
            unit="events",
        )
    slice_len = objective.time_slice_window
    if slice_len is None or slice_len <= timedelta(0):
        raise ValueError(f"{method} needs the objective's timeSliceWindow")
    # The allowance covers every slice of the period, including those still ahead: a time-based
    # budget is known in advance (two weeks of 1-minute slices at 95 % allow 1008 bad ones).
    slices_by_target: dict[float, int] = {}
    t = period_start
    while t < period_end:
        target = target_at(objective.target, spans, t)
        slices_by_target[target] = slices_by_target.get(target, 0) + 1
        t += slice_len
    allowed = math.fsum(n * _allowance(target) for target, n in slices_by_target.items())
    with_data = [b for b in inside if b.total > 0]
    if method is BudgetingMethod.TIMESLICES:
        threshold = objective.time_slice_target if objective.time_slice_target is not None else 1.0
        bad = float(sum(1 for b in with_data if b.good / b.total < threshold))
        good = len(with_data) - bad
    else:
        good = math.fsum(b.good / b.total for b in with_data)
        bad = len(with_data) - good
    return Budget(
        method=method,
        target=target_now,
        period_start=period_start,
        period_end=period_end,
        good=good,
        total=float(len(with_data)),
        bad=bad,
        allowed=allowed,
        unit="slices",
    )


@dataclass(frozen=True, slots=True)
class BurnWindow:
    window: timedelta
    burn_rate: float | None
    """None without events in the window."""
    error_ratio: float | None
    events: float


class EventIndex:
    """Buckets in time order with running sums: the events of any window in O(log n), so the
    burn of a dozen windows over four weeks of 5-minute buckets costs a dozen lookups."""

    def __init__(self, buckets: Sequence[Bucket]) -> None:
        ordered = sorted(buckets, key=lambda b: b.start)
        self._starts = [b.start for b in ordered]
        self._good = list(accumulate((b.good for b in ordered), initial=0.0))
        self._total = list(accumulate((b.total for b in ordered), initial=0.0))

    def between(self, start: datetime, end: datetime) -> tuple[float, float]:
        """(good, total) of the buckets starting in [start, end)."""
        i, j = bisect_left(self._starts, start), bisect_left(self._starts, end)
        if j <= i:
            return 0.0, 0.0
        return self._good[j] - self._good[i], self._total[j] - self._total[i]


def burn_rate(
    buckets: Sequence[Bucket] | EventIndex, *, at: datetime, window: timedelta, target: float
) -> BurnWindow:
    """Event-weighted error ratio over [at - window, at), divided by (1 - target)."""
    index = buckets if isinstance(buckets, EventIndex) else EventIndex(buckets)
    good, total = index.between(at - window, at)
    if total <= 0:
        return BurnWindow(window, None, None, 0.0)
    ratio = (total - good) / total
    return BurnWindow(window, ratio / (1 - target) if target < 1 else None, ratio, total)


def time_to_exhaustion(budget: Budget, current_burn: float | None) -> timedelta | None:
    """At the current burn, how long the remaining budget lasts: remaining x period / burn.

    Zero when already exhausted; None when nothing burns or nothing is known.
    """
    remaining = budget.remaining
    if remaining is None:
        return None
    if remaining <= 0:
        return timedelta(0)
    if current_burn is None or current_burn <= 0:
        return None
    return (budget.period_end - budget.period_start) * (remaining / current_burn)
