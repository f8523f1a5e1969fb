"""Revenue at risk: what a canary's conversion drop costs, checked by hand and by simulation
(a healthy canary is charged nothing 99 % of the time), and the strategy's revenue budget."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from launchdeck.errors import ValidationFailed
from launchdeck.rollout.judge import Counts, revenue_lost
from launchdeck.rollout.strategy import parse_strategy


def test_the_orders_lost_among_the_canary_visitors_at_the_order_value() -> None:
    lost = revenue_lost(
        Counts(2_000, 20),  # 1 % on the canary
        Counts(18_000, 1_080),  # 6 % on stable
        order_value=82.0,
        visitors_per_hour=36_000,
        canary_weight=0.1,
    )
    assert lost.lost == pytest.approx(2_000 * 0.05 * 82)
    assert lost.per_hour == pytest.approx(36_000 * 0.1 * 0.05 * 82)
    # The oracle: statsmodels' Newcombe interval of the drop (two-sided 98 % = one-sided 99 %).
    low, _ = confint_proportions_2indep(1_080, 18_000, 20, 2_000, method="newcomb", alpha=0.02)
    assert lost.lost_at_least == pytest.approx(2_000 * low * 82, rel=1e-9)
    assert 0 < lost.lost_at_least < lost.lost


def test_a_canary_converting_better_or_without_traffic_costs_nothing() -> None:
    better = revenue_lost(
        Counts(1_000, 80), Counts(9_000, 540), order_value=82, visitors_per_hour=1, canary_weight=1
    )
    assert (better.lost, better.lost_at_least, better.per_hour) == (0.0, 0.0, 0.0)
    empty = revenue_lost(
        Counts(0, 0), Counts(9_000, 540), order_value=82, visitors_per_hour=1, canary_weight=1
    )
    assert empty.lost_at_least == 0.0


def test_a_healthy_canary_is_charged_at_most_one_time_in_a_hundred() -> None:
    """A/A: both sides convert at 6 %; the budget is charged on the 99 % lower bound."""
    rng = np.random.default_rng(2026)
    runs = 20_000
    canary = rng.binomial(1_000, 0.06, size=runs)
    stable = rng.binomial(9_000, 0.06, size=runs)
    charged = sum(
        revenue_lost(
            Counts(1_000, int(c)),
            Counts(9_000, int(s)),
            order_value=82,
            visitors_per_hour=1,
            canary_weight=0.1,
        ).lost_at_least
        > 0
        for c, s in zip(canary, stable, strict=True)
    )
    assert charged / runs <= 0.0115  # 1 % nominal (± 0.14 points of simulation error)


def test_a_broken_canary_is_charged_almost_always() -> None:
    rng = np.random.default_rng(7)
    runs = 2_000
    charged = sum(
        revenue_lost(
            Counts(1_000, int(rng.binomial(1_000, 0.03))),
            Counts(9_000, int(rng.binomial(9_000, 0.06))),
            order_value=82,
            visitors_per_hour=1,
            canary_weight=0.1,
        ).lost_at_least
        > 0
        for _ in range(runs)
    )
    assert charged / runs >= 0.95


def test_the_revenue_section_of_a_strategy() -> None:
    spec = parse_strategy(
        "strategy: canary\n"
        "steps: [{set_weight: 10}]\n"
        "revenue: {order_value: 82, currency: EUR, budget: 500}\n",
        source="s.yaml",
    )
    assert spec.revenue is not None
    assert (spec.revenue.order_value, spec.revenue.currency, spec.revenue.budget) == (
        82,
        "EUR",
        500,
    )
    assert spec.revenue.metric == "conversion_rate"


@pytest.mark.parametrize(
    ("revenue", "message"),
    [
        ("{order_value: 0}", "s.yaml:3:"),
        ("{order_value: 82, metric: error_rate}", "'error_rate' is not a conversion rate"),
        ("{order_value: 82, metric: orders}", "no metric 'orders'"),
        ("{order_value: 82, currency: dollars}", "currency"),
    ],
)
def test_a_revenue_section_that_cannot_work_is_refused_at_its_line(
    revenue: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_strategy(
            f"strategy: canary\nsteps: [{{set_weight: 10}}]\nrevenue: {revenue}\n", source="s.yaml"
        )
    text = " ".join(f"{p.where} {p.message}" for p in caught.value.problems)
    assert message in text
    assert "s.yaml:3:" in text
