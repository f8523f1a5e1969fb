"""Sample ratio mismatch: scipy's chisquare as oracle, and seeded splits drawn by the thousand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from launchdeck.stats.srm import SRM_THRESHOLD, srm

SPLITS = {
    "an even split slightly off": ({"c": 5030, "t": 4970}, {"c": 50, "t": 50}),
    "three arms, half to control": ({"c": 5100, "b": 2400, "t": 2500}, {"c": 2, "b": 1, "t": 1}),
    "a 90/10 canary-like split": ({"c": 8_700, "t": 1_300}, {"c": 0.9, "t": 0.1}),
}


@pytest.mark.parametrize(("observed", "weights"), SPLITS.values(), ids=SPLITS.keys())
def test_the_test_is_scipys_chisquare(observed: dict[str, int], weights: dict[str, float]) -> None:
    result = srm(observed, weights)

    total, share = sum(observed.values()), sum(weights.values())
    names = list(weights)
    oracle = stats.chisquare(
        [observed[k] for k in names], [total * weights[k] / share for k in names]
    )
    assert result.chi2 == pytest.approx(oracle.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(oracle.pvalue, rel=1e-9)
    assert result.df == len(names) - 1
    assert result.expected == pytest.approx({k: total * weights[k] / share for k in names})
    assert result.mismatch is bool(oracle.pvalue < SRM_THRESHOLD)


def test_a_50_5_to_49_5_split_of_a_million_units_is_a_mismatch() -> None:
    result = srm({"control": 505_000, "treatment": 495_000}, {"control": 0.5, "treatment": 0.5})

    assert result.chi2 == pytest.approx(100.0)
    assert result.p_value < 1e-20
    assert result.mismatch is True


def test_an_exact_split_has_p_one() -> None:
    result = srm({"control": 500_000, "treatment": 500_000}, {"control": 1, "treatment": 1})

    assert (result.chi2, result.p_value, result.mismatch) == (0.0, 1.0, False)


def test_correct_splits_are_flagged_at_the_rate_of_the_threshold() -> None:
    draws, units = 20_000, 10_000
    weights = {"control": 0.5, "b": 0.25, "c": 0.25}
    counts = np.random.default_rng(91).multinomial(units, list(weights.values()), size=draws)

    p_values = np.array(
        [srm(dict(zip(weights, map(int, row), strict=True)), weights).p_value for row in counts]
    )

    for level in (SRM_THRESHOLD, 0.05):
        low, high = stats.binom.interval(0.99, draws, level)
        assert low <= np.sum(p_values < level) <= high


def test_the_threshold_is_an_argument() -> None:
    observed, weights = {"a": 5150, "b": 4850}, {"a": 1, "b": 1}

    assert srm(observed, weights).mismatch is False
    assert srm(observed, weights, threshold=0.01).mismatch is True


def test_units_in_a_variant_weighted_zero_are_a_certain_mismatch() -> None:
    result = srm({"a": 500, "b": 500, "off": 3}, {"a": 1, "b": 1, "off": 0})

    assert (result.chi2, result.p_value, result.mismatch) == (math.inf, 0.0, True)


def test_an_empty_zero_weight_variant_does_not_count() -> None:
    with_it = srm({"a": 520, "b": 480}, {"a": 1, "b": 1, "off": 0})

    assert with_it.df == 1
    assert with_it.p_value == pytest.approx(srm({"a": 520, "b": 480}, {"a": 1, "b": 1}).p_value)
    assert with_it.observed == {"a": 520, "b": 480, "off": 0}


def test_a_variant_nobody_reached_counts_as_zero() -> None:
    result = srm({"a": 1000}, {"a": 1, "b": 1})

    assert result.observed == {"a": 1000, "b": 0}
    assert result.mismatch is True


@pytest.mark.parametrize("observed", [{}, {"only": 42}], ids=["no units yet", "a single variant"])
def test_nothing_to_compare_is_no_mismatch(observed: dict[str, int]) -> None:
    result = srm(observed, {"only": 1})

    assert (result.p_value, result.mismatch) == (1.0, False)


@pytest.mark.parametrize(
    ("observed", "weights", "message"),
    [
        ({"a": 10, "ghost": 2}, {"a": 1}, "without a weight: ghost"),
        ({"a": 10}, {"a": 0}, "not all 0"),
        ({"a": 10}, {"a": 1, "b": -1}, "must be >= 0"),
        ({"a": -1}, {"a": 1, "b": 1}, "counts must be >= 0"),
    ],
    ids=["an unknown variant", "no weight at all", "a negative weight", "a negative count"],
)
def test_inconsistent_inputs_are_refused(
    observed: dict[str, int], weights: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        srm(observed, weights)


def test_homogeneity_matches_scipys_contingency_test() -> None:
    from scipy.stats import chi2_contingency

    from launchdeck.stats.srm import homogeneity

    table = {
        "chrome": {"control": 9_120, "banner": 9_050},
        "safari": {"control": 7_314, "banner": 4_922},
        "firefox": {"control": 1_010, "banner": 990},
    }
    chi2, p_value = homogeneity(table)

    expected = chi2_contingency(
        [[cells["control"], cells["banner"]] for cells in table.values()], correction=False
    )
    assert chi2 == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_the_same_split_in_every_row_is_homogeneous() -> None:
    from launchdeck.stats.srm import homogeneity

    chi2, p_value = homogeneity(
        {"email": {"a": 470, "b": 530}, "search": {"a": 940, "b": 1_060}, "x": {"a": 0, "b": 0}}
    )

    assert chi2 == pytest.approx(0.0, abs=1e-12)
    assert p_value == pytest.approx(1.0)
