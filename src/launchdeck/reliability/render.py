"""Rich rendering of SLO status: one row per objective, then the alert tiers that fire."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from launchdeck.reliability.status import ObjectiveStatus

__all__ = ["fmt_eta", "fmt_ratio", "print_status"]


def fmt_ratio(value: float | None, *, digits: int = 3) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds <= 0:
        return "exhausted"
    delta = timedelta(seconds=seconds)
    if delta >= timedelta(days=2):
        return f"{delta.days}d"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m"


def _left(status: ObjectiveStatus) -> str:
    remaining = status.remaining
    if remaining is None:
        return "[dim]no data[/]"
    colour = "red" if remaining <= 0 else "yellow" if remaining < 0.25 else "green"
    return f"[{colour}]{remaining * 100:.1f}%[/]"


def _burn(status: ObjectiveStatus, window_s: int) -> str:
    for b in status.burn:
        if b.window_s == window_s:
            return "—" if b.burn_rate is None else f"{b.burn_rate:.2f}x"
    return "—"


def _alerts(status: ObjectiveStatus) -> str:
    if status.error:
        return "[dim]unread[/]"
    firing = status.firing
    if not firing:
        return "[green]quiet[/]"
    by_severity: dict[str, int] = {}
    for a in firing:
        by_severity[a.severity] = by_severity.get(a.severity, 0) + 1
    return "[red]" + ", ".join(f"{n} {sev}" for sev, n in by_severity.items()) + "[/]"


def print_status(out: Console, statuses: Sequence[ObjectiveStatus]) -> None:
    if not statuses:
        out.print("no SLOs: list OpenSLO files under references.slos and a system's slos")
        return
    table = Table(title="SLOs and error budgets", title_justify="left")
    widest = max(len(s.slo) for s in statuses)
    table.add_column("SLO / objective", min_width=min(widest, 40), overflow="fold")
    for name in ("target", "SLI", "budget left", "burn 1h", "burn 6h", "burn 1d"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("exhausted in", justify="right")
    table.add_column("alerts firing")
    protected = False
    for s in statuses:
        target = fmt_ratio(s.target, digits=2)
        if s.protected_by:
            target += "[magenta]*[/]"
            protected = True
        table.add_row(
            f"{escape(s.slo)}\n[dim]{escape(s.objective)}[/]",
            target,
            fmt_ratio(s.sli),
            _left(s),
            _burn(s, 3600),
            _burn(s, 6 * 3600),
            _burn(s, 86_400),
            fmt_eta(s.time_to_exhaustion_s),
            _alerts(s),
        )
    out.print(table)
    if protected:
        names = sorted({s.protected_by for s in statuses if s.protected_by})
        out.print(f"  [magenta]*[/] stricter objective while {escape(', '.join(names))} runs")
    for s in statuses:
        if s.error:
            out.print(f"  [dim]?[/] {escape(s.error)}")  # the error names the SLO
            continue
        unit = "bad events" if s.unit == "events" else "bad slices"
        out.print(
            f"  {escape(s.slo)} / {escape(s.objective)}: {s.bad:,.0f} {unit} of {s.allowed:,.1f} "
            f"allowed ({s.method}, {'rolling ' if s.rolling else 'calendar '}{s.window}, since "
            f"{s.period_start:%Y-%m-%d %H:%M UTC})"
        )
        for a in s.firing:
            out.print(f"    [red]●[/] {escape(a.tier)} ({a.severity}): {escape(a.note)}")
