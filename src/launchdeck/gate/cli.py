"""`launchdeck gate check|override|overrides`: the deploy decision for CI and people."""

from __future__ import annotations

from typing import Annotated

import typer

from launchdeck.cli.context import app_context

__all__ = ["register"]

gate_app = typer.Typer(
    help="The deploy gate: may this change go out, here, now?", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@gate_app.command("check")
def check(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The system the change goes to.")],
    env: Annotated[str, typer.Option("--env", help="Target environment.")] = "production",
    change_type: Annotated[
        str,
        typer.Option(help="rollback, hotfix, content, config, flag, feature or reliability."),
    ] = "feature",
    at: Annotated[
        str | None,
        typer.Option(help="When the change would land: ISO 8601, or a duration ahead (2h)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask the gate. Exit 0 allow (warnings printed), 3 block."""
    from pydantic import ValidationError

    from launchdeck.calendar.model import ChangeType
    from launchdeck.cli.main import EXIT_BLOCKED
    from launchdeck.cli.render import console, emit_json
    from launchdeck.client import utc_now
    from launchdeck.durations import until_instant
    from launchdeck.errors import UsageError
    from launchdeck.gate.model import Decision, GateRequest
    from launchdeck.gate.render import print_verdict

    if change_type not in {c.value for c in ChangeType}:
        allowed = ", ".join(c.value for c in ChangeType)
        raise UsageError(f"unknown change type {change_type!r}", hint=f"use one of: {allowed}")
    when = until_instant(at, now=utc_now()) if at is not None else None
    try:
        request = GateRequest(
            system=system, environment=env, change_type=ChangeType(change_type), at=when
        )
    except ValidationError as exc:  # a malformed id or time: a usage error, not a traceback
        error = exc.errors()[0]
        field = str(error["loc"][0])
        raise UsageError(
            f"{field}: {error['msg'].removeprefix('Value error, ')}",
            hint="system and environment ids are lowercase with dashes (checkout-api)"
            if field in {"system", "environment"}
            else None,
        ) from None
    verdict = app_context(ctx).client.gate.check(request)
    if as_json:
        emit_json(verdict)
    else:
        print_verdict(console(), verdict)
    if verdict.decision is Decision.BLOCK:
        raise typer.Exit(EXIT_BLOCKED)


@gate_app.command("override")
def override(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The system freezes should not block.")],
    until: Annotated[str, typer.Option(help="How long: 2h, or an ISO 8601 end.")],
    reason: Annotated[str, typer.Option(help="Why this cannot wait (on the timeline).")],
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Except a system from freezes and error-budget blocks for a while (admin; time-boxed)."""
    from launchdeck.cli.render import console, emit_json, fmt_time
    from launchdeck.client import utc_now
    from launchdeck.durations import until_instant

    created = app_context(ctx).client.gate.add_override(
        system, until=until_instant(until, now=utc_now()), reason=reason, environment=env
    )
    if as_json:
        emit_json(created)
        return
    console().print(
        f"[yellow]override[/] {created.id}: freezes and error-budget blocks on {created.system} "
        "warn instead of block "
        f"until {fmt_time(created.ends_at)} ({created.reason})"
    )


@gate_app.command("overrides")
def overrides(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Overrides that have not ended."""
    from launchdeck.cli.render import console, emit_json, fmt_time, table

    items = app_context(ctx).client.gate.overrides()
    if as_json:
        emit_json(items)
        return
    rows = [
        (
            o.id,
            o.system,
            o.environment or "all",
            fmt_time(o.starts_at),
            fmt_time(o.ends_at),
            o.created_by,
            o.reason,
        )
        for o in items
    ]
    console().print(
        table("Gate overrides", ["id", "system", "env", "from", "until", "by", "reason"], rows)
    )


def register(app: typer.Typer) -> None:
    app.add_typer(gate_app, name="gate")
