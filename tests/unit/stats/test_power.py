"""Test design: statsmodels' power conventions to 1e-9, and simulated power within ±3 points.

The simulations draw thousands of experiments at the planned size as binomial counts (one
NumPy call) and count how often the test rejects; that share must be the planned power.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import special
from statsmodels.stats import proportion
from statsmodels.stats.power import NormalIndPower

from launchdeck.stats import (
    Moments,
    boundary_multiplier,
    days_needed,
    power_means,
    power_proportions,
    reachable_mde,
    reachable_mde_means,
    sample_size_means,
    sample_size_proportions,
    sequential_sample_size,
    two_proportions,
)
from launchdeck.stats.sequential import sequential
from unit.stats.builders import binomial_looks

DESIGNS = {
    "a 10 % lift on a 5 % rate": (0.05, 0.10, 30_000, 0.05, 2, True),
    "a 5 % drop on a 40 % rate": (0.40, -0.05, 4_000, 0.05, 2, True),
    "three arms share alpha": (0.12, 0.08, 20_000, 0.05, 3, True),
    "one-sided at alpha 0.1": (0.02, 0.2, 10_000, 0.1, 2, False),
    "one-sided drop": (0.30, -0.1, 1_500, 0.05, 2, False),
}


def _alternative(mde: float, two_sided: bool) -> str:
    return "two-sided" if two_sided else "larger" if mde > 0 else "smaller"


@pytest.mark.parametrize(
    ("baseline", "mde", "n", "alpha", "arms", "two_sided"), DESIGNS.values(), ids=DESIGNS.keys()
)
def test_power_of_proportions_matches_statsmodels(
    baseline: float, mde: float, n: int, alpha: float, arms: int, two_sided: bool
) -> None:
    power = power_proportions(baseline, mde, n, alpha=alpha, arms=arms, two_sided=two_sided)

    oracle = proportion.power_proportions_2indep(
        baseline * mde, baseline, n, alpha=alpha / (arms - 1),
        alternative=_alternative(mde, two_sided),
    )  # fmt: skip
    assert power == pytest.approx(oracle.power, rel=1e-9)


@pytest.mark.parametrize(
    ("baseline", "mde", "n", "alpha", "arms", "two_sided"), DESIGNS.values(), ids=DESIGNS.keys()
)
def test_sample_size_of_proportions_is_the_smallest_that_reaches_the_power(
    baseline: float, mde: float, n: int, alpha: float, arms: int, two_sided: bool
) -> None:
    del n
    size = sample_size_proportions(
        baseline, mde, alpha=alpha, power=0.8, arms=arms, two_sided=two_sided
    )

    def power(k: int) -> float:
        return power_proportions(baseline, mde, k, alpha=alpha, arms=arms, two_sided=two_sided)

    assert power(size) >= 0.8 > power(size - 1)
    one_tail = proportion.samplesize_proportions_2indep_onetail(
        baseline * mde, baseline, 0.8, alpha=alpha / (arms - 1),
        alternative=_alternative(mde, two_sided),
    )  # fmt: skip
    assert math.ceil(one_tail) - 1 <= size <= math.ceil(one_tail)


def test_reachable_mde_inverts_the_power() -> None:
    mde = reachable_mde(0.05, 20_000, alpha=0.05, power=0.9)

    assert power_proportions(0.05, mde, 20_000, alpha=0.05) == pytest.approx(0.9, rel=1e-9)
    assert reachable_mde(0.05, 80_000, power=0.9) < mde
    assert reachable_mde(0.5, 3, power=0.99) == math.inf


@pytest.mark.parametrize(
    ("mean", "sd", "mde", "alpha", "arms", "two_sided"),
    [
        (42.0, 80.0, 0.05, 0.05, 2, True),
        (3.0, 1.5, -0.02, 0.01, 4, True),
        (10, 5, 0.03, 0.05, 2, False),
    ],
    ids=["revenue per visitor", "a small drop tested across four arms", "one-sided"],
)
def test_means_match_statsmodels_normal_power(
    mean: float, sd: float, mde: float, alpha: float, arms: int, two_sided: bool
) -> None:
    size = sample_size_means(mean, sd, mde, alpha=alpha, arms=arms, two_sided=two_sided)

    effect, a = mean * mde / sd, alpha / (arms - 1)
    alternative = _alternative(mde, two_sided)
    oracle = NormalIndPower()
    assert power_means(mean, sd, mde, 1234, alpha=alpha, arms=arms, two_sided=two_sided) == (
        pytest.approx(oracle.power(effect, 1234, a, alternative=alternative), rel=1e-9)
    )
    assert size == math.ceil(
        oracle.solve_power(effect, alpha=a, power=0.8, alternative=alternative)
    )
    reach = reachable_mde_means(mean, sd, size, alpha=alpha, arms=arms, two_sided=two_sided)
    assert abs(reach) <= abs(mde)
    assert power_means(mean, sd, reach, size, alpha=alpha, arms=arms, two_sided=two_sided) == (
        pytest.approx(0.8, rel=1e-9)
    )


@pytest.mark.parametrize(
    ("n", "arms", "daily", "coverage", "weights", "days"),
    [
        (14_751, 2, 10_000, 0.5, None, 6),
        (1_000, 3, 3_000, 1.0, None, 1),
        (1_000, 3, 3_000, 1.0, [1, 1, 1], 1),
        (10_000, 2, 5_000, 0.8, [0.8, 0.2], 13),
        (1, 2, 1e6, 1.0, None, 1),
        (1_000, 3, 1_000, 1.0, [1, 1, 0], 2),
    ],
    ids=[
        "a half-covered split",
        "thirds that land exactly",
        "weights of thirds",
        "an 80/20 split",
        "at least a day",
        "an arm switched off waits for nobody",
    ],
)
def test_days_needed_waits_for_the_smallest_arm(
    n: int, arms: int, daily: float, coverage: float, weights: list[float] | None, days: int
) -> None:
    assert days_needed(n, arms, daily, coverage, weights=weights) == days


def test_simulated_power_at_the_planned_size_is_the_plan() -> None:
    baseline, mde, sims = 0.05, 0.1, 4000
    n = sample_size_proportions(baseline, mde, alpha=0.05, power=0.8)
    counts = np.random.default_rng(81).binomial(n, [baseline, baseline * (1 + mde)], size=(sims, 2))

    pc, pt = counts[:, 0] / n, counts[:, 1] / n
    pooled = (pc + pt) / 2
    z = (pt - pc) / np.sqrt(pooled * (1 - pooled) * 2 / n)
    rejected = np.abs(z) > special.ndtri(0.975)

    assert np.mean(rejected) == pytest.approx(0.8, abs=0.03)
    for c, t in counts[:50]:  # the z above is the z of the test the analysis runs
        assert two_proportions(Moments(n, c, c), Moments(n, t, t)).statistic == pytest.approx(
            (t - c) / n / math.sqrt((c + t) / (2 * n) * (1 - (c + t) / (2 * n)) * 2 / n), rel=1e-9
        )


def test_the_sequential_plan_detects_the_effect_with_the_planned_power() -> None:
    baseline, mde, looks = 0.1, 0.1, 20
    n = sequential_sample_size(baseline, mde, power=0.8, tuning=5000)
    per_look = math.ceil(n / looks)
    sim = binomial_looks(
        np.random.default_rng(82), sims=2000, looks=looks, per_look=per_look,
        rates=(baseline, baseline * (1 + mde)),
    )  # fmt: skip

    pc, pt = sim.sums[0] / sim.n, sim.sums[1] / sim.n
    se = np.sqrt((pc * (1 - pc) + pt * (1 - pt)) / sim.n)
    detected = pt - pc > boundary_multiplier(2 * sim.n, alpha=0.05, tuning=5000) * se

    assert np.mean(detected[:, -1]) == pytest.approx(0.8, abs=0.03)
    assert np.mean(detected.any(axis=1)) >= 0.8 - 0.03
    final = sequential(sim.arm(0, 0, looks - 1), sim.arm(1, 0, looks - 1), kind="proportion")
    assert (final.absolute.low > 0) == detected[0, -1]
    assert n > sample_size_proportions(baseline, mde, power=0.8)  # the price of peeking


def test_a_huge_effect_on_a_tight_metric_needs_a_single_unit_per_arm() -> None:
    assert sequential_sample_size(10.0, 0.5, sd=0.05) == 1
    assert sequential_sample_size(10.0, 0.01, sd=5.0) > sample_size_means(10.0, 5.0, 0.01)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sample_size_proportions(0.0, 0.1), "strictly between 0 and 1"),
        (lambda: sample_size_proportions(0.6, 1.0), "gives the rate"),
        (lambda: sample_size_proportions(0.1, 0.1, arms=1), "arms >= 2"),
        (lambda: sample_size_means(10.0, 0.0, 0.1), "sd > 0"),
        (lambda: power_proportions(0.1, 0.1, 0), "n_per_arm > 0"),
        (lambda: days_needed(100, 2, 0, 0.5), "daily_units > 0"),
        (lambda: days_needed(100, 3, 10, 0.5, weights=[1, 1]), "need 3 weights"),
    ],
    ids=[
        "a zero baseline",
        "a rate above one",
        "one arm",
        "no spread",
        "no units",
        "no traffic",
        "weights for fewer arms",
    ],
)
def test_impossible_designs_are_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
