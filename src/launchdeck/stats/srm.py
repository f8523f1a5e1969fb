"""Sample ratio mismatch: do the exposed units split the way the weights say? Pure.

Pearson's chi-square goodness of fit of the observed units per variant against the counts the
configured weights expect, χ² = Σ (O − E)² / E with k − 1 degrees of freedom (Fabijan et al.
2019, "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments"). A mismatch means
the assignment or the logging is broken, so every other number of the experiment is suspect;
it is flagged at p < 0.001 by default, strict enough to stay quiet over many daily checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from scipy import special  # type: ignore[import-untyped, unused-ignore]

__all__ = ["SRM_THRESHOLD", "SrmResult", "homogeneity", "srm"]

SRM_THRESHOLD = 0.001


@dataclass(frozen=True, slots=True)
class SrmResult:
    """The chi-square test of the split, with the counts it compared."""

    chi2: float
    df: int
    p_value: float
    expected: Mapping[str, float]
    observed: Mapping[str, int]
    mismatch: bool
    """p_value below the threshold the test was run with."""


def srm(
    observed: Mapping[str, int],
    weights: Mapping[str, float],
    *,
    threshold: float = SRM_THRESHOLD,
) -> SrmResult:
    """The chi-square test of observed units per variant against the weights (any scale).

    A variant with weight but no units counts as 0 observed. Units in a variant with weight 0
    are an infinite mismatch (p = 0); zero-weight variants with no units do not count towards
    the degrees of freedom. No units at all, or a single weighted variant, gives p = 1.
    Raises ValueError for units in a variant that has no weight, a negative count, or weights
    that are negative or all zero.
    """
    unknown = sorted(set(observed) - set(weights))
    if unknown:
        raise ValueError(f"units observed in variants without a weight: {', '.join(unknown)}")
    total_weight = sum(weights.values())
    if any(w < 0 for w in weights.values()) or total_weight <= 0:
        raise ValueError(f"weights must be >= 0 and not all 0, got {dict(weights)}")
    counts = {name: observed.get(name, 0) for name in weights}
    if any(c < 0 for c in counts.values()):
        raise ValueError(f"unit counts must be >= 0, got {dict(observed)}")
    n = sum(counts.values())
    expected = {name: n * w / total_weight for name, w in weights.items()}
    chi2, cells = 0.0, 0
    for name, e in expected.items():
        if weights[name] == 0:
            if counts[name]:
                chi2 = math.inf
            continue
        cells += 1
        if e > 0:
            chi2 += (counts[name] - e) ** 2 / e
    df = max(cells - 1, 0)
    if math.isinf(chi2) or df == 0:  # a single weighted variant cannot mismatch
        p_value = 0.0 if math.isinf(chi2) else 1.0
    else:
        p_value = float(special.chdtrc(df, chi2))
    return SrmResult(
        chi2=chi2,
        df=df,
        p_value=p_value,
        expected=expected,
        observed=counts,
        mismatch=p_value < threshold,
    )


def homogeneity(table: Mapping[str, Mapping[str, int]]) -> tuple[float, float]:
    """χ² test that the variant split is the same in every row (say, every browser): the
    statistic and its p-value, (r − 1)(c − 1) degrees of freedom, no continuity correction.
    Rows or columns that are all zero do not count. Used to locate a sample ratio mismatch:
    a dimension whose rows share one split cannot explain it.
    """
    rows = {name: dict(cells) for name, cells in table.items() if sum(cells.values()) > 0}
    columns = sorted({c for cells in rows.values() for c, n in cells.items() if n > 0})
    if len(rows) < 2 or len(columns) < 2:
        return 0.0, 1.0
    row_totals = {name: sum(cells.get(c, 0) for c in columns) for name, cells in rows.items()}
    column_totals = {c: sum(cells.get(c, 0) for cells in rows.values()) for c in columns}
    n = sum(row_totals.values())
    chi2 = 0.0
    for name, cells in rows.items():
        for c in columns:
            expected = row_totals[name] * column_totals[c] / n
            chi2 += (cells.get(c, 0) - expected) ** 2 / expected
    df = (len(rows) - 1) * (len(columns) - 1)
    return chi2, float(special.chdtrc(df, chi2))
