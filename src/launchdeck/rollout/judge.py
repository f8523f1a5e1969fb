"""The canary judge: one measurement of canary against baseline, metric by metric. Pure.

Every metric of a release's analysis yields a `MetricResult` — Pass, Fail, Inconclusive or
NoData — with the numbers it was decided on and the test statistic:

- **`ProportionCheck`** (error rate, conversion rate): counts of events among requests or
  visitors on each side, compared by a one-sided anytime-valid test
  (`stats.sequential.sequential_one_sided`), in the harmful direction only (errors up,
  conversions down). The judge may ask after every interval of a rollout: the chance that a
  canary no worse than its baseline is ever failed stays below `alpha` however often it asks,
  where a fixed-horizon test asked 24 times fails about one good canary in four at α = 5 %.
  Until the harm is established the metric passes once both sides have `min_sample` units,
  and is Inconclusive before (the step waits for data, like LaunchDarkly's guarded rollouts).
- **`LatencyCheck`**: samples (request latencies, or per-interval values) compared as Kayenta's
  NetflixACAJudge compares a metric: the Mann–Whitney shift of canary − baseline with its 98 %
  interval (`stats.ranks`); High when the whole interval lies above `tolerance` × |the shift|
  (Low when below −that), and the effect size (ratio of means) beyond `effect_size`. High is
  a Fail for latency (Low is fine). A ratio limit on percentiles (canary p99 ÷ baseline p99 ≤
  1.5, say) catches a slow tail the ranks would not weigh.
- **`ThresholdCheck`** (Flagger's `thresholdRange`): one value within [min, max].

No data is never silently a pass or a failure: each check says what it means (`no_data`:
fail, pause, inconclusive or pass), and `pause` makes the measurement Inconclusive with the
reason, which pauses the rollout for a human.

`decide(results)` gives the measurement's verdict: the worst metric decides (Fail > NoData
failing > Inconclusive > Pass), as Argo Rollouts does. `score(results)` gives Kayenta's
weighted group score as well, for those who promote on a score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from statistics import NormalDist
from typing import Final, Literal

import numpy as np

from launchdeck.stats.moments import Moments
from launchdeck.stats.ranks import mann_whitney_shift
from launchdeck.stats.sequential import sequential_one_sided

__all__ = [
    "Counts",
    "LatencyCheck",
    "MetricResult",
    "NoDataPolicy",
    "ProportionCheck",
    "RevenueLost",
    "Score",
    "ThresholdCheck",
    "Verdict",
    "decide",
    "judge_latency",
    "judge_proportion",
    "judge_threshold",
    "revenue_at_risk",
    "revenue_lost",
    "score",
]

DEFAULT_ALPHA: Final = 0.01
"""Per metric, over the whole rollout: at most 1 % of good canaries fail on it."""
DEFAULT_TUNING: Final = 2000.0
"""Units (both sides) where the confidence sequence is tightest: a canary step's traffic."""


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NO_DATA = "no_data"


class NoDataPolicy(StrEnum):
    """What a metric with no data (or not enough) means for the measurement."""

    FAIL = "fail"
    PAUSE = "pause"
    INCONCLUSIVE = "inconclusive"
    PASS = "pass"  # noqa: S105 - a verdict, not a password


@dataclass(frozen=True, slots=True)
class Counts:
    """Units observed (requests, visitors) and how many had the event (a 5xx, an order)."""

    units: int
    events: int

    def __post_init__(self) -> None:
        if self.units < 0 or not 0 <= self.events <= self.units:
            raise ValueError(f"events must be between 0 and units ({self.units}), not {self})")

    @property
    def rate(self) -> float:
        return self.events / self.units if self.units else math.nan

    def moments(self) -> Moments:
        """For the test, with Agresti and Caffo's one event and one non-event added: a side
        with no error yet would otherwise have no variance, and one 5xx on the canary would
        look like certain harm."""
        events = float(self.events + 1)
        return Moments(n=self.units + 2, sum=events, sum_sq=events)


@dataclass(frozen=True, slots=True)
class ProportionCheck:
    name: str
    harmful: Literal["increase", "decrease"]
    """`increase` for an error rate, `decrease` for a conversion rate."""
    alpha: float = DEFAULT_ALPHA
    tuning: float = DEFAULT_TUNING
    min_sample: int = 200
    """Units each side needs before the metric may pass."""
    no_data: NoDataPolicy = NoDataPolicy.INCONCLUSIVE
    critical: bool = True
    group: str = "default"


@dataclass(frozen=True, slots=True)
class LatencyCheck:
    name: str
    confidence: float = 0.98
    tolerance: float = 0.25
    effect_size: float = 1.0
    """High only when canary mean ÷ baseline mean is at least this (Kayenta's threshold)."""
    percentile_limits: Mapping[float, float] = field(default_factory=lambda: {99.0: 1.5})
    """Percentile → the largest canary ÷ baseline ratio allowed."""
    min_sample: int = 50
    no_data: NoDataPolicy = NoDataPolicy.INCONCLUSIVE
    critical: bool = False
    group: str = "default"


@dataclass(frozen=True, slots=True)
class ThresholdCheck:
    name: str
    min: float | None = None
    max: float | None = None
    no_data: NoDataPolicy = NoDataPolicy.FAIL
    critical: bool = False
    group: str = "default"


@dataclass(frozen=True, slots=True)
class MetricResult:
    """One metric's verdict and why, with what it was decided on."""

    name: str
    verdict: Verdict
    reason: str
    statistic: float | None = None
    p_value: float | None = None
    numbers: Mapping[str, float] = field(default_factory=dict)
    critical: bool = False
    group: str = "default"
    pauses: bool = False
    """Inconclusive because the no-data policy says pause (a human decides)."""
    waiting: bool = False
    """Inconclusive for want of data, under the `inconclusive` policy: the step waits for more
    (an analysis extends rather than counting it), like LaunchDarkly's minimum sample."""


def judge_proportion(check: ProportionCheck, canary: Counts, baseline: Counts) -> MetricResult:
    """Canary vs baseline on a rate, harmful direction only, anytime-valid."""
    numbers = {
        "canary_units": float(canary.units),
        "canary_events": float(canary.events),
        "baseline_units": float(baseline.units),
        "baseline_events": float(baseline.events),
    }
    if not canary.units or not baseline.units:
        return _no_data(check, "no units on the canary or the baseline", numbers)
    numbers |= {"canary_rate": canary.rate, "baseline_rate": baseline.rate}
    test = sequential_one_sided(
        baseline.moments(),
        canary.moments(),
        harmful=check.harmful,
        alpha=check.alpha,
        tuning=check.tuning,
        kind="proportion",
    )
    numbers |= {"bound": test.absolute.low if check.harmful == "increase" else test.absolute.high}
    worse = "higher" if check.harmful == "increase" else "lower"
    common = {"statistic": test.statistic, "p_value": test.p_value, "numbers": numbers}
    if test.established:
        return _result(
            check,
            Verdict.FAIL,
            f"the canary's rate {canary.rate:.4%} is {worse} than the baseline's "
            f"{baseline.rate:.4%} (always-valid p = {test.p_value:.2g} < {check.alpha})",
            **common,  # type: ignore[arg-type]
        )
    if min(canary.units, baseline.units) < check.min_sample:
        return _no_data(
            check,
            f"{min(canary.units, baseline.units):,} units on the smaller side; "
            f"{check.min_sample:,} needed to pass",
            numbers,
            statistic=test.statistic,
            p_value=test.p_value,
        )
    return _result(
        check,
        Verdict.PASS,
        f"no evidence the canary's rate ({canary.rate:.4%}) is {worse} than the baseline's "
        f"({baseline.rate:.4%})",
        **common,  # type: ignore[arg-type]
    )


def judge_latency(
    check: LatencyCheck, canary: Sequence[float], baseline: Sequence[float]
) -> MetricResult:
    """Kayenta's Mann–Whitney classification, High failing, plus the percentile limits."""
    x = np.asarray(canary, dtype=np.float64)
    y = np.asarray(baseline, dtype=np.float64)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    numbers: dict[str, float] = {"canary_samples": float(x.size), "baseline_samples": float(y.size)}
    if min(x.size, y.size) < max(check.min_sample, 1):
        return _no_data(
            check,
            f"{min(x.size, y.size):,} samples on the smaller side; {check.min_sample:,} needed",
            numbers,
        )
    for percentile, limit in sorted(check.percentile_limits.items()):
        ours, theirs = float(np.percentile(x, percentile)), float(np.percentile(y, percentile))
        numbers[f"canary_p{percentile:g}"] = ours
        numbers[f"baseline_p{percentile:g}"] = theirs
        if theirs > 0 and ours / theirs > limit:
            return _result(
                check,
                Verdict.FAIL,
                f"the canary's p{percentile:g} {ours:.4g} is {ours / theirs:.2f}× the baseline's "
                f"{theirs:.4g} (at most {limit:g}×)",
                statistic=ours / theirs,
                numbers=numbers,
            )
    if np.array_equal(np.sort(x), np.sort(y)) or np.unique(np.concatenate([x, y])).size == 1:
        return _result(
            check, Verdict.PASS, "the canary's values are the baseline's", numbers=numbers
        )
    shift = mann_whitney_shift(x, y, confidence=check.confidence)
    mean_x, mean_y = float(x.mean()), float(y.mean())
    ratio = mean_x / mean_y if mean_y else math.inf
    bound = check.tolerance * abs(shift.estimate)
    numbers |= {
        "shift": shift.estimate,
        "shift_low": shift.low,
        "shift_high": shift.high,
        "mean_ratio": ratio,
    }
    common = {"statistic": shift.statistic, "p_value": shift.p_value, "numbers": numbers}
    if shift.low > bound and ratio >= check.effect_size:
        return _result(
            check,
            Verdict.FAIL,
            f"the canary is slower: shift {shift.estimate:+.4g} "
            f"({shift.confidence:.0%} interval {shift.low:.4g} to {shift.high:.4g}), "
            f"mean ratio {ratio:.3f}",
            **common,  # type: ignore[arg-type]
        )
    return _result(
        check,
        Verdict.PASS,
        f"no slower: shift {shift.estimate:+.4g} "
        f"({shift.confidence:.0%} interval {shift.low:.4g} to {shift.high:.4g})",
        **common,  # type: ignore[arg-type]
    )


def judge_threshold(check: ThresholdCheck, value: float | None) -> MetricResult:
    """One value within [min, max] (either bound optional)."""
    if value is None or math.isnan(value):
        return _no_data(check, "the query returned no value", {})
    numbers = {"value": value}
    if check.min is not None and value < check.min:
        return _result(check, Verdict.FAIL, f"{value:.4g} is below {check.min:g}", numbers=numbers)
    if check.max is not None and value > check.max:
        return _result(check, Verdict.FAIL, f"{value:.4g} is above {check.max:g}", numbers=numbers)
    return _result(check, Verdict.PASS, f"{value:.4g} is within range", numbers=numbers)


_RANK: Final = {Verdict.PASS: 0, Verdict.INCONCLUSIVE: 1, Verdict.NO_DATA: 2, Verdict.FAIL: 3}


def decide(results: Sequence[MetricResult]) -> Verdict:
    """The measurement's verdict: the worst of its metrics (NoData here is a NoData that the
    check's policy made a failure; Inconclusive pauses). No metric at all: NoData."""
    if not results:
        return Verdict.NO_DATA
    return max((r.verdict for r in results), key=_RANK.__getitem__)


@dataclass(frozen=True, slots=True)
class Score:
    """Kayenta's weighted group score (0–100) and its classification."""

    value: float
    groups: Mapping[str, float]
    classification: Literal["pass", "marginal", "fail"]
    critical_failure: bool


def score(
    results: Sequence[MetricResult],
    *,
    weights: Mapping[str, float] | None = None,
    pass_score: float = 95.0,
    marginal_score: float = 75.0,
) -> Score:
    """Per group, the share of decided metrics that passed (×100); the summary is the groups'
    weighted sum (groups without a weight share what the weights leave of 100). A critical
    metric that did not pass makes the score 0. Inconclusive and NoData metrics count in no
    group (they have no classification in Kayenta either)."""
    weights = dict(weights or {})
    decided: dict[str, list[bool]] = {}
    for result in results:
        if result.verdict in (Verdict.PASS, Verdict.FAIL):
            decided.setdefault(result.group, []).append(result.verdict == Verdict.PASS)
    groups = {name: 100.0 * sum(marks) / len(marks) for name, marks in decided.items()}
    unweighted = [name for name in groups if name not in weights]
    share = (100.0 - sum(weights.values())) / len(unweighted) if unweighted else 0.0
    value = sum(s * weights.get(name, share) / 100.0 for name, s in groups.items())
    critical = any(r.critical and r.verdict == Verdict.FAIL for r in results)
    if critical:
        value = 0.0
    kind: Literal["pass", "marginal", "fail"] = (
        "pass" if value >= pass_score else "marginal" if value >= marginal_score else "fail"
    )
    return Score(value=value, groups=groups, classification=kind, critical_failure=critical)


def revenue_at_risk(
    *,
    visitors_per_hour: float,
    canary_weight: float,
    baseline_conversion: float,
    canary_conversion: float,
    order_value: float,
) -> float:
    """Expected revenue lost per hour by sending `canary_weight` of the traffic to a canary
    converting at `canary_conversion` instead of `baseline_conversion` (0 when it does not
    convert worse)."""
    delta = max(0.0, baseline_conversion - canary_conversion)
    return visitors_per_hour * canary_weight * delta * order_value


@dataclass(frozen=True, slots=True)
class RevenueLost:
    """What a canary's conversion drop has cost so far, and costs an hour at its weight."""

    lost: float
    """Orders lost among the canary's visitors so far × order value (the point estimate)."""
    lost_at_least: float
    """The same at the lower bound of a one-sided `confidence` interval of the drop: what a
    release's revenue budget is charged, so noise on a healthy canary costs nothing."""
    per_hour: float
    """`revenue_at_risk` at the current traffic and weight."""


def revenue_lost(
    canary: Counts,
    baseline: Counts,
    *,
    order_value: float,
    visitors_per_hour: float,
    canary_weight: float,
    confidence: float = 0.99,
) -> RevenueLost:
    """The revenue a canary converting worse than its baseline has put at risk (0 when it does
    not convert worse). The drop's lower bound is Newcombe's hybrid score interval (Wilson's on
    each side), which keeps its level at the rates and sample sizes of a canary step."""
    if not canary.units or not baseline.units:
        return RevenueLost(0.0, 0.0, 0.0)
    z = NormalDist().inv_cdf(confidence)
    drop = baseline.rate - canary.rate
    baseline_low, _ = _wilson(baseline, z)
    _, canary_high = _wilson(canary, z)
    margin = math.hypot(baseline.rate - baseline_low, canary_high - canary.rate)
    per_hour = revenue_at_risk(
        visitors_per_hour=visitors_per_hour,
        canary_weight=canary_weight,
        baseline_conversion=baseline.rate,
        canary_conversion=canary.rate,
        order_value=order_value,
    )
    return RevenueLost(
        lost=canary.units * max(0.0, drop) * order_value,
        lost_at_least=canary.units * max(0.0, drop - margin) * order_value,
        per_hour=per_hour,
    )


def _wilson(counts: Counts, z: float) -> tuple[float, float]:
    """Wilson's score interval of a rate (one side at z each)."""
    n, p = counts.units, counts.rate
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _result(
    check: ProportionCheck | LatencyCheck | ThresholdCheck,
    verdict: Verdict,
    reason: str,
    *,
    statistic: float | None = None,
    p_value: float | None = None,
    numbers: Mapping[str, float] | None = None,
    pauses: bool = False,
    waiting: bool = False,
) -> MetricResult:
    return MetricResult(
        name=check.name,
        verdict=verdict,
        reason=reason,
        statistic=statistic,
        p_value=p_value,
        numbers=dict(numbers or {}),
        critical=check.critical,
        group=check.group,
        pauses=pauses,
        waiting=waiting,
    )


def _no_data(
    check: ProportionCheck | LatencyCheck | ThresholdCheck,
    why: str,
    numbers: Mapping[str, float],
    *,
    statistic: float | None = None,
    p_value: float | None = None,
) -> MetricResult:
    """Not enough data: what the check's policy makes of it."""
    policy = check.no_data
    verdict = {
        NoDataPolicy.FAIL: Verdict.NO_DATA,
        NoDataPolicy.PAUSE: Verdict.INCONCLUSIVE,
        NoDataPolicy.INCONCLUSIVE: Verdict.INCONCLUSIVE,
        NoDataPolicy.PASS: Verdict.PASS,
    }[policy]
    return _result(
        check,
        verdict,
        f"{why} (no-data policy: {policy})",
        statistic=statistic,
        p_value=p_value,
        numbers=numbers,
        pauses=policy == NoDataPolicy.PAUSE,
        waiting=policy == NoDataPolicy.INCONCLUSIVE,
    )
