"""Sufficient statistics: what SQL hands the statistics so 100M events cost one scan. Pure.

Per arm, the per-unit values y (and a second per-unit quantity x: the denominator of a ratio
metric, or the pre-period covariate of CUPED) reduce to n, Σy, Σy², Σx, Σx², Σxy. Every test in
`stats/` starts from these few numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Moments"]


@dataclass(frozen=True, slots=True)
class Moments:
    """One arm's sufficient statistics over its units."""

    n: int
    sum: float
    sum_sq: float
    x_sum: float = 0.0
    x_sum_sq: float = 0.0
    xy_sum: float = 0.0

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Sample variance of y (n − 1 in the denominator); 0 below two units."""
        if self.n < 2:
            return 0.0
        return max(0.0, (self.sum_sq - self.sum * self.sum / self.n) / (self.n - 1))

    @property
    def x_mean(self) -> float:
        return self.x_sum / self.n if self.n else 0.0

    @property
    def x_variance(self) -> float:
        if self.n < 2:
            return 0.0
        return max(0.0, (self.x_sum_sq - self.x_sum * self.x_sum / self.n) / (self.n - 1))

    @property
    def covariance(self) -> float:
        """Sample covariance of x and y."""
        if self.n < 2:
            return 0.0
        return (self.xy_sum - self.x_sum * self.sum / self.n) / (self.n - 1)

    def __add__(self, other: Moments) -> Moments:
        return Moments(
            self.n + other.n,
            self.sum + other.sum,
            self.sum_sq + other.sum_sq,
            self.x_sum + other.x_sum,
            self.x_sum_sq + other.x_sum_sq,
            self.xy_sum + other.xy_sum,
        )
