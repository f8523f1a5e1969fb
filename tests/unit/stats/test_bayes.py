"""Chance to beat control and expected loss: closed forms against quadrature and Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from launchdeck.stats import (
    Comparison,
    Interval,
    Moments,
    chance_to_beat,
    expected_loss,
    two_proportions,
)


def a_comparison(lift: float, se: float) -> Comparison:
    """A comparison whose relative lift is N(lift, se²); the other fields do not matter here."""
    return Comparison(
        control_mean=0.1,
        treatment_mean=0.1 * (1 + lift),
        absolute=Interval(0.1 * lift, 0.1 * se, 0.0, 0.0),
        relative=Interval(lift, se, lift - 1.96 * se, lift + 1.96 * se),
        statistic=lift / se if se else 0.0,
        p_value=0.5,
        df=None,
        method="two_proportions",
    )


POSTERIORS = {
    "a clear win": (0.041, 0.015),
    "a likely loss": (-0.02, 0.03),
    "a coin toss": (0.0, 0.05),
    "a huge certain win": (0.5, 0.01),
}


@pytest.mark.parametrize(("lift", "se"), POSTERIORS.values(), ids=POSTERIORS.keys())
def test_the_closed_forms_equal_numerical_integration(lift: float, se: float) -> None:
    posterior = stats.norm(lift, se)

    chance = chance_to_beat(a_comparison(lift, se))
    loss = expected_loss(a_comparison(lift, se))

    assert chance == pytest.approx(posterior.sf(0.0), rel=1e-12)
    lo, hi = lift - 40 * se, lift + 40 * se
    ship = integrate.quad(lambda d: -d * posterior.pdf(d), lo, min(0.0, hi), epsabs=1e-14)[0]
    keep = integrate.quad(lambda d: d * posterior.pdf(d), max(0.0, lo), hi, epsabs=1e-14)[0]
    assert loss.treatment == pytest.approx(ship, rel=1e-7, abs=1e-13)
    assert loss.control == pytest.approx(keep, rel=1e-7, abs=1e-13)
    assert loss.control - loss.treatment == pytest.approx(lift, abs=1e-12)


def test_a_real_comparison_agrees_with_monte_carlo_over_its_posterior() -> None:
    comparison = two_proportions(Moments(8000, 800, 800), Moments(8000, 850, 850))
    draws = np.random.default_rng(71).normal(
        comparison.relative.estimate, comparison.relative.se, 1_000_000
    )

    chance = chance_to_beat(comparison)
    loss = expected_loss(comparison)

    mc_chance = np.mean(draws > 0)
    assert chance == pytest.approx(mc_chance, abs=4 * math.sqrt(chance * (1 - chance) / draws.size))
    for closed, sample in [
        (loss.treatment, np.maximum(0.0, -draws)),
        (loss.control, np.maximum(0.0, draws)),
    ]:
        assert closed == pytest.approx(sample.mean(), abs=4 * sample.std() / math.sqrt(draws.size))


@pytest.mark.parametrize(
    ("lift", "chance", "ship", "keep"),
    [(0.03, 1.0, 0.0, 0.03), (0.0, 0.5, 0.0, 0.0), (-0.02, 0.0, 0.02, 0.0)],
    ids=["a sure gain", "no difference", "a sure loss"],
)
def test_without_uncertainty_the_posterior_is_a_point(
    lift: float, chance: float, ship: float, keep: float
) -> None:
    comparison = a_comparison(lift, 0.0)

    assert chance_to_beat(comparison) == chance
    loss = expected_loss(comparison)
    assert (loss.treatment, loss.control) == pytest.approx((ship, keep))


def test_without_a_relative_lift_there_is_no_posterior() -> None:
    comparison = two_proportions(Moments(100, 0, 0), Moments(100, 3, 3))

    assert math.isnan(chance_to_beat(comparison))
    assert all(
        math.isnan(v)
        for v in (expected_loss(comparison).treatment, expected_loss(comparison).control)
    )
