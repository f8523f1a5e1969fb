"""Human durations and instants for command-line options ("2h", "7d", "2026-11-27T09:00Z")."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

from launchdeck.errors import UsageError

__all__ = [
    "EARLIEST_YEAR",
    "LATEST_YEAR",
    "PlausibleInstant",
    "coerce_duration",
    "in_plausible_years",
    "parse_duration",
    "parse_instant",
    "plausible",
    "until_instant",
]

EARLIEST_YEAR, LATEST_YEAR = 1970, 2999
"""The years launchdeck accepts instants in: the margins, periods and searches around them
stay inside datetime's range."""


def in_plausible_years(value: date) -> bool:
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


def plausible(value: datetime) -> datetime:
    """`value`, or a ValueError (a pydantic field error) outside the plausible years."""
    if not in_plausible_years(value):
        raise ValueError(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


PlausibleInstant = Annotated[AwareDatetime, AfterValidator(plausible)]
"""An aware instant in a request, in the plausible years."""


_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_LONGEST = timedelta(days=36500)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `7d`, `1w` as a timedelta; UsageError naming the accepted forms otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(
            f"not a duration: {text!r}",
            hint="use a number and a unit: 30s, 15m, 2h, 7d or 1w",
        )
    try:
        value = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    except OverflowError:
        value = _LONGEST * 2
    if value > _LONGEST:
        raise UsageError(f"duration {text!r} is too long", hint="use at most 100 years (36500d)")
    return value


def coerce_duration(value: object) -> object:
    """For config fields (a Pydantic before-validator): `24h`, `30m`, `2d` become timedeltas;
    anything else (ISO 8601, seconds, a timedelta) is left to the field's own parsing."""
    if isinstance(value, str) and value and value[-1] in "smhdw" and value[:-1].strip():
        try:
            return parse_duration(value)
        except UsageError as exc:
            raise ValueError(exc.message) from None
    return value


def parse_instant(text: str, *, now: datetime) -> datetime:
    """A duration means that long before `now`; otherwise an ISO 8601 instant (naive = UTC)."""
    if _DURATION.match(text):
        return now - parse_duration(text)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"not a time: {text!r}",
            hint="use a duration back from now (2h, 7d) or ISO 8601 (2026-11-27T09:00Z)",
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def until_instant(text: str, *, now: datetime | None = None) -> datetime:
    """An end given as a duration from now (`4h`) or an ISO 8601 instant (naive = UTC)."""
    now = now or datetime.now(UTC)
    if _DURATION.match(text):
        return now + parse_duration(text)
    return parse_instant(text, now=now)
