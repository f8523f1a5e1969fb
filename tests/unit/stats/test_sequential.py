"""Confidence sequences: the published formula, and hourly peeking simulated thousands of times.

The simulations follow 2,000 experiments through 168 hourly looks (a week) on cumulative
sufficient statistics, all at once with NumPy; `boundary_multiplier` and `always_valid_p_value`
are elementwise, and a slice of the looks is replayed through `sequential()` itself to show it
takes the same decisions. An A/A test peeked at every hour must stay below α with the
confidence sequence, while the fixed-horizon z-test peeked the same way does not.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pytest

from launchdeck.stats import (
    Moments,
    always_valid_p_value,
    boundary_multiplier,
    mixture_rho,
    ratio,
    sequential_one_sided,
)
from launchdeck.stats.sequential import sequential
from unit.stats.builders import Looks, binomial_looks, moments_of, normal_looks

ALPHA = 0.05
TUNING = 5000
SIMS, HOURS = 2000, 168


def _published_halfwidth(
    control: Moments, treatment: Moments, alpha: float, tuning: float
) -> float:
    """Waudby-Smith et al. (2021) Thm 2.2, written out as gbstats does (s² scaled by N)."""
    n = control.n + treatment.n
    s2 = control.variance * n / control.n + treatment.variance * n / treatment.n
    rho = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)
    return math.sqrt(s2) * math.sqrt(
        2 * (n * rho**2 + 1) / (n**2 * rho**2) * math.log(math.sqrt(n * rho**2 + 1) / alpha)
    )


CASES = {
    "a small experiment tuned for 5000 units": (
        moments_of([1, 4, 2, 8, 5]), moments_of([3, 9, 4, 7]), 0.05, 5000
    ),
    "a large experiment at alpha 0.1": (
        Moments(40_000, 2.1e5, 1.9e6), Moments(41_000, 2.2e5, 2.0e6), 0.1, 1e5
    ),
    "tuned for exactly its size": (Moments(2500, 250, 250), Moments(2500, 290, 290), 0.01, 5000),
}  # fmt: skip


@pytest.mark.parametrize(
    ("control", "treatment", "alpha", "tuning"), CASES.values(), ids=CASES.keys()
)
def test_the_sequence_is_the_published_asymptotic_confidence_sequence(
    control: Moments, treatment: Moments, alpha: float, tuning: float
) -> None:
    result = sequential(control, treatment, alpha=alpha, tuning=tuning)

    half = _published_halfwidth(control, treatment, alpha, tuning)
    diff = treatment.mean - control.mean
    assert (result.absolute.low, result.absolute.high) == pytest.approx(
        (diff - half, diff + half), rel=1e-12
    )
    multiplier = half / result.absolute.se
    assert result.relative.high - result.relative.estimate == pytest.approx(
        multiplier * result.relative.se, rel=1e-12
    )
    assert result.method == "sequential"
    assert result.df is None


def test_the_p_value_is_the_alpha_at_which_the_sequence_touches_zero() -> None:
    n, z = np.meshgrid([10.0, 300.0, 5000.0, 80_000.0], np.linspace(-8, 8, 161))
    rho2 = mixture_rho(alpha=ALPHA, tuning=TUNING) ** 2

    p = always_valid_p_value(z, n, alpha=ALPHA, tuning=TUNING)

    inside = p < 1  # below the cap, |z| is exactly the boundary at level p (ρ held fixed)
    c = n[inside] * rho2 + 1
    touching = np.sqrt(2 * c / (n[inside] * rho2) * np.log(np.sqrt(c) / p[inside]))
    assert np.abs(z[inside]) == pytest.approx(touching, rel=1e-9)
    c_capped = n[~inside] * rho2 + 1  # capped: even the sequence at level 1 holds 0
    assert np.all(z[~inside] ** 2 * n[~inside] * rho2 / (2 * c_capped) <= 0.5 * np.log(c_capped))
    m = boundary_multiplier(n, alpha=ALPHA, tuning=TUNING)
    decided = np.abs(np.abs(z) - m) > 1e-9
    assert np.array_equal((p < ALPHA)[decided], (np.abs(z) > m)[decided])


def test_the_one_sided_p_value_agrees_with_its_bound() -> None:
    n = np.array([50.0, 5000.0, 1e6])[:, None]
    z = np.linspace(-10, 10, 201)[None, :]

    p = always_valid_p_value(z, n, alpha=ALPHA, tuning=TUNING, one_sided=True)

    m = boundary_multiplier(n, alpha=ALPHA, tuning=TUNING, one_sided=True)
    decided = np.abs(z - m) > 1e-9
    assert np.array_equal((p < ALPHA)[decided], (z > m)[decided])
    assert np.all(p[:, z[0] <= 0] == 1.0)
    assert np.all(m < boundary_multiplier(n, alpha=ALPHA, tuning=TUNING))  # tighter: one side


def _z_of_rates(looks: Looks) -> np.ndarray:
    pc, pt = looks.sums[0] / looks.n, looks.sums[1] / looks.n
    se = np.sqrt((pc * (1 - pc) + pt * (1 - pt)) / looks.n)
    return np.divide(pt - pc, se, out=np.zeros_like(se), where=se > 0)


def test_an_a_a_test_peeked_every_hour_for_a_week_stays_below_alpha() -> None:
    looks = binomial_looks(
        np.random.default_rng(41), sims=SIMS, looks=HOURS, per_look=500, rates=(0.1, 0.1)
    )
    z = _z_of_rates(looks)

    p = always_valid_p_value(z, 2 * looks.n, alpha=ALPHA, tuning=TUNING)
    sequential_fpr = np.mean((p < ALPHA).any(axis=1))
    peeking_fpr = np.mean((np.abs(z) > 1.959964).any(axis=1))

    assert sequential_fpr <= ALPHA
    assert peeking_fpr > 4 * ALPHA  # the fixed-horizon test, peeked at hourly: about 0.3
    for sim in range(10):  # the public function takes the same decisions, look by look
        for look in range(0, HOURS, 7):
            result = sequential(looks.arm(0, sim, look), looks.arm(1, sim, look), kind="proportion")
            assert result.p_value == pytest.approx(p[sim, look], rel=1e-9)


def test_an_a_a_test_on_a_continuous_metric_peeked_hourly_stays_below_alpha() -> None:
    looks = normal_looks(
        np.random.default_rng(42), sims=SIMS, looks=HOURS, per_look=200, means=(30.0, 30.0), sd=25.0
    )
    mc, mt = looks.sums[0] / looks.n, looks.sums[1] / looks.n
    vc = (looks.sums_sq[0] - looks.n * mc**2) / (looks.n - 1)
    vt = (looks.sums_sq[1] - looks.n * mt**2) / (looks.n - 1)
    z = (mt - mc) / np.sqrt((vc + vt) / looks.n)

    p = always_valid_p_value(z, 2 * looks.n, alpha=ALPHA, tuning=TUNING)

    assert np.mean((p < ALPHA).any(axis=1)) <= ALPHA
    sample = sequential(looks.arm(0, 3, 100), looks.arm(1, 3, 100))
    assert sample.p_value == pytest.approx(p[3, 100], rel=1e-9)


def test_the_sequence_covers_a_real_effect_at_every_look_at_once() -> None:
    looks = binomial_looks(
        np.random.default_rng(43), sims=SIMS, looks=HOURS, per_look=500, rates=(0.10, 0.11)
    )
    pc, pt = looks.sums[0] / looks.n, looks.sums[1] / looks.n
    se = np.sqrt((pc * (1 - pc) + pt * (1 - pt)) / looks.n)
    half = boundary_multiplier(2 * looks.n, alpha=ALPHA, tuning=TUNING) * se

    missed = (np.abs(pt - pc - 0.01) > half).any(axis=1)
    detected = (pt - pc - half > 0).any(axis=1)

    assert np.mean(missed) <= ALPHA
    assert np.mean(detected) >= 0.95  # 84,000 units per arm, ~6 times the fixed-horizon need


def test_one_sided_a_a_peeked_hourly_rarely_calls_harm() -> None:
    looks = binomial_looks(
        np.random.default_rng(44), sims=SIMS, looks=HOURS, per_look=300, rates=(0.02, 0.02)
    )
    z = _z_of_rates(looks)

    p = always_valid_p_value(z, 2 * looks.n, alpha=ALPHA, tuning=TUNING, one_sided=True)

    assert np.mean((p < ALPHA).any(axis=1)) <= ALPHA
    result = sequential_one_sided(
        looks.arm(0, 5, 150), looks.arm(1, 5, 150), harmful="increase", kind="proportion"
    )
    assert result.p_value == pytest.approx(p[5, 150], rel=1e-9)


def test_a_doubled_error_rate_is_established_as_harm_within_hours() -> None:
    looks = binomial_looks(
        np.random.default_rng(45), sims=SIMS, looks=24, per_look=1000, rates=(0.01, 0.02)
    )
    z = _z_of_rates(looks)

    increase = always_valid_p_value(z, 2 * looks.n, alpha=ALPHA, tuning=TUNING, one_sided=True)
    decrease = always_valid_p_value(-z, 2 * looks.n, alpha=ALPHA, tuning=TUNING, one_sided=True)

    assert np.mean((increase < ALPHA).any(axis=1)) >= 0.99
    assert np.mean((decrease < ALPHA).any(axis=1)) == 0.0


def _howard_one_sided_halfwidth(control: Moments, treatment: Moments) -> float:
    """Howard et al. (2021) eq. (14) on the mean scale, ρ as for the two-sided sequence."""
    n = control.n + treatment.n
    se = math.sqrt(
        control.mean * (1 - control.mean) / control.n
        + treatment.mean * (1 - treatment.mean) / treatment.n
    )
    rho2 = (-2 * math.log(ALPHA) + math.log(-2 * math.log(ALPHA) + 1)) / TUNING
    c = n * rho2 + 1
    return se * math.sqrt(2 * c / (n * rho2) * math.log(math.sqrt(c) / (2 * ALPHA) + 1))


@pytest.mark.parametrize(
    ("harmful", "established"),
    [("increase", True), ("decrease", False)],
    ids=["an increase watched for increases", "an increase watched for decreases"],
)
def test_one_sided_reports_the_bound_on_the_harmful_side(
    harmful: Literal["increase", "decrease"], established: bool
) -> None:
    control, treatment = Moments(2000, 20, 20), Moments(2000, 80, 80)

    result = sequential_one_sided(control, treatment, harmful=harmful, kind="proportion")

    half = _howard_one_sided_halfwidth(control, treatment)
    bounds = (0.03 - half, math.inf) if harmful == "increase" else (-math.inf, 0.03 + half)
    assert (result.absolute.low, result.absolute.high) == pytest.approx(bounds, rel=1e-12)
    assert result.established is established
    assert (result.p_value < ALPHA) is established
    assert result.harmful == harmful


def test_ratio_metrics_use_the_delta_method_standard_error() -> None:
    control = Moments(900, 4000.0, 90_000.0, 2700.0, 9000.0, 25_000.0)
    treatment = Moments(950, 4600.0, 99_000.0, 2800.0, 9300.0, 27_000.0)

    result = sequential(control, treatment, kind="ratio")

    fixed = ratio(control, treatment)
    assert result.absolute.se == pytest.approx(fixed.absolute.se, rel=1e-12)
    assert result.relative.se == pytest.approx(fixed.relative.se, rel=1e-12)
    assert result.absolute.high - result.absolute.low > fixed.absolute.high - fixed.absolute.low


def test_arms_without_any_spread_are_decided_exactly() -> None:
    tie = sequential(moments_of([1.0, 1.0]), moments_of([1.0, 1.0, 1.0]))
    certain = sequential_one_sided(
        moments_of([1.0, 1.0]), moments_of([2.0, 2.0]), harmful="increase"
    )

    assert (tie.statistic, tie.p_value) == (0.0, 1.0)
    assert (certain.established, certain.p_value, certain.statistic) == (True, 0.0, math.inf)


@pytest.mark.parametrize(
    ("alpha", "tuning"),
    [(0.0, 5000), (1.0, 5000), (0.05, 0)],
    ids=["alpha 0", "alpha 1", "tuning 0"],
)
def test_a_mixture_needs_a_level_and_a_tuning(alpha: float, tuning: float) -> None:
    with pytest.raises(ValueError, match="0 < alpha < 1 and tuning > 0"):
        mixture_rho(alpha=alpha, tuning=tuning)
