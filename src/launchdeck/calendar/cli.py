"""`launchdeck calendar [export]` and `launchdeck freeze add|list|lift`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from launchdeck.cli.context import app_context

__all__ = ["register"]

calendar_app = typer.Typer(
    help="Campaigns and deploy freezes over time.", invoke_without_command=True
)
freeze_app = typer.Typer(help="Ad-hoc deploy freezes.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_DEFAULT_SPAN = timedelta(days=14)


@calendar_app.callback()
def calendar(
    ctx: typer.Context,
    start: Annotated[
        str | None, typer.Option("--from", help="Start (ISO 8601 or 2d for 2 days ago); now.")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="End (ISO 8601 or 14d ahead).")] = None,
    system: Annotated[
        str | None, typer.Option(help="Only what a change to this system would touch.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show campaigns and freeze windows (default: the next 14 days)."""
    if ctx.invoked_subcommand is not None:
        return
    from launchdeck.calendar.render import print_calendar
    from launchdeck.cli.render import console, emit_json
    from launchdeck.client import utc_now
    from launchdeck.durations import parse_instant, until_instant

    now = utc_now()
    begin = parse_instant(start, now=now) if start else now
    finish = until_instant(end, now=begin) if end else begin + _DEFAULT_SPAN
    view = app_context(ctx).client.calendar.view(start=begin, end=finish, system=system)
    if as_json:
        emit_json(view)
    else:
        print_calendar(console(), view)


@calendar_app.command("export")
def export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Campaigns and freeze windows as an iCalendar feed marketing can subscribe to."""
    import sys

    from launchdeck.cli.render import err_console

    body = app_context(ctx).client.calendar.export_ics()
    if output is None:
        sys.stdout.write(body.decode())
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(body)
    err_console().print(f"[green]wrote[/] {output} ({body.count(b'BEGIN:VEVENT')} events)")


@freeze_app.command("add")
def freeze_add(
    ctx: typer.Context,
    until: Annotated[str, typer.Option(help="End: 4h, or an ISO 8601 instant.")],
    reason: Annotated[str, typer.Option(help="Why (shown in every verdict it causes).")],
    system: Annotated[str | None, typer.Option(help="Only this system; all when omitted.")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Start (ISO 8601); now when omitted.")
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(help="Change types still allowed (repeatable); rollback and hotfix."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Freeze deploys now (scope deploy)."""
    from launchdeck.calendar.model import ChangeType
    from launchdeck.calendar.service import DEFAULT_ALLOW
    from launchdeck.cli.render import console, emit_json, fmt_time
    from launchdeck.client import utc_now
    from launchdeck.durations import parse_instant, until_instant
    from launchdeck.errors import UsageError

    kinds = {c.value for c in ChangeType}
    bad = [a for a in allow or () if a not in kinds]
    if bad:
        raise UsageError(f"unknown change type {bad[0]!r}", hint=f"use: {', '.join(sorted(kinds))}")
    now = utc_now()
    window = app_context(ctx).client.calendar.add_freeze(
        reason=reason,
        until=until_instant(until, now=now),
        start=parse_instant(start, now=now) if start else None,
        system=system,
        environment=env,
        allow=[ChangeType(a) for a in allow] if allow else DEFAULT_ALLOW,
    )
    if as_json:
        emit_json(window)
        return
    where = ", ".join(sorted(window.systems)) or "all systems"
    console().print(
        f"[red]freeze[/] {window.id}: {where} until {fmt_time(window.ends_at)} "
        f"(allows {', '.join(sorted(window.allow)) or 'nothing'})"
    )


@freeze_app.command("list")
def freeze_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Ad-hoc freezes not yet over."""
    from launchdeck.calendar.render import freeze_rows
    from launchdeck.cli.render import console, emit_json, table

    items = app_context(ctx).client.calendar.freezes()
    if as_json:
        emit_json(items)
        return
    console().print(
        table("Freezes", ["id", "name", "from", "until", "systems", "allows"], freeze_rows(items))
    )


@freeze_app.command("lift")
def freeze_lift(
    ctx: typer.Context,
    freeze_id: Annotated[str, typer.Argument(help="The freeze id (see 'freeze list').")],
    as_json: JsonOpt = False,
) -> None:
    """Lift an ad-hoc freeze (scope admin)."""
    from launchdeck.cli.render import console, emit_json

    window = app_context(ctx).client.calendar.lift_freeze(freeze_id)
    if as_json:
        emit_json(window)
        return
    console().print(f"[green]lifted[/] freeze {window.id} ({window.name})")


def register(app: typer.Typer) -> None:
    app.add_typer(calendar_app, name="calendar")
    app.add_typer(freeze_app, name="freeze")
