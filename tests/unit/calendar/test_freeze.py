"""Freeze policies -> concrete windows: campaign tiers and recurring RRULE windows across DST.

Every UTC instant below was worked out by hand from the zone's offsets: New York is -04:00
(EDT) until 2026-11-01 02:00 and from 2026-03-08 02:00, -05:00 (EST) otherwise; Paris is
+02:00 (CEST) from 2026-03-29 02:00 to 2026-10-25 03:00, +01:00 (CET) otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gate_strategies import an_occurrence
from launchdeck.calendar.freeze import MAX_RECURRING_WINDOWS, campaign_windows, recurring_windows
from launchdeck.calendar.model import ChangeType, FreezeKind, FreezeWindow
from launchdeck.workspace.spec import CampaignFreezeSpec, FreezesSpec, RecurringFreezeSpec

DEFAULTS = FreezesSpec().campaigns
ALL_BUT_FEATURES = frozenset(ChangeType) - {ChangeType.FEATURE}
ROLLBACK_HOTFIX = frozenset({ChangeType.ROLLBACK, ChangeType.HOTFIX})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def a_policy(tier: int = 1, **fields: Any) -> CampaignFreezeSpec:
    return CampaignFreezeSpec.model_validate({"tier": tier, **fields})


def a_recurring(**fields: Any) -> RecurringFreezeSpec:
    """Friday 15:00 New York for 66 h of wall clock: the weekend freeze, to Monday 09:00."""
    return RecurringFreezeSpec.model_validate(
        {
            "id": "weekend",
            "rrule": "FREQ=WEEKLY;BYDAY=FR",
            "start": "2026-01-02T15:00:00",
            "duration": "66h",
            "timezone": "America/New_York",
            **fields,
        }
    )


def spans(windows: list[FreezeWindow]) -> list[tuple[datetime, datetime]]:
    return [(w.starts_at, w.ends_at) for w in windows]


# --- campaign windows -------------------------------------------------------------------


def test_a_tier_1_campaign_is_frozen_from_24_h_before_to_48_h_after_by_default() -> None:
    occurrence = an_occurrence(tier=1, systems=("landing-pages", "checkout-api"))
    assert campaign_windows([occurrence], DEFAULTS) == [
        FreezeWindow(
            id="campaign:black-friday",
            kind=FreezeKind.CAMPAIGN,
            name="Black Friday 2026",
            starts_at=utc(2026, 11, 26, 5),
            ends_at=utc(2026, 12, 1, 5),
            allow=ROLLBACK_HOTFIX,
            systems=frozenset({"landing-pages", "checkout-api"}),
            environments=frozenset(),
            reason="tier 1, 24 h before to 48 h after",
            campaign_id="black-friday",
        )
    ]


def test_a_tier_2_campaign_is_frozen_only_during_it_for_everything_but_features() -> None:
    occurrence = an_occurrence("early-access", name="Early access", tier=2)
    [window] = campaign_windows([occurrence], DEFAULTS)
    assert (window.id, window.starts_at, window.ends_at) == (
        "campaign:early-access",
        occurrence.starts_at,
        occurrence.ends_at,
    )
    assert window.allow == ALL_BUT_FEATURES
    assert window.reason == "tier 2, during the campaign"


@pytest.mark.parametrize(
    ("policies", "tier"),
    [(DEFAULTS, 3), ((a_policy(1),), 2), ((), 1)],
    ids=[
        "tier 3 has no default policy",
        "a tier with no policy of its own (only tier 1 configured)",
        "no policies at all",
    ],
)
def test_a_campaign_whose_tier_has_no_policy_gets_no_window(
    policies: tuple[CampaignFreezeSpec, ...], tier: int
) -> None:
    assert campaign_windows([an_occurrence(tier=tier)], policies) == []


WIDE = a_policy(1, before="24h", after="48h")
NARROW = a_policy(1, before="90m", after="0h", allow=[], environments=["staging"])


@pytest.mark.parametrize(
    "policies",
    [(WIDE, NARROW), (NARROW, WIDE)],
    ids=["wide policy listed first", "narrow policy listed first"],
)
def test_two_policies_for_one_tier_give_two_windows_numbered_whatever_their_order(
    policies: tuple[CampaignFreezeSpec, ...],
) -> None:
    # Numbered in a canonical order (shortest margin first), not the file's: the verdict
    # names a window by id, and it must not change when the policies are swapped.
    windows = campaign_windows([an_occurrence()], policies)
    assert [(w.id, w.starts_at, w.ends_at, w.allow, w.environments, w.reason) for w in windows] == [
        (
            "campaign:black-friday",
            utc(2026, 11, 27, 3, 30),
            utc(2026, 11, 29, 5),
            frozenset(),
            frozenset({"staging"}),
            "tier 1, 1.5 h before to 0 h after",
        ),
        (
            "campaign:black-friday:1",
            utc(2026, 11, 26, 5),
            utc(2026, 12, 1, 5),
            ROLLBACK_HOTFIX,
            frozenset(),
            "tier 1, 24 h before to 48 h after",
        ),
    ]


def test_a_policy_names_the_environments_it_freezes() -> None:
    policy = a_policy(1, environments=["production", "staging"])
    [window] = campaign_windows([an_occurrence()], [policy])
    assert window.environments == frozenset({"production", "staging"})


def test_each_occurrence_gets_the_policy_of_its_own_tier() -> None:
    occurrences = [
        an_occurrence("black-friday", tier=1),
        an_occurrence("gift-guide", tier=3),
        an_occurrence("cyber-week", tier=2, systems=("email-renderer",)),
    ]
    windows = campaign_windows(occurrences, DEFAULTS)
    assert [(w.id, w.campaign_id, w.systems) for w in windows] == [
        ("campaign:black-friday", "black-friday", frozenset({"landing-pages", "checkout-api"})),
        ("campaign:cyber-week", "cyber-week", frozenset({"email-renderer"})),
    ]


# --- recurring windows across DST -------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "start", "end", "expected", "real_hours"),
    [
        (
            {},
            utc(2026, 10, 14),
            utc(2026, 10, 20),
            (utc(2026, 10, 16, 19), utc(2026, 10, 19, 13)),
            66,
        ),
        (
            {},
            utc(2026, 10, 28),
            utc(2026, 11, 4),
            (utc(2026, 10, 30, 19), utc(2026, 11, 2, 14)),
            67,
        ),
        (
            {},
            utc(2026, 3, 4),
            utc(2026, 3, 11),
            (utc(2026, 3, 6, 20), utc(2026, 3, 9, 13)),
            65,
        ),
        (
            {"timezone": "Europe/Paris"},
            utc(2026, 3, 25),
            utc(2026, 4, 1),
            (utc(2026, 3, 27, 14), utc(2026, 3, 30, 7)),
            65,
        ),
        (
            {"timezone": "Europe/Paris"},
            utc(2026, 10, 21),
            utc(2026, 10, 28),
            (utc(2026, 10, 23, 13), utc(2026, 10, 26, 8)),
            67,
        ),
    ],
    ids=[
        "New York with no DST change: 15:00 EDT to 09:00 EDT is 66 real hours",
        "New York across the US DST end (Nov 1): ends Monday 09:00 EST, 67 real hours",
        "New York across the US DST start (Mar 8): ends Monday 09:00 EDT, 65 real hours",
        "Paris across the EU DST start (Mar 29): 15:00 CET to 09:00 CEST, 65 real hours",
        "Paris across the EU DST end (Oct 25): 15:00 CEST to 09:00 CET, 67 real hours",
    ],
)
def test_a_weekend_freeze_lasts_66_hours_of_wall_clock_whatever_the_dst(
    fields: dict[str, Any],
    start: datetime,
    end: datetime,
    expected: tuple[datetime, datetime],
    real_hours: int,
) -> None:
    [window] = recurring_windows(a_recurring(**fields), default_tz="UTC", start=start, end=end)
    assert (window.starts_at, window.ends_at) == expected
    assert window.ends_at - window.starts_at == timedelta(hours=real_hours)


def test_a_recurring_window_carries_the_policy_fields_and_a_dated_id() -> None:
    spec = a_recurring(
        name="Weekend freeze",
        systems=["checkout-api"],
        environments=["production"],
        allow=["rollback"],
        reason="nobody on call to fix it",
    )
    [window] = recurring_windows(
        spec, default_tz="UTC", start=utc(2026, 10, 28), end=utc(2026, 11, 4)
    )
    assert window == FreezeWindow(
        id="recurring:weekend:20261030T1500",
        kind=FreezeKind.RECURRING,
        name="Weekend freeze",
        starts_at=utc(2026, 10, 30, 19),
        ends_at=utc(2026, 11, 2, 14),
        allow=frozenset({ChangeType.ROLLBACK}),
        systems=frozenset({"checkout-api"}),
        environments=frozenset({"production"}),
        reason="nobody on call to fix it",
    )


def test_a_recurring_window_without_a_name_is_named_by_its_id() -> None:
    [window] = recurring_windows(
        a_recurring(), default_tz="UTC", start=utc(2026, 10, 28), end=utc(2026, 11, 4)
    )
    assert window.name == "weekend"
    assert window.allow == ROLLBACK_HOTFIX


def test_a_policy_without_a_zone_runs_in_the_workspace_zone() -> None:
    spec = a_recurring(timezone=None)
    windows = recurring_windows(
        spec, default_tz="Europe/Paris", start=utc(2026, 10, 21), end=utc(2026, 10, 28)
    )
    assert spans(windows) == [(utc(2026, 10, 23, 13), utc(2026, 10, 26, 8))]


def test_an_aware_start_is_read_as_the_same_local_wall_time() -> None:
    # 2026-01-02 20:00 UTC is 15:00 in New York (EST): the same rule as the naive 15:00.
    aware = a_recurring(start="2026-01-02T20:00:00Z")
    naive = a_recurring()
    window = {"default_tz": "UTC", "start": utc(2026, 10, 28), "end": utc(2026, 11, 4)}
    assert recurring_windows(aware, **window) == recurring_windows(naive, **window)


def test_a_start_at_a_wall_time_that_does_not_exist_does_not_crash() -> None:
    # 02:30 on 2026-03-08 does not exist in New York (02:00 EST jumps to 03:00 EDT).
    # zoneinfo reads it with fold=0, i.e. with the offset before the change (EST, -05:00):
    # 07:30 UTC, which the wall clock shows as 03:30 EDT. The window still ends at 04:30
    # EDT (08:30 UTC), 2 h of wall clock after 02:30, so it lasts one real hour.
    # The next day's 02:30 exists (EDT): 06:30 UTC to 08:30 UTC.
    spec = a_recurring(rrule="FREQ=DAILY", start="2026-03-08T02:30:00", duration="2h")
    windows = recurring_windows(spec, default_tz="UTC", start=utc(2026, 3, 7), end=utc(2026, 3, 10))
    assert spans(windows) == [
        (utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 8, 30)),
        (utc(2026, 3, 9, 6, 30), utc(2026, 3, 9, 8, 30)),
    ]
    assert [w.id for w in windows] == [
        "recurring:weekend:20260308T0230",
        "recurring:weekend:20260309T0230",
    ]


def test_a_wall_time_that_happens_twice_is_read_as_its_first_occurrence() -> None:
    # 01:30 on 2026-11-01 happens twice in New York; fold=0 is the first (EDT, 05:30 UTC).
    # One hour of wall clock later is 02:30 EST (07:30 UTC): two real hours.
    spec = a_recurring(rrule="FREQ=DAILY", start="2026-10-31T01:30:00", duration="1h")
    windows = recurring_windows(
        spec, default_tz="UTC", start=utc(2026, 11, 1), end=utc(2026, 11, 1, 12)
    )
    assert spans(windows) == [(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 30))]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (utc(2026, 11, 3, 11), utc(2026, 11, 4, 9), []),
        (
            utc(2026, 11, 3, 10),
            datetime(2026, 11, 4, 9, 0, 1, tzinfo=UTC),
            [
                (utc(2026, 11, 3, 9), utc(2026, 11, 3, 11)),
                (utc(2026, 11, 4, 9), utc(2026, 11, 4, 11)),
            ],
        ),
        (utc(2026, 10, 1), utc(2026, 11, 1, 9), []),
        (
            utc(2026, 11, 1),
            utc(2026, 11, 3),
            [
                (utc(2026, 11, 1, 9), utc(2026, 11, 1, 11)),
                (utc(2026, 11, 2, 9), utc(2026, 11, 2, 11)),
            ],
        ),
    ],
    ids=[
        "a window ending exactly at the start and one starting exactly at the end are left out",
        "windows overlapping the range by one hour or one second are kept",
        "a range before the rule's first start has no windows",
        "a two-day range has the two days' windows",
    ],
)
def test_only_windows_overlapping_the_half_open_range_are_returned(
    start: datetime, end: datetime, expected: list[tuple[datetime, datetime]]
) -> None:
    spec = a_recurring(
        rrule="FREQ=DAILY", start="2026-11-01T09:00:00", duration="2h", timezone="UTC"
    )
    assert spans(recurring_windows(spec, default_tz="UTC", start=start, end=end)) == expected


def test_a_window_that_began_before_the_range_is_returned_when_it_is_still_running() -> None:
    # The Friday 30 Oct weekend freeze is still on at Sunday noon.
    windows = recurring_windows(
        a_recurring(), default_tz="UTC", start=utc(2026, 11, 1, 12), end=utc(2026, 11, 1, 13)
    )
    assert spans(windows) == [(utc(2026, 10, 30, 19), utc(2026, 11, 2, 14))]


def test_a_minutely_rule_yields_at_most_the_bounded_number_of_windows() -> None:
    spec = a_recurring(rrule="FREQ=MINUTELY", start="2026-11-01T00:00:00", duration="1m")
    windows = recurring_windows(
        spec, default_tz="UTC", start=utc(2026, 11, 1), end=utc(2026, 12, 1)
    )
    assert len(windows) == MAX_RECURRING_WINDOWS
