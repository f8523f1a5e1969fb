"""Rich rendering of a verdict: one ✓/!/?/✗ line per check, then what is at stake."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from launchdeck.gate.model import CheckOutcome, Decision, Verdict

__all__ = ["print_verdict"]

_MARK = {
    CheckOutcome.PASS: "[green]✓[/]",
    CheckOutcome.UNKNOWN: "[dim]?[/]",
    CheckOutcome.WARN: "[yellow]![/]",
    CheckOutcome.BLOCK: "[red]✗[/]",
}
_HEAD = {
    Decision.ALLOW: "[bold green]ALLOW[/]",
    Decision.WARN: "[bold yellow]WARN[/]",
    Decision.BLOCK: "[bold red]BLOCK[/]",
}


def print_verdict(out: Console, verdict: Verdict) -> None:
    r = verdict.request
    out.print(
        f"{_HEAD[verdict.decision]} {r.change_type} to {escape(r.system)} in {r.environment} "
        f"at {verdict.at:%Y-%m-%d %H:%M UTC}"
    )
    for check in verdict.checks:
        out.print(f"  {_MARK[check.outcome]} {check.check}: {escape(check.summary)}")
    if verdict.affected:
        out.print(
            f"  at stake: {len(verdict.affected)} campaign(s), "
            f"{verdict.revenue_per_hour_at_stake:,.0f} per hour"
        )
        for a in verdict.affected:
            out.print(
                f"    tier {a.tier} {escape(a.name)} ({a.revenue_per_hour:,.0f} {a.currency}/h) "
                f"via {escape(' → '.join(a.path))}"
            )
    if verdict.decision is Decision.BLOCK:
        if verdict.next_allowed_at is not None:
            out.print(f"  next allowed: {verdict.next_allowed_at:%Y-%m-%d %H:%M UTC}")
        elif verdict.next_allowed_note:
            out.print(f"  next allowed: {escape(verdict.next_allowed_note)}")
