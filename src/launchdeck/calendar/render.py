"""Rich rendering of the calendar view."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console

from launchdeck.calendar.model import FreezeWindow
from launchdeck.calendar.service import CalendarView
from launchdeck.cli.render import fmt_time, table

__all__ = ["freeze_rows", "print_calendar"]


def freeze_rows(windows: Sequence[FreezeWindow], tz: str | None = None) -> list[tuple[str, ...]]:
    return [
        (
            w.id,
            w.name,
            fmt_time(w.starts_at, tz),
            fmt_time(w.ends_at, tz),
            ", ".join(sorted(w.systems)) or "all",
            ", ".join(sorted(w.allow)) or "nothing",
        )
        for w in windows
    ]


def print_calendar(out: Console, view: CalendarView) -> None:
    tz = view.timezone
    out.print(f"{fmt_time(view.start, tz)} → {fmt_time(view.end, tz)}")
    rows = [
        (
            o.campaign_id,
            o.name,
            o.tier,
            fmt_time(o.starts_at, tz),
            fmt_time(o.ends_at, tz),
            f"{o.revenue_per_hour:,.0f} {o.currency}",
            ", ".join(o.systems),
        )
        for o in view.campaigns
    ]
    out.print(
        table("Campaigns", ["id", "name", "tier", "starts", "ends", "revenue/h", "systems"], rows)
    )
    out.print(
        table(
            "Deploy freezes",
            ["id", "name", "from", "until", "systems", "allows"],
            freeze_rows(view.freezes, tz),
        )
    )
