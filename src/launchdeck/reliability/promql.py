"""PromQL text rewrites shared by the Prometheus SLI source and the generated rules. Pure.

SLI queries are written Sloth/OpenSLO style: a per-second rate over a range window, either with
a `{{.window}}` placeholder (`sum(rate(http_requests_total[{{.window}}]))`, as Sloth writes
them) or with a literal range (`[5m]`, as OpenSLO examples do). `with_window` puts one window
into either form, so a bucket of that width counts exactly the events of its own interval.
"""

from __future__ import annotations

import re
from datetime import timedelta

from launchdeck.errors import UsageError

__all__ = ["format_duration", "with_window"]

_MS_PER_UNIT = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1))
_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")
# A range selector's duration; Prometheus also accepts compound forms such as `1h30m`.
_RANGE = re.compile(r"\s*(?:\d+(?:ms|[smhdwy]))+\s*")
_QUOTES = "\"'`"


def format_duration(window: timedelta) -> str:
    """`window` in Prometheus notation with its largest exact unit: 5m, 90m, 1h, 1d, 30d, 1500ms.

    Raises UsageError for a window that is not a positive whole number of milliseconds,
    which Prometheus cannot express.
    """
    total_us = (window.days * 86_400 + window.seconds) * 1_000_000 + window.microseconds
    if total_us <= 0 or total_us % 1_000:
        raise UsageError(
            f"a Prometheus window must be a positive whole number of milliseconds, not {window}",
            hint="use a step such as 30s, 5m or 1h",
        )
    total_ms = total_us // 1_000
    for unit, size in _MS_PER_UNIT:
        if total_ms % size == 0:
            return f"{total_ms // size}{unit}"
    raise AssertionError("unreachable: every whole millisecond count has a unit")


def with_window(query: str, window: timedelta) -> str:
    """`query` reading `window` of data: its `{{.window}}` placeholders, or else its ranges, set.

    With a placeholder only the placeholders change, so any literal range the author fixed stays.
    Without one, every range selector `[<duration>]` is rewritten; subqueries (`[30m:1m]`),
    `offset` and `@` modifiers, string literals (`{path="/a[5m]"}`) and comments are kept.
    """
    duration = format_duration(window)
    if _PLACEHOLDER.search(query):
        return _PLACEHOLDER.sub(duration, query)
    return _rewrite_ranges(query, duration)


def _rewrite_ranges(query: str, duration: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char in _QUOTES:
            end = _string_end(query, i)
            out.append(query[i:end])
            i = end
        elif char == "#":
            end = query.find("\n", i)
            end = len(query) if end < 0 else end
            out.append(query[i:end])
            i = end
        elif char == "[":
            close = query.find("]", i)
            if close >= 0 and _RANGE.fullmatch(query, i + 1, close):
                out.append(f"[{duration}]")
                i = close + 1
            else:
                out.append(char)
                i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _string_end(query: str, start: int) -> int:
    """Index just past the string literal opening at `start` (escapes honoured, not in `raw`)."""
    quote = query[start]
    i = start + 1
    while i < len(query):
        if query[i] == "\\" and quote != "`":
            i += 2
        elif query[i] == quote:
            return i + 1
        else:
            i += 1
    return len(query)
