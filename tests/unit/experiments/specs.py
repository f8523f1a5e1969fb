"""Builders for the experiment tests: a metric catalog, an experiment, arms as `Moments`.

`an_experiment(...)` is the smallest valid experiment (A/B on `hero-banner`, primary
`conversion`, guardrail `revenue`, fixed horizon) with keyword arguments overriding any field;
arms come from counts (`rate(n, converted)`) or from per-unit arrays (`moments_of(y, x)`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from launchdeck.experiments.analysis import Analysis, analyse
from launchdeck.experiments.model import ExperimentSpec, MetricSpec
from launchdeck.stats.moments import Moments

__all__ = [
    "AT",
    "METRICS",
    "an_analysis",
    "an_experiment",
    "moments_of",
    "normal_arm",
    "rate",
]

AT = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
"""Black Friday, when the analyses in these tests are run."""

METRICS: dict[str, MetricSpec] = {
    m.key: m
    for m in (
        MetricSpec(key="conversion", event="purchase"),
        MetricSpec(key="signup", event="signup"),
        MetricSpec(key="revenue", name="revenue per visitor", type="mean", event="purchase"),
        MetricSpec(
            key="aov",
            name="average order value",
            type="ratio",
            numerator={"event": "purchase"},
            denominator={"event": "purchase", "value": "count"},
        ),
        MetricSpec(key="bounce", name="bounce rate", event="bounce", higher_is_better=False),
        MetricSpec(key="returning", event="purchase", cuped=True),
        MetricSpec(key="spend", type="mean", event="purchase", cuped=True),
    )
}


def an_experiment(**fields: Any) -> ExperimentSpec:
    """An A/B experiment; `analysis` entries are merged over a fixed-horizon analysis."""
    analysis = {"method": "fixed", **fields.pop("analysis", {})}
    document: dict[str, Any] = {
        "key": "bf-hero-banner",
        "flag": "hero-banner",
        "control": "A",
        "variants": {"A": 50, "B": 50},
        "primary_metric": "conversion",
        "guardrail_metrics": ["revenue"],
        "analysis": analysis,
        **fields,
    }
    return ExperimentSpec.model_validate(document)


def rate(n: int, converted: int) -> Moments:
    """An arm of a conversion metric: y is 0/1 per unit, so Σy² = Σy."""
    return Moments(n, float(converted), float(converted))


def moments_of(y: npt.ArrayLike, x: npt.ArrayLike | None = None) -> Moments:
    """The sufficient statistics of per-unit values y (and a covariate or denominator x)."""
    ys = np.asarray(y, dtype=np.float64)
    xs = np.zeros_like(ys) if x is None else np.asarray(x, dtype=np.float64)
    return Moments(
        n=len(ys),
        sum=float(ys.sum()),
        sum_sq=float(ys @ ys),
        x_sum=float(xs.sum()),
        x_sum_sq=float(xs @ xs),
        xy_sum=float(xs @ ys),
    )


def normal_arm(n: int, mean: float, sd: float) -> Moments:
    """An arm of a mean metric with exactly this sample mean and standard deviation (ddof 1)."""
    return Moments(n, n * mean, (n - 1) * sd * sd + n * mean * mean)


def an_analysis(**fields: Any) -> Analysis:
    """Black Friday's hero banner: B converts +10 % (significant), C is flat; `signup` has no
    data yet; B breaches the revenue guardrail. `fields` override the experiment's."""
    experiment = an_experiment(
        **{
            "variants": {"A": 34, "B": 33, "C": 33},
            "secondary_metrics": ["signup"],
            "analysis": {"correction": "none"},
            **fields,
        }
    )
    moments = {
        "conversion": {"A": rate(10_000, 1000), "B": rate(10_000, 1100), "C": rate(9_900, 995)},
        "revenue": {
            "A": normal_arm(10_000, 30.0, 40.0),
            "B": normal_arm(10_000, 28.0, 40.0),
            "C": normal_arm(9_900, 30.1, 40.0),
        },
    }
    return analyse(experiment, METRICS, moments, at=AT)
