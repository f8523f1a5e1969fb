"""OpenSLO v1, the SLO format launchdeck reads and writes natively. Pure: no clock, no network.

One frozen Pydantic model per kind (Service, SLO, SLI, DataSource, AlertPolicy, AlertCondition,
AlertNotificationTarget), with the spec's own field names, so a document and its model read the
same. Reference: the OpenSLO specification, README.md of github.com/OpenSLO/OpenSLO (v1).

Where launchdeck is stricter than the spec, it is because it computes with the document:
- `spec.timeWindow` is required (the spec makes it optional): a budget needs a window;
- `metadata.name` is an RFC 1123 label, or the spec's extended form (also `.`, `|`, `/`, `\\`,
  up to 255 characters);
- a `timeSliceWindow` counts in minutes, hours, days or weeks, never months or longer.

Cross-field problems are raised with a `problems` context, `(relative path, message, hint)`
each, so a loader (`launchdeck.yamlpos`) can point at the field at fault.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import cache, partial
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from launchdeck.reliability.model import BudgetingMethod
from launchdeck.workspace.validate import suggest

__all__ = [
    "API_VERSION",
    "DOCUMENT_KINDS",
    "SLI",
    "SLO",
    "UNION_TAGS",
    "UNIT_NAMES",
    "AlertCondition",
    "AlertConditionRef",
    "AlertConditionSpec",
    "AlertNotificationTarget",
    "AlertNotificationTargetRef",
    "AlertNotificationTargetSpec",
    "AlertPolicy",
    "AlertPolicyRef",
    "AlertPolicySpec",
    "BurnRateCondition",
    "Calendar",
    "DataSource",
    "DataSourceSpec",
    "Document",
    "Metadata",
    "Metric",
    "MetricSource",
    "Objective",
    "RatioMetric",
    "SLISpec",
    "SLOSpec",
    "Service",
    "ServiceSpec",
    "TimeWindow",
    "fixed_duration",
    "name_problem",
    "parse_document",
    "slice_problems",
    "split_duration",
    "threshold_problems",
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
_START_TIME = "%Y-%m-%d %H:%M:%S"


def _fail(*problems: tuple[Loc, str, str | None]) -> PydanticCustomError:
    """A validation error that names the exact fields at fault and how to fix each."""
    return PydanticCustomError(
        "openslo", "{message}", {"message": problems[0][1], "problems": problems}
    )


def _invalid(message: str, hint: str | None = None, *, at: Loc = ()) -> PydanticCustomError:
    """One problem, at `at` below the value being validated."""
    return _fail((at, message, hint))


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


def _check_duration(value: object, *, allow_zero: bool, calendar_units: bool) -> object:
    if not isinstance(value, str):
        raise _invalid(f"{value!r} is not a duration", "write a duration such as 5m or 28d")
    match = _DURATION.match(value)
    if match is None:
        raise _invalid(f"{value!r} is not a duration shorthand", _duration_hint(value))
    count, unit = int(match.group(1)), match.group(2)
    if count == 0 and not allow_zero:
        raise _invalid(f"duration {value!r} is zero", "use a positive number, e.g. 28d")
    if unit in "MQY" and not calendar_units:
        raise _invalid(f"{value!r} is not a fixed length", "use minutes, hours, days or weeks")
    return value


def _duration(*, allow_zero: bool = False, calendar_units: bool = True) -> BeforeValidator:
    return BeforeValidator(
        partial(_check_duration, allow_zero=allow_zero, calendar_units=calendar_units)
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


Duration = Annotated[str, _duration()]
FixedDuration = Annotated[str, _duration(calendar_units=False)]
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
        raise _invalid(problem, f"e.g. {fixed!r}" if fixed and fixed != value else None)
    return value


Name = Annotated[str, AfterValidator(_check_name)]
Ref = Annotated[str, Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _label_values(value: object) -> object:
    if isinstance(value, Mapping):
        for key, item in value.items():
            items = item if isinstance(item, list | tuple) else [item]
            if not all(isinstance(one, str) for one in items):
                raise _invalid(
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


class Metadata(_Model):
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
            raise _fail(*problems)
        return self


class MetricSource(_Model):
    metricSourceRef: Ref | None = None
    type: str | None = None
    spec: dict[str, Any]

    @model_validator(mode="after")
    def _typed(self) -> MetricSource:
        if self.metricSourceRef is None and not self.type:
            raise _invalid(
                "a metricSource needs a type or a metricSourceRef",
                "add type: Prometheus, or metricSourceRef: <DataSource name>",
            )
        return self


class Metric(_Model):
    metricSource: MetricSource


class RatioMetric(_Model):
    counter: bool | None = None
    good: Metric | None = None
    bad: Metric | None = None
    total: Metric | None = None
    raw: Metric | None = None
    rawType: Literal["success", "failure"] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> RatioMetric:
        if self.raw is not None:
            mixed = [name for name in ("good", "bad", "total") if getattr(self, name) is not None]
            if mixed:
                raise _invalid(
                    "raw cannot be used with good, bad or total", "keep one form", at=(mixed[0],)
                )
            if self.rawType is None:
                raise _invalid(
                    "raw needs rawType",
                    "add rawType: success (a ratio of good) or failure (a ratio of bad)",
                )
            return self
        if self.rawType is not None:
            raise _invalid("rawType is only used with raw", "remove rawType", at=("rawType",))
        if self.good is not None and self.bad is not None:
            raise _invalid("give good or bad, not both", "keep one numerator", at=("bad",))
        if self.good is None and self.bad is None:
            raise _invalid("a ratioMetric needs good or bad with total, or raw")
        if self.total is None:
            raise _invalid("a ratioMetric needs total", "add total: with the query of all events")
        return self


class SLISpec(_Model):
    description: Description | None = None
    thresholdMetric: Metric | None = None
    ratioMetric: RatioMetric | None = None

    @model_validator(mode="after")
    def _one_metric(self) -> SLISpec:
        if (self.thresholdMetric is None) == (self.ratioMetric is None):
            given = "both" if self.thresholdMetric else "neither"
            raise _invalid(
                f"an SLI needs exactly one of ratioMetric or thresholdMetric (got {given})",
                "ratioMetric counts good (or bad) events out of total; "
                "thresholdMetric compares one value with each objective",
            )
        return self


class SLI(_Model):
    """An SLI document, or an SLO's inline `indicator` (which has no apiVersion or kind)."""

    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["SLI"] = "SLI"
    metadata: Metadata
    spec: SLISpec


class Calendar(_Model):
    startTime: datetime
    """Naive: the start in `timeZone`'s local time."""
    timeZone: str

    @field_validator("startTime", mode="before")
    @classmethod
    def _start(cls, value: object) -> object:
        hint = "write it as 'YYYY-MM-DD HH:MM:SS', e.g. 2026-01-01 00:00:00"
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                raise _invalid(
                    "startTime has no time zone of its own", f"put it in timeZone; {hint}"
                )
            return value
        if isinstance(value, date):
            raise _invalid(f"startTime {value} needs a time of day", hint)
        if isinstance(value, str):
            try:
                return datetime.strptime(value, _START_TIME)
            except ValueError:
                raise _invalid(f"startTime {value!r} is not a date and time", hint) from None
        raise _invalid(f"startTime {value!r} is not a date and time", hint)

    @field_validator("timeZone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in _zones():
            raise _invalid(
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


class TimeWindow(_Model):
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
            raise _invalid(
                "a rolling window has no calendar",
                "remove calendar:, or set isRolling: false for a calendar-aligned window",
                at=("calendar",),
            )
        if not self.isRolling and self.calendar is None:
            raise _invalid(
                "the window is neither rolling nor calendar-aligned",
                "add isRolling: true, or calendar: {startTime: ..., timeZone: ...}",
            )
        return self


def _time_slice_window(value: object) -> object:
    if isinstance(value, bool) or (isinstance(value, int | float) and value <= 0):
        raise _invalid(f"{value!r} is not a time slice", "a number of minutes (5) or 5m")
    if isinstance(value, str):
        return _check_duration(value, allow_zero=False, calendar_units=False)
    return value


class Objective(_Model):
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
            raise _invalid(
                "target 1 (100 %) leaves no error budget", "the highest target is below 1"
            )
        if 1 < value < 100:
            raise _invalid(
                f"target {value} is a percentage, but target is a ratio in [0, 1)",
                f"write targetPercent: {value} (or target: {_ratio_text(value)})",
            )
        if not 0 <= value < 1:
            raise _invalid(f"target {value} is not a ratio in [0, 1)", "e.g. target: 0.999")
        return value

    @field_validator("targetPercent")
    @classmethod
    def _percent(cls, value: float) -> float:
        if value == 100:
            raise _invalid("targetPercent 100 leaves no error budget", "e.g. 99.99")
        if not 0 <= value < 100:
            raise _invalid(f"targetPercent {value} is not in [0, 100)", "e.g. 99.9")
        return value

    @field_validator("timeSliceTarget")
    @classmethod
    def _slice_target(cls, value: float) -> float:
        if 1 < value <= 100:
            raise _invalid(
                f"timeSliceTarget {value} is a percentage, but it is a ratio in (0, 1]",
                f"write timeSliceTarget: {_ratio_text(value)}",
            )
        if not 0 < value <= 1:
            raise _invalid(f"timeSliceTarget {value} is not a ratio in (0, 1]", "e.g. 0.95")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> Objective:
        if self.target is not None and self.targetPercent is not None:
            raise _invalid(
                "give target or targetPercent, not both", "keep one", at=("targetPercent",)
            )
        if self.target is None and self.targetPercent is None:
            raise _invalid(
                "an objective needs a target", "add target: 0.999 or targetPercent: 99.9"
            )
        return self


def _ratio_text(percent: float) -> str:
    return f"{percent / 100:.10g}"


class BurnRateCondition(_Model):
    kind: Literal["burnrate"] = "burnrate"
    op: Op | None = None
    threshold: Annotated[float, Field(gt=0)]
    lookbackWindow: FixedDuration
    alertAfter: Annotated[str, _duration(allow_zero=True, calendar_units=False)] | None = None


class AlertConditionSpec(_Model):
    description: Description | None = None
    severity: Annotated[str, Field(min_length=1)]
    condition: BurnRateCondition


class AlertCondition(_Model):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["AlertCondition"] = "AlertCondition"
    metadata: Metadata
    spec: AlertConditionSpec


class AlertConditionRef(_Model):
    conditionRef: Ref


class AlertNotificationTargetSpec(_Model):
    target: Annotated[str, Field(min_length=1)]
    description: Description | None = None


class AlertNotificationTarget(_Model):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["AlertNotificationTarget"] = "AlertNotificationTarget"
    metadata: Metadata
    spec: AlertNotificationTargetSpec


class AlertNotificationTargetRef(_Model):
    targetRef: Ref


def _inline_or(ref_key: str) -> Discriminator:
    def tag(value: object) -> str:
        if isinstance(value, Mapping):
            return REF if ref_key in value else INLINE
        return REF if hasattr(value, ref_key) else INLINE

    return Discriminator(tag)


ConditionItem = Annotated[
    Annotated[AlertCondition, Tag(INLINE)] | Annotated[AlertConditionRef, Tag(REF)],
    _inline_or("conditionRef"),
]
TargetItem = Annotated[
    Annotated[AlertNotificationTarget, Tag(INLINE)]
    | Annotated[AlertNotificationTargetRef, Tag(REF)],
    _inline_or("targetRef"),
]


class AlertPolicySpec(_Model):
    description: Description | None = None
    alertWhenNoData: bool = False
    alertWhenResolved: bool = False
    # Default on: a policy that never alerts on a breach would be a surprising default.
    alertWhenBreaching: bool = True
    conditions: Annotated[tuple[ConditionItem, ...], Field(min_length=1, max_length=1)]
    notificationTargets: tuple[TargetItem, ...]


class AlertPolicy(_Model):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["AlertPolicy"] = "AlertPolicy"
    metadata: Metadata
    spec: AlertPolicySpec


class AlertPolicyRef(_Model):
    alertPolicyRef: Ref


PolicyItem = Annotated[
    Annotated[AlertPolicy, Tag(INLINE)] | Annotated[AlertPolicyRef, Tag(REF)],
    _inline_or("alertPolicyRef"),
]


class SLOSpec(_Model):
    description: Description | None = None
    service: Annotated[str, Field(min_length=1)]
    indicator: SLI | None = None
    indicatorRef: Ref | None = None
    timeWindow: tuple[TimeWindow, ...]
    budgetingMethod: BudgetingMethod
    objectives: Annotated[tuple[Objective, ...], Field(min_length=1)]
    alertPolicies: tuple[PolicyItem, ...] = ()

    @field_validator("timeWindow")
    @classmethod
    def _one_window(cls, value: tuple[TimeWindow, ...]) -> tuple[TimeWindow, ...]:
        if len(value) != 1:
            raise _invalid(
                f"timeWindow takes exactly one window, got {len(value)}",
                "e.g. timeWindow: [{duration: 28d, isRolling: true}]",
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SLOSpec:
        problems: list[tuple[Loc, str, str | None]] = []
        if self.indicator is not None and self.indicatorRef is not None:
            problems.append((("indicatorRef",), "give indicator or indicatorRef, not both", None))
        elif self.indicator is None and self.indicatorRef is None:
            problems.append(
                ((), "an SLO needs an indicator", "add indicatorRef: <SLI name> or indicator:")
            )
        problems += slice_problems(self.budgetingMethod, self.objectives)
        if self.indicator is not None:
            problems += threshold_problems(self.indicator.spec, self.objectives)
        if problems:
            raise _fail(*problems)
        return self

    @property
    def window(self) -> TimeWindow:
        """The one time window."""
        return self.timeWindow[0]


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


class SLO(_Model):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["SLO"] = "SLO"
    metadata: Metadata
    spec: SLOSpec


class ServiceSpec(_Model):
    description: Description | None = None


class Service(_Model):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["Service"] = "Service"
    metadata: Metadata
    spec: ServiceSpec = ServiceSpec()


class DataSourceSpec(_Model):
    type: Annotated[str, Field(min_length=1)]
    connectionDetails: dict[str, Any] = {}
    description: Description | None = None


class DataSource(_Model):
    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["DataSource"] = "DataSource"
    metadata: Metadata
    spec: DataSourceSpec


Document = Annotated[
    Service | SLO | SLI | DataSource | AlertPolicy | AlertCondition | AlertNotificationTarget,
    Field(discriminator="kind"),
]
_KINDS = (Service, SLO, SLI, DataSource, AlertPolicy, AlertCondition, AlertNotificationTarget)
DOCUMENT_KINDS: Mapping[str, type[BaseModel]] = {
    model.model_fields["kind"].default: model for model in _KINDS
}
_DOCUMENT: TypeAdapter[Document] = TypeAdapter(Document)


def parse_document(data: Mapping[str, Any]) -> Document:
    """Validate one OpenSLO document (any kind); pydantic's ValidationError if it is invalid."""
    return _DOCUMENT.validate_python(data)
