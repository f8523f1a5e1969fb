"""An OpenSLO SLO's time window and objectives, and what each objective needs from its SLO. Pure.

Stricter than the spec because launchdeck computes with it: a `timeSliceWindow` counts in
minutes, hours, days or weeks, never months or longer.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta
from functools import cache
from typing import Annotated

from pydantic import BeforeValidator, field_serializer, field_validator, model_validator

from launchdeck.reliability.model import BudgetingMethod
from launchdeck.reliability.openslo_sli import SLISpec
from launchdeck.reliability.openslo_types import (
    Duration,
    Loc,
    Op,
    OpenSloModel,
    check_duration,
    fixed_duration,
    invalid,
)
from launchdeck.workspace.validate import suggest

__all__ = ["Calendar", "Objective", "TimeWindow", "slice_problems", "threshold_problems"]

_START_TIME = "%Y-%m-%d %H:%M:%S"


class Calendar(OpenSloModel):
    startTime: datetime
    """Naive: the start in `timeZone`'s local time."""
    timeZone: str

    @field_validator("startTime", mode="before")
    @classmethod
    def _start(cls, value: object) -> object:
        hint = "write it as 'YYYY-MM-DD HH:MM:SS', e.g. 2026-01-01 00:00:00"
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                raise invalid(
                    "startTime has no time zone of its own", f"put it in timeZone; {hint}"
                )
            return value
        if isinstance(value, date):
            raise invalid(f"startTime {value} needs a time of day", hint)
        if isinstance(value, str):
            try:
                return datetime.strptime(value, _START_TIME)
            except ValueError:
                raise invalid(f"startTime {value!r} is not a date and time", hint) from None
        raise invalid(f"startTime {value!r} is not a date and time", hint)

    @field_validator("timeZone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in _zones():
            raise invalid(
                f"unknown time zone {value!r}",
                suggest(value, _zones()) or "use an IANA name such as Europe/Paris or UTC",
            )
        return value

    @field_serializer("startTime")
    def _dump_start(self, value: datetime) -> str:
        return value.strftime(_START_TIME)


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class TimeWindow(OpenSloModel):
    duration: Duration
    isRolling: bool | None = None
    calendar: Calendar | None = None

    @property
    def rolling(self) -> bool:
        """True for a rolling window (omitted isRolling means calendar-aligned)."""
        return bool(self.isRolling)

    @model_validator(mode="after")
    def _kind(self) -> TimeWindow:
        if self.isRolling and self.calendar is not None:
            raise invalid(
                "a rolling window has no calendar",
                "remove calendar:, or set isRolling: false for a calendar-aligned window",
                at=("calendar",),
            )
        if not self.isRolling and self.calendar is None:
            raise invalid(
                "the window is neither rolling nor calendar-aligned",
                "add isRolling: true, or calendar: {startTime: ..., timeZone: ...}",
            )
        return self


def _time_slice_window(value: object) -> object:
    if isinstance(value, bool) or (isinstance(value, int | float) and value <= 0):
        raise invalid(f"{value!r} is not a time slice", "a number of minutes (5) or 5m")
    if isinstance(value, str):
        return check_duration(value, allow_zero=False, calendar_units=False)
    return value


class Objective(OpenSloModel):
    displayName: str | None = None
    op: Op | None = None
    value: float | None = None
    target: float | None = None
    targetPercent: float | None = None
    timeSliceTarget: float | None = None
    timeSliceWindow: Annotated[int | float | str | None, BeforeValidator(_time_slice_window)] = None

    @property
    def target_ratio(self) -> float:
        """The target as a ratio in [0, 1): `targetPercent: 99.9` gives 0.999."""
        if self.target is not None:
            return self.target
        assert self.targetPercent is not None  # the validator requires one of them
        return self.targetPercent / 100

    @property
    def time_slice(self) -> timedelta | None:
        """timeSliceWindow as a timedelta (a bare number counts minutes)."""
        if self.timeSliceWindow is None:
            return None
        if isinstance(self.timeSliceWindow, str):
            return fixed_duration(self.timeSliceWindow)
        return timedelta(minutes=self.timeSliceWindow)

    @field_validator("target")
    @classmethod
    def _ratio(cls, value: float) -> float:
        if value == 1:
            raise invalid(
                "target 1 (100 %) leaves no error budget", "the highest target is below 1"
            )
        if 1 < value < 100:
            raise invalid(
                f"target {value} is a percentage, but target is a ratio in [0, 1)",
                f"write targetPercent: {value} (or target: {_ratio_text(value)})",
            )
        if not 0 <= value < 1:
            raise invalid(f"target {value} is not a ratio in [0, 1)", "e.g. target: 0.999")
        return value

    @field_validator("targetPercent")
    @classmethod
    def _percent(cls, value: float) -> float:
        if value == 100:
            raise invalid("targetPercent 100 leaves no error budget", "e.g. 99.99")
        if not 0 <= value < 100:
            raise invalid(f"targetPercent {value} is not in [0, 100)", "e.g. 99.9")
        return value

    @field_validator("timeSliceTarget")
    @classmethod
    def _slice_target(cls, value: float) -> float:
        if 1 < value <= 100:
            raise invalid(
                f"timeSliceTarget {value} is a percentage, but it is a ratio in (0, 1]",
                f"write timeSliceTarget: {_ratio_text(value)}",
            )
        if not 0 < value <= 1:
            raise invalid(f"timeSliceTarget {value} is not a ratio in (0, 1]", "e.g. 0.95")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> Objective:
        if self.target is not None and self.targetPercent is not None:
            raise invalid(
                "give target or targetPercent, not both", "keep one", at=("targetPercent",)
            )
        if self.target is None and self.targetPercent is None:
            raise invalid("an objective needs a target", "add target: 0.999 or targetPercent: 99.9")
        return self


def _ratio_text(percent: float) -> str:
    return f"{percent / 100:.10g}"


def slice_problems(
    method: BudgetingMethod, objectives: tuple[Objective, ...]
) -> list[tuple[Loc, str, str | None]]:
    """What a time-slice budgeting method needs from each objective, located in SLO spec."""
    problems: list[tuple[Loc, str, str | None]] = []
    if method is BudgetingMethod.OCCURRENCES:
        return problems
    for index, objective in enumerate(objectives):
        if objective.timeSliceWindow is None:
            problems.append(
                (
                    ("objectives", index),
                    f"budgetingMethod {method.value} needs timeSliceWindow",
                    "add timeSliceWindow: 5m (the size of one slice)",
                )
            )
        if method is BudgetingMethod.TIMESLICES and objective.timeSliceTarget is None:
            problems.append(
                (
                    ("objectives", index),
                    "budgetingMethod Timeslices needs timeSliceTarget",
                    "add timeSliceTarget: 0.95 (the ratio that makes a slice good)",
                )
            )
    return problems


def threshold_problems(
    indicator: SLISpec, objectives: tuple[Objective, ...]
) -> list[tuple[Loc, str, str | None]]:
    """A thresholdMetric takes one objective with op and value; located in SLO spec."""
    if indicator.thresholdMetric is None:
        return []
    if len(objectives) != 1:
        return [
            (
                ("objectives",),
                f"a thresholdMetric SLO takes exactly one objective, got {len(objectives)}",
                "split it into one SLO per threshold",
            )
        ]
    missing = [name for name in ("op", "value") if getattr(objectives[0], name) is None]
    if missing:
        return [
            (
                ("objectives", 0),
                f"a thresholdMetric objective needs {' and '.join(missing)}",
                "e.g. op: lte and value: 0.3 (good while the value is at most 0.3)",
            )
        ]
    return []
