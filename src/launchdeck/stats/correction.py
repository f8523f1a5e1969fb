"""Multiple-testing corrections across metrics × variants: adjusted p-values. Pure.

Both return adjusted p-values in the order given, monotone in the raw p-values and capped at 1,
so "significant" stays `adjusted < α`. Guardrail metrics are left out by the caller: they guard
against harm and are not part of the family of claims being corrected.

- `holm`: Holm (1979) step-down, controls the family-wise error rate. With p₍₁₎ ≤ … ≤ p₍ₘ₎,
  adj₍ᵢ₎ = min(1, max_{j ≤ i} (m − j + 1) p₍ⱼ₎).
- `benjamini_hochberg`: Benjamini & Hochberg (1995) step-up, controls the false discovery rate
  for independent or positively dependent tests: adj₍ᵢ₎ = min(1, min_{j ≥ i} m p₍ⱼ₎ / j).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["benjamini_hochberg", "holm"]


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm-adjusted p-values, in input order; raises ValueError outside [0, 1]."""
    m = len(p_values)
    order = _ascending(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return tuple(adjusted)


def benjamini_hochberg(p_values: Sequence[float]) -> tuple[float, ...]:
    """Benjamini–Hochberg adjusted p-values (q-values) in input order; ValueError outside [0, 1]."""
    m = len(p_values)
    order = _ascending(p_values)
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, p_values[i] * (m / (rank + 1)))  # m/(rank+1) >= 1: adj >= p
        adjusted[i] = running
    return tuple(adjusted)


def _ascending(p_values: Sequence[float]) -> list[int]:
    """Indices that sort the p-values ascending (stable), after checking each is in [0, 1]."""
    for p in p_values:
        if math.isnan(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must lie in [0, 1], got {p}")
    return sorted(range(len(p_values)), key=p_values.__getitem__)
