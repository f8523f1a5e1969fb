"""PromQL rewrites: one window into a Sloth or OpenSLO style query, and durations as PromQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from launchdeck.errors import UsageError
from launchdeck.reliability.promql import format_duration, with_window


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (timedelta(minutes=5), "5m"),
        (timedelta(seconds=300), "5m"),
        (timedelta(minutes=90), "90m"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=24), "1d"),
        (timedelta(days=30), "30d"),
        (timedelta(days=28), "28d"),
        (timedelta(seconds=1), "1s"),
        (timedelta(seconds=61), "61s"),
        (timedelta(milliseconds=1500), "1500ms"),
    ],
    ids=[
        "five minutes",
        "300 seconds are five minutes",
        "90 minutes are not a whole hour",
        "one hour",
        "24 hours are a day",
        "thirty days",
        "28 days stay days, not weeks",
        "one second",
        "61 seconds are not a whole minute",
        "sub-second steps in milliseconds",
    ],
)
def test_a_duration_uses_its_largest_exact_unit(window: timedelta, expected: str) -> None:
    assert format_duration(window) == expected


@pytest.mark.parametrize(
    "window",
    [timedelta(0), timedelta(seconds=-5), timedelta(microseconds=1500)],
    ids=["zero", "negative", "not whole milliseconds"],
)
def test_a_duration_prometheus_cannot_express_is_refused(window: timedelta) -> None:
    with pytest.raises(UsageError, match="whole number of milliseconds"):
        format_duration(window)


FIVE_MINUTES = timedelta(minutes=5)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
            'sum(rate(http_requests_total{code=~"5.."}[5m]))',
        ),
        ("sum(rate(x[{{ .window }}]))", "sum(rate(x[5m]))"),
        (
            "sum(rate(x[{{.window}}])) / sum(rate(y[{{.window}}]))",
            "sum(rate(x[5m])) / sum(rate(y[5m]))",
        ),
        ("sum(rate(x[{{.window}}])) + sum(rate(y[1h]))", "sum(rate(x[5m])) + sum(rate(y[1h]))"),
        ("sum(rate(http_requests_total[30d]))", "sum(rate(http_requests_total[5m]))"),
        ("sum(rate(x[1m])) / sum(rate(y[ 2h ]))", "sum(rate(x[5m])) / sum(rate(y[5m]))"),
        ("sum(rate(x[1h30m]))", "sum(rate(x[5m]))"),
        ("sum(rate(x[28d] offset 5m))", "sum(rate(x[5m] offset 5m))"),
        ("sum(rate(x[1h] @ 1700000000))", "sum(rate(x[5m] @ 1700000000))"),
        ("max_over_time(rate(x[1m])[30m:1m])", "max_over_time(rate(x[5m])[30m:1m])"),
        ("max_over_time(rate(x[1m])[30m:])", "max_over_time(rate(x[5m])[30m:])"),
        ('sum(rate(x{path="/a[5m]"}[1m]))', 'sum(rate(x{path="/a[5m]"}[5m]))'),
        ("sum(rate(x{path='/a[5m]'}[1m]))", "sum(rate(x{path='/a[5m]'}[5m]))"),
        ("sum(rate(x{path=~`\\[1m\\]`}[1m]))", "sum(rate(x{path=~`\\[1m\\]`}[5m]))"),
        ('sum(rate(x{path="a\\"[1m]"}[1m]))', 'sum(rate(x{path="a\\"[1m]"}[5m]))'),
        ("sum(rate(x[1m])) # over [1h]\n", "sum(rate(x[5m])) # over [1h]\n"),
        (
            "histogram_quantile(0.99, sum by (le) (rate(h_bucket[10m])))",
            "histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))",
        ),
        ("avg(up)", "avg(up)"),
    ],
    ids=[
        "a Sloth placeholder",
        "a placeholder with spaces",
        "several placeholders",
        "a placeholder leaves literal ranges alone",
        "an OpenSLO literal range",
        "several literal ranges, spaces inside brackets",
        "a compound duration",
        "an offset is kept",
        "an @ modifier is kept",
        "a subquery range is kept",
        "a subquery with the default resolution is kept",
        "brackets in a double-quoted label value",
        "brackets in a single-quoted label value",
        "brackets in a raw string",
        "an escaped quote does not end the string",
        "brackets in a comment",
        "a histogram quantile",
        "a query without a range",
    ],
)
def test_the_window_is_set_in_placeholders_or_ranges(query: str, expected: str) -> None:
    assert with_window(query, FIVE_MINUTES) == expected


def test_an_hour_window_is_written_in_hours() -> None:
    assert with_window("sum(rate(x[5m]))", timedelta(hours=1)) == "sum(rate(x[1h]))"
