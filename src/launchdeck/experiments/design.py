"""Design before launch: how many units an experiment needs, how many days that takes at the
traffic it gets, and whether the campaign lasts that long. Pure.

The sample size is for the primary metric as a rate (its baseline conversion rate), at the
experiment's α, power and relative minimum detectable effect, with Bonferroni over the
treatments (`stats.power`). A `sequential` experiment needs more units than a fixed-horizon one
for the same power (the price of looking every hour), and the plan says so. When the deadline
(the experiment's end, or its campaign's) comes before the test can reach power, the plan says
so before launch, and says which effect *is* detectable by then.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from launchdeck.experiments.model import ExperimentSpec, Method

__all__ = ["Design", "design"]


class Design(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    experiment: str
    method: Method
    baseline_rate: float
    baseline_source: str
    """Where the baseline came from: recent traffic, the experiment's `baseline_rate`, an option."""
    mde: float
    alpha: float
    power: float
    arms: int
    n_per_arm: int
    """Units each arm needs (the smallest arm sets the pace)."""
    fixed_horizon_n_per_arm: int
    total_units: int
    daily_units: float | None
    traffic_source: str | None
    coverage: float
    days_needed: int | None
    starts: datetime
    deadline: datetime | None
    days_available: float | None
    feasible: bool | None
    """None when there is no deadline or no traffic figure to judge by."""
    reachable_mde: float | None
    """The relative effect detectable with the given power by the deadline (when infeasible)."""
    collected: int = 0
    """Units already in the smallest arm (a running experiment)."""
    power_by_deadline: float | None
    summary: list[str]


def _needed(experiment: ExperimentSpec, baseline: float, mde: float) -> int:
    from launchdeck.stats.power import sample_size_proportions, sequential_sample_size

    spec = experiment.analysis
    arms = len(experiment.variants)
    if spec.method is Method.SEQUENTIAL:
        return sequential_sample_size(
            baseline,
            mde,
            alpha=spec.alpha,
            power=spec.power,
            tuning=spec.sequential_tuning,
            arms=arms,
        )
    return sample_size_proportions(baseline, mde, alpha=spec.alpha, power=spec.power, arms=arms)


def _reachable(experiment: ExperimentSpec, baseline: float, n_per_arm: float) -> float | None:
    """The smallest relative effect that `n_per_arm` units detect with the planned power."""
    from scipy import optimize

    from launchdeck.stats.power import reachable_mde

    spec = experiment.analysis
    arms = len(experiment.variants)
    if n_per_arm < 2:
        return None
    top = (1 - baseline) / baseline * 0.999  # the treatment rate must stay below 1
    if spec.method is Method.FIXED:
        try:
            found = reachable_mde(
                baseline, n_per_arm, alpha=spec.alpha, power=spec.power, arms=arms
            )
        except ValueError:
            return None
        return found if math.isfinite(found) else None

    def gap(mde: float) -> float:
        return _needed(experiment, baseline, mde) - n_per_arm

    low = 1e-4
    if gap(top) > 0:
        return None
    if gap(low) <= 0:
        return low
    return float(optimize.brentq(gap, low, top, xtol=1e-5))


def design(
    experiment: ExperimentSpec,
    *,
    now: datetime,
    baseline: float,
    baseline_source: str,
    daily_units: float | None,
    traffic_source: str | None,
    mde: float | None = None,
    collected: int = 0,
) -> Design:
    """The plan for `experiment` at `now` (see the module doc)."""
    from launchdeck.stats.power import days_needed, power_proportions, sample_size_proportions

    spec = experiment.analysis
    effect = mde if mde is not None else spec.mde
    arms = len(experiment.variants)
    n = _needed(experiment, baseline, effect)
    fixed = sample_size_proportions(baseline, effect, alpha=spec.alpha, power=spec.power, arms=arms)
    coverage = experiment.coverage / 100
    weights = list(experiment.weight_shares().values())
    smallest = min(weights)
    starts = max(experiment.start, now) if experiment.start else now
    deadline = experiment.end
    days_available = (
        max(0.0, (deadline - starts) / timedelta(days=1)) if deadline is not None else None
    )
    remaining = max(0, n - collected)
    days: int | None = None
    if daily_units:
        days = (
            days_needed(remaining, arms, daily_units, coverage, weights=weights) if remaining else 0
        )
    feasible: bool | None = None
    reachable = power_by_deadline = None
    if days is not None and days_available is not None and daily_units:
        # Units already in the smallest arm count: a running experiment is judged on both.
        units_by_deadline = collected + daily_units * coverage * smallest * days_available
        feasible = n <= units_by_deadline
        if not feasible:
            reachable = _reachable(experiment, baseline, units_by_deadline)
            if spec.method is Method.FIXED and units_by_deadline >= 2:
                power_by_deadline = power_proportions(
                    baseline, effect, units_by_deadline, alpha=spec.alpha, arms=arms
                )
    summary = _summary(
        experiment,
        n=n,
        fixed=fixed,
        effect=effect,
        daily_units=daily_units,
        days=days,
        days_available=days_available,
        feasible=feasible,
        reachable=reachable,
        collected=collected,
    )
    return Design(
        experiment=experiment.key,
        method=spec.method,
        baseline_rate=baseline,
        baseline_source=baseline_source,
        mde=effect,
        alpha=spec.alpha,
        power=spec.power,
        arms=arms,
        n_per_arm=n,
        fixed_horizon_n_per_arm=fixed,
        total_units=math.ceil(n / smallest),
        daily_units=daily_units,
        traffic_source=traffic_source,
        coverage=coverage,
        days_needed=days,
        starts=starts,
        deadline=deadline,
        days_available=days_available,
        feasible=feasible,
        reachable_mde=reachable,
        power_by_deadline=power_by_deadline,
        collected=collected,
        summary=summary,
    )


def _summary(
    experiment: ExperimentSpec,
    *,
    n: int,
    fixed: int,
    effect: float,
    daily_units: float | None,
    days: int | None,
    days_available: float | None,
    feasible: bool | None,
    reachable: float | None,
    collected: int,
) -> list[str]:
    spec = experiment.analysis
    lines = [
        f"{n:,} units per arm to detect a {effect:.1%} relative lift of "
        f"{experiment.primary_metric} with {spec.power:.0%} power at α = {spec.alpha:g}"
        + (
            f" ({fixed:,} with a fixed horizon; sequential testing lets you look every hour)"
            if spec.method is Method.SEQUENTIAL
            else " (fixed horizon: analyse once, at that sample size)"
        )
    ]
    if days is None:
        lines.append("no traffic figure: give --daily-units, or run it and plan from its traffic")
        return lines
    lines.append(f"{days} day{'s' if days != 1 else ''} at {daily_units:,.0f} units a day")
    if collected:
        lines[-1] += f" ({collected:,} already in the smallest arm)"
    if days_available is None:
        return lines
    if feasible:
        lines.append(f"fits: the experiment has {days_available:.1f} days before it ends")
    else:
        lines.append(
            f"TOO SHORT: it ends in {days_available:.1f} days, before it can reach "
            f"{spec.power:.0%} power ({days} days needed)"
        )
        lines.append(
            f"by the deadline it can detect a lift of {reachable:.1%} (not {effect:.1%})"
            if reachable is not None
            else "by the deadline it cannot detect any realistic lift"
        )
    return lines
