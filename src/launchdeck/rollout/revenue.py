"""Revenue at risk, per release: what a canary's conversion drop has cost, against the
strategy's `revenue:` budget. Pure.

Each measurement of the conversion metric charges the canary with the orders it lost — its
visitors × the drop × the order value — on the drop's 99 % lower bound (`judge.revenue_lost`),
so noise on a healthy canary costs nothing; past the budget the release is rolled back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from launchdeck.rollout.analysis import Measurement
from launchdeck.rollout.judge import Counts, revenue_lost
from launchdeck.rollout.release import Release

__all__ = ["charge"]


def charge(
    release: Release, measurement: Measurement, now: datetime
) -> tuple[dict[str, Any] | None, str | None]:
    """What the canary's conversion drop has cost so far (for `release status` and the
    rollback event; None when nothing measured it), and why to roll back when that is
    over the release's revenue budget (else None)."""
    spec = release.strategy.revenue
    found = [r for r in measurement.results if spec and r.name == spec.metric and r.numbers]
    if spec is None or not found:
        return None, None
    numbers = found[0].numbers
    canary = Counts(int(numbers["canary_units"]), int(numbers["canary_events"]))
    baseline = Counts(int(numbers["baseline_units"]), int(numbers["baseline_events"]))
    started = next((at for at, _, why in release.history if why == "started"), now)
    hours = (now - started).total_seconds() / 3600
    lost = revenue_lost(
        canary,
        baseline,
        order_value=spec.order_value,
        visitors_per_hour=(canary.units + baseline.units) / hours if hours > 0 else 0.0,
        canary_weight=release.weight / 100,
    )
    revenue: dict[str, Any] = {
        "currency": spec.currency,
        "per_hour": round(lost.per_hour, 2),
        "lost": round(lost.lost, 2),
        "lost_at_least": round(lost.lost_at_least, 2),
        "budget": spec.budget,
    }
    if spec.budget is None or lost.lost_at_least <= spec.budget:
        return revenue, None
    return revenue, (
        f"revenue budget spent: at least {lost.lost_at_least:,.0f} {spec.currency} of orders "
        f"lost among the canary's visitors (budget {spec.budget:,.0f} {spec.currency}); "
        f"{lost.per_hour:,.0f} {spec.currency} an hour at risk at {release.weight:g} %"
    )
