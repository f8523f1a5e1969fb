"""The Mann–Whitney shift against SciPy: the statistic and p-value are `mannwhitneyu`'s, and the
interval's ends are where SciPy's own test of the shifted samples starts rejecting."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import optimize, stats

from launchdeck.stats.ranks import mann_whitney_shift


def _samples(seed: int, n: int, m: int, shift: float, *, rounded: bool) -> tuple[NDArray, NDArray]:
    rng = np.random.default_rng(seed)
    x = rng.lognormal(5.0, 0.4, n) * (1 + shift)
    y = rng.lognormal(5.0, 0.4, m)
    return (np.round(x), np.round(y)) if rounded else (x, y)


@pytest.mark.parametrize(("n", "m", "shift"), [(8, 11, 0.0), (20, 30, 0.3), (45, 12, -0.2)])
def test_small_samples_without_ties_use_the_exact_distribution(
    n: int, m: int, shift: float
) -> None:
    x, y = _samples(n * m, n, m, shift, rounded=False)

    found = mann_whitney_shift(x, y, confidence=0.95)
    oracle = stats.mannwhitneyu(x, y, method="exact")

    assert found.exact
    assert found.statistic == oracle.statistic
    assert found.p_value == pytest.approx(oracle.pvalue, rel=1e-9)
    assert found.estimate == pytest.approx(np.median(np.subtract.outer(x, y)))
    # The ends are pairwise differences; just inside them SciPy's exact test keeps the shift,
    # just outside it rejects it at the 5 % level.
    width = found.high - found.low
    for end, outward in ((found.low, -1), (found.high, 1)):
        inside = stats.mannwhitneyu(x - (end - outward * 1e-9 * width), y, method="exact")
        outside = stats.mannwhitneyu(x - (end + outward * 1e-6 * width), y, method="exact")
        assert inside.pvalue >= 0.05 - 1e-12
        assert outside.pvalue < 0.05


@pytest.mark.parametrize(
    ("n", "m", "shift", "confidence"),
    [(300, 400, 0.05, 0.98), (60, 2000, -0.1, 0.95), (1000, 1000, 0.0, 0.98)],
)
def test_large_or_tied_samples_invert_the_normal_approximation(
    n: int, m: int, shift: float, confidence: float
) -> None:
    x, y = _samples(n + m, n, m, shift, rounded=True)  # rounded: ties

    found = mann_whitney_shift(x, y, confidence=confidence)
    oracle = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True)

    assert not found.exact
    assert found.statistic == oracle.statistic
    assert found.p_value == pytest.approx(oracle.pvalue, rel=1e-9)
    alpha = 1 - confidence

    def p_minus_alpha(d: float) -> float:
        return float(stats.mannwhitneyu(x - d, y, method="asymptotic").pvalue) - alpha

    # SciPy's p-value of the shifted samples crosses α where the interval ends (its step
    # function is inverted by bracketing a root on each side of the estimate).
    low = optimize.brentq(p_minus_alpha, float(x.min() - y.max()), found.estimate, xtol=1e-6)
    high = optimize.brentq(p_minus_alpha, found.estimate, float(x.max() - y.min()), xtol=1e-6)
    assert found.low == pytest.approx(low, abs=2e-4)
    assert found.high == pytest.approx(high, abs=2e-4)
    assert found.low <= found.estimate <= found.high


def test_a_larger_sample_shifted_up_has_an_interval_above_zero() -> None:
    x, y = _samples(5, 500, 500, 0.25, rounded=True)

    found = mann_whitney_shift(x, y, confidence=0.98)

    assert found.low > 0
    assert found.estimate == pytest.approx(np.median(np.subtract.outer(x, y)), rel=0.05)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [([], [1.0], "at least one value"), ([2.0, 2.0], [2.0, 2.0, 2.0], "every value is the same")],
)
def test_samples_without_an_interval_are_refused(
    x: list[float], y: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        mann_whitney_shift(x, y)
