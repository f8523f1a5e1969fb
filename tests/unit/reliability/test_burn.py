"""Multi-window, multi-burn-rate alerts: factors, firing on outages, quiet on blips and at night."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from launchdeck.reliability.burn import DEFAULT_TIERS, AlertTier, TierState, evaluate_tiers
from launchdeck.reliability.model import Bucket

AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
THIRTY_DAYS = timedelta(days=30)
PAGE_FAST = DEFAULT_TIERS[0]


def steady_traffic(
    *,
    until: datetime = AT,
    per_minute: float = 1000,
    error_ratio: Mapping[int, float] | None = None,
    days: int = 3,
) -> list[Bucket]:
    """1-minute buckets for `days` up to `until`; `error_ratio[k]` is the error share of the
    k-th minute before `until` (1 = the last minute), 0 elsewhere."""
    errors = error_ratio or {}
    minutes = days * 24 * 60
    return [
        Bucket(
            until - timedelta(minutes=k),
            per_minute * (1 - errors.get(k, 0.0)),
            per_minute,
        )
        for k in range(minutes, 0, -1)
    ]


def outage(minutes: int, *, ended_minutes_ago: int = 0) -> dict[int, float]:
    """100 % errors for `minutes`, ending `ended_minutes_ago` before the instant."""
    return {ended_minutes_ago + k: 1.0 for k in range(1, minutes + 1)}


def by_name(states: list[TierState]) -> dict[str, TierState]:
    return {s.tier.name: s for s in states}


@pytest.mark.parametrize(
    ("period", "factors"),
    [
        (timedelta(days=30), (14.4, 6.0, 3.0, 1.0)),
        (timedelta(days=28), (13.44, 5.6, 2.8, 0.9333)),
    ],
    ids=["thirty-day period", "28-day period"],
)
def test_default_tier_factors_follow_the_sre_workbook(
    period: timedelta, factors: tuple[float, ...]
) -> None:
    assert [t.name for t in DEFAULT_TIERS] == [
        "page-fast",
        "page-slow",
        "ticket-fast",
        "ticket-slow",
    ]
    assert [t.factor(period) for t in DEFAULT_TIERS] == pytest.approx(factors, abs=1e-4)
    assert [t.short for t in DEFAULT_TIERS] == [t.long / 12 for t in DEFAULT_TIERS]


def test_a_factor_override_replaces_the_budget_share_formula() -> None:
    tier = replace(PAGE_FAST, factor_override=2.0)
    assert tier.factor(THIRTY_DAYS) == 2.0
    assert tier.factor(timedelta(days=7)) == 2.0
    buckets = steady_traffic(error_ratio={k: 0.003 for k in range(1, 121)})  # burn 3
    (overridden,) = evaluate_tiers(buckets, at=AT, target=0.999, period=THIRTY_DAYS, tiers=[tier])
    (default,) = evaluate_tiers(buckets, at=AT, target=0.999, period=THIRTY_DAYS, tiers=[PAGE_FAST])
    assert overridden.factor == 2.0
    assert overridden.firing
    assert default.factor == pytest.approx(14.4)
    assert not default.firing


def test_a_ten_minute_total_outage_pages_fast() -> None:
    states = by_name(
        evaluate_tiers(
            steady_traffic(error_ratio=outage(10)), at=AT, target=0.999, period=THIRTY_DAYS
        )
    )
    fast = states["page-fast"]
    assert fast.firing
    assert fast.long.burn_rate == pytest.approx((10 / 60) / 0.001)
    assert fast.short.burn_rate == pytest.approx(1000)
    assert fast.note.startswith("FIRING: burn 166.67x (1h) and 1000.00x (5m), both above 14.4x")
    # Ten minutes of total failure spend 23 % of a 30-day budget: every tier agrees.
    long_minutes = {"page-slow": 360, "ticket-fast": 1440, "ticket-slow": 4320}
    for name, minutes in long_minutes.items():
        assert states[name].long.burn_rate == pytest.approx((10 / minutes) / 0.001)
        assert states[name].firing


def test_a_one_minute_blip_of_five_percent_errors_fires_nothing() -> None:
    states = evaluate_tiers(
        steady_traffic(error_ratio={1: 0.05}), at=AT, target=0.999, period=THIRTY_DAYS
    )
    assert [s.tier.name for s in states] == [t.name for t in DEFAULT_TIERS]
    assert [s.firing for s in states] == [False, False, False, False]
    fast = by_name(states)["page-fast"]
    assert fast.short.burn_rate == pytest.approx(10.0)  # 1 % over 5 minutes, below 14.4
    assert fast.note.startswith("quiet:")


@pytest.mark.parametrize(
    ("minutes_after", "firing"),
    [(0, True), (4, True), (5, False), (30, False)],
    ids=[
        "as the outage ends",
        "four minutes later the short window still sees it",
        "five minutes later the short window is clean",
        "half an hour later",
    ],
)
def test_the_short_window_silences_the_alert_soon_after_the_burn_stops(
    minutes_after: int, firing: bool
) -> None:
    buckets = steady_traffic(
        until=AT + timedelta(minutes=minutes_after),
        error_ratio=outage(10, ended_minutes_ago=minutes_after),
    )
    (state,) = evaluate_tiers(
        buckets,
        at=AT + timedelta(minutes=minutes_after),
        target=0.999,
        period=THIRTY_DAYS,
        tiers=[PAGE_FAST],
    )
    assert state.long.burn_rate == pytest.approx((10 / 60) / 0.001)  # the hour still holds it
    assert state.firing is firing
    if not firing:
        assert state.short.burn_rate == 0
        assert "not both above 14.4x" in state.note


def test_low_traffic_stays_quiet_below_the_minimum_events_and_says_so() -> None:
    night = steady_traffic(per_minute=1, error_ratio=outage(10))
    (guarded,) = evaluate_tiers(
        night, at=AT, target=0.999, period=THIRTY_DAYS, tiers=[PAGE_FAST], min_events=100
    )
    assert not guarded.firing
    assert guarded.note == "quiet: 60 events < minimum 100"
    (unguarded,) = evaluate_tiers(night, at=AT, target=0.999, period=THIRTY_DAYS, tiers=[PAGE_FAST])
    assert unguarded.firing


def test_a_window_without_events_keeps_a_tier_quiet() -> None:
    # Traffic stopped ten minutes ago: the hour has events, the last five minutes none.
    buckets = steady_traffic(until=AT - timedelta(minutes=10), error_ratio=outage(10))
    (state,) = evaluate_tiers(buckets, at=AT, target=0.999, period=THIRTY_DAYS, tiers=[PAGE_FAST])
    assert not state.firing
    assert state.short.burn_rate is None
    assert state.note == "quiet: no events in a window"


def test_disabled_tiers_are_skipped() -> None:
    tiers = [replace(t, enabled=t.severity != "page") for t in DEFAULT_TIERS]
    states = evaluate_tiers(
        steady_traffic(error_ratio=outage(10)), at=AT, target=0.999, period=THIRTY_DAYS, tiers=tiers
    )
    assert [s.tier.name for s in states] == ["ticket-fast", "ticket-slow"]


def test_a_custom_tier_fires_at_its_own_factor_and_windows() -> None:
    tier = AlertTier("warn-30m", timedelta(minutes=30), timedelta(minutes=3), 0.01, "ticket")
    assert tier.factor(timedelta(days=28)) == pytest.approx(13.44)
    buckets = steady_traffic(error_ratio={k: 0.02 for k in range(1, 31)})  # burn 20
    (state,) = evaluate_tiers(buckets, at=AT, target=0.999, period=timedelta(days=28), tiers=[tier])
    assert state.firing
    assert "(30m)" in state.note and "(3m)" in state.note
