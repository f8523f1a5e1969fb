"""The SLO model launchdeck computes with. Pure: no clock, database or network.

OpenSLO documents (`openslo.py`) are the format people write; `definition.py` maps a resolved
SLO document onto `SloDefinition` once, at the border. Budgets (`budget.py`), burn-rate alerts
(`burn.py`), Prometheus rules (`rules.py`) and the error-budget policy (`policy.py`) all read
this model, so the evaluator and the generated rules can never disagree about an objective.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

__all__ = [
    "Bucket",
    "BudgetingMethod",
    "Indicator",
    "IndicatorKind",
    "Objective",
    "SloDefinition",
    "TimeWindow",
]


class BudgetingMethod(StrEnum):
    OCCURRENCES = "Occurrences"
    """Good events / all events, event-weighted over the window."""
    TIMESLICES = "Timeslices"
    """Good slices / all slices: a slice is good when its ratio meets timeSliceTarget."""
    RATIO_TIMESLICES = "RatioTimeslices"
    """The mean of the slices' good ratios."""


class IndicatorKind(StrEnum):
    GOOD_TOTAL = "good_total"
    """ratioMetric with good + total queries."""
    BAD_TOTAL = "bad_total"
    """ratioMetric with bad + total queries."""
    RAW = "raw"
    """ratioMetric with a precomputed ratio (`raw_type` says of successes or failures)."""
    THRESHOLD = "threshold"
    """thresholdMetric: one value per step, good when it meets the objective's op/value."""


@dataclass(frozen=True, slots=True)
class Indicator:
    """How to read the SLI: the queries and the source they run on."""

    kind: IndicatorKind
    source_type: str = "Prometheus"
    """OpenSLO metricSource.type (or the DataSource's spec.type)."""
    good: str | None = None
    bad: str | None = None
    total: str | None = None
    raw: str | None = None
    raw_type: Literal["success", "failure"] | None = None
    threshold: str | None = None
    counter: bool = True
    source_url: str | None = None
    """The DataSource's connectionDetails.url, when the SLO names one."""


@dataclass(frozen=True, slots=True)
class Objective:
    name: str
    target: float
    """As a ratio in [0, 1): 0.999 for 99.9 %."""
    op: Literal["lt", "lte", "gt", "gte"] | None = None
    value: float | None = None
    """Threshold objectives: a step is good when `sli <op> value`."""
    time_slice_target: float | None = None
    time_slice_window: timedelta | None = None


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Rolling (the last `duration`), or calendar-aligned periods starting at `calendar_start`."""

    duration: str
    """OpenSLO duration shorthand: 28d, 4w, 1M, 1Q, 1Y."""
    rolling: bool = True
    calendar_start: datetime | None = None
    """Naive local start of the first period (OpenSLO calendar.startTime)."""
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class SloDefinition:
    name: str
    system: str
    service: str
    display_name: str
    indicator: Indicator
    window: TimeWindow
    method: BudgetingMethod
    objectives: tuple[Objective, ...]
    description: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Bucket:
    """Events in [start, start + step): what a source returns and the budget math consumes.

    For threshold and raw indicators a bucket is one sample: `total` 1 and `good` in [0, 1].
    """

    start: datetime
    good: float
    total: float

    @property
    def bad(self) -> float:
        return max(self.total - self.good, 0.0)
