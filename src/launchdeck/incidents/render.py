"""Rich rendering of incidents: the list with MTTD/MTTR, and one incident with its timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from rich.console import Console
from rich.markup import escape

from launchdeck.cli.render import fmt_time, table
from launchdeck.incidents.model import Incident, IncidentView
from launchdeck.incidents.severity import Severity, format_money, format_rates

__all__ = ["fmt_span", "print_incident", "print_incidents"]

_STYLE = {
    Severity.SEV1: "bold white on red",
    Severity.SEV2: "bold red",
    Severity.SEV3: "yellow",
    Severity.SEV4: "cyan",
}


def fmt_span(value: timedelta | float | None) -> str:
    """ "4 min", "2 h 05 min", "-"."""
    if value is None:
        return "-"
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest:02d} min"
    return f"{hours // 24} d {hours % 24} h"


def _sev(severity: Severity, manual: bool = False) -> str:
    return f"[{_STYLE[severity]}]{severity}[/]" + (" (set by hand)" if manual else "")


def _risk(incident: Incident) -> str:
    at_risk = incident.assessment.revenue_at_risk_per_hour
    return format_rates(at_risk)


def print_incidents(
    console: Console, incidents: Sequence[Incident], *, tz: str | None = None
) -> None:
    if not incidents:
        console.print("no incidents")
        return
    rows = [
        (
            i.ref,
            _sev(i.severity),
            str(i.priority),
            str(i.status),
            escape(i.title),
            ", ".join(i.systems),
            _risk(i),
            fmt_time(i.detected_at, tz),
            fmt_span(i.time_to_detect),
            fmt_span(i.time_to_resolve),
        )
        for i in incidents
    ]
    console.print(
        table(
            "Incidents",
            ["id", "sev", "pri", "status", "title", "systems", "at risk", "detected", "TTD", "TTR"],
            rows,
        )
    )
    resolved = [i.time_to_resolve for i in incidents if i.time_to_resolve is not None]
    detect = [i.time_to_detect for i in incidents]
    mttd = sum(detect, timedelta()) / len(detect)
    mttr = sum(resolved, timedelta()) / len(resolved) if resolved else None
    console.print(
        f"MTTD {fmt_span(mttd)} over {len(detect)} · MTTR {fmt_span(mttr)} over {len(resolved)}"
    )


def print_incident(console: Console, item: IncidentView, *, tz: str | None = None) -> None:
    i = item.incident
    a = i.assessment
    roles = i.roles
    lines = [
        f"{_sev(i.severity, i.severity_manual)} · {i.priority} · {i.status} · {i.signal} on "
        f"{', '.join(i.systems)}" + (f" · type {escape(i.type)}" if i.type else ""),
        f"revenue at risk: [bold]{_risk(i)}[/] · {len(a.campaigns)} live campaign(s) affected",
        f"why: {escape(a.rule)}",
        escape(
            f"commander {roles.commander or '-'} · scribe {roles.scribe or '-'} · "
            f"liaison {roles.liaison or '-'}"
            + (f" · with {', '.join(roles.participants)}" if roles.participants else "")
        ),
        f"started {fmt_time(i.started_at, tz)} · detected {fmt_time(i.detected_at, tz)} "
        f"(TTD {fmt_span(i.time_to_detect)}) · mitigated {fmt_time(i.mitigated_at, tz)} "
        f"(TTM {fmt_span(i.time_to_mitigate)}) · resolved {fmt_time(i.resolved_at, tz)} "
        f"(TTR {fmt_span(i.time_to_resolve)})",
    ]
    if i.summary:
        lines.insert(0, escape(i.summary))
    console.print(f"[bold]{i.ref}: {escape(i.title)}[/]")
    for line in lines:
        console.print(f"  {line}")
    if a.campaigns:
        console.print(
            table(
                "Campaigns affected",
                ["campaign", "tier", "path", "revenue/h", "at risk/h"],
                [
                    (
                        escape(c.name),
                        c.tier,
                        " → ".join(c.path),
                        format_money(c.revenue_per_hour, c.currency),
                        format_money(c.revenue_at_risk_per_hour, c.currency),
                    )
                    for c in a.campaigns
                ],
            )
        )
    console.print(
        table(
            "Timeline",
            ["", "time", "kind", "who", "what"],
            [
                (
                    "★" if e.pinned else "",
                    fmt_time(e.at, tz),
                    str(e.kind),
                    escape(e.actor),
                    escape(e.text),
                )
                for e in item.entries
            ],
        )
    )
    if item.tasks:
        console.print(
            table(
                "Tasks",
                ["#", "status", "title", "owner", "due", "type"],
                [
                    (
                        t.id,
                        str(t.status),
                        escape(t.title),
                        escape(t.owner) if t.owner else None,
                        fmt_time(t.due_at, tz),
                        t.action_type or str(t.kind),
                    )
                    for t in item.tasks
                ],
            )
        )
