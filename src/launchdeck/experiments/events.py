"""Ingested events: the wire format of one event and the validation of a batch. Pure.

An event is a JSON object:

    {"id": str?, "type": "exposure" | "metric", "unit": str,
     "experiment": str?, "flag": str?, "variant": str?,      # exposures
     "event": str?, "value": number?,                         # metric events
     "timestamp": RFC 3339 string | Unix seconds,
     "attributes": {str: str | number | bool}?}

An exposure names its experiment (or the flag that runs it, mapped by `Catalog.by_flag`) and a
variant of that experiment; a metric event names what happened (`event`) with an optional
value, and no experiment (analysis joins it to exposures by unit). `id` is the idempotency key:
when absent it is derived from the event itself (`derive_id`), so a retried body dedupes.

Each event is checked on its own: a bad one becomes a `Reject` with a stable `RejectReason`
code, and the rest of the batch is kept. This runs once per event of every ingested batch, so
it is plain dict and type checks rather than a pydantic model (which costs ten times as much),
and `Event` is a NamedTuple (cheaper to build than a frozen dataclass).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, NamedTuple

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_json

from launchdeck.experiments.model import Catalog

__all__ = [
    "EXPOSURE",
    "MAX_ATTRIBUTES",
    "MAX_ID_LENGTH",
    "MAX_TEXT_LENGTH",
    "METRIC",
    "Event",
    "EventStats",
    "OutcomeCount",
    "Reject",
    "RejectReason",
    "Validated",
    "derive_id",
    "to_unix_us",
    "validate_batch",
]

EXPOSURE: Final = "exposure"
METRIC: Final = "metric"
MAX_ID_LENGTH: Final = 128
MAX_TEXT_LENGTH: Final = 256
"""Longest unit, event name, attribute name or attribute string value."""
MAX_ATTRIBUTES: Final = 64
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
_MAX_UNIX_S: Final = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a datetime holds
_CANONICAL: Final = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, sort_keys=True
).encode


class RejectReason(StrEnum):
    """Why an event was refused; stable codes (API answers, `ingest_counts`, reports)."""

    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    BAD_ID = "bad_id"
    MISSING_UNIT = "missing_unit"
    UNKNOWN_EXPERIMENT = "unknown_experiment"
    UNKNOWN_VARIANT = "unknown_variant"
    FUTURE_TIMESTAMP = "future_timestamp"
    TOO_OLD = "too_old"


class Event(NamedTuple):
    """A valid event, as stored. `experiment` is "" and `variant` None for a metric event;
    `event` and `value` are None for an exposure."""

    id: str
    kind: str
    """EXPOSURE or METRIC."""
    unit: str
    timestamp_us: int
    """Unix microseconds, UTC (stored as a naive UTC TIMESTAMP)."""
    attributes: str | None
    """The attributes as compact JSON text; None when the event had none."""
    experiment: str = ""
    variant: str | None = None
    event: str | None = None
    value: float | None = None

    @property
    def timestamp(self) -> datetime:
        return _EPOCH + self.timestamp_us * _US


@dataclass(frozen=True, slots=True)
class Reject:
    """A refused event: its position in the batch (a file line for imports), its id when it
    had a usable one, why, which field, and a message naming the value."""

    index: int
    id: str | None
    reason: RejectReason
    field: str | None
    message: str
    kind: str = ""
    """What it claimed to be ("exposure", "metric"; "" when that could not be read)."""
    experiment: str = ""
    """The experiment it named, when it named a known one ('' otherwise): for the counts."""


@dataclass(frozen=True, slots=True)
class Validated:
    """A batch split into what is stored and what is refused (each in batch order)."""

    accepted: list[Event]
    rejects: list[Reject]


class OutcomeCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    experiment: str
    kind: str
    outcome: str
    """accepted | duplicate | rejected:<reason>"""
    count: int


class EventStats(BaseModel):
    """What the event store holds and what ingest made of everything it was sent."""

    model_config = ConfigDict(frozen=True)

    path: str
    exposures: int
    metric_events: int
    outcomes: tuple[OutcomeCount, ...] = ()
    """By experiment, kind and outcome, over the days asked for."""
    since: date | None = None
    """The first ingest day counted (None: every day)."""


class _Bad(Exception):
    def __init__(self, reason: RejectReason, field: str | None, message: str) -> None:
        super().__init__(message)
        self.reason, self.field, self.message = reason, field, message


def to_unix_us(instant: datetime) -> int:
    """An aware instant as Unix microseconds (exact: integer timedelta arithmetic)."""
    return (instant - _EPOCH) // _US


def derive_id(item: dict[str, Any]) -> str:
    """The idempotency key of an event sent without `id`: the first 128 bits of the SHA-256 of
    its canonical JSON (sorted keys, no blanks), so the same body sent twice dedupes while two
    different events do not collide."""
    canonical = _CANONICAL(item)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _text(value: object, field: str, *, limit: int = MAX_TEXT_LENGTH) -> str:
    """`value` if it is a non-empty string of at most `limit` characters that UTF-8 can hold
    (JSON lets a lone surrogate through, which no column can store)."""
    if type(value) is not str:
        raise _Bad(RejectReason.WRONG_TYPE, field, f"{field} must be a string")
    if not value or len(value) > limit:
        raise _Bad(RejectReason.WRONG_TYPE, field, f"{field} must have 1 to {limit} characters")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise _Bad(RejectReason.WRONG_TYPE, field, f"{field} is not valid Unicode") from None
    return value


def _plain(value: object, limit: int) -> bool:
    """The common case, checked first: a non-empty ASCII string within `limit` (anything else
    goes through the full check, which names the problem)."""
    return type(value) is str and 0 < len(value) <= limit and value.isascii()


def _usable_id(value: object) -> bool:
    if type(value) is not str or not 0 < len(value) <= MAX_ID_LENGTH:
        return False
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
    return True


def _number(value: object, field: str) -> float:
    if type(value) is float:
        if math.isfinite(value):
            return value
    elif type(value) is int and abs(value) < 2**63:
        return float(value)
    raise _Bad(RejectReason.WRONG_TYPE, field, f"{field} must be a finite number")


def _timestamp_us(value: object) -> int:
    if value is None:
        raise _Bad(RejectReason.MISSING_FIELD, "timestamp", "timestamp is missing")
    kind = type(value)
    if kind is str:
        try:
            parsed = datetime.fromisoformat(value)  # type: ignore[arg-type]
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            # 0001-01-01T00:00+05:00 has no UTC form: it is refused like any bad timestamp.
            with contextlib.suppress(OverflowError):
                return to_unix_us(parsed)
        raise _Bad(
            RejectReason.WRONG_TYPE,
            "timestamp",
            f"timestamp {str(value)[:40]!r} is not an RFC 3339 instant with a zone offset",
        )
    if (kind is int or kind is float) and 0 <= value <= _MAX_UNIX_S:  # type: ignore[operator]
        return round(value * 1_000_000)  # type: ignore[operator]
    raise _Bad(
        RejectReason.WRONG_TYPE,
        "timestamp",
        "timestamp must be an RFC 3339 string or Unix seconds (0 to year 9999)",
    )


def _attributes(value: object) -> str | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise _Bad(RejectReason.WRONG_TYPE, "attributes", "attributes must be an object")
    if len(value) > MAX_ATTRIBUTES:
        raise _Bad(
            RejectReason.WRONG_TYPE,
            "attributes",
            f"{len(value)} attributes; at most {MAX_ATTRIBUTES} are kept per event",
        )
    for name, item in value.items():
        if not _plain(name, MAX_TEXT_LENGTH):
            _text(name, "attributes (a name)")
        kind = type(item)
        if kind is str:
            if not _plain(item, MAX_TEXT_LENGTH):
                _text(item, f"attributes.{name}")
        elif kind is float:
            if not math.isfinite(item):
                raise _Bad(RejectReason.WRONG_TYPE, f"attributes.{name}", "a number must be finite")
        elif kind is not bool and kind is not int:
            raise _Bad(
                RejectReason.WRONG_TYPE,
                f"attributes.{name}",
                f"attributes.{name} must be a string, a number or a boolean",
            )
    # Compact UTF-8 JSON; pydantic-core's encoder is six times faster than json's here.
    return to_json(value).decode() if value else None


class _Rules:
    """What one batch is checked against, computed once per batch."""

    __slots__ = ("by_flag", "earliest_us", "experiments", "latest_us")

    def __init__(
        self, catalog: Catalog, now: datetime, max_skew: timedelta, max_age: timedelta | None
    ) -> None:
        now_us = to_unix_us(now)
        self.experiments = catalog.experiments
        self.by_flag = catalog.by_flag
        self.latest_us = now_us + max_skew // _US
        # Nothing before 1970 even without an age limit: Unix seconds start there too.
        self.earliest_us = 0 if max_age is None else max(0, now_us - max_age // _US)


def _exposure(item: dict[str, Any], rules: _Rules) -> tuple[str, str]:
    """(experiment, variant) of an exposure."""
    experiment = item.get("experiment")
    if experiment is None:
        flag = item.get("flag")
        if flag is None:
            raise _Bad(
                RejectReason.MISSING_FIELD,
                "experiment",
                "an exposure names its experiment (or the flag that runs it)",
            )
        if type(flag) is not str:
            raise _Bad(RejectReason.WRONG_TYPE, "flag", "flag must be a string")
        experiment = rules.by_flag.get(flag)
        if experiment is None:
            raise _Bad(
                RejectReason.UNKNOWN_EXPERIMENT,
                "flag",
                f"flag {flag[:80]!r} runs no experiment",
            )
    elif type(experiment) is not str:
        raise _Bad(RejectReason.WRONG_TYPE, "experiment", "experiment must be a string")
    variants = rules.experiments.get(experiment)
    if variants is None:
        raise _Bad(
            RejectReason.UNKNOWN_EXPERIMENT,
            "experiment",
            f"no experiment {experiment[:80]!r}",
        )
    variant = item.get("variant")
    if variant is None:
        raise _Bad(RejectReason.MISSING_FIELD, "variant", "an exposure names its variant")
    if type(variant) is not str:
        raise _Bad(RejectReason.WRONG_TYPE, "variant", "variant must be a string")
    if variant not in variants:
        raise _Bad(
            RejectReason.UNKNOWN_VARIANT,
            "variant",
            f"{variant[:80]!r} is not a variant of {experiment!r} ({', '.join(sorted(variants))})",
        )
    return experiment, variant


def _event(item: dict[str, Any], rules: _Rules) -> Event:
    kind = item.get("type")
    if kind is None:
        raise _Bad(RejectReason.MISSING_FIELD, "type", "type is missing (exposure or metric)")
    if kind not in (EXPOSURE, METRIC):
        raise _Bad(RejectReason.WRONG_TYPE, "type", "type must be 'exposure' or 'metric'")
    given = item.get("id")
    if given is None:
        event_id = derive_id(item)
    elif _plain(given, MAX_ID_LENGTH) or _usable_id(given):
        event_id = given
    else:
        raise _Bad(
            RejectReason.BAD_ID,
            "id",
            f"id must be a string of 1 to {MAX_ID_LENGTH} characters of valid Unicode",
        )
    unit = item.get("unit")
    if unit is None or unit == "":
        raise _Bad(RejectReason.MISSING_UNIT, "unit", "unit is missing (who did it?)")
    if not _plain(unit, MAX_TEXT_LENGTH):
        unit = _text(unit, "unit")
    experiment, variant, name, value = "", None, None, None
    if kind == EXPOSURE:
        experiment, variant = _exposure(item, rules)
    else:
        name = item.get("event")
        if name is None:
            raise _Bad(RejectReason.MISSING_FIELD, "event", "a metric event names its event")
        if not _plain(name, MAX_TEXT_LENGTH):
            name = _text(name, "event")
        raw = item.get("value")
        if raw is None or (type(raw) is float and math.isfinite(raw)):
            value = raw
        else:
            value = _number(raw, "value")
    timestamp_us = _timestamp_us(item.get("timestamp"))
    if timestamp_us > rules.latest_us:
        raise _Bad(
            RejectReason.FUTURE_TIMESTAMP,
            "timestamp",
            f"timestamp {_iso(timestamp_us)} is ahead of the server's clock by more than the "
            "allowed skew",
        )
    if timestamp_us < rules.earliest_us:
        raise _Bad(
            RejectReason.TOO_OLD,
            "timestamp",
            f"timestamp {_iso(timestamp_us)} is before {_iso(rules.earliest_us)}, the oldest "
            "accepted (the events' max_age)",
        )
    attributes = _attributes(item.get("attributes"))
    return Event(event_id, kind, unit, timestamp_us, attributes, experiment, variant, name, value)


def _iso(timestamp_us: int) -> str:
    try:
        return (_EPOCH + timestamp_us * _US).isoformat().replace("+00:00", "Z")
    except OverflowError:  # past year 9999 once in UTC
        return f"{timestamp_us / 1e6:.0f} s after 1970"


def _reject(index: int, item: dict[str, Any], bad: _Bad, rules: _Rules) -> Reject:
    given = item.get("id")
    kind = item.get("type")
    experiment = item.get("experiment")
    flag = item.get("flag")
    if experiment is None and type(flag) is str:
        experiment = rules.by_flag.get(flag)
    known = kind == EXPOSURE and type(experiment) is str and experiment in rules.experiments
    return Reject(
        index,
        given if _usable_id(given) else None,
        bad.reason,
        bad.field,
        bad.message,
        kind if kind in (EXPOSURE, METRIC) else "",
        experiment if known else "",  # type: ignore[arg-type]
    )


def validate_batch(
    items: Sequence[object],
    *,
    catalog: Catalog,
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None,
) -> Validated:
    """Split `items` (decoded JSON) into valid events and rejects, each event on its own.

    An event stamped more than `max_skew` after `now` is a `future_timestamp`; one older than
    `max_age` before `now` is `too_old` (None: no age limit, for late imports; anything before
    1970 is too old all the same). Duplicates are
    not looked for here: the store counts them.
    """
    rules = _Rules(catalog, now, max_skew, max_age)
    accepted: list[Event] = []
    rejects: list[Reject] = []
    for index, item in enumerate(items):
        if type(item) is not dict:
            rejects.append(
                Reject(index, None, RejectReason.NOT_AN_OBJECT, None, "an event is a JSON object")
            )
            continue
        try:
            accepted.append(_event(item, rules))
        except _Bad as bad:
            rejects.append(_reject(index, item, bad, rules))
    return Validated(accepted, rejects)
