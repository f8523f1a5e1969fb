"""One measurement of a release: its strategy's metrics judged on the traffic so far. Pure.

The traffic is per variant (`access_log.Traffic`: the canary's and stable's requests, errors,
latencies and converting visitors since the canary started). Each metric the analysis names is
judged by the check its kind calls for, with the spec's settings over the judge's defaults:

- `error_rate` — the share of requests answered 5xx, harmful when it rises (critical);
- `conversion_rate` — the share of visitors who converted, harmful when it falls (critical);
- `latency` — request latencies (ms), Kayenta's rank test plus the percentile limits.

Metrics read elsewhere (`source: prometheus | web`) arrive as `Reading`s, gathered beforehand
by the shell (`sources.read_readings`): a `threshold` metric is the canary's one value against
its `threshold_range` (Flagger's thresholdRange), an error or conversion rate is the same
sequential test on the variants' `Counts`. A metric that could not be read makes the whole
measurement an error (Argo's Error: `consecutive_error_limit` of them in a row are tolerated),
unless another metric failed: a failure is never hidden behind an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Final

from launchdeck.rollout.access_log import Traffic
from launchdeck.rollout.analysis import Measurement
from launchdeck.rollout.judge import (
    Counts,
    LatencyCheck,
    MetricResult,
    ProportionCheck,
    ThresholdCheck,
    Verdict,
    judge_latency,
    judge_proportion,
    judge_threshold,
)
from launchdeck.rollout.strategy import MetricSpec, StrategySpec

__all__ = ["Reading", "measure"]


@dataclass(frozen=True, slots=True)
class Reading:
    """What a metric source read for one measurement: per variant (`canary`, `stable`) a value
    (threshold metrics) or `Counts` (rates), None where the source had no data; or `error`,
    why it could not be read."""

    values: Mapping[str, float | Counts | None] = field(default_factory=dict)
    error: str | None = None


_NO_READINGS: Final[Mapping[str, Reading]] = MappingProxyType({})


def measure(
    strategy: StrategySpec,
    metrics: Sequence[str],
    traffic: Mapping[str, Traffic],
    at: datetime,
    *,
    readings: Mapping[str, Reading] = _NO_READINGS,
) -> Measurement:
    """Judge `metrics` on canary vs stable traffic, or on their `readings` when another source
    reads them; an error when one could not be read and none failed."""
    canary = traffic.get("canary", Traffic())
    stable = traffic.get("stable", Traffic())
    results: list[MetricResult] = []
    errors: list[str] = []
    for name in metrics:
        spec = strategy.metric(name)
        if spec.source == "access_log":
            results.append(_judge(spec, canary, stable))
        elif isinstance(judged := _judge_reading(spec, readings.get(name)), MetricResult):
            results.append(judged)
        else:
            errors.append(f"{name}: {judged}")
    failed = any(r.verdict in (Verdict.FAIL, Verdict.NO_DATA) for r in results)
    if errors and not failed:
        return Measurement(at, error="; ".join(errors))
    return Measurement(at, tuple(results))


def _judge(spec: MetricSpec, canary: Traffic, stable: Traffic) -> MetricResult:
    if spec.kind == "latency":
        latency = LatencyCheck(spec.name, no_data=spec.no_data, critical=bool(spec.critical))
        if spec.percentile_limits is not None:
            latency = replace(latency, percentile_limits=spec.percentile_limits)
        if spec.min_sample is not None:
            latency = replace(latency, min_sample=spec.min_sample)
        return judge_latency(
            latency,
            [s * 1000 for s in canary.latencies],
            [s * 1000 for s in stable.latencies],
        )
    check = _proportion_check(spec)
    if spec.kind == "error_rate":
        return judge_proportion(check, canary.errors(), stable.errors())
    return judge_proportion(check, canary.conversions(), stable.conversions())


def _proportion_check(spec: MetricSpec) -> ProportionCheck:
    check = ProportionCheck(
        spec.name,
        harmful="increase" if spec.kind == "error_rate" else "decrease",
        alpha=spec.alpha,
        no_data=spec.no_data,
        critical=True if spec.critical is None else spec.critical,
    )
    if spec.min_sample is not None:
        check = replace(check, min_sample=spec.min_sample)
    return check


def _judge_reading(spec: MetricSpec, reading: Reading | None) -> MetricResult | str:
    """The metric judged on what its source read, or why it cannot be (an error)."""
    if reading is None:
        return f"not read from its {spec.source} source"
    if reading.error is not None:
        return reading.error
    if spec.kind == "threshold":
        value = reading.values.get("canary")
        bounds = spec.threshold_range
        if isinstance(value, Counts) or bounds is None:
            return "a threshold metric needs one value and a threshold_range"
        check = ThresholdCheck(
            spec.name,
            min=bounds.min,
            max=bounds.max,
            no_data=spec.no_data,
            critical=bool(spec.critical),
        )
        return judge_threshold(check, value)
    canary, stable = (reading.values.get(v) for v in ("canary", "stable"))
    if not isinstance(canary, Counts | None) or not isinstance(stable, Counts | None):
        return f"{spec.kind} needs counts per variant, not single values"
    none = Counts(0, 0)  # the judge's own no-data path, under the metric's no_data policy
    return judge_proportion(_proportion_check(spec), canary or none, stable or none)
