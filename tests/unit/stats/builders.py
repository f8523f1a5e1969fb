"""Moments from per-unit arrays, and vectorised simulations of sufficient statistics.

The simulations draw what SQL would hand the statistics — per arm n, Σy, Σy² — for thousands of
experiments at once, never one Python object per unit: binomial counts for rates, and for a
normal metric Σy ~ N(kμ, kσ²) with the within-batch Σ(y − ȳ)² ~ σ²χ²(k − 1) drawn independently
(exact for normal data), so a cumulative look costs one `cumsum`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from launchdeck.stats import Moments

__all__ = ["Looks", "binomial_looks", "moments_of", "normal_looks"]

Array = npt.NDArray[np.float64]


def moments_of(y: npt.ArrayLike, x: npt.ArrayLike | None = None) -> Moments:
    """The sufficient statistics of one arm's per-unit values y (and covariate x)."""
    ys = np.asarray(y, dtype=np.float64)
    xs = np.zeros_like(ys) if x is None else np.asarray(x, dtype=np.float64)
    return Moments(
        n=len(ys),
        sum=float(ys.sum()),
        sum_sq=float((ys * ys).sum()),
        x_sum=float(xs.sum()),
        x_sum_sq=float((xs * xs).sum()),
        xy_sum=float((xs * ys).sum()),
    )


@dataclass(frozen=True)
class Looks:
    """Cumulative statistics of (sims, looks) experiments for each arm: n, Σy, Σy²."""

    n: Array
    sums: tuple[Array, Array]
    sums_sq: tuple[Array, Array]

    def arm(self, i: int, sim: int, look: int) -> Moments:
        """One arm at one look of one simulated experiment, as the analysis would receive it."""
        return Moments(
            n=int(self.n[look]),
            sum=float(self.sums[i][sim, look]),
            sum_sq=float(self.sums_sq[i][sim, look]),
        )


def binomial_looks(
    rng: np.random.Generator, *, sims: int, looks: int, per_look: int, rates: tuple[float, float]
) -> Looks:
    """Conversions of `per_look` new units per arm at each look, cumulated (y is 0/1: Σy² = Σy)."""
    sums = tuple(rng.binomial(per_look, p, size=(sims, looks)).cumsum(axis=1) for p in rates)
    n = per_look * np.arange(1, looks + 1, dtype=np.float64)
    c, t = (s.astype(np.float64) for s in sums)
    return Looks(n=n, sums=(c, t), sums_sq=(c, t))


def normal_looks(
    rng: np.random.Generator,
    *,
    sims: int,
    looks: int,
    per_look: int,
    means: tuple[float, float],
    sd: float,
) -> Looks:
    """A normal metric (mean per arm, common sd): `per_look` new units per arm at each look."""
    sums, sums_sq = [], []
    for mu in means:
        batch_sum = rng.normal(per_look * mu, sd * np.sqrt(per_look), size=(sims, looks))
        within = sd * sd * rng.chisquare(per_look - 1, size=(sims, looks))
        sums.append(batch_sum.cumsum(axis=1))
        sums_sq.append((within + batch_sum * batch_sum / per_look).cumsum(axis=1))
    n = per_look * np.arange(1, looks + 1, dtype=np.float64)
    return Looks(n=n, sums=(sums[0], sums[1]), sums_sq=(sums_sq[0], sums_sq[1]))
