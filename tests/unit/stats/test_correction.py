"""Holm and Benjamini–Hochberg against statsmodels' `multipletests`, to 1e-12.

statsmodels is the oracle on fixed families; the property test uses the textbook definitions
written with NumPy instead, because `multipletests(method="holm")` takes ~0.1 s a call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from launchdeck.stats import benjamini_hochberg, holm
from strategies import property_settings

Correction = Callable[[Sequence[float]], tuple[float, ...]]
ORACLE: dict[Correction, str] = {holm: "holm", benjamini_hochberg: "fdr_bh"}
CORRECTIONS = pytest.mark.parametrize("correct", list(ORACLE), ids=["holm", "benjamini-hochberg"])

FAMILIES = {
    "three metrics of two variants": [0.001, 0.04, 0.03, 0.2, 0.5, 0.012],
    "ties and both ends": [0.0, 0.02, 0.02, 1.0, 0.02, 0.5],
    "a single test is left as it is": [0.037],
    "twenty uniform draws": list(np.random.default_rng(61).uniform(size=20)),
}


@CORRECTIONS
@pytest.mark.parametrize("p_values", FAMILIES.values(), ids=FAMILIES.keys())
def test_adjusted_p_values_match_statsmodels(correct: Correction, p_values: list[float]) -> None:
    adjusted = correct(p_values)

    expected = multipletests(p_values, method=ORACLE[correct])[1]
    assert adjusted == pytest.approx(tuple(expected), rel=1e-12, abs=1e-15)


def _by_definition(correct: Correction, p_values: list[float]) -> tuple[float, ...]:
    """Holm: max_{j<=i} (m-j+1) p(j); BH: min_{j>=i} m p(j) / j; capped at 1, input order."""
    p = np.asarray(p_values)
    order, m = np.argsort(p, kind="stable"), len(p)
    ranks = np.arange(1, m + 1)
    if correct is holm:
        sorted_adjusted = np.maximum.accumulate((m - ranks + 1) * p[order])
    else:
        sorted_adjusted = np.minimum.accumulate((m * p[order] / ranks)[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(sorted_adjusted, 1.0)
    return tuple(adjusted)


@CORRECTIONS
@property_settings(max_examples=200)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30))
def test_any_family_follows_the_definition_and_stays_monotone(
    correct: Correction, p_values: list[float]
) -> None:
    adjusted = correct(p_values)

    assert adjusted == pytest.approx(_by_definition(correct, p_values), rel=1e-12, abs=1e-15)
    by_raw = [a for _, a in sorted(zip(p_values, adjusted, strict=True))]
    assert by_raw == sorted(by_raw)
    assert all(p <= a <= 1.0 for p, a in zip(p_values, adjusted, strict=True))


@CORRECTIONS
def test_an_empty_family_has_nothing_to_adjust(correct: Correction) -> None:
    assert correct([]) == ()


@CORRECTIONS
@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan], ids=["negative", "above one", "nan"])
def test_a_value_that_is_not_a_probability_is_refused(correct: Correction, bad: float) -> None:
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        correct([0.01, bad])
