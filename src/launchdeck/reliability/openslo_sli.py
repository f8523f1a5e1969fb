"""The OpenSLO SLI kind and its metrics: what counts as good, read from which source. Pure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import model_validator

from launchdeck.reliability.openslo_types import (
    API_VERSION,
    Description,
    Loc,
    Metadata,
    OpenSloModel,
    Ref,
    invalid,
)

__all__ = ["SLI", "Metric", "MetricSource", "RatioMetric", "SLISpec", "metric_sources"]


class MetricSource(OpenSloModel):
    metricSourceRef: Ref | None = None
    type: str | None = None
    spec: dict[str, Any]

    @model_validator(mode="after")
    def _typed(self) -> MetricSource:
        if self.metricSourceRef is None and not self.type:
            raise invalid(
                "a metricSource needs a type or a metricSourceRef",
                "add type: Prometheus, or metricSourceRef: <DataSource name>",
            )
        return self


class Metric(OpenSloModel):
    metricSource: MetricSource


class RatioMetric(OpenSloModel):
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
                raise invalid(
                    "raw cannot be used with good, bad or total", "keep one form", at=(mixed[0],)
                )
            if self.rawType is None:
                raise invalid(
                    "raw needs rawType",
                    "add rawType: success (a ratio of good) or failure (a ratio of bad)",
                )
            return self
        if self.rawType is not None:
            raise invalid("rawType is only used with raw", "remove rawType", at=("rawType",))
        if self.good is not None and self.bad is not None:
            raise invalid("give good or bad, not both", "keep one numerator", at=("bad",))
        if self.good is None and self.bad is None:
            raise invalid("a ratioMetric needs good or bad with total, or raw")
        if self.total is None:
            raise invalid("a ratioMetric needs total", "add total: with the query of all events")
        return self


class SLISpec(OpenSloModel):
    description: Description | None = None
    thresholdMetric: Metric | None = None
    ratioMetric: RatioMetric | None = None

    @model_validator(mode="after")
    def _one_metric(self) -> SLISpec:
        if (self.thresholdMetric is None) == (self.ratioMetric is None):
            given = "both" if self.thresholdMetric else "neither"
            raise invalid(
                f"an SLI needs exactly one of ratioMetric or thresholdMetric (got {given})",
                "ratioMetric counts good (or bad) events out of total; "
                "thresholdMetric compares one value with each objective",
            )
        return self


class SLI(OpenSloModel):
    """An SLI document, or an SLO's inline `indicator` (which has no apiVersion or kind)."""

    apiVersion: Literal["openslo/v1"] = API_VERSION
    kind: Literal["SLI"] = "SLI"
    metadata: Metadata
    spec: SLISpec


def metric_sources(spec: SLISpec) -> Iterator[tuple[Loc, MetricSource]]:
    """Every metricSource of an SLI spec, with its path below `spec`."""
    if spec.thresholdMetric is not None:
        yield ("thresholdMetric", "metricSource"), spec.thresholdMetric.metricSource
    if spec.ratioMetric is not None:
        for part in ("good", "bad", "total", "raw"):
            if (metric := getattr(spec.ratioMetric, part)) is not None:
                yield ("ratioMetric", part, "metricSource"), metric.metricSource
