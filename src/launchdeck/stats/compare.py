"""Fixed-horizon comparisons of two arms from their sufficient statistics. Pure.

Every test here reads only `Moments` (n, Σy, Σy², Σx, Σx², Σxy per arm) and returns one
`Comparison`: the absolute difference treatment − control and the relative lift
treatment / control − 1, each as an `Interval` (estimate, standard error, two-sided 1 − α
bounds), plus the test statistic and its two-sided p-value.

- `welch`: Welch's t on the difference of means, Welch–Satterthwaite degrees of freedom.
- `two_proportions`: the z-test for rates, pooled SE for the statistic and unpooled (Wald) SE
  for the interval, as statsmodels' `proportions_ztest` and `confint_proportions_2indep`.
- `ratio`: a ratio metric Σy / Σx per arm (revenue per session, clicks per page view), whose
  variance comes from the delta method.
- `cuped`: variance reduction with a pre-period covariate x; returns adjusted `Moments`, so any
  of the tests above (and the sequential ones) run on them unchanged.

The relative lift always uses the delta method (Deng, Knoblich & Lu 2018, "Applying the Delta
Method in Metric Analytics"): for independent arm means m_c, m_t with variances V_c, V_t,

    Var(m_t / m_c) ≈ V_t / m_c² + m_t² V_c / m_c⁴,

with a normal interval. It is NaN when the control mean is 0 (there is no lift to speak of).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import special  # type: ignore[import-untyped, unused-ignore]

from launchdeck.stats.moments import Moments

__all__ = [
    "Comparison",
    "Interval",
    "Kind",
    "arm_estimate",
    "cuped",
    "ratio",
    "relative_lift",
    "two_proportions",
    "welch",
]

Kind = Literal["mean", "proportion", "ratio"]
"""How an arm's estimate and its variance are read from `Moments` (see `arm_estimate`)."""

_NAN = math.nan


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate with its standard error and two-sided confidence bounds."""

    estimate: float
    se: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Treatment against control: absolute difference, relative lift, statistic, p-value."""

    control_mean: float
    treatment_mean: float
    absolute: Interval
    relative: Interval
    statistic: float
    p_value: float
    df: float | None
    method: str


def arm_estimate(arm: Moments, kind: Kind) -> tuple[float, float]:
    """One arm's estimate and the variance of that estimate.

    - mean: ȳ and s²/n (sample variance, n − 1);
    - proportion: p = Σy/n and p(1 − p)/n (y is 0/1 per unit);
    - ratio: R = Σy/Σx and, by the delta method, (s_y² − 2R s_xy + R² s_x²) / (n x̄²).

    Raises ValueError below two units, for a proportion outside [0, 1] or a ratio whose Σx is 0.
    """
    if arm.n < 2:
        raise ValueError(f"a comparison needs at least 2 units per arm, got n={arm.n}")
    if kind == "mean":
        return arm.mean, arm.variance / arm.n
    if kind == "proportion":
        p = arm.mean
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a proportion needs 0 <= Σy <= n, got Σy={arm.sum} for n={arm.n}")
        return p, p * (1.0 - p) / arm.n
    if arm.x_sum == 0:
        raise ValueError("a ratio metric needs a non-zero denominator total (Σx = 0)")
    r = arm.sum / arm.x_sum
    var = arm.variance - 2.0 * r * arm.covariance + r * r * arm.x_variance
    return r, max(0.0, var) / (arm.n * arm.x_mean * arm.x_mean)


def relative_lift(
    control_mean: float, treatment_mean: float, var_c: float, var_t: float, *, alpha: float
) -> Interval:
    """The lift m_t / m_c − 1 with its delta-method SE and normal 1 − α interval; NaN if m_c = 0."""
    if control_mean == 0:
        return Interval(_NAN, _NAN, _NAN, _NAN)
    lift = treatment_mean / control_mean - 1.0
    var = var_t / control_mean**2 + treatment_mean**2 * var_c / control_mean**4
    return _normal_interval(lift, math.sqrt(var), alpha)


def welch(control: Moments, treatment: Moments, *, alpha: float = 0.05) -> Comparison:
    """Welch's unequal-variance t-test on mean_t − mean_c, with a t interval and relative lift.

    df = (V_c + V_t)² / (V_c²/(n_c − 1) + V_t²/(n_t − 1)) with V = s²/n (Welch 1947,
    Satterthwaite 1946). When both arms have zero variance the difference is exact: df is
    n_c + n_t − 2, the interval has no width and the p-value is 1 for equal means, else 0.
    """
    mc, vc = arm_estimate(control, "mean")
    mt, vt = arm_estimate(treatment, "mean")
    diff, se = mt - mc, math.sqrt(vc + vt)
    if se == 0:
        df = float(control.n + treatment.n - 2)
    else:
        df = (vc + vt) ** 2 / (vc**2 / (control.n - 1) + vt**2 / (treatment.n - 1))
    statistic, p_value = _two_sided(diff, se, df)
    half = se * float(special.stdtrit(df, 1.0 - alpha / 2.0)) if se > 0 else 0.0
    return Comparison(
        control_mean=mc,
        treatment_mean=mt,
        absolute=Interval(diff, se, diff - half, diff + half),
        relative=relative_lift(mc, mt, vc, vt, alpha=alpha),
        statistic=statistic,
        p_value=p_value,
        df=df,
        method="welch",
    )


def two_proportions(control: Moments, treatment: Moments, *, alpha: float = 0.05) -> Comparison:
    """The two-proportion z-test of p_t − p_c, where Σy counts the converted units of each arm.

    The statistic uses the pooled rate p̄ = (x_c + x_t)/(n_c + n_t) under H0:
    z = (p_t − p_c) / sqrt(p̄(1 − p̄)(1/n_c + 1/n_t)) — statsmodels' `proportions_ztest`, equal to
    `test_proportions_2indep(method="score", correction=False)`. The interval uses the unpooled
    SE sqrt(p_c(1 − p_c)/n_c + p_t(1 − p_t)/n_t) — `confint_proportions_2indep(method="wald")`.
    """
    pc, vc = arm_estimate(control, "proportion")
    pt, vt = arm_estimate(treatment, "proportion")
    pooled = (control.sum + treatment.sum) / (control.n + treatment.n)
    se0 = math.sqrt(pooled * (1.0 - pooled) * (1.0 / control.n + 1.0 / treatment.n))
    statistic, p_value = _two_sided(pt - pc, se0, None)
    return Comparison(
        control_mean=pc,
        treatment_mean=pt,
        absolute=_normal_interval(pt - pc, math.sqrt(vc + vt), alpha),
        relative=relative_lift(pc, pt, vc, vt, alpha=alpha),
        statistic=statistic,
        p_value=p_value,
        df=None,
        method="two_proportions",
    )


def ratio(control: Moments, treatment: Moments, *, alpha: float = 0.05) -> Comparison:
    """A z-test of R_t − R_c for the ratio metric R = Σy / Σx of each arm (delta method).

    Per arm, with unit means ȳ, x̄ and sample (co)variances s_y², s_x², s_xy,
    Var(R) ≈ (s_y² − 2R s_xy + R² s_x²) / (n x̄²) — the first-order Taylor expansion of ȳ / x̄
    (Deng et al. 2018, section 3). The arms are independent, so the variances add.
    """
    rc, vc = arm_estimate(control, "ratio")
    rt, vt = arm_estimate(treatment, "ratio")
    se = math.sqrt(vc + vt)
    statistic, p_value = _two_sided(rt - rc, se, None)
    return Comparison(
        control_mean=rc,
        treatment_mean=rt,
        absolute=_normal_interval(rt - rc, se, alpha),
        relative=relative_lift(rc, rt, vc, vt, alpha=alpha),
        statistic=statistic,
        p_value=p_value,
        df=None,
        method="ratio",
    )


def cuped(control: Moments, treatment: Moments) -> tuple[Moments, Moments, float]:
    """Both arms adjusted by CUPED (Deng et al. 2013), and θ; the x fields are kept as they were.

    θ = Σ_arms Σ(x − x̄_arm)(y − ȳ_arm) / Σ_arms Σ(x − x̄_arm)², the within-arm pooled slope of y
    on the pre-period covariate x (0 when x does not vary). Each unit's y becomes
    y − θ(x − x̄), x̄ the mean of x over both arms, so the arm means stay on the scale of y and
    the variance of a mean shrinks by about 1 − ρ(x, y)².
    """
    sxy = _centred(control.xy_sum, control.x_sum, control.sum, control.n)
    sxy += _centred(treatment.xy_sum, treatment.x_sum, treatment.sum, treatment.n)
    sxx = _centred(control.x_sum_sq, control.x_sum, control.x_sum, control.n)
    sxx += _centred(treatment.x_sum_sq, treatment.x_sum, treatment.x_sum, treatment.n)
    theta = sxy / sxx if sxx > 0 else 0.0
    n = control.n + treatment.n
    x_bar = (control.x_sum + treatment.x_sum) / n if n else 0.0
    return _adjust(control, theta, x_bar), _adjust(treatment, theta, x_bar), theta


def _adjust(arm: Moments, theta: float, x_bar: float) -> Moments:
    """The moments of y' = y − θ(x − x̄), expanded so no per-unit value is needed."""
    x_dev_sum = arm.x_sum - arm.n * x_bar
    x_dev_sq = arm.x_sum_sq - 2.0 * x_bar * arm.x_sum + arm.n * x_bar * x_bar
    y_x_dev = arm.xy_sum - x_bar * arm.sum
    return Moments(
        n=arm.n,
        sum=arm.sum - theta * x_dev_sum,
        sum_sq=arm.sum_sq - 2.0 * theta * y_x_dev + theta * theta * x_dev_sq,
        x_sum=arm.x_sum,
        x_sum_sq=arm.x_sum_sq,
        xy_sum=arm.xy_sum - theta * (arm.x_sum_sq - x_bar * arm.x_sum),
    )


def _centred(sum_ab: float, sum_a: float, sum_b: float, n: int) -> float:
    """Σ(a − ā)(b − b̄) from Σab, Σa, Σb; 0 for an empty arm."""
    return sum_ab - sum_a * sum_b / n if n else 0.0


def _normal_interval(estimate: float, se: float, alpha: float) -> Interval:
    half = se * float(special.ndtri(1.0 - alpha / 2.0))
    return Interval(estimate, se, estimate - half, estimate + half)


def _two_sided(diff: float, se: float, df: float | None) -> tuple[float, float]:
    """The statistic diff / se and its two-sided p-value (t with df, or normal when df is None).

    A zero SE means no sampling noise: p is 1 when diff is 0 and 0 otherwise.
    """
    if se == 0:
        return (0.0, 1.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0)
    statistic = diff / se
    tail = special.ndtr(-abs(statistic)) if df is None else special.stdtr(df, -abs(statistic))
    return statistic, min(1.0, 2.0 * float(tail))
