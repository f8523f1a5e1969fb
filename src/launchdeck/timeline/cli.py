"""`launchdeck timeline`: the change events, newest first."""

from __future__ import annotations

from typing import Annotated

import typer

from launchdeck.cli.context import app_context

__all__ = ["register"]


def timeline(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="2h, 7d or an ISO 8601 time.")] = None,
    until: Annotated[str | None, typer.Option(help="2h, 7d or an ISO 8601 time.")] = None,
    system: Annotated[str | None, typer.Option(help="Only events about this system.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="A kind (system.changed) or its prefix (system).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Events per page.")] = 50,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of a previous page.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show change events: who changed what, when."""
    from pydantic import ValidationError

    from launchdeck.cli.render import console, emit_json, fmt_time, table
    from launchdeck.client import utc_now
    from launchdeck.durations import parse_instant
    from launchdeck.errors import UsageError
    from launchdeck.timeline.model import TimelineQuery

    now = utc_now()
    try:
        query = TimelineQuery(
            since=parse_instant(since, now=now) if since else None,
            until=parse_instant(until, now=now) if until else None,
            system=system,
            kind=kind,
            limit=limit,
            cursor=cursor,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise UsageError(
            f"--{error['loc'][0]}: {error['msg']}",
            hint="system ids are lowercase with dashes (checkout-api); kinds look like "
            "system.changed or system",
        ) from None
    page = app_context(ctx).client.timeline.query(query)
    if as_json:
        emit_json(page)
        return
    rows = [
        (
            e.id,
            fmt_time(e.occurred_at),
            e.actor,
            e.kind,
            e.subject,
            ", ".join(str(f) for f in e.payload.get("fields", None) or []) or None,  # type: ignore[union-attr]
        )
        for e in page.events
    ]
    out = console()
    out.print(table("Timeline", ["#", "time", "actor", "kind", "subject", "fields"], rows))
    if page.next_cursor:
        out.print(f"[dim]older events: launchdeck timeline --cursor {page.next_cursor}[/]")


def record(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="deploy, config, flag, content or infra.")],
    system: Annotated[str, typer.Argument(help="The system that changed.")],
    env: Annotated[str | None, typer.Option("--env", help="The environment.")] = None,
    version: Annotated[str | None, typer.Option(help="What was deployed (v2.4.0, a SHA).")] = None,
    note: Annotated[str | None, typer.Option(help="What changed, in a line.")] = None,
    url: Annotated[str | None, typer.Option(help="The pipeline run or change request.")] = None,
    at: Annotated[str | None, typer.Option(help="When: 10m (ago) or ISO 8601; now.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Record a change made outside launchdeck (a CI deploy …) on the timeline."""
    from pydantic import ValidationError

    from launchdeck.cli.render import console, emit_json, fmt_time
    from launchdeck.client import utc_now
    from launchdeck.durations import parse_instant
    from launchdeck.errors import UsageError
    from launchdeck.timeline.model import RecordRequest

    try:
        request = RecordRequest(
            kind=kind,
            system=system,
            environment=env,
            version=version,
            note=note,
            url=url,
            at=parse_instant(at, now=utc_now()) if at else None,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise UsageError(
            f"{error['loc'][0]}: {error['msg']}",
            hint="kinds: deploy, config, flag, content, infra; ids are lowercase with dashes",
        ) from None
    event = app_context(ctx).client.timeline.record(request)
    if as_json:
        emit_json(event)
    else:
        console().print(
            f"recorded #{event.id} {event.kind} {system} at {fmt_time(event.occurred_at)}"
        )


def register(app: typer.Typer) -> None:
    app.command()(timeline)
    app.command()(record)
