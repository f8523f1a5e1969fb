"""Human durations and instants on the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from launchdeck.durations import parse_duration, parse_instant
from launchdeck.errors import UsageError

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        (" 2 h ", timedelta(hours=2)),
        ("0s", timedelta(0)),
    ],
    ids=["seconds", "minutes", "hours", "days", "a week", "a fraction", "spaces", "zero"],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "2", "h", "2y", "2hours", "-2h", "2h30m", "two hours", "PT2H"],
    ids=[
        "empty",
        "no unit",
        "no number",
        "years",
        "a spelt-out unit",
        "negative",
        "two units",
        "words",
        "ISO 8601 duration",
    ],
)
def test_a_bad_duration_is_a_usage_error_naming_the_forms(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(text)
    assert caught.value.message == f"not a duration: {text!r}"
    assert caught.value.hint == "use a number and a unit: 30s, 15m, 2h, 7d or 1w"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
        ("2026-11-27T09:00Z", datetime(2026, 11, 27, 9, tzinfo=UTC)),
        ("2026-11-27T09:00:00+00:00", datetime(2026, 11, 27, 9, tzinfo=UTC)),
        ("2026-11-27T09:00:00-05:00", datetime(2026, 11, 27, 14, tzinfo=UTC)),
        ("2026-11-27T09:00", datetime(2026, 11, 27, 9, tzinfo=UTC)),
        ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ],
    ids=[
        "two hours ago",
        "a week ago",
        "ISO with Z",
        "ISO with a zero offset",
        "ISO with a negative offset",
        "naive ISO is UTC",
        "a date is its midnight UTC",
    ],
)
def test_parse_instant(text: str, expected: datetime) -> None:
    parsed = parse_instant(text, now=NOW)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2026-13-01", "27/11/2026", "", "2h ago"],
    ids=["a word", "month 13", "day first", "empty", "a duration with words"],
)
def test_a_bad_instant_is_a_usage_error_with_a_hint(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_instant(text, now=NOW)
    assert caught.value.message == f"not a time: {text!r}"
    assert caught.value.hint == (
        "use a duration back from now (2h, 7d) or ISO 8601 (2026-11-27T09:00Z)"
    )
