"""An experiment's analysis from its sufficient statistics: every metric × treatment compared with
control, corrected for multiple testing, worded for a marketer. Pure.

The SQL layer (`sql.py`) reduces the events to one `Moments` per variant and metric; this module
picks the test for each metric (rates: the two-proportion z-test; means: Welch's t; ratios: the
delta method; the `sequential` method: an always-valid confidence sequence on the same
estimate), applies CUPED where the metric asks for it, corrects the primary and secondary
metrics together (Holm or Benjamini–Hochberg over metrics × treatments; guardrails are never
corrected, so a guardrail fires as readily as it can) and words each result. The `Analysis` is
what the CLI table, `--json`, the API, the chart and the decision lines all render.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from launchdeck.experiments.model import (
    Correction,
    ExperimentSpec,
    Method,
    MetricSpec,
    MetricType,
)
from launchdeck.stats.moments import Moments

if TYPE_CHECKING:  # the tests load SciPy on first use: the API server starts without it
    from launchdeck.stats.compare import Comparison, Kind
    from launchdeck.stats.compare import Interval as StatsInterval

__all__ = [
    "Analysis",
    "Interval",
    "MetricResult",
    "Role",
    "Verdict",
    "analyse",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Role(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    GUARDRAIL = "guardrail"


class Verdict(StrEnum):
    BETTER = "better"
    """Significantly better than control, in the metric's good direction."""
    WORSE = "worse"
    FLAT = "inconclusive"
    """No significant difference (yet)."""
    NO_DATA = "no_data"


class Interval(_Out):
    estimate: float
    se: float
    low: float
    high: float


class MetricResult(_Out):
    """One metric for one treatment against control."""

    metric: str
    name: str
    role: Role
    type: MetricType
    variant: str
    control_units: int
    treatment_units: int
    control_mean: float
    treatment_mean: float
    absolute: Interval
    relative: Interval
    p_value: float
    adjusted_p_value: float
    """After the experiment's correction (guardrails: the raw p-value)."""
    significant: bool
    verdict: Verdict
    test: str
    """welch | z | delta-ratio, with "+sequential" and "+cuped" when they apply."""
    cuped_theta: float | None = None
    variance_reduction: float | None = None
    """Share of the variance CUPED removed (0.3: 30 % less)."""
    capped_at: float | None = None
    chance_to_beat_control: float | None = None
    expected_loss: float | None = None
    """Relative loss if this variant is shipped and it is in fact worse (Bayesian option)."""


class Analysis(_Out):
    experiment: str
    flag: str
    environment: str
    at: datetime
    start: datetime | None
    end: datetime | None
    method: Method
    alpha: float
    correction: Correction
    control: str
    units: dict[str, int]
    """Exposed units by variant (units seen in more than one variant excluded)."""
    results: list[MetricResult]
    decisions: list[str]
    """One line per treatment, for a marketer: the primary metric's lift, then guardrails."""


Comparer = Literal["z", "welch", "delta-ratio"]
_KINDS: dict[Comparer, Kind] = {"z": "proportion", "welch": "mean", "delta-ratio": "ratio"}


def _test_for(metric: MetricSpec) -> Comparer:
    if metric.type is MetricType.BINOMIAL:
        return "z"
    if metric.type is MetricType.RATIO:
        return "delta-ratio"
    return "welch"


def _compare(
    test: Comparer,
    control: Moments,
    treatment: Moments,
    *,
    method: Method,
    alpha: float,
    tuning: int,
) -> tuple[Comparison, Comparer]:
    from launchdeck.stats.compare import ratio, two_proportions, welch
    from launchdeck.stats.sequential import sequential

    if method is Method.SEQUENTIAL:
        kind: Kind = _KINDS[test]
        return sequential(control, treatment, alpha=alpha, tuning=tuning, kind=kind), test
    if test == "z":
        return two_proportions(control, treatment, alpha=alpha), test
    if test == "delta-ratio":
        return ratio(control, treatment, alpha=alpha), test
    return welch(control, treatment, alpha=alpha), test


def _interval(value: StatsInterval) -> Interval:
    return Interval(
        estimate=_finite(value.estimate),
        se=_finite(value.se),
        low=_finite(value.low),
        high=_finite(value.high),
    )


def _finite(value: float, default: float = 0.0) -> float:
    return float(value) if math.isfinite(value) else default


def _verdict(metric: MetricSpec, significant: bool, lift: float, has_data: bool) -> Verdict:
    if not has_data:
        return Verdict.NO_DATA
    if not significant:
        return Verdict.FLAT
    good = lift > 0 if metric.higher_is_better else lift < 0
    return Verdict.BETTER if good else Verdict.WORSE


@dataclass
class _Draft:
    metric: MetricSpec
    role: Role
    variant: str
    control: Moments
    treatment: Moments
    comparison: Comparison | None
    test: str
    theta: float | None
    reduction: float | None
    p_value: float = 1.0
    adjusted: float = 1.0


def analyse(
    experiment: ExperimentSpec,
    metrics: Mapping[str, MetricSpec],
    moments: Mapping[str, Mapping[str, Moments]],
    *,
    at: datetime,
    capped_at: Mapping[str, float] | None = None,
) -> Analysis:
    """The analysis of `experiment` from `moments[metric][variant]` (for a CUPED metric, x is
    the pre-period covariate; for a ratio, the denominator)."""
    from launchdeck.stats.correction import benjamini_hochberg, holm

    spec = experiment.analysis
    roles = (
        [(experiment.primary_metric, Role.PRIMARY)]
        + [(m, Role.SECONDARY) for m in experiment.secondary_metrics]
        + [(m, Role.GUARDRAIL) for m in experiment.guardrail_metrics]
    )
    empty = Moments(0, 0.0, 0.0)
    drafts = [
        _draft(
            metrics[key],
            role,
            variant,
            moments.get(key, {}).get(experiment.control, empty),
            moments.get(key, {}).get(variant, empty),
            experiment=experiment,
        )
        for key, role in roles
        for variant in experiment.treatments()
    ]
    corrected = [d for d in drafts if d.role is not Role.GUARDRAIL and d.comparison is not None]
    raw = [d.p_value for d in corrected]
    if spec.correction is Correction.HOLM:
        adjusted = list(holm(raw))
    elif spec.correction is Correction.BH:
        adjusted = list(benjamini_hochberg(raw))
    else:
        adjusted = raw
    for draft, p in zip(corrected, adjusted, strict=True):
        draft.adjusted = float(p)
    results = [
        _result(d, alpha=spec.alpha, bayesian=spec.bayesian, capped_at=capped_at) for d in drafts
    ]
    units = {
        v: max((moments.get(k, {}).get(v, empty).n for k, _ in roles), default=0)
        for v in experiment.variants
    }
    return Analysis(
        experiment=experiment.key,
        flag=experiment.flag,
        environment=experiment.environment,
        at=at,
        start=experiment.start,
        end=experiment.end,
        method=spec.method,
        alpha=spec.alpha,
        correction=spec.correction,
        control=experiment.control,
        units=units,
        results=results,
        decisions=decisions(experiment, results, alpha=spec.alpha, method=spec.method),
    )


def _draft(
    metric: MetricSpec,
    role: Role,
    variant: str,
    control: Moments,
    treatment: Moments,
    *,
    experiment: ExperimentSpec,
) -> _Draft:
    from launchdeck.stats.compare import cuped

    spec = experiment.analysis
    has_data = control.n >= 2 and treatment.n >= 2 and (control.sum != 0 or treatment.sum != 0)
    if metric.type is MetricType.RATIO:
        has_data = has_data and control.x_sum != 0 and treatment.x_sum != 0
    theta = reduction = None
    c, t = control, treatment
    if metric.cuped and has_data and (control.x_variance > 0 or treatment.x_variance > 0):
        c, t, theta = cuped(control, treatment)
        before = control.variance + treatment.variance
        reduction = 1 - (c.variance + t.variance) / before if before > 0 else None
    comparison: Comparison | None = None
    test: str = _test_for(metric)
    if has_data:
        # CUPED-adjusted values are no longer 0/1: a rate is then compared as a mean.
        comparer: Comparer = "welch" if theta is not None else _test_for(metric)
        comparison, test = _compare(
            comparer, c, t, method=spec.method, alpha=spec.alpha, tuning=spec.sequential_tuning
        )
    label = test + ("+sequential" if spec.method is Method.SEQUENTIAL else "")
    label += "+cuped" if theta is not None else ""
    p_value = _finite(comparison.p_value, 1.0) if comparison is not None else 1.0
    return _Draft(
        metric,
        role,
        variant,
        control,
        treatment,
        comparison,
        label,
        theta,
        reduction,
        p_value,
        p_value,
    )


def _mean(metric: MetricSpec, arm: Moments) -> float:
    if metric.type is MetricType.RATIO:
        return arm.sum / arm.x_sum if arm.x_sum else 0.0
    return arm.mean


def _result(
    draft: _Draft, *, alpha: float, bayesian: bool, capped_at: Mapping[str, float] | None
) -> MetricResult:
    from launchdeck.stats.bayes import chance_to_beat, expected_loss

    metric, comparison = draft.metric, draft.comparison
    zero = Interval(estimate=0.0, se=0.0, low=0.0, high=0.0)
    absolute = _interval(comparison.absolute) if comparison else zero
    relative = _interval(comparison.relative) if comparison else zero
    # Guardrails are not corrected: a breach should show as readily as it can.
    p = draft.p_value if draft.role is Role.GUARDRAIL else draft.adjusted
    significant = comparison is not None and p < alpha
    ctb = loss = None
    if bayesian and comparison is not None:
        beat, losses = chance_to_beat(comparison), expected_loss(comparison)
        # For a metric where lower is better (bounces), beating control is a negative lift.
        ctb = _finite(beat if metric.higher_is_better else 1 - beat)
        loss = _finite(losses.treatment if metric.higher_is_better else losses.control)
    return MetricResult(
        metric=metric.key,
        name=metric.name or metric.key,
        role=draft.role,
        type=metric.type,
        variant=draft.variant,
        control_units=draft.control.n,
        treatment_units=draft.treatment.n,
        control_mean=_finite(_mean(metric, draft.control)),
        treatment_mean=_finite(_mean(metric, draft.treatment)),
        absolute=absolute,
        relative=relative,
        p_value=draft.p_value,
        adjusted_p_value=p,
        significant=significant,
        verdict=_verdict(metric, significant, absolute.estimate, comparison is not None),
        test=draft.test,
        cuped_theta=draft.theta,
        variance_reduction=draft.reduction,
        capped_at=(capped_at or {}).get(metric.key),
        chance_to_beat_control=ctb,
        expected_loss=loss,
    )


def _ci_excludes(interval: Interval) -> bool:
    return interval.low > 0 or interval.high < 0


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


def decisions(
    experiment: ExperimentSpec,
    results: list[MetricResult],
    *,
    alpha: float,
    method: Method = Method.FIXED,
) -> list[str]:
    """One line per treatment: 'Variant B: +4.1% conversion (95% CI +1.2% to +7.0%),
    significant; revenue per visitor guardrail OK' (CS, a confidence sequence, when the
    experiment is sequential, as the table and the chart say)."""
    level = f"{(1 - alpha) * 100:g}%"
    interval = "CS" if method is Method.SEQUENTIAL else "CI"
    lines = []
    for variant in experiment.treatments():
        mine = [r for r in results if r.variant == variant]
        primary = next(r for r in mine if r.role is Role.PRIMARY)
        if primary.verdict is Verdict.NO_DATA:
            head = f"Variant {variant}: no data yet for {primary.name}"
        else:
            word = {
                Verdict.BETTER: "significant, better",
                Verdict.WORSE: "significant, worse",
                Verdict.FLAT: "not significant yet",
                Verdict.NO_DATA: "no data",
            }[primary.verdict]
            ci = primary.relative
            if primary.verdict is Verdict.FLAT and primary.p_value < alpha:
                word = "not significant after correcting for the other comparisons"
            head = (
                f"Variant {variant}: {_pct(ci.estimate)} {primary.name} "
                f"({level} {interval} {_pct(ci.low)} to {_pct(ci.high)}), {word}"
            )
        guards = []
        for r in mine:
            if r.role is not Role.GUARDRAIL:
                continue
            if r.verdict is Verdict.NO_DATA:
                guards.append(f"{r.name} guardrail has no data")
            elif r.verdict is Verdict.WORSE:
                guards.append(f"{r.name} guardrail BREACHED ({_pct(r.relative.estimate)})")
            else:
                guards.append(f"{r.name} guardrail OK")
        lines.append(head + ("; " + ", ".join(guards) if guards else ""))
    return lines
