"""Campaigns and freeze windows as an iCalendar (RFC 5545) feed marketing can subscribe to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import icalendar

from launchdeck.calendar.ics import KIND_PROPERTY, PRODID, X_PROPERTIES
from launchdeck.calendar.model import ChangeType, FreezeWindow
from launchdeck.workspace.model import Campaign

__all__ = ["export_calendar"]


def export_calendar(
    campaigns: Sequence[Campaign],
    freezes: Sequence[FreezeWindow],
    *,
    calendar_name: str,
    generated_at: datetime,
) -> bytes:
    """A VCALENDAR with one UTC VEVENT per campaign and per freeze window; same input, same bytes.

    Campaign events carry the mapping convention (X-LAUNCHDECK-* and DESCRIPTION lines), so
    read_feed gives them back; freeze events are marked X-LAUNCHDECK-KIND:FREEZE and skipped.
    """
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("X-WR-CALNAME", icalendar.vText(calendar_name))
    stamp = _utc(generated_at)
    events = [_campaign_event(c, stamp) for c in campaigns]
    events += [_freeze_event(f, stamp) for f in freezes]
    for _start, _uid, event in sorted(events, key=lambda e: (e[0], e[1])):
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _event(
    uid: str, summary: str, start: datetime, end: datetime, stamp: datetime
) -> tuple[datetime, str, icalendar.Event]:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", stamp)
    event.add("DTSTART", _utc(start))
    event.add("DTEND", _utc(end))
    event.add("SUMMARY", summary)
    return _utc(start), uid, event


def _campaign_event(campaign: Campaign, stamp: datetime) -> tuple[datetime, str, icalendar.Event]:
    start, uid, event = _event(
        f"campaign-{campaign.id}@launchdeck",
        campaign.name,
        campaign.starts_at,
        campaign.ends_at,
        stamp,
    )
    revenue = _number(campaign.revenue_per_hour)
    lines = [
        f"tier: {campaign.tier}",
        f"revenue per hour: {revenue}",
        f"currency: {campaign.currency}",
    ]
    lines += [f"systems: {', '.join(campaign.systems)}"] if campaign.systems else []
    lines += [f"channels: {', '.join(campaign.channels)}"] if campaign.channels else []
    if campaign.description:
        lines += ["", campaign.description]
    event.add("CATEGORIES", ["campaign", f"tier-{campaign.tier}"])
    event.add("DESCRIPTION", "\n".join(lines))
    exact = {
        "tier": str(campaign.tier),
        "revenue_per_hour": revenue,
        "currency": campaign.currency,
        "systems": ",".join(campaign.systems),
        "channels": ",".join(campaign.channels),
    }
    for field, name in X_PROPERTIES.items():
        event.add(name, icalendar.vText(exact[field]))
    return start, uid, event


def _freeze_event(freeze: FreezeWindow, stamp: datetime) -> tuple[datetime, str, icalendar.Event]:
    start, uid, event = _event(
        f"freeze-{freeze.id}@launchdeck",
        f"Deploy freeze: {freeze.name}",
        freeze.starts_at,
        freeze.ends_at,
        stamp,
    )
    allowed = [t.value for t in ChangeType if t in freeze.allow]
    # No line starts with a mapping key ("systems:"), should this text ever come back as a feed.
    lines = [
        f"Allowed changes: {', '.join(allowed) or 'none'}",
        f"Frozen systems: {', '.join(sorted(freeze.systems)) or 'all systems'}",
        "Environments: "
        + (", ".join(sorted(freeze.environments)) or "all production-like environments"),
    ]
    if freeze.reason:
        lines.append(f"Reason: {freeze.reason}")
    event.add("CATEGORIES", ["freeze"])
    event.add("DESCRIPTION", "\n".join(lines))
    event.add(KIND_PROPERTY, icalendar.vText("FREEZE"))
    return start, uid, event


def _number(value: float) -> str:
    """12000.0 -> '12000'; other floats as repr, which reads back exactly."""
    return str(int(value)) if value.is_integer() else repr(value)
