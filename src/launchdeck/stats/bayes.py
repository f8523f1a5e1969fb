"""Bayesian read-out of a comparison: chance to beat control and expected loss. Pure.

As gbstats does, the posterior of the relative lift Δ is approximated by a normal
N(μ, σ²) centred on the estimated lift with the delta-method standard error (a flat prior):
μ = `Comparison.relative.estimate`, σ = `Comparison.relative.se`. Then, with Φ and φ the
standard normal CDF and density,

    P(Δ > 0)          = Φ(μ/σ)                            chance to beat control
    E[max(0, −Δ)]     = σ φ(μ/σ) − μ Φ(−μ/σ)              loss if we ship treatment
    E[max(0,  Δ)]     = σ φ(μ/σ) + μ Φ( μ/σ)              loss if we keep control

(the partial expectations of a normal; the two losses differ by exactly μ). Losses are on the
relative scale: 0.002 means "we expect to give up 0.2 % of the control's value". A comparison
with no lift (control mean 0) gives NaN throughout; a zero σ is a point mass at μ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from launchdeck.stats.compare import Comparison

__all__ = ["ExpectedLoss", "chance_to_beat", "expected_loss"]

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True, slots=True)
class ExpectedLoss:
    """Expected relative loss of each decision under the posterior of the lift."""

    treatment: float
    """E[max(0, −Δ)]: what shipping the treatment costs if it is in fact worse."""
    control: float
    """E[max(0, Δ)]: what keeping the control costs if the treatment is in fact better."""


def chance_to_beat(comparison: Comparison) -> float:
    """P(lift > 0) = Φ(μ/σ) on the relative scale; for σ = 0: 1, 0.5 or 0 by the sign of μ."""
    mu, sigma = comparison.relative.estimate, comparison.relative.se
    if math.isnan(mu) or math.isnan(sigma):
        return math.nan
    if sigma == 0:
        return 1.0 if mu > 0 else 0.5 if mu == 0 else 0.0
    return _cdf(mu / sigma)


def expected_loss(comparison: Comparison) -> ExpectedLoss:
    """The expected relative loss of shipping treatment and of keeping control (module doc)."""
    mu, sigma = comparison.relative.estimate, comparison.relative.se
    if math.isnan(mu) or math.isnan(sigma):
        return ExpectedLoss(math.nan, math.nan)
    if sigma == 0:
        return ExpectedLoss(max(0.0, -mu), max(0.0, mu))
    k = mu / sigma
    density = math.exp(-0.5 * k * k) / _SQRT2PI
    return ExpectedLoss(
        treatment=max(0.0, sigma * density - mu * _cdf(-k)),
        control=max(0.0, sigma * density + mu * _cdf(k)),
    )


def _cdf(x: float) -> float:
    """The standard normal CDF; erfc keeps the far tails accurate."""
    return 0.5 * math.erfc(-x / _SQRT2)
