"""Freeze policies -> concrete freeze windows. Pure: the time range is an argument."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from launchdeck.calendar.model import FreezeKind, FreezeWindow, Occurrence
from launchdeck.workspace.spec import CampaignFreezeSpec, RecurringFreezeSpec

__all__ = ["MAX_RECURRING_WINDOWS", "campaign_windows", "recurring_windows"]

MAX_RECURRING_WINDOWS = 10_000
"""Bound on the windows one recurring policy yields for a range (a FREQ=MINUTELY guard)."""


def campaign_windows(
    occurrences: Iterable[Occurrence], policies: Sequence[CampaignFreezeSpec]
) -> list[FreezeWindow]:
    """One window per (campaign, policy of its tier), covering the campaign's own systems."""
    by_tier: dict[int, list[CampaignFreezeSpec]] = {}
    # Numbered in a canonical order, not the file's: window ids (and so the verdict that
    # names one) must not change when policies of a tier are listed the other way round.
    for policy in sorted(policies, key=_policy_order):
        by_tier.setdefault(policy.tier, []).append(policy)
    windows = []
    for occ in occurrences:
        for n, policy in enumerate(by_tier.get(occ.tier, ())):
            windows.append(
                FreezeWindow(
                    id=f"campaign:{occ.campaign_id}" + (f":{n}" if n else ""),
                    kind=FreezeKind.CAMPAIGN,
                    name=occ.name,
                    starts_at=occ.starts_at - policy.before,
                    ends_at=occ.ends_at + policy.after,
                    allow=frozenset(policy.allow),
                    systems=frozenset(occ.systems),
                    environments=frozenset(policy.environments),
                    reason=_campaign_reason(occ, policy),
                    campaign_id=occ.campaign_id,
                )
            )
    return windows


def _policy_order(policy: CampaignFreezeSpec) -> tuple[object, ...]:
    return (
        policy.before,
        policy.after,
        sorted(set(policy.allow)),
        sorted(set(policy.environments)),
    )


def _campaign_reason(occ: Occurrence, policy: CampaignFreezeSpec) -> str:
    if not policy.before and not policy.after:
        return f"tier {occ.tier}, during the campaign"
    return f"tier {occ.tier}, {_hours(policy.before)} before to {_hours(policy.after)} after"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h"


def recurring_windows(
    spec: RecurringFreezeSpec, *, default_tz: str, start: datetime, end: datetime
) -> list[FreezeWindow]:
    """Windows of a recurring policy that overlap [start, end).

    The RRULE runs over local wall-clock times in the policy's zone, and each window ends
    `duration` of wall clock after it starts: "Friday 15:00 for 66 h" ends Monday 09:00
    local even when a DST change falls inside (so it lasts 65 or 67 real hours).
    """
    zone = ZoneInfo(spec.timezone or default_tz)
    first = spec.start
    if first.tzinfo is not None:
        first = first.astimezone(zone).replace(tzinfo=None)
    rule = rrulestr(spec.rrule, dtstart=first)
    local_from = (start.astimezone(zone) - spec.duration - timedelta(days=1)).replace(tzinfo=None)
    local_to = (end.astimezone(zone) + timedelta(days=1)).replace(tzinfo=None)
    windows = []
    for local_start in rule.xafter(local_from, count=MAX_RECURRING_WINDOWS, inc=True):
        if local_start > local_to:
            break
        starts_at = local_start.replace(tzinfo=zone).astimezone(UTC)
        ends_at = (local_start + spec.duration).replace(tzinfo=zone).astimezone(UTC)
        if ends_at <= start or starts_at >= end:
            continue
        windows.append(
            FreezeWindow(
                id=f"recurring:{spec.id}:{local_start:%Y%m%dT%H%M}",
                kind=FreezeKind.RECURRING,
                name=spec.name or spec.id,
                starts_at=starts_at,
                ends_at=ends_at,
                allow=frozenset(spec.allow),
                systems=frozenset(spec.systems),
                environments=frozenset(spec.environments),
                reason=spec.reason,
            )
        )
    return windows
