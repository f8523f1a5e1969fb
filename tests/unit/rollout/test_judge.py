"""The canary judge: verdicts with their numbers, Kayenta's classification reproduced with SciPy,
and the false-rollback rate and detection time of the proportion test, simulated."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import optimize, stats

from launchdeck.rollout.judge import (
    Counts,
    LatencyCheck,
    MetricResult,
    NoDataPolicy,
    ProportionCheck,
    ThresholdCheck,
    Verdict,
    decide,
    judge_latency,
    judge_proportion,
    judge_threshold,
    revenue_at_risk,
    score,
)

ERRORS = ProportionCheck("error_rate", harmful="increase")
CONVERSION = ProportionCheck("conversion", harmful="decrease")
INTERVALS = 24


# ------------------------------------------------------------------------------ proportions


def test_a_canary_erroring_far_more_fails_with_the_numbers() -> None:
    result = judge_proportion(ERRORS, Counts(1000, 200), Counts(4000, 20))

    assert result.verdict == Verdict.FAIL
    assert result.critical
    assert result.numbers["canary_rate"] == 0.2
    assert result.numbers["baseline_rate"] == 0.005
    assert result.p_value is not None and result.p_value < ERRORS.alpha
    assert result.statistic is not None and result.statistic > 5
    assert "20.0000% is higher than the baseline's 0.5000%" in result.reason


def test_a_canary_converting_better_passes_a_decrease_check() -> None:
    result = judge_proportion(CONVERSION, Counts(5000, 300), Counts(5000, 150))

    assert result.verdict == Verdict.PASS
    assert result.p_value == 1.0 or (result.p_value is not None and result.p_value > 0.5)


def test_one_error_on_a_clean_baseline_is_not_harm() -> None:
    assert judge_proportion(ERRORS, Counts(300, 1), Counts(1200, 0)).verdict == Verdict.PASS


@pytest.mark.parametrize(
    ("policy", "verdict", "pauses"),
    [
        (NoDataPolicy.INCONCLUSIVE, Verdict.INCONCLUSIVE, False),
        (NoDataPolicy.PAUSE, Verdict.INCONCLUSIVE, True),
        (NoDataPolicy.FAIL, Verdict.NO_DATA, False),
        (NoDataPolicy.PASS, Verdict.PASS, False),
    ],
)
def test_too_few_units_to_pass_is_what_the_no_data_policy_says(
    policy: NoDataPolicy, verdict: Verdict, pauses: bool
) -> None:
    check = ProportionCheck("conversion", harmful="decrease", min_sample=500, no_data=policy)

    few = judge_proportion(check, Counts(120, 4), Counts(480, 14))
    none = judge_proportion(check, Counts(0, 0), Counts(480, 14))

    assert (few.verdict, few.pauses) == (verdict, pauses)
    assert "120 units on the smaller side; 500 needed to pass" in few.reason
    assert f"no-data policy: {policy}" in few.reason
    assert (none.verdict, none.pauses) == (verdict, pauses)


def test_harm_is_failed_even_before_the_minimum_sample() -> None:
    check = ProportionCheck("error_rate", harmful="increase", min_sample=10_000)

    assert judge_proportion(check, Counts(400, 120), Counts(1600, 8)).verdict == Verdict.FAIL


def test_counts_refuse_more_events_than_units() -> None:
    with pytest.raises(ValueError, match="between 0 and units"):
        Counts(10, 11)


def _first_failures(
    check: ProportionCheck,
    rng: np.random.Generator,
    *,
    baseline_rate: float,
    canary_rate: float,
    canary_units: int,
    baseline_units: int,
    sims: int,
) -> NDArray[np.int64]:
    """For each simulated rollout, the interval (1-based) of its first Fail, or 0."""
    baseline = rng.binomial(baseline_units, baseline_rate, (sims, INTERVALS)).cumsum(axis=1)
    canary = rng.binomial(canary_units, canary_rate, (sims, INTERVALS)).cumsum(axis=1)
    first = np.zeros(sims, dtype=np.int64)
    for s in range(sims):
        for i in range(INTERVALS):
            result = judge_proportion(
                check,
                Counts(canary_units * (i + 1), int(canary[s, i])),
                Counts(baseline_units * (i + 1), int(baseline[s, i])),
            )
            if result.verdict == Verdict.FAIL:
                first[s] = i + 1
                break
    return first


@pytest.mark.parametrize(
    ("check", "rate", "canary_units", "baseline_units"),
    [(ERRORS, 0.005, 500, 2000), (CONVERSION, 0.03, 2000, 8000)],
    ids=["error rate 0.5%", "conversion 3%"],
)
def test_a_canary_as_good_as_its_baseline_checked_every_interval_is_rarely_rolled_back(
    check: ProportionCheck, rate: float, canary_units: int, baseline_units: int
) -> None:
    first = _first_failures(
        check,
        np.random.default_rng(2026),
        baseline_rate=rate,
        canary_rate=rate,
        canary_units=canary_units,
        baseline_units=baseline_units,
        sims=1000,
    )

    assert (first > 0).mean() <= 0.01  # α = 1 % over all 24 looks, not per look


@pytest.mark.parametrize(
    ("check", "baseline_rate", "canary_rate", "canary_units", "baseline_units"),
    [(ERRORS, 0.005, 0.20, 500, 2000), (CONVERSION, 0.03, 0.015, 2000, 8000)],
    ids=["5xx 20% of requests", "conversion halved"],
)
def test_a_broken_canary_is_caught_within_two_intervals(
    check: ProportionCheck,
    baseline_rate: float,
    canary_rate: float,
    canary_units: int,
    baseline_units: int,
) -> None:
    # Per 5-minute interval: 500 canary requests (20 % of 2,500), and 2,000 canary visitors
    # of 10,000 (a Black Friday landing page at 120,000 visitors an hour).
    first = _first_failures(
        check,
        np.random.default_rng(11),
        baseline_rate=baseline_rate,
        canary_rate=canary_rate,
        canary_units=canary_units,
        baseline_units=baseline_units,
        sims=300,
    )

    assert (first > 0).all()
    assert ((first >= 1) & (first <= 2)).mean() >= 0.95


# ---------------------------------------------------------------------------------- latency


def _kayenta_with_scipy(canary: NDArray, baseline: NDArray) -> Literal["High", "Low", "Pass"]:
    """Kayenta's MannWhitneyClassifier (98 %, tolerance 0.25) computed independently: the
    interval where SciPy's test of the shifted canary stops rejecting, and the estimate as the
    shift where SciPy's statistic is centred."""
    alpha = 0.02

    def p_minus_alpha(d: float) -> float:
        return float(stats.mannwhitneyu(canary - d, baseline, method="asymptotic").pvalue) - alpha

    def centred(d: float) -> float:
        u = stats.mannwhitneyu(canary - d, baseline, method="asymptotic").statistic
        return float(u - canary.size * baseline.size / 2)

    lo, hi = float(canary.min() - baseline.max()), float(canary.max() - baseline.min())
    estimate = optimize.brentq(centred, lo, hi, xtol=1e-6)
    low = optimize.brentq(p_minus_alpha, lo, estimate, xtol=1e-6)
    high = optimize.brentq(p_minus_alpha, estimate, hi, xtol=1e-6)
    bound = 0.25 * abs(estimate)
    if low > bound:
        return "High"
    if high < -bound:
        return "Low"
    return "Pass"


@pytest.mark.parametrize(
    ("seed", "factor", "expected"),
    [(1, 1.0, "Pass"), (2, 1.25, "High"), (3, 0.7, "Low"), (4, 1.02, "Pass"), (5, 1.6, "High")],
    ids=["same", "25% slower", "30% faster", "2% slower (noise)", "60% slower"],
)
def test_latency_verdicts_reproduce_kayentas_classification(
    seed: int, factor: float, expected: str
) -> None:
    rng = np.random.default_rng(seed)
    baseline = np.round(rng.gamma(4.0, 30.0, 400), 1)  # ms, with ties
    canary = np.round(rng.gamma(4.0, 30.0, 300) * factor, 1)
    check = LatencyCheck("latency", percentile_limits={})

    result = judge_latency(check, canary.tolist(), baseline.tolist())
    oracle = _kayenta_with_scipy(canary, baseline)

    assert oracle == expected  # the fixture is what its name says
    assert result.verdict == (Verdict.FAIL if oracle == "High" else Verdict.PASS)
    assert result.numbers["shift_low"] <= result.numbers["shift"] <= result.numbers["shift_high"]


def test_a_slow_tail_fails_the_percentile_limit_even_when_the_ranks_do_not_move() -> None:
    rng = np.random.default_rng(8)
    baseline = rng.gamma(4.0, 30.0, 2000)
    canary = rng.gamma(4.0, 30.0, 2000)
    canary[:60] = 3000.0  # 3 % of requests time out at 3 s

    result = judge_latency(LatencyCheck("latency"), canary.tolist(), baseline.tolist())

    assert result.verdict == Verdict.FAIL
    assert "p99" in result.reason
    assert result.numbers["canary_p99"] == 3000.0


def test_identical_latencies_pass_and_too_few_wait() -> None:
    values = [120.0, 130.5, 99.0] * 30
    check = LatencyCheck("latency", min_sample=50)

    assert judge_latency(check, values, list(reversed(values))).verdict == Verdict.PASS
    few = judge_latency(check, values[:20], values)
    assert few.verdict == Verdict.INCONCLUSIVE
    assert "20 samples on the smaller side; 50 needed" in few.reason


# ------------------------------------------------------------------- thresholds and summary


@pytest.mark.parametrize(
    ("value", "verdict"), [(0.5, Verdict.PASS), (1.5, Verdict.FAIL), (None, Verdict.NO_DATA)]
)
def test_a_threshold_range_like_flaggers(value: float | None, verdict: Verdict) -> None:
    assert judge_threshold(ThresholdCheck("p99_s", max=1.0), value).verdict == verdict


def _result(
    name: str, verdict: Verdict, group: str = "default", *, critical: bool = False
) -> MetricResult:
    return MetricResult(name, verdict, "", critical=critical, group=group)


def test_the_worst_metric_decides() -> None:
    assert (
        decide([_result("a", Verdict.PASS), _result("b", Verdict.INCONCLUSIVE)])
        == Verdict.INCONCLUSIVE
    )
    assert decide([_result("a", Verdict.NO_DATA), _result("b", Verdict.FAIL)]) == Verdict.FAIL
    assert decide([_result("a", Verdict.PASS), _result("b", Verdict.NO_DATA)]) == Verdict.NO_DATA
    assert decide([]) == Verdict.NO_DATA


def test_the_score_weighs_groups_and_a_critical_failure_zeroes_it() -> None:
    results = [
        _result("errors", Verdict.PASS, "errors"),
        _result("latency", Verdict.FAIL, "latency"),
        _result("p99", Verdict.PASS, "latency"),
        _result("conversion", Verdict.PASS, "business"),
        _result("late", Verdict.INCONCLUSIVE, "business"),
    ]

    weighted = score(results, weights={"errors": 50, "latency": 30})
    critical = score([*results, _result("checkout", Verdict.FAIL, critical=True)])

    assert weighted.groups == {"errors": 100.0, "latency": 50.0, "business": 100.0}
    assert weighted.value == pytest.approx(50 + 15 + 20)  # business gets the 20 left
    assert weighted.classification == "marginal"
    assert (critical.value, critical.classification, critical.critical_failure) == (
        0.0,
        "fail",
        True,
    )


def test_revenue_at_risk_is_the_expected_loss_of_the_canarys_share() -> None:
    assert revenue_at_risk(
        visitors_per_hour=120_000,
        canary_weight=0.2,
        baseline_conversion=0.03,
        canary_conversion=0.015,
        order_value=80.0,
    ) == pytest.approx(120_000 * 0.2 * 0.015 * 80.0)
    assert (
        revenue_at_risk(
            visitors_per_hour=1000,
            canary_weight=0.5,
            baseline_conversion=0.03,
            canary_conversion=0.04,
            order_value=80.0,
        )
        == 0.0
    )
