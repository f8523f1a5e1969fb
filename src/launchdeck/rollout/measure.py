"""One measurement of a release: its strategy's metrics judged on the traffic so far. Pure.

The traffic is per variant (`access_log.Traffic`: the canary's and stable's requests, errors,
latencies and converting visitors since the canary started). Each metric the analysis names is
judged by the check its kind calls for, with the spec's settings over the judge's defaults:

- `error_rate` — the share of requests answered 5xx, harmful when it rises (critical);
- `conversion_rate` — the share of visitors who converted, harmful when it falls (critical);
- `latency` — request latencies (ms), Kayenta's rank test plus the percentile limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from launchdeck.rollout.access_log import Traffic
from launchdeck.rollout.analysis import Measurement
from launchdeck.rollout.judge import (
    LatencyCheck,
    MetricResult,
    ProportionCheck,
    judge_latency,
    judge_proportion,
)
from launchdeck.rollout.strategy import MetricSpec, StrategySpec

__all__ = ["measure"]


def measure(
    strategy: StrategySpec,
    metrics: Sequence[str],
    traffic: Mapping[str, Traffic],
    at: datetime,
) -> Measurement:
    """Judge `metrics` on canary vs stable traffic."""
    canary = traffic.get("canary", Traffic())
    stable = traffic.get("stable", Traffic())
    return Measurement(at, tuple(_judge(strategy.metric(m), canary, stable) for m in metrics))


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
    errors = spec.kind == "error_rate"
    check = ProportionCheck(
        spec.name,
        harmful="increase" if errors else "decrease",
        alpha=spec.alpha,
        no_data=spec.no_data,
        critical=True if spec.critical is None else spec.critical,
    )
    if spec.min_sample is not None:
        check = replace(check, min_sample=spec.min_sample)
    if errors:
        return judge_proportion(check, canary.errors(), stable.errors())
    return judge_proportion(check, canary.conversions(), stable.conversions())
