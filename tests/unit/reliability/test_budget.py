"""Error budgets, exactly: Occurrences event-weighted, Timeslices and RatioTimeslices per slice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchdeck.reliability.budget import (
    Budget,
    TargetSpan,
    burn_rate,
    compute_budget,
    target_at,
    time_to_exhaustion,
)
from launchdeck.reliability.model import Bucket, BudgetingMethod, Objective
from strategies import property_settings

T0 = datetime(2026, 11, 1, tzinfo=UTC)
OCC = BudgetingMethod.OCCURRENCES


def an_objective(target: float = 0.999, **fields: float | timedelta | None) -> Objective:
    return Objective("availability", target, **fields)  # type: ignore[arg-type]


def occurrences(
    buckets: Sequence[Bucket],
    *,
    target: float = 0.999,
    at: datetime | None = None,
    spans: Sequence[TargetSpan] = (),
    period: timedelta = timedelta(days=30),
) -> Budget:
    end = at or T0 + period
    return compute_budget(
        OCC,
        an_objective(target),
        buckets,
        period_start=T0,
        period_end=T0 + period,
        at=end,
        spans=spans,
    )


def hourly(bads: Sequence[float], *, per_hour: float) -> list[Bucket]:
    """One bucket per hour from T0, each with `per_hour` events of which `bads[i]` failed."""
    return [Bucket(T0 + timedelta(hours=i), per_hour - bad, per_hour) for i, bad in enumerate(bads)]


# --- Occurrences ----------------------------------------------------------------------------


def test_a_million_requests_at_three_nines_allow_a_thousand_bad_and_250_spend_a_quarter() -> None:
    budget = occurrences(hourly([25.0] * 10, per_hour=100_000))
    assert budget.total == 1_000_000
    assert budget.bad == 250
    assert budget.allowed == pytest.approx(1000)
    assert budget.remaining == pytest.approx(0.75)
    assert budget.consumed == pytest.approx(0.25)
    assert budget.sli == pytest.approx(0.99975)
    assert budget.unit == "events"
    assert not budget.exhausted
    # burn rate = error ratio / (1 - objective) = 0.00025 / 0.001
    assert budget.burn_rate == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("target", "bad", "remaining"),
    [
        (0.999, 0, 1.0),
        (0.999, 500, 0.5),
        (0.99, 2_500, 0.75),
        (0.9995, 100, 0.8),
        (0.95, 40_000, 0.2),
    ],
    ids=["untouched", "half spent", "two nines", "three and a half nines", "95 percent"],
)
def test_remaining_is_allowed_minus_bad_over_allowed(
    target: float, bad: float, remaining: float
) -> None:
    budget = occurrences(hourly([bad], per_hour=1_000_000), target=target)
    assert budget.allowed == pytest.approx(1_000_000 * (1 - target))
    assert budget.remaining == pytest.approx(remaining)


def test_a_budget_spent_to_the_last_allowed_event_is_exhausted() -> None:
    budget = occurrences(hourly([400.0, 600.0], per_hour=500_000))
    assert budget.allowed == 1000
    assert budget.remaining == 0
    assert budget.exhausted


def test_an_overspent_budget_has_negative_remaining() -> None:
    budget = occurrences(hourly([2_000.0], per_hour=1_000_000))
    assert budget.remaining == pytest.approx(-1.0)
    assert budget.consumed == pytest.approx(2.0)
    assert budget.exhausted


def test_no_data_leaves_the_budget_unknown() -> None:
    budget = occurrences([])
    assert budget.remaining is None
    assert budget.consumed is None
    assert budget.sli is None
    assert budget.burn_rate is None
    assert not budget.exhausted
    assert time_to_exhaustion(budget, 5.0) is None


def test_buckets_outside_the_period_or_after_the_instant_are_ignored() -> None:
    inside = Bucket(T0 + timedelta(hours=1), 999_900, 1_000_000)
    before = Bucket(T0 - timedelta(minutes=5), 0, 1_000_000)
    after_at = Bucket(T0 + timedelta(hours=3), 0, 1_000_000)
    budget = occurrences([before, inside, after_at], at=T0 + timedelta(hours=3))
    assert budget.total == 1_000_000
    assert budget.bad == 100
    assert budget.remaining == pytest.approx(0.9)


def test_a_protected_span_makes_the_allowance_of_its_events_smaller() -> None:
    span = TargetSpan(T0 + timedelta(hours=1), T0 + timedelta(hours=2), 0.9999, "Black Friday")
    # 100,000 events before the span at 99.9 % and 100,000 inside it at 99.99 %.
    buckets = hourly([50.0, 5.0], per_hour=100_000)
    budget = occurrences(buckets, spans=[span], at=T0 + timedelta(hours=2))
    # allowed = sum(total_i * (1 - target_i)) = 100,000 x 0.001 + 100,000 x 0.0001
    assert budget.allowed == pytest.approx(110)
    assert budget.bad == 55
    assert budget.remaining == pytest.approx(0.5)
    # The target in force at the end of the data [.., at): the span's last instant.
    assert budget.target == 0.9999
    later = occurrences(buckets, spans=[span], at=T0 + timedelta(hours=3))
    assert later.target == 0.999
    assert later.allowed == pytest.approx(110)
    # The same failures cost ten times more inside the span than outside it.
    outside_only = occurrences(hourly([55.0, 0.0], per_hour=100_000), spans=[span])
    inside_only = occurrences(hourly([0.0, 55.0], per_hour=100_000), spans=[span])
    assert outside_only.allowed == inside_only.allowed == pytest.approx(110)
    assert outside_only.remaining == inside_only.remaining == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("at_hour", "expected"),
    [(0, 0.999), (1, 0.9999), (2, 0.99995), (3, 0.9999), (4, 0.999)],
    ids=["before", "first span", "overlap takes the strictest", "second span only", "after"],
)
def test_the_objective_in_force_is_the_strictest_covering_the_instant(
    at_hour: int, expected: float
) -> None:
    spans = [
        TargetSpan(T0 + timedelta(hours=1), T0 + timedelta(hours=4), 0.9999, "sale"),
        TargetSpan(T0 + timedelta(hours=2), T0 + timedelta(hours=3), 0.99995, "launch"),
        TargetSpan(T0, T0 + timedelta(hours=5), 0.99, "a looser span never loosens"),
    ]
    assert target_at(0.999, spans, T0 + timedelta(hours=at_hour)) == expected


# --- burn rate and time to exhaustion ------------------------------------------------------


def test_burn_rate_is_the_windows_error_ratio_over_the_error_budget() -> None:
    buckets = [Bucket(T0 + timedelta(minutes=m), 995, 1000) for m in range(120)]
    at = T0 + timedelta(minutes=120)
    window = burn_rate(buckets, at=at, window=timedelta(hours=1), target=0.999)
    assert window.events == 60_000
    assert window.error_ratio == pytest.approx(0.005)
    assert window.burn_rate == pytest.approx(5.0)
    empty = burn_rate(buckets, at=T0, window=timedelta(hours=1), target=0.999)
    assert (empty.burn_rate, empty.error_ratio, empty.events) == (None, None, 0.0)


def test_time_to_exhaustion_is_remaining_times_period_over_burn() -> None:
    budget = occurrences(hourly([250.0], per_hour=1_000_000))  # 75 % left of 30 days
    assert time_to_exhaustion(budget, 2.0) == timedelta(days=30) * 0.75 / 2
    assert time_to_exhaustion(budget, 1.0) == timedelta(days=22, hours=12)


def test_time_to_exhaustion_is_zero_when_exhausted_and_none_without_burn() -> None:
    spent = occurrences(hourly([5_000.0], per_hour=1_000_000))
    assert time_to_exhaustion(spent, 10.0) == timedelta(0)
    assert time_to_exhaustion(spent, None) == timedelta(0)
    healthy = occurrences(hourly([0.0], per_hour=1_000_000))
    assert time_to_exhaustion(healthy, 0.0) is None
    assert time_to_exhaustion(healthy, None) is None


# --- the OpenSLO budgeting-method README example ------------------------------------------

TWO_WEEKS = timedelta(weeks=2)
MINUTES = 14 * 24 * 60
PER_MINUTE = 24_000 / (24 * 60)


def readme_traffic(attack_minutes: int) -> list[Bucket]:
    """Two weeks of 1-minute slices, 24,000 requests a day spread evenly, 99 % successful,
    with the last `attack_minutes` at 1 % availability."""
    return [
        Bucket(
            T0 + timedelta(minutes=m),
            PER_MINUTE * (0.01 if m >= MINUTES - attack_minutes else 0.99),
            PER_MINUTE,
        )
        for m in range(MINUTES)
    ]


def readme_budget(method: BudgetingMethod, attack_minutes: int) -> Budget:
    objective = Objective(
        "availability",
        0.95,
        time_slice_target=0.9,
        time_slice_window=timedelta(minutes=1),
    )
    return compute_budget(
        method,
        objective,
        readme_traffic(attack_minutes),
        period_start=T0,
        period_end=T0 + TWO_WEEKS,
        at=T0 + TWO_WEEKS,
    )


# Attacked minutes needed to spend the budget when each one costs 0.99 instead of the 0.01 it
# replaces: (1008 - 201.6) / 0.98.
RATIO_EXHAUSTION_MINUTES = (0.05 * MINUTES - 0.01 * MINUTES) / 0.98


def test_readme_timeslices_allow_1008_bad_slices_gone_after_16h48m_of_attack() -> None:
    """95 % of two weeks of 1-minute slices must be good: 5 % of 20,160 = 1,008 bad slices.

    Baseline minutes (99 % good) meet the 0.9 timeSliceTarget, each attacked minute (1 %)
    does not, so 1,008 minutes (16 h 48 min) of attack spend the budget exactly.
    """
    assert pytest.approx(822.857, abs=1e-3) == RATIO_EXHAUSTION_MINUTES
    one_short = readme_budget(BudgetingMethod.TIMESLICES, 1007)
    assert one_short.allowed == 1008
    assert one_short.unit == "slices"
    assert one_short.bad == 1007
    assert not one_short.exhausted
    spent = readme_budget(BudgetingMethod.TIMESLICES, 16 * 60 + 48)
    assert spent.bad == 1008
    assert spent.remaining == 0
    assert spent.exhausted


def test_readme_ratio_timeslices_are_gone_after_about_823_minutes_of_attack() -> None:
    """The README says "about 13 hours and 45 minutes"; exactly it is 822.9 minutes
    (13 h 43 min): the baseline's 1 % already spends 201.6 of the 1,008 slice-ratios."""
    before = readme_budget(BudgetingMethod.RATIO_TIMESLICES, 822)
    after = readme_budget(BudgetingMethod.RATIO_TIMESLICES, 823)
    assert before.allowed == 1008
    assert before.bad == pytest.approx(0.01 * (MINUTES - 822) + 0.99 * 822)
    assert not before.exhausted
    assert after.exhausted
    # Linear in the attack: remaining hits 0 at 822.857 minutes.
    assert before.remaining is not None and after.remaining is not None
    slope = before.remaining - after.remaining
    assert 822 + before.remaining / slope == pytest.approx(RATIO_EXHAUSTION_MINUTES)


def test_readme_occurrences_allow_16800_bad_requests_and_the_attack_spends_them_in_823_min() -> (
    None
):
    """336,000 requests in two weeks at 95 % allow 16,800 bad ones.

    The README says the attack is over after "16,632 failed requests": that is 99 % of 16,800,
    the attack's failures alone, and it ignores the 3,360 failures the 99 % baseline already
    spent. Counting them, the evenly spread traffic makes Occurrences behave like
    RatioTimeslices: the budget is gone after 822.9 minutes of attack, during which
    822.857 x 16.67 x 0.99 = 13,577 requests failed (13,440 more than the baseline would have).
    """
    untouched = readme_budget(OCC, 0)
    assert untouched.total == pytest.approx(336_000)
    assert untouched.allowed == pytest.approx(16_800)
    assert untouched.bad == pytest.approx(3_360)
    assert untouched.remaining == pytest.approx(0.8)
    before = readme_budget(OCC, 822)
    after = readme_budget(OCC, 823)
    assert not before.exhausted
    assert after.exhausted
    assert before.remaining is not None and after.remaining is not None
    slope = before.remaining - after.remaining
    assert 822 + before.remaining / slope == pytest.approx(RATIO_EXHAUSTION_MINUTES)
    attack_failures = RATIO_EXHAUSTION_MINUTES * PER_MINUTE * 0.99
    assert attack_failures == pytest.approx(13_577, abs=1)


def test_the_slice_methods_refuse_an_objective_without_a_slice_window() -> None:
    with pytest.raises(ValueError, match="timeSliceWindow"):
        compute_budget(
            BudgetingMethod.TIMESLICES,
            an_objective(),
            [],
            period_start=T0,
            period_end=T0 + TWO_WEEKS,
            at=T0 + TWO_WEEKS,
        )


def test_a_timeslice_with_no_events_is_good_and_counts_toward_nothing() -> None:
    objective = Objective(
        "availability", 0.9, time_slice_target=0.5, time_slice_window=timedelta(hours=1)
    )
    buckets = [Bucket(T0, 0, 0), Bucket(T0 + timedelta(hours=1), 1, 10)]
    budget = compute_budget(
        BudgetingMethod.TIMESLICES,
        objective,
        buckets,
        period_start=T0,
        period_end=T0 + timedelta(hours=20),
        at=T0 + timedelta(hours=2),
    )
    assert budget.allowed == pytest.approx(2)  # 10 % of 20 slices, known in advance
    assert (budget.total, budget.bad, budget.good) == (1, 1, 0)
    assert budget.remaining == pytest.approx(0.5)


# --- exactness on bursty traffic ----------------------------------------------------------

STEP = timedelta(seconds=10)
PER_BUCKET = 30  # 10-second intervals in a 5-minute bucket


def five_minute_buckets(intervals: Sequence[tuple[int, int]]) -> list[Bucket]:
    """Sum (total, bad) per 10 seconds into 5-minute buckets, as a 5m source query would."""
    buckets = []
    for start in range(0, len(intervals), PER_BUCKET):
        chunk = intervals[start : start + PER_BUCKET]
        total = sum(t for t, _ in chunk)
        bad = sum(b for _, b in chunk)
        buckets.append(Bucket(T0 + start * STEP, total - bad, total))
    return buckets


# A stretch of 10-second intervals at a steady rate and error share: calm, or a burst.
_segment = st.tuples(
    st.integers(min_value=1, max_value=90),
    st.integers(min_value=0, max_value=2_000),
    st.sampled_from((0.0, 0.0, 0.001, 0.02, 0.5, 1.0)),
)


def expand(segments: Sequence[tuple[int, int, float]]) -> list[tuple[int, int]]:
    """(length, requests per interval, error share) stretches as per-interval (total, bad)."""
    return [(total, round(total * share)) for n, total, share in segments for _ in range(n)]


@property_settings(max_examples=50)
@given(
    segments=st.lists(_segment, min_size=1, max_size=12),
    target=st.sampled_from((0.99, 0.999, 0.9995)),
)
def test_occurrences_on_bursty_traffic_match_the_per_event_computation(
    segments: list[tuple[int, int, float]], target: float
) -> None:
    intervals = expand(segments)
    budget = occurrences(five_minute_buckets(intervals), target=target)
    total = sum(t for t, _ in intervals)
    bad = sum(b for _, b in intervals)
    if total == 0:
        assert budget.remaining is None
        return
    exact = 1 - bad / (total * (1 - target))
    remaining = budget.remaining
    assert remaining is not None
    assert abs(remaining - exact) < 0.001  # within 0.1 percentage point ...
    assert remaining == pytest.approx(exact, rel=1e-9, abs=1e-12)  # ... and in fact exact


def test_a_mean_of_five_minute_ratios_misreads_a_quiet_burst_that_events_weigh_right() -> None:
    # A busy, clean 5 minutes and a quiet one at night where 50 of 100 requests failed.
    buckets = [Bucket(T0, 100_000, 100_000), Bucket(T0 + timedelta(minutes=5), 50, 100)]
    budget = occurrences(buckets)
    exact = 1 - 50 / (100_100 * 0.001)
    assert budget.remaining == pytest.approx(exact)
    assert budget.remaining == pytest.approx(0.5005, abs=1e-4)
    mean_of_ratios = sum(b.bad / b.total for b in buckets) / len(buckets)
    averaged_remaining = 1 - mean_of_ratios / 0.001
    assert abs(averaged_remaining - exact) > 0.001
