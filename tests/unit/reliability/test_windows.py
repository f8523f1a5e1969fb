"""SLO time windows: OpenSLO duration shorthand, rolling windows and calendar-aligned periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from launchdeck.reliability.model import TimeWindow
from launchdeck.reliability.windows import (
    nominal_length,
    parse_shorthand,
    period_bounds,
    shorthand_delta,
)
from strategies import property_settings

NEW_YORK = ZoneInfo("America/New_York")


def calendar(duration: str, start: datetime, timezone: str = "America/New_York") -> TimeWindow:
    return TimeWindow(duration, rolling=False, calendar_start=start, timezone=timezone)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant given as New York wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


# --- shorthand -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("28d", (28, "d")),
        ("1m", (1, "m")),
        ("1M", (1, "M")),
        ("6h", (6, "h")),
        ("4w", (4, "w")),
        ("1Q", (1, "Q")),
        ("1Y", (1, "Y")),
        (" 30d ", (30, "d")),
    ],
    ids=[
        "28 days",
        "lower-case m is minutes",
        "upper-case M is months",
        "hours",
        "weeks",
        "a quarter",
        "a year",
        "surrounding blanks are ignored",
    ],
)
def test_shorthand_parses_into_a_count_and_a_unit(text: str, expected: tuple[int, str]) -> None:
    assert parse_shorthand(text) == expected


@pytest.mark.parametrize(
    "text",
    ["0d", "5x", "", "1.5d", "-1d", "d", "30", "1 d", "1mo", "007d"],
    ids=[
        "zero length",
        "unknown unit",
        "empty",
        "fraction",
        "negative",
        "no count",
        "no unit",
        "blank between count and unit",
        "two-letter unit",
        "leading zeros",
    ],
)
def test_a_malformed_shorthand_is_rejected_naming_the_units(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not an OpenSLO duration") as caught:
        parse_shorthand(text)
    message = str(caught.value)
    assert repr(text) in message
    assert "m (minutes)" in message
    assert "M (months)" in message


def test_one_m_is_a_minute_and_one_capital_m_a_calendar_month() -> None:
    assert shorthand_delta("1m") == relativedelta(seconds=60)
    assert shorthand_delta("1M") == relativedelta(months=1)
    assert shorthand_delta("2Q") == relativedelta(months=6)
    assert shorthand_delta("1Y") == relativedelta(years=1)
    assert datetime(2026, 1, 31) + shorthand_delta("1M") == datetime(2026, 2, 28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1M", timedelta(days=30)),
        ("1Q", timedelta(days=91)),
        ("1Y", timedelta(days=365)),
        ("2M", timedelta(days=60)),
        ("28d", timedelta(days=28)),
        ("4w", timedelta(days=28)),
        ("90m", timedelta(minutes=90)),
        ("6h", timedelta(hours=6)),
    ],
    ids=[
        "a month is 30 days",
        "a quarter is 91 days",
        "a year is 365 days",
        "two months are 60 days",
        "fixed days exactly",
        "weeks exactly",
        "minutes exactly",
        "hours exactly",
    ],
)
def test_nominal_length_gives_fixed_lengths_to_calendar_units(
    text: str, expected: timedelta
) -> None:
    assert nominal_length(text) == expected


# --- rolling windows ---------------------------------------------------------------------------


def test_a_rolling_window_ends_at_the_instant_and_reaches_back_its_duration() -> None:
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert period_bounds(TimeWindow("28d"), at) == (at - timedelta(days=28), at)


@pytest.mark.parametrize(
    ("duration", "length"),
    [("1h", timedelta(hours=1)), ("28d", timedelta(days=28)), ("1w", timedelta(weeks=1))],
    ids=["one hour", "28 days", "one week"],
)
def test_a_rolling_window_of_fixed_units_is_exact_across_a_dst_change(
    duration: str, length: timedelta
) -> None:
    # 03:30 EDT on 8 March 2026, half an hour after New York skipped 02:00-03:00.
    at = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    window = TimeWindow(duration, timezone="America/New_York")
    start, end = period_bounds(window, at)
    assert (start, end) == (at - length, at)


def test_a_rolling_month_reaches_back_one_calendar_month_in_its_zone() -> None:
    at = local(2026, 3, 15, 8, 0).astimezone(UTC)
    start, end = period_bounds(TimeWindow("1M", timezone="America/New_York"), at)
    assert start == local(2026, 2, 15, 8, 0)
    assert end == at
    assert end - start == timedelta(days=28, hours=-1)  # February, minus the skipped hour


# --- calendar-aligned periods -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "utc_offset_hours"),
    [(1, -5), (2, -5), (3, -5), (4, -4), (7, -4), (10, -4), (11, -4), (12, -5)],
    ids=["january", "february", "march", "april", "july", "october", "november", "december"],
)
def test_a_calendar_month_starts_at_local_midnight_on_the_first_across_dst(
    month: int, utc_offset_hours: int
) -> None:
    window = calendar("1M", datetime(2026, 1, 1))
    start, end = period_bounds(window, local(2026, month, 14, 15, 0).astimezone(UTC))
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert start.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, month, 1)
    assert start.astimezone(NEW_YORK).utcoffset() == timedelta(hours=utc_offset_hours)
    assert end.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, month, 1) + (
        relativedelta(months=1)
    )


def test_the_months_with_dst_changes_are_an_hour_shorter_or_longer() -> None:
    window = calendar("1M", datetime(2026, 1, 1))
    march = period_bounds(window, local(2026, 3, 20).astimezone(UTC))
    november = period_bounds(window, local(2026, 11, 20).astimezone(UTC))
    assert march == (datetime(2026, 3, 1, 5, tzinfo=UTC), datetime(2026, 4, 1, 4, tzinfo=UTC))
    assert march[1] - march[0] == timedelta(days=31, hours=-1)
    assert november[1] - november[0] == timedelta(days=30, hours=1)


def test_a_calendar_week_runs_monday_to_monday_local_time() -> None:
    window = calendar("1w", datetime(2026, 3, 2))  # a Monday
    start, end = period_bounds(window, local(2026, 3, 11, 9, 0).astimezone(UTC))
    assert (start, end) == (local(2026, 3, 9), local(2026, 3, 16))
    dst_week = period_bounds(window, local(2026, 3, 8, 12, 0).astimezone(UTC))
    assert dst_week == (local(2026, 3, 2), local(2026, 3, 9))
    assert dst_week[1] - dst_week[0] == timedelta(days=7, hours=-1)


@pytest.mark.parametrize(
    ("day", "hours"),
    [((2026, 3, 7), 24), ((2026, 3, 8), 23), ((2026, 11, 1), 25)],
    ids=["an ordinary day", "spring forward", "fall back"],
)
def test_a_calendar_day_runs_midnight_to_midnight_local_time(
    day: tuple[int, int, int], hours: int
) -> None:
    window = calendar("1d", datetime(2026, 1, 1))
    start, end = period_bounds(window, local(*day, 12, 0).astimezone(UTC))
    assert start == local(*day)
    assert end - start == timedelta(hours=hours)


def test_an_instant_exactly_at_a_boundary_belongs_to_the_new_period() -> None:
    window = calendar("1M", datetime(2026, 1, 1))
    boundary = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)  # midnight EDT
    assert period_bounds(window, boundary)[0] == boundary
    before = period_bounds(window, boundary - timedelta(microseconds=1))
    assert before == (datetime(2026, 3, 1, 5, tzinfo=UTC), boundary)


def test_an_instant_before_the_anchor_falls_in_an_earlier_period_of_the_same_grid() -> None:
    window = calendar("1M", datetime(2026, 6, 1))
    assert period_bounds(window, local(2026, 3, 15).astimezone(UTC)) == (
        local(2026, 3, 1),
        local(2026, 4, 1),
    )
    weekly = calendar("1w", datetime(2026, 3, 2))
    assert period_bounds(weekly, local(2025, 12, 31).astimezone(UTC)) == (
        local(2025, 12, 29),
        local(2026, 1, 5),
    )


def test_a_quarter_starts_every_three_months_from_the_anchor() -> None:
    window = calendar("1Q", datetime(2026, 2, 1), timezone="UTC")
    start, end = period_bounds(window, datetime(2026, 7, 31, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))


def test_months_anchored_on_the_31st_stay_back_to_back_without_drifting() -> None:
    window = calendar("1M", datetime(2026, 1, 31), timezone="UTC")

    def day(month: int, dom: int) -> datetime:
        return datetime(2026, month, dom, tzinfo=UTC)

    assert period_bounds(window, day(2, 10)) == (day(1, 31), day(2, 28))
    assert period_bounds(window, day(3, 30)) == (day(2, 28), day(3, 31))
    assert period_bounds(window, day(3, 31)) == (day(3, 31), day(4, 30))


_DURATIONS = ("1d", "3d", "1w", "2w", "1M", "2M", "1Q", "1Y")
_ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Asia/Kathmandu", "Australia/Lord_Howe")


@property_settings(max_examples=150)
@given(
    duration=st.sampled_from(_DURATIONS),
    zone=st.sampled_from(_ZONES),
    anchor=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
        lambda d: d.replace(hour=0, minute=0, second=0, microsecond=0)
    ),
    at=st.datetimes(
        min_value=datetime(2015, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
)
def test_calendar_periods_contain_the_instant_and_tile_time(
    duration: str, zone: str, anchor: datetime, at: datetime
) -> None:
    window = calendar(duration, anchor, timezone=zone)
    start, end = period_bounds(window, at)
    assert start <= at < end
    assert period_bounds(window, end)[0] == end
    assert period_bounds(window, start) == (start, end)
