"""Design before launch: sample size, power, reachable effect and duration of a test. Pure.

Effects are relative (`mde_relative=0.05` is a 5 % lift over the baseline); sample sizes are per
arm with equal allocation. With several treatments each is compared with control at the
Bonferroni level α/(arms − 1). Power follows statsmodels' conventions
(`power_proportions_2indep`, `NormalIndPower`), for a difference d = p₁ − p₀ with standard
deviations per sqrt(n) of σ₀ under H0 and σ₁ under H1:

    power = Φ(d·sqrt(n)/σ₁ − z·σ₀/σ₁) + Φ(−d·sqrt(n)/σ₁ − z·σ₀/σ₁)      (two-sided, z = z_{1−α/2})

(one-sided: only the tail in the effect's direction, z = z_{1−α}). For proportions σ₀ uses the
pooled rate p̄ = (p₀ + p₁)/2, σ₀² = 2p̄(1 − p̄), and σ₁² = p₀(1 − p₀) + p₁(1 − p₁), as the z-test
of `compare.two_proportions` does; for means σ₀ = σ₁ = sd·sqrt(2). A sample size is the smallest
integer n whose power reaches the target.

`sequential_sample_size` plans the always-valid test of `sequential.sequential`: the N at which
the confidence sequence, centred on the true effect, clears 0 with the target probability —
m(2n)·SE(n) + z_{power}·SE(n) = d, with m the CS multiplier and SE unpooled. It is the power at
that final look; stopping at an earlier look only adds to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from scipy import optimize, special  # type: ignore[import-untyped, unused-ignore]

from launchdeck.stats.sequential import boundary_multiplier

__all__ = [
    "days_needed",
    "power_means",
    "power_proportions",
    "reachable_mde",
    "reachable_mde_means",
    "sample_size_means",
    "sample_size_proportions",
    "sequential_sample_size",
]


def power_proportions(
    baseline: float,
    mde_relative: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    arms: int = 2,
    two_sided: bool = True,
) -> float:
    """The power of the two-proportion z-test to detect baseline → baseline·(1 + mde) with n/arm."""
    d, s0, s1 = _proportion_sds(baseline, mde_relative)
    return _power(d, s0, s1, n_per_arm, alpha=_per_test(alpha, arms), two_sided=two_sided)


def sample_size_proportions(
    baseline: float,
    mde_relative: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    two_sided: bool = True,
) -> int:
    """Units per arm for the z-test to detect the relative lift with the given power."""
    d, s0, s1 = _proportion_sds(baseline, mde_relative)
    return _sample_size(d, s0, s1, alpha=_per_test(alpha, arms), power=power, two_sided=two_sided)


def reachable_mde(
    baseline: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    two_sided: bool = True,
) -> float:
    """The smallest relative lift detectable with n units per arm; inf if even p = 1 is not."""
    _check_rate(baseline)
    top = (1.0 - baseline) / baseline * (1.0 - 1e-12)
    return _invert(
        lambda mde: power_proportions(
            baseline, mde, n_per_arm, alpha=alpha, arms=arms, two_sided=two_sided
        ),
        power,
        top,
    )


def power_means(
    mean: float,
    sd: float,
    mde_relative: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    arms: int = 2,
    two_sided: bool = True,
) -> float:
    """The power of the (normal) test of means to detect mean → mean·(1 + mde), sd per unit."""
    d, s = _mean_sd(mean, sd, mde_relative)
    return _power(d, s, s, n_per_arm, alpha=_per_test(alpha, arms), two_sided=two_sided)


def sample_size_means(
    mean: float,
    sd: float,
    mde_relative: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    two_sided: bool = True,
) -> int:
    """Units per arm to detect a relative change of a mean metric whose per-unit SD is `sd`."""
    d, s = _mean_sd(mean, sd, mde_relative)
    return _sample_size(d, s, s, alpha=_per_test(alpha, arms), power=power, two_sided=two_sided)


def reachable_mde_means(
    mean: float,
    sd: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    two_sided: bool = True,
) -> float:
    """The smallest relative change of a mean detectable with n units per arm."""
    _mean_sd(mean, sd, 1.0)
    if n_per_arm <= 0:
        raise ValueError(f"need n_per_arm > 0, got {n_per_arm}")
    z = _z(_per_test(alpha, arms), two_sided) + float(special.ndtri(power))
    # the one-tail closed form; the far tail only helps, the margin absorbs rounding
    one_tail = z * sd * math.sqrt(2.0 / n_per_arm) / abs(mean) * (1.0 + 1e-9)
    return _invert(
        lambda mde: power_means(
            mean, sd, mde, n_per_arm, alpha=alpha, arms=arms, two_sided=two_sided
        ),
        power,
        one_tail,
    )


def days_needed(
    n_per_arm: int,
    arms: int,
    daily_units: float,
    coverage: float,
    *,
    weights: Sequence[float] | None = None,
) -> int:
    """Whole days until every arm has n units, at `daily_units` eligible units a day.

    Of those, `coverage` enter the experiment and split by `weights` (equal by default); the
    smallest arm with a weight sets the pace.
    """
    if daily_units <= 0 or not 0 < coverage <= 1:
        raise ValueError(
            f"need daily_units > 0 and 0 < coverage <= 1, got {daily_units}, {coverage}"
        )
    if weights is not None and (len(weights) != arms or min(weights) < 0 or sum(weights) <= 0):
        raise ValueError(f"need {arms} weights >= 0, not all 0, got {list(weights)}")
    shares = [1.0 / arms] * arms if weights is None else [w / sum(weights) for w in weights]
    days = n_per_arm / (daily_units * coverage * min(s for s in shares if s > 0))
    return max(1, math.ceil(round(days, 9)))  # round: 1/3-weights must not turn 4.0 into 5


def sequential_sample_size(
    baseline: float,
    mde_relative: float,
    *,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    tuning: float = 5000,
    arms: int = 2,
) -> int:
    """Units per arm for the confidence sequence to exclude 0 with the given power (module doc).

    `baseline` is a rate when `sd` is None, else the mean of a metric with per-unit SD `sd`.
    """
    if sd is None:
        d, _, s1 = _proportion_sds(baseline, mde_relative)
    else:
        d, s1 = _mean_sd(baseline, sd, mde_relative)
    a, z_power = _per_test(alpha, arms), float(special.ndtri(power))

    def gap(n: float) -> float:
        m = float(boundary_multiplier(2.0 * n, alpha=a, tuning=tuning))
        return (m + z_power) * s1 / math.sqrt(n) - abs(d)

    if gap(1.0) <= 0:
        return 1
    hi = 2.0
    while gap(hi) > 0:
        hi *= 2.0
    return math.ceil(float(optimize.brentq(gap, 1.0, hi, xtol=1e-6)))


def _per_test(alpha: float, arms: int) -> float:
    if arms < 2 or not 0.0 < alpha < 1.0:
        raise ValueError(f"need arms >= 2 and 0 < alpha < 1, got {arms=} {alpha=}")
    return alpha / (arms - 1)


def _z(alpha: float, two_sided: bool) -> float:
    return float(special.ndtri(1.0 - alpha / 2.0 if two_sided else 1.0 - alpha))


def _check_rate(baseline: float) -> None:
    if not 0.0 < baseline < 1.0:
        raise ValueError(f"a baseline rate lies strictly between 0 and 1, got {baseline}")


def _proportion_sds(baseline: float, mde_relative: float) -> tuple[float, float, float]:
    """(d, σ₀, σ₁) of a rate moving from baseline by mde_relative (module doc)."""
    _check_rate(baseline)
    p1 = baseline * (1.0 + mde_relative)
    if not 0.0 < p1 < 1.0 or mde_relative == 0:
        raise ValueError(f"baseline {baseline} with lift {mde_relative} gives the rate {p1}")
    pooled = (baseline + p1) / 2.0
    s0 = math.sqrt(2.0 * pooled * (1.0 - pooled))
    s1 = math.sqrt(baseline * (1.0 - baseline) + p1 * (1.0 - p1))
    return p1 - baseline, s0, s1


def _mean_sd(mean: float, sd: float, mde_relative: float) -> tuple[float, float]:
    if mean == 0 or sd <= 0 or mde_relative == 0:
        raise ValueError(
            f"need mean != 0, sd > 0 and a non-zero lift, got {mean}, {sd}, {mde_relative}"
        )
    return mean * mde_relative, sd * math.sqrt(2.0)


def _power(d: float, s0: float, s1: float, n: float, *, alpha: float, two_sided: bool) -> float:
    if n <= 0:
        raise ValueError(f"need n_per_arm > 0, got {n}")
    shift, crit = abs(d) * math.sqrt(n) / s1, _z(alpha, two_sided) * s0 / s1
    power = float(special.ndtr(shift - crit))
    if two_sided:
        power += float(special.ndtr(-shift - crit))
    return power


def _sample_size(
    d: float, s0: float, s1: float, *, alpha: float, power: float, two_sided: bool
) -> int:
    """The smallest n with power ≥ target: the one-tail closed form, then the far tail's help."""
    if not 0.0 < power < 1.0:
        raise ValueError(f"need 0 < power < 1, got {power}")
    z_alpha, z_power = _z(alpha, two_sided), float(special.ndtri(power))
    n = max(1, math.ceil(((z_alpha * s0 + z_power * s1) / d) ** 2))
    while n > 1 and _power(d, s0, s1, n - 1, alpha=alpha, two_sided=two_sided) >= power:
        n -= 1
    return n


def _invert(power_at: Callable[[float], float], target: float, top: float) -> float:
    """The effect in (0, top] at which power_at reaches target; inf when top falls short."""
    if power_at(top) < target:
        return math.inf
    return float(optimize.brentq(lambda mde: power_at(mde) - target, 1e-12, top, xtol=1e-14))
