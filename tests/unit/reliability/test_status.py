"""An objective's status from exact buckets: budget, burns, alert tiers, ETA, burn-down."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from launchdeck.reliability.budget import TargetSpan
from launchdeck.reliability.burn import DEFAULT_TIERS
from launchdeck.reliability.model import (
    Bucket,
    BudgetingMethod,
    Indicator,
    IndicatorKind,
    Objective,
    SloDefinition,
    TimeWindow,
)
from launchdeck.reliability.status import (
    BURN_WINDOWS,
    ObjectiveStatus,
    burn_down,
    objective_status,
    unread_status,
)

AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PERIOD = (AT - timedelta(days=30), AT)
STEP = timedelta(minutes=5)
OBJECTIVE = Objective("availability", 0.999)


def a_definition(
    method: BudgetingMethod = BudgetingMethod.OCCURRENCES, objectives: Sequence[Objective] = ()
) -> SloDefinition:
    return SloDefinition(
        name="checkout-availability",
        system="checkout-web",
        service="checkout",
        display_name="Checkout availability",
        indicator=Indicator(
            IndicatorKind.GOOD_TOTAL,
            good='sum(rate(http_requests_total{code!~"5.."}[{{.window}}]))',
            total="sum(rate(http_requests_total[{{.window}}]))",
        ),
        window=TimeWindow("30d"),
        method=method,
        objectives=tuple(objectives) or (OBJECTIVE,),
    )


def three_days(*, bad_per_bucket_last_hour: float = 20, per_bucket: float = 1000) -> list[Bucket]:
    """Three days of 5-minute buckets up to AT; only the last hour has failures."""
    count = 3 * 24 * 12
    return [
        Bucket(
            AT - (count - i) * STEP,
            per_bucket - (bad_per_bucket_last_hour if i >= count - 12 else 0),
            per_bucket,
        )
        for i in range(count)
    ]


def status_of(
    buckets: Sequence[Bucket], *, spans: Sequence[TargetSpan] = (), at: datetime = AT
) -> ObjectiveStatus:
    return objective_status(
        a_definition(),
        OBJECTIVE,
        buckets,
        at=at,
        period=(at - timedelta(days=30), at),
        spans=spans,
        tiers=DEFAULT_TIERS,
    )


def test_status_reports_the_budget_numbers_from_exact_counts() -> None:
    status = status_of(three_days())
    assert (status.slo, status.system, status.objective) == (
        "checkout-availability",
        "checkout-web",
        "availability",
    )
    assert (status.window, status.rolling, status.method) == (
        "30d",
        True,
        BudgetingMethod.OCCURRENCES,
    )
    assert status.total == 864_000
    assert status.bad == 240  # 12 buckets x 20 in the last hour
    assert status.allowed == pytest.approx(864)
    assert status.remaining == pytest.approx(1 - 240 / 864)
    assert status.consumed == pytest.approx(240 / 864)
    assert status.sli == pytest.approx(1 - 240 / 864_000)
    assert status.period_burn_rate == pytest.approx(240 / 864)
    assert status.current_burn_rate == pytest.approx(20.0)  # 2 % errors over the last hour
    assert not status.exhausted
    assert (status.target, status.base_target, status.protected_by) == (0.999, 0.999, None)
    assert status.error is None


def test_status_estimates_when_the_budget_runs_out_at_the_current_burn() -> None:
    status = status_of(three_days())
    expected = (1 - 240 / 864) * timedelta(days=30) / 20
    assert status.time_to_exhaustion_s == pytest.approx(expected.total_seconds())


def test_status_lists_the_burn_of_every_window() -> None:
    status = status_of(three_days())
    assert [b.window_s for b in status.burn] == [int(w.total_seconds()) for w in BURN_WINDOWS]
    burns = {b.window_s: b.burn_rate for b in status.burn}
    assert burns[300] == pytest.approx(20.0)
    assert burns[3600] == pytest.approx(20.0)
    assert burns[6 * 3600] == pytest.approx(240 / 72_000 / 0.001)
    assert burns[86_400] == pytest.approx(240 / 288_000 / 0.001)
    assert burns[3 * 86_400] == pytest.approx(240 / 864_000 / 0.001)
    assert {b.window_s: b.events for b in status.burn}[3600] == 12_000


def test_status_shows_which_alert_tiers_fire() -> None:
    status = status_of(three_days())
    assert [a.tier for a in status.alerts] == [t.name for t in DEFAULT_TIERS]
    assert [a.tier for a in status.firing] == ["page-fast"]
    fast = status.alerts[0]
    assert (fast.severity, fast.long_s, fast.short_s) == ("page", 3600, 300)
    assert fast.factor == pytest.approx(14.4)
    assert fast.long_burn == pytest.approx(20.0)
    assert fast.note.startswith("FIRING")
    assert status.alerts[1].long_burn == pytest.approx(240 / 72_000 / 0.001)
    assert not status.alerts[1].firing


def test_a_clean_period_has_its_whole_budget_and_no_eta() -> None:
    status = status_of(three_days(bad_per_bucket_last_hour=0))
    assert status.remaining == 1.0
    assert status.current_burn_rate == 0.0
    assert status.time_to_exhaustion_s is None
    assert status.firing == ()


def test_a_live_protected_span_tightens_the_objective_and_names_the_campaign() -> None:
    span = TargetSpan(AT - timedelta(hours=2), AT + timedelta(days=1), 0.9999, "Black Friday")
    status = status_of(three_days(), spans=[span])
    assert status.protected_by == "Black Friday"
    assert (status.target, status.base_target) == (0.9999, 0.999)
    # Two hours (24,000 events) at 99.99 %, the rest at 99.9 %.
    assert status.allowed == pytest.approx(840_000 * 0.001 + 24_000 * 0.0001)
    assert status.remaining == pytest.approx(1 - 240 / 842.4)
    assert status.current_burn_rate == pytest.approx(200.0)  # 2 % against 0.01 %


def test_an_ended_or_looser_span_protects_nothing_now() -> None:
    ended = TargetSpan(AT - timedelta(days=2), AT - timedelta(days=1), 0.9999, "Cyber Monday")
    looser = TargetSpan(AT - timedelta(hours=1), AT + timedelta(hours=1), 0.99, "maintenance")
    status = status_of(three_days(), spans=[ended, looser])
    assert status.protected_by is None
    assert status.target == 0.999
    # The ended span still made its day's events stricter.
    assert status.allowed == pytest.approx(576_000 * 0.001 + 288_000 * 0.0001)


def test_fine_burn_buckets_feed_the_burn_while_coarse_slices_feed_the_budget() -> None:
    objective = Objective(
        "availability", 0.99, time_slice_target=0.95, time_slice_window=timedelta(hours=1)
    )
    definition = a_definition(BudgetingMethod.TIMESLICES, [objective])
    hours = [
        Bucket(AT - timedelta(hours=h), 900 if h == 1 else 1000, 1000) for h in range(72, 0, -1)
    ]
    fine = [Bucket(AT - k * STEP, 1000, 1000) for k in range(12 * 72, 0, -1)]
    status = objective_status(
        definition,
        objective,
        hours,
        at=AT,
        period=PERIOD,
        burn_buckets=fine,
    )
    assert status.unit == "slices"
    assert (status.total, status.bad) == (72, 1)
    assert status.allowed == pytest.approx(720 * 0.01)
    assert status.current_burn_rate == 0.0  # the fine buckets say the last hour is clean
    assert status.alerts == ()


def test_an_unread_objective_has_no_numbers_and_the_reason() -> None:
    status = unread_status(
        a_definition(), OBJECTIVE, at=AT, period=PERIOD, error="Prometheus is unreachable"
    )
    assert status.remaining is None
    assert status.error == "Prometheus is unreachable"
    assert status.unit == "events"
    assert burn_down(three_days(), status) == []


# --- burn-down ------------------------------------------------------------------------------


def test_burn_down_starts_full_and_ends_at_the_status_remaining() -> None:
    buckets = three_days()
    status = status_of(buckets)
    points = burn_down(buckets, status)
    assert points[0].at == status.period_start
    assert points[0].remaining == 1.0
    assert points[-1].at == status.at
    assert points[-1].remaining == status.remaining
    assert all(a.at <= b.at for a, b in pairwise(points))
    assert all(a.remaining >= b.remaining for a, b in pairwise(points))
    # Nothing was spent until the last hour.
    two_hours_ago = next(p for p in points if p.at == AT - timedelta(hours=2))
    assert two_hours_ago.remaining == 1.0


def test_burn_down_steps_by_the_given_interval() -> None:
    buckets = three_days()
    status = status_of(buckets)
    points = burn_down(buckets, status, step=timedelta(days=1))
    assert [p.at for p in points[:3]] == [
        status.period_start,
        status.period_start + timedelta(days=1),
        status.period_start + timedelta(days=2),
    ]
    assert points[-1].remaining == pytest.approx(1 - 240 / 864)


def test_burn_down_of_ratio_timeslices_ends_at_the_status_remaining() -> None:
    objective = Objective("availability", 0.99, time_slice_window=timedelta(hours=1))
    definition = a_definition(BudgetingMethod.RATIO_TIMESLICES, [objective])
    slices = [Bucket(AT - timedelta(hours=h), 950, 1000) for h in range(48, 0, -1)]
    status = objective_status(definition, objective, slices, at=AT, period=PERIOD)
    assert status.bad == pytest.approx(48 * 0.05)
    assert status.allowed == pytest.approx(7.2)
    points = burn_down(slices, status)
    assert points[0].remaining == 1.0
    assert points[-1].remaining == pytest.approx(status.remaining)
    assert points[-1].remaining == pytest.approx(1 - 2.4 / 7.2)


def test_burn_down_of_timeslices_spends_only_at_the_bad_slices() -> None:
    objective = Objective(
        "availability", 0.99, time_slice_target=0.9, time_slice_window=timedelta(hours=1)
    )
    definition = a_definition(BudgetingMethod.TIMESLICES, [objective])
    # 48 good slices at 95 %, then one bad slice at 50 % in the last hour.
    slices = [Bucket(AT - timedelta(hours=h), 950, 1000) for h in range(49, 1, -1)]
    slices.append(Bucket(AT - timedelta(hours=1), 500, 1000))
    status = objective_status(definition, objective, slices, at=AT, period=PERIOD)
    points = burn_down(slices, status, slice_target=objective.time_slice_target)
    assert status.bad == 1
    before_the_bad_slice = [p for p in points if p.at <= AT - timedelta(hours=1)]
    assert {p.remaining for p in before_the_bad_slice} == {1.0}
    assert points[-1].remaining == pytest.approx(status.remaining)
    assert points[-1].remaining == pytest.approx(1 - 1 / 7.2)
