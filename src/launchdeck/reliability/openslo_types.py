"""The field types OpenSLO documents are built from: durations, names, metadata. Pure.

`metadata.name` is stricter than the spec: an RFC 1123 label, or the spec's extended form (also
`.`, `|`, `/`, `\\`, up to 255 characters).

Problems are raised with a `problems` context, `(relative path, message, hint)` each, so a
loader (`launchdeck.yamlpos`) can point at the field at fault.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "API_VERSION",
    "INLINE",
    "REF",
    "UNION_TAGS",
    "UNIT_NAMES",
    "Description",
    "Duration",
    "FixedDuration",
    "Loc",
    "Metadata",
    "Name",
    "Op",
    "OpenSloModel",
    "Ref",
    "check_duration",
    "duration_validator",
    "fixed_duration",
    "invalid",
    "name_problem",
    "openslo_error",
    "split_duration",
]

API_VERSION: Final = "openslo/v1"
INLINE, REF = "<inline>", "<ref>"
UNION_TAGS = frozenset({INLINE, REF})
"""Tags of the inline-or-reference unions; they appear in pydantic locations, not in files."""

Op = Literal["lt", "lte", "gt", "gte"]
Loc = tuple[str | int, ...]

UNIT_NAMES: Mapping[str, str] = {
    "m": "minute", "h": "hour", "d": "day", "w": "week", "M": "month", "Q": "quarter", "Y": "year",
}  # fmt: skip
_MINUTES = {"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}
_DURATION = re.compile(r"\A([0-9]+)([mhdwMQY])\Z")
_EXTENDED_NAME = re.compile(r"\A[a-z0-9]([-a-z0-9.|/\\]*[a-z0-9])?\Z")
_KEY_NAME = re.compile(r"\A[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?\Z")
_DNS_SUBDOMAIN = re.compile(r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")


def openslo_error(*problems: tuple[Loc, str, str | None]) -> PydanticCustomError:
    """A validation error that names the exact fields at fault and how to fix each."""
    return PydanticCustomError(
        "openslo", "{message}", {"message": problems[0][1], "problems": problems}
    )


def invalid(message: str, hint: str | None = None, *, at: Loc = ()) -> PydanticCustomError:
    """One problem, at `at` below the value being validated."""
    return openslo_error((at, message, hint))


def split_duration(text: str) -> tuple[int, str]:
    """(count, unit) of a duration shorthand: `28d` -> (28, 'd'); ValueError if it is not one."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration shorthand: {text!r}")
    return int(match.group(1)), match.group(2)


def fixed_duration(text: str) -> timedelta | None:
    """The timedelta of a shorthand in m/h/d/w; None for months, quarters and years."""
    count, unit = split_duration(text)
    return timedelta(minutes=count * _MINUTES[unit]) if unit in _MINUTES else None


def check_duration(value: object, *, allow_zero: bool, calendar_units: bool) -> object:
    """`value` unchanged if it is a duration shorthand as allowed; an OpenSLO error otherwise."""
    if not isinstance(value, str):
        raise invalid(f"{value!r} is not a duration", "write a duration such as 5m or 28d")
    match = _DURATION.match(value)
    if match is None:
        raise invalid(f"{value!r} is not a duration shorthand", _duration_hint(value))
    count, unit = int(match.group(1)), match.group(2)
    if count == 0 and not allow_zero:
        raise invalid(f"duration {value!r} is zero", "use a positive number, e.g. 28d")
    if unit in "MQY" and not calendar_units:
        raise invalid(f"{value!r} is not a fixed length", "use minutes, hours, days or weeks")
    return value


def duration_validator(*, allow_zero: bool = False, calendar_units: bool = True) -> BeforeValidator:
    """A field validator that accepts only duration shorthands (see `check_duration`)."""
    return BeforeValidator(
        partial(check_duration, allow_zero=allow_zero, calendar_units=calendar_units)
    )


def _duration_hint(text: str) -> str:
    base = "a whole number and one of m h d w M Q Y (minutes … years), e.g. 28d, 4w or 1M"
    words = re.fullmatch(r"\s*(\d+)\s*(minute|hour|day|week|month|quarter|year)s?\s*", text)
    if words:
        unit = next(key for key, name in UNIT_NAMES.items() if name == words.group(2))
        return f"write {words.group(1)}{unit}"
    stripped = text.replace(" ", "")
    if re.fullmatch(r"\d+s", stripped):
        return f"seconds are not an OpenSLO unit; {base}"
    if re.fullmatch(r"\d+D", stripped):
        return f"did you mean {stripped[:-1]}d? units are case-sensitive"
    if stripped != text and _DURATION.match(stripped):
        return f"write it without spaces: {stripped}"
    return base


Duration = Annotated[str, duration_validator()]
FixedDuration = Annotated[str, duration_validator(calendar_units=False)]
Description = Annotated[str, Field(max_length=1050)]


def name_problem(name: str) -> str | None:
    """Why `name` is not an OpenSLO metadata.name, or None when it is one."""
    # The extended form holds every RFC 1123 label; only it needs checking.
    if len(name) <= 255 and _EXTENDED_NAME.match(name):
        return None
    if len(name) > 255:
        return f"name is {len(name)} characters long; the most is 255 (63 to be portable)"
    return (
        f"{name!r} is not a valid name: use lowercase letters, digits and '-', "
        "starting and ending with a letter or digit"
    )


def _check_name(value: str) -> str:
    if (problem := name_problem(value)) is not None:
        fixed = re.sub(r"[^a-z0-9.|/\\-]+", "-", value.lower()).strip("-.|/\\")
        raise invalid(problem, f"e.g. {fixed!r}" if fixed and fixed != value else None)
    return value


Name = Annotated[str, AfterValidator(_check_name)]
Ref = Annotated[str, Field(min_length=1)]


class OpenSloModel(BaseModel):
    """The base of every OpenSLO model: frozen, no unknown keys, no infinities or NaN."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _label_values(value: object) -> object:
    if isinstance(value, Mapping):
        for key, item in value.items():
            items = item if isinstance(item, list | tuple) else [item]
            if not all(isinstance(one, str) for one in items):
                raise invalid(
                    f"label values are strings or lists of strings, got {item!r}",
                    f'quote it: {key}: "{str(item).lower() if isinstance(item, bool) else item}"',
                    at=(str(key),),
                )
    return value


def _key_problem(key: str, *, prefixed: bool) -> str | None:
    prefix, _, name = key.rpartition("/") if prefixed else ("", "", key)
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"key prefix {prefix!r} must be a DNS subdomain (lowercase, dots, at most 253)"
    if len(name) > 63 or not _KEY_NAME.match(name):
        return (
            f"key {key!r}: the name must be at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return None


class Metadata(OpenSloModel):
    name: Name
    displayName: str | None = None
    labels: Annotated[dict[str, str | tuple[str, ...]], BeforeValidator(_label_values)] = {}
    annotations: dict[str, str] = {}

    @model_validator(mode="after")
    def _keys(self) -> Metadata:
        problems = [
            (("labels", key), problem, None)
            for key in self.labels
            if (problem := _key_problem(key, prefixed=False))
        ] + [
            (("annotations", key), problem, "e.g. launchdeck.dev/owner")
            for key in self.annotations
            if (problem := _key_problem(key, prefixed=True))
        ]
        if problems:
            raise openslo_error(*problems)
        return self
