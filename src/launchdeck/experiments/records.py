"""What the experiments service hands out, over the API and to the CLI. Pure."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from launchdeck.experiments.analysis import Analysis
from launchdeck.experiments.model import ExperimentSpec, MetricSpec

__all__ = ["ExperimentInfo", "Phase", "Report", "SqlText", "phase_at"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Phase(StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    ENDED = "ended"


def phase_at(spec: ExperimentSpec, at: datetime) -> Phase:
    if spec.start is not None and at < spec.start:
        return Phase.SCHEDULED
    if spec.end is not None and at >= spec.end:
        return Phase.ENDED
    return Phase.RUNNING


class ExperimentInfo(_Out):
    key: str
    flag: str
    environment: str
    phase: Phase
    start: datetime | None
    end: datetime | None
    primary_metric: str
    spec: ExperimentSpec
    metrics: list[MetricSpec]


class Report(_Out):
    """An analysis with what its chart needs: new exposed units per day and variant."""

    analysis: Analysis
    daily_exposures: dict[date, dict[str, int]]
    source: str
    """Where the events were read: `embedded`, `postgres`, `parquet` …"""


class SqlText(_Out):
    """One generated query in a warehouse dialect, with the parameters it binds."""

    name: str
    dialect: str
    sql: str
    params: dict[str, str]
