"""Always-valid inference: asymptotic confidence sequences, safe to look at every hour. Pure.

A confidence sequence (CS) covers the true difference at *every* sample size at once with
probability 1 − α, so an experiment may be checked after each batch of data and stopped the
first time the CS excludes 0, without inflating the false positive rate — unlike a
fixed-horizon test, whose error rate climbs with every peek.

We use the asymptotic CS of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas (2021), "Time-uniform
central limit theory and asymptotic confidence sequences" (arXiv:2103.06476, Theorem 2.2), as
GrowthBook's gbstats does. It is Robbins' normal-mixture boundary applied to the running
estimate: with N = n_c + n_t units and s² = N (V_c + V_t) the per-unit variance of the
difference (V the variance of an arm's estimate, so s²/N = SE²),

    estimate ± s · sqrt( 2(Nρ² + 1) / (N²ρ²) · ln( sqrt(Nρ² + 1) / α ) )
      = estimate ± SE · m(N),   m(N) = sqrt( 2(Nρ² + 1) / (Nρ²) · ln( sqrt(Nρ² + 1) / α ) ).

ρ is the mixture's tuning: ρ = sqrt( (−2 ln α + ln(−2 ln α + 1)) / N* ) makes the CS tightest
near N* total units (`AnalysisSpec.sequential_tuning`); any N* keeps the guarantee.

The always-valid p-value is the smallest α whose CS excludes 0 at the ρ chosen for the design
α: with z = estimate / SE, p = min(1, sqrt(Nρ² + 1) · exp(−z² Nρ² / (2(Nρ² + 1)))), the
inverse of the mixture martingale, so P(p ever ≤ α) ≤ α (Ville's inequality).

The one-sided CS (for a canary: "has the error rate gone *up*?") uses the closed-form upper
bound of the one-sided normal mixture of Howard, Ramdas, McAuliffe & Sekhon (2021),
"Time-uniform, nonparametric, nonasymptotic confidence sequences", eq. (14):
m₁(N) = sqrt( 2(Nρ² + 1) / (Nρ²) · ln( sqrt(Nρ² + 1) / (2α) + 1 ) ), one-sided p-value
min(1, sqrt(Nρ² + 1) / (2 (exp(z² Nρ² / (2(Nρ² + 1))) − 1))) when z points the harmful way.

The guarantee is asymptotic: it needs the variance estimate to have settled, which a few
hundred units per arm give for rates that are not extreme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from launchdeck.stats.compare import Comparison, Interval, Kind, arm_estimate, relative_lift
from launchdeck.stats.moments import Moments

__all__ = [
    "Harmful",
    "OneSided",
    "always_valid_p_value",
    "boundary_multiplier",
    "mixture_rho",
    "sequential",
    "sequential_one_sided",
]

Harmful = Literal["increase", "decrease"]
"""The direction in which a change of the metric is harm (error rate: increase)."""

_G_FLOOR = 1e-12
"""Below this exponent the one-sided p-value is far above 1 anyway: keeps logs finite."""


@dataclass(frozen=True, slots=True)
class OneSided:
    """Whether treatment is established to move the metric in the harmful direction.

    `absolute` and `relative` carry the one-sided confidence sequence: for a harmful increase
    the bound is `low` (`high` is +inf), for a harmful decrease it is `high` (`low` is −inf).
    `established` is True once that bound has crossed 0, i.e. once `p_value` < α.
    """

    harmful: Harmful
    established: bool
    absolute: Interval
    relative: Interval
    statistic: float
    p_value: float


def mixture_rho(*, alpha: float, tuning: float) -> float:
    """ρ = sqrt((−2 ln α + ln(−2 ln α + 1)) / N*): the CS is tightest near N* total units."""
    if not 0.0 < alpha < 1.0 or tuning <= 0:
        raise ValueError(f"need 0 < alpha < 1 and tuning > 0, got {alpha=} {tuning=}")
    k = -2.0 * math.log(alpha)
    return math.sqrt((k + math.log(k + 1.0)) / tuning)


def boundary_multiplier(
    n_total: npt.ArrayLike, *, alpha: float, tuning: float, one_sided: bool = False
) -> npt.NDArray[np.float64]:
    """m(N) such that the CS at N > 0 total units is estimate ± m(N)·SE (see the module doc).

    Works elementwise on arrays, so simulations can apply it to every look at once.
    """
    n = np.asarray(n_total, dtype=np.float64)
    r2 = mixture_rho(alpha=alpha, tuning=tuning) ** 2
    c = n * r2 + 1.0
    level = np.sqrt(c) / (2.0 * alpha) + 1.0 if one_sided else np.sqrt(c) / alpha
    result: npt.NDArray[np.float64] = np.sqrt(2.0 * c / (n * r2) * np.log(level))
    return result


def always_valid_p_value(
    z: npt.ArrayLike,
    n_total: npt.ArrayLike,
    *,
    alpha: float,
    tuning: float,
    one_sided: bool = False,
) -> npt.NDArray[np.float64]:
    """The always-valid p-value of statistic z = estimate / SE at N > 0 total units.

    Two-sided by default; with `one_sided` z counts as evidence only when positive (the caller
    flips its sign for a harmful decrease). ρ is fixed by the design α and `tuning`, so
    p < α exactly when the CS at that α excludes 0. Elementwise on arrays.
    """
    z = np.asarray(z, dtype=np.float64)
    n = np.asarray(n_total, dtype=np.float64)
    r2 = mixture_rho(alpha=alpha, tuning=tuning) ** 2
    c = n * r2 + 1.0
    g = z * z * n * r2 / (2.0 * c)
    if not one_sided:
        log_p = 0.5 * np.log(c) - g
    else:
        g = np.maximum(g, _G_FLOOR)
        log_expm1 = g + np.log1p(-np.exp(-g))  # ln(e^g − 1) without overflow
        log_p = np.where(z > 0, 0.5 * np.log(c) - math.log(2.0) - log_expm1, 0.0)
    result: npt.NDArray[np.float64] = np.exp(np.minimum(log_p, 0.0))
    return result


def sequential(
    control: Moments,
    treatment: Moments,
    *,
    alpha: float = 0.05,
    tuning: float = 5000,
    kind: Kind = "mean",
) -> Comparison:
    """Treatment against control with 1 − α confidence sequences and an always-valid p-value.

    `kind` picks how each arm's estimate and variance are read (`compare.arm_estimate`: Welch
    variances for means, unpooled p(1 − p)/n for proportions, the delta method for ratios). The
    relative lift gets the same multiplier m(N) on its delta-method SE. The statistic is the
    z-score estimate / SE; method is "sequential" and df None.
    """
    mc, vc = arm_estimate(control, kind)
    mt, vt = arm_estimate(treatment, kind)
    n_total = control.n + treatment.n
    m = float(boundary_multiplier(n_total, alpha=alpha, tuning=tuning))
    diff, se = mt - mc, math.sqrt(vc + vt)
    rel = relative_lift(mc, mt, vc, vt, alpha=alpha)
    if se == 0:
        statistic, p_value = (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    else:
        statistic = diff / se
        p_value = float(always_valid_p_value(statistic, n_total, alpha=alpha, tuning=tuning))
    return Comparison(
        control_mean=mc,
        treatment_mean=mt,
        absolute=Interval(diff, se, diff - m * se, diff + m * se),
        relative=Interval(
            rel.estimate, rel.se, rel.estimate - m * rel.se, rel.estimate + m * rel.se
        ),
        statistic=statistic,
        p_value=p_value,
        df=None,
        method="sequential",
    )


def sequential_one_sided(
    control: Moments,
    treatment: Moments,
    *,
    harmful: Harmful,
    alpha: float = 0.05,
    tuning: float = 5000,
    kind: Kind = "mean",
) -> OneSided:
    """Whether treatment − control is established to be > 0 (harmful "increase") or < 0.

    A one-sided 1 − α confidence sequence: the canary judge may ask after every interval and
    stop at the first `established`, with P(ever established | no harm) ≤ α.
    """
    mc, vc = arm_estimate(control, kind)
    mt, vt = arm_estimate(treatment, kind)
    n_total = control.n + treatment.n
    m = float(boundary_multiplier(n_total, alpha=alpha, tuning=tuning, one_sided=True))
    sign = 1.0 if harmful == "increase" else -1.0
    diff, se = mt - mc, math.sqrt(vc + vt)
    if se == 0:
        statistic = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        p_value = 0.0 if sign * diff > 0 else 1.0
    else:
        statistic = diff / se
        p_value = float(
            always_valid_p_value(
                sign * statistic, n_total, alpha=alpha, tuning=tuning, one_sided=True
            )
        )
    rel = relative_lift(mc, mt, vc, vt, alpha=alpha)
    return OneSided(
        harmful=harmful,
        established=p_value < alpha,
        absolute=_one_sided(diff, se, m, sign),
        relative=_one_sided(rel.estimate, rel.se, m, sign),
        statistic=statistic,
        p_value=p_value,
    )


def _one_sided(estimate: float, se: float, m: float, sign: float) -> Interval:
    if sign > 0:
        return Interval(estimate, se, estimate - m * se, math.inf)
    return Interval(estimate, se, -math.inf, estimate + m * se)
