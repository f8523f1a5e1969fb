"""SLO time windows: OpenSLO duration shorthand, rolling and calendar-aligned periods. Pure.

A rolling window is the last `duration` before the instant asked about. A calendar-aligned
window is one of the back-to-back periods that start at `calendar.startTime` in its time zone:
the budget restarts at each period's start (1M: the same day and wall-clock time each month,
across DST changes).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from launchdeck.reliability.model import TimeWindow
from launchdeck.reliability.openslo_types import split_duration

__all__ = ["nominal_length", "parse_shorthand", "period_bounds", "shorthand_delta"]

_FIXED: Final = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_NOMINAL_DAYS: Final = {"M": 30, "Q": 91, "Y": 365}


def parse_shorthand(value: str) -> tuple[int, str]:
    """`28d` -> (28, "d"). Units: m h d w (fixed) and M Q Y (calendar months, quarters, years)."""
    text = value.strip()
    with suppress(ValueError):
        count, unit = split_duration(text)
        # Stricter than the document grammar, which lets its validator name a zero count:
        # a window is positive, with no leading zeros and at most six digits.
        if not text.startswith("0") and count < 1_000_000:
            return count, unit
    raise ValueError(
        f"{value!r} is not an OpenSLO duration: a positive whole number and one of "
        "m (minutes), h, d, w, M (months), Q (quarters), Y (years), e.g. 28d or 1M"
    )


def shorthand_delta(value: str) -> relativedelta:
    """The calendar step of a duration: months for M/Q/Y, exact seconds otherwise."""
    count, unit = parse_shorthand(value)
    if unit == "M":
        return relativedelta(months=count)
    if unit == "Q":
        return relativedelta(months=3 * count)
    if unit == "Y":
        return relativedelta(years=count)
    return relativedelta(seconds=count * _FIXED[unit])


def nominal_length(value: str) -> timedelta:
    """The length used where a fixed number is needed (burn-rate factors, Prometheus windows):
    1M = 30 days, 1Q = 91 days, 1Y = 365 days; fixed units exactly."""
    count, unit = parse_shorthand(value)
    if unit in _NOMINAL_DAYS:
        return timedelta(days=count * _NOMINAL_DAYS[unit])
    return timedelta(seconds=count * _FIXED[unit])


def period_bounds(window: TimeWindow, at: datetime) -> tuple[datetime, datetime]:
    """The budgeting period `at` falls in, as aware UTC instants [start, end).

    Rolling: (at - duration, at). Calendar-aligned: the period containing `at`, whose end may
    still be ahead.
    """
    step = shorthand_delta(window.duration)
    count, unit = parse_shorthand(window.duration)
    if window.rolling or window.calendar_start is None:
        if unit in _FIXED:
            # Exact seconds, as Prometheus's [28d] reads them: wall-clock arithmetic would make
            # a rolling 1h window empty (or 2h long) across a DST change.
            return at - timedelta(seconds=count * _FIXED[unit]), at
        zone = ZoneInfo(window.timezone)
        local = at.astimezone(zone).replace(tzinfo=None)
        return (local - step).replace(tzinfo=zone).astimezone(UTC), at
    zone = ZoneInfo(window.timezone)
    anchor = window.calendar_start.replace(tzinfo=None)
    local_at = at.astimezone(zone).replace(tzinfo=None)
    months = count * {"M": 1, "Q": 3, "Y": 12}.get(unit, 0)

    def nth(k: int) -> datetime:
        # Every start counted from the anchor: stepping from a clipped day (Jan 31 + 1M is
        # Feb 28) would drift and make periods overlap.
        if months:
            return anchor + relativedelta(months=k * months)
        return anchor + k * timedelta(seconds=count * _FIXED[unit])

    # Jump close to the answer arithmetically, then step: no loop over thousands of periods.
    if months:
        elapsed = (local_at.year - anchor.year) * 12 + (local_at.month - anchor.month)
        k = elapsed // months
    else:
        k = (local_at - anchor) // timedelta(seconds=count * _FIXED[unit])
    while nth(k) > local_at:
        k -= 1
    while nth(k + 1) <= local_at:
        k += 1
    start, end = nth(k), nth(k + 1)
    return (
        start.replace(tzinfo=zone).astimezone(UTC),
        end.replace(tzinfo=zone).astimezone(UTC),
    )
