"""Fixed-horizon comparisons: SciPy/statsmodels oracles, bootstraps and A/A simulations.

Oracles see the per-unit arrays; launchdeck sees only their `Moments`. Bootstraps check the
delta-method standard errors on simulated data (within 5 %); the A/A simulations check that a
test at α = 0.05 rejects at rate α, within the binomial 99 % interval of the simulation count.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from scipy import stats
from statsmodels.stats import proportion
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from launchdeck.stats import Comparison, Moments, cuped, ratio, two_proportions, welch
from unit.stats.builders import moments_of

Array = npt.NDArray[np.float64]
REL = 1e-9
ALPHA = 0.05


def _arms(
    seed: int, sizes: tuple[int, int], scales: tuple[float, float], shift: float = 0.0
) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    control = rng.exponential(scales[0], sizes[0]) + shift
    treatment = rng.exponential(scales[1], sizes[1]) + shift
    return control, treatment


WELCH_CASES = {
    "skewed arms of different sizes": _arms(1, (500, 400), (2.0, 2.3)),
    "small arms, treatment lower": _arms(2, (12, 9), (5.0, 3.0)),
    # Σy² − (Σy)²/n loses about (mean/sd)² · 1e-16 relative precision: 1e-12 here.
    "means a hundred times the spread": _arms(3, (3000, 3100), (1.0, 1.02), shift=100.0),
    "unequal variances": _arms(4, (200, 2000), (10.0, 1.0)),
}


@pytest.mark.parametrize(("control", "treatment"), WELCH_CASES.values(), ids=WELCH_CASES.keys())
def test_welch_matches_scipy_and_statsmodels(control: Array, treatment: Array) -> None:
    result = welch(moments_of(control), moments_of(treatment), alpha=0.1)

    oracle = stats.ttest_ind(treatment, control, equal_var=False)
    assert result.statistic == pytest.approx(oracle.statistic, rel=REL)
    assert result.p_value == pytest.approx(oracle.pvalue, rel=REL)
    assert result.df == pytest.approx(oracle.df, rel=REL)
    from_stats = stats.ttest_ind_from_stats(
        treatment.mean(), treatment.std(ddof=1), len(treatment),
        control.mean(), control.std(ddof=1), len(control), equal_var=False,
    )  # fmt: skip
    assert result.p_value == pytest.approx(from_stats.pvalue, rel=REL)
    low, high = CompareMeans(DescrStatsW(treatment), DescrStatsW(control)).tconfint_diff(
        alpha=0.1, usevar="unequal"
    )
    assert (result.absolute.low, result.absolute.high) == pytest.approx((low, high), rel=REL)
    assert result.absolute.estimate == pytest.approx(treatment.mean() - control.mean(), rel=REL)
    assert result.relative.estimate == pytest.approx(treatment.mean() / control.mean() - 1, rel=REL)
    assert result.method == "welch"


PROPORTION_CASES = {
    "a 3 point lift on 1000 units each": (100, 1000, 130, 1000),
    "unequal arms, treatment lower": (480, 5000, 410, 4700),
    "rare conversions": (7, 20_000, 15, 19_000),
}


@pytest.mark.parametrize(
    ("xc", "nc", "xt", "nt"), PROPORTION_CASES.values(), ids=PROPORTION_CASES.keys()
)
def test_two_proportions_matches_statsmodels(xc: int, nc: int, xt: int, nt: int) -> None:
    result = two_proportions(Moments(nc, xc, xc), Moments(nt, xt, xt), alpha=0.1)

    z, p = proportion.proportions_ztest([xt, xc], [nt, nc])
    assert result.statistic == pytest.approx(z, rel=REL)
    assert result.p_value == pytest.approx(p, rel=REL)
    score = proportion.test_proportions_2indep(xt, nt, xc, nc, method="score", correction=False)
    assert result.p_value == pytest.approx(score.pvalue, rel=REL)
    low, high = proportion.confint_proportions_2indep(xt, nt, xc, nc, method="wald", alpha=0.1)
    assert (result.absolute.low, result.absolute.high) == pytest.approx((low, high), rel=REL)
    assert result.relative.estimate == pytest.approx((xt / nt) / (xc / nc) - 1, rel=REL)
    assert result.df is None


def _bootstrap(rng: np.random.Generator, y: Array, x: Array, draws: int = 2000) -> Array:
    """Σy/Σx over `draws` resamples (with replacement) of one arm's units."""
    idx = rng.integers(0, len(y), size=(draws, len(y)))
    return np.asarray(y[idx].sum(axis=1) / x[idx].sum(axis=1), dtype=np.float64)


def test_relative_lift_se_matches_a_bootstrap() -> None:
    rng = np.random.default_rng(11)
    control = rng.lognormal(1.0, 1.0, 2000)
    treatment = rng.lognormal(1.05, 1.0, 2000)

    result = welch(moments_of(control), moments_of(treatment))

    mc = _bootstrap(rng, control, np.ones_like(control))
    mt = _bootstrap(rng, treatment, np.ones_like(treatment))
    assert result.relative.se == pytest.approx(float(np.std(mt / mc - 1, ddof=1)), rel=0.05)


def _sessions_and_revenue(rng: np.random.Generator, n: int, per_session: float) -> Array:
    sessions = rng.poisson(3.0, n) + 1.0
    revenue = sessions * rng.gamma(2.0, per_session / 2.0, n) * rng.binomial(1, 0.3, n)
    return np.stack([revenue, sessions])


def test_ratio_se_matches_a_bootstrap() -> None:
    rng = np.random.default_rng(12)
    control = _sessions_and_revenue(rng, 3000, 10.0)
    treatment = _sessions_and_revenue(rng, 2500, 11.0)

    result = ratio(moments_of(*control), moments_of(*treatment))

    rc, rt = _bootstrap(rng, *control), _bootstrap(rng, *treatment)
    assert result.control_mean == pytest.approx(control[0].sum() / control[1].sum(), rel=REL)
    assert result.absolute.se == pytest.approx(float(np.std(rt - rc, ddof=1)), rel=0.05)
    assert result.relative.se == pytest.approx(float(np.std(rt / rc - 1, ddof=1)), rel=0.05)


def _numbers(result: Comparison) -> tuple[float, ...]:
    a, r = result.absolute, result.relative
    return (a.estimate, a.se, a.low, a.high, r.estimate, r.se, r.low, r.high, result.statistic)


def _correlated(rng: np.random.Generator, n: int, rho: float, mean: float) -> tuple[Array, Array]:
    x = rng.normal(50.0, 10.0, n)
    y = mean + rho * (x - 50.0) + math.sqrt(1 - rho**2) * rng.normal(0.0, 10.0, n)
    return y, x


def test_cuped_equals_welch_on_explicitly_adjusted_units() -> None:
    rng = np.random.default_rng(21)
    yc, xc = _correlated(rng, 800, 0.6, 100.0)
    yt, xt = _correlated(rng, 900, 0.6, 103.0)

    adjusted_c, adjusted_t, theta = cuped(moments_of(yc, xc), moments_of(yt, xt))

    # θ is the slope of y on x with one intercept per arm (ordinary least squares).
    design = np.column_stack(
        [
            np.concatenate([xc, xt]),
            np.repeat([1.0, 0.0], [800, 900]),
            np.repeat([0.0, 1.0], [800, 900]),
        ]
    )
    slope = np.linalg.lstsq(design, np.concatenate([yc, yt]), rcond=None)[0][0]
    assert theta == pytest.approx(slope, rel=REL)
    x_bar = np.concatenate([xc, xt]).mean()
    by_hand_c, by_hand_t = yc - slope * (xc - x_bar), yt - slope * (xt - x_bar)
    oracle = stats.ttest_ind(by_hand_t, by_hand_c, equal_var=False)
    result = welch(adjusted_c, adjusted_t)
    assert result.statistic == pytest.approx(oracle.statistic, rel=REL)
    assert result.p_value == pytest.approx(oracle.pvalue, rel=REL)
    on_units = welch(moments_of(by_hand_c, xc), moments_of(by_hand_t, xt))
    assert _numbers(result) == pytest.approx(_numbers(on_units), rel=REL)
    assert adjusted_t.xy_sum == pytest.approx(float((by_hand_t * xt).sum()), rel=REL)


def test_cuped_shrinks_the_variance_by_one_minus_rho_squared() -> None:
    rng = np.random.default_rng(22)
    rho = 0.7
    control, treatment = (
        moments_of(*_correlated(rng, 20_000, rho, 100.0)),
        moments_of(*_correlated(rng, 20_000, rho, 101.0)),
    )

    raw = welch(control, treatment)
    adjusted = welch(*cuped(control, treatment)[:2])

    assert (adjusted.absolute.se / raw.absolute.se) ** 2 == pytest.approx(1 - rho**2, rel=0.03)
    assert adjusted.absolute.estimate == pytest.approx(1.0, abs=4 * adjusted.absolute.se)


def test_cuped_without_a_varying_covariate_changes_nothing() -> None:
    control, treatment = moments_of([1.0, 2.0, 4.0]), moments_of([2.0, 3.0, 7.0])

    adjusted_c, adjusted_t, theta = cuped(control, treatment)

    assert (adjusted_c, adjusted_t, theta) == (control, treatment, 0.0)


def test_fixed_horizon_a_a_rejects_at_rate_alpha_for_proportions() -> None:
    sims, n = 4000, 2000
    conversions = np.random.default_rng(31).binomial(n, 0.1, size=(sims, 2))

    p_values = np.array(
        [two_proportions(Moments(n, c, c), Moments(n, t, t)).p_value for c, t in conversions]
    )

    low, high = stats.binom.interval(0.99, sims, ALPHA)
    assert low <= np.sum(p_values < ALPHA) <= high


def test_fixed_horizon_a_a_rejects_at_rate_alpha_for_welch_on_skewed_data() -> None:
    sims, n = 4000, 400
    rng = np.random.default_rng(32)
    y = rng.exponential(20.0, size=(2, sims, n))
    sums, sums_sq = y.sum(axis=2), (y * y).sum(axis=2)

    p_values = np.array(
        [
            welch(
                Moments(n, sums[0, i], sums_sq[0, i]), Moments(n, sums[1, i], sums_sq[1, i])
            ).p_value
            for i in range(sims)
        ]
    )

    low, high = stats.binom.interval(0.99, sims, ALPHA)
    assert low <= np.sum(p_values < ALPHA) <= high


def test_welch_interval_covers_a_real_difference_at_rate_one_minus_alpha() -> None:
    sims, n = 4000, 300
    rng = np.random.default_rng(33)
    control, treatment = rng.normal(10.0, 3.0, (sims, n)), rng.normal(10.5, 5.0, (sims, n))

    covered = sum(
        r.absolute.low <= 0.5 <= r.absolute.high
        for r in (
            welch(moments_of(c), moments_of(t)) for c, t in zip(control, treatment, strict=True)
        )
    )

    low, high = stats.binom.interval(0.99, sims, 1 - ALPHA)
    assert low <= covered <= high


def test_identical_constant_arms_are_an_exact_tie() -> None:
    result = welch(moments_of([3.0, 3.0, 3.0]), moments_of([3.0, 3.0]))

    assert (result.statistic, result.p_value, result.absolute.low, result.absolute.high) == (
        0.0,
        1.0,
        0.0,
        0.0,
    )
    assert result.df == 3.0


def test_constant_arms_that_differ_are_certain() -> None:
    result = welch(moments_of([3.0, 3.0]), moments_of([2.0, 2.0]))

    assert (result.statistic, result.p_value) == (-math.inf, 0.0)


def test_a_control_without_conversions_has_no_relative_lift() -> None:
    result = two_proportions(Moments(500, 0, 0), Moments(500, 4, 4))

    assert math.isnan(result.relative.estimate)
    assert math.isnan(result.relative.high)
    assert result.absolute.estimate == pytest.approx(0.008)
    assert 0 < result.p_value < 0.1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: welch(Moments(1, 1.0, 1.0), Moments(5, 5.0, 5.0)), "at least 2 units"),
        (lambda: two_proportions(Moments(10, 11, 11), Moments(10, 1, 1)), "0 <= Σy <= n"),
        (lambda: ratio(Moments(10, 5.0, 5.0), Moments(10, 5.0, 5.0, x_sum=3.0)), "Σx = 0"),
    ],
    ids=["an arm of one unit", "more conversions than units", "a ratio over nothing"],
)
def test_impossible_inputs_are_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
