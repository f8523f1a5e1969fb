"""Workspace commands: init, validate, plan, apply, status and the resource reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from launchdeck.cli.context import app_context

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _loaded(ctx: typer.Context) -> Any:
    from launchdeck.workspace.load import load_workspace

    return load_workspace(app_context(ctx).settings.workspace_file)


def init(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Argument(help="Where to create the workspace [default: the --workspace directory]."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Scaffold a workspace: a launchdeck.yaml with commented examples."""
    from launchdeck.cli.render import console
    from launchdeck.workspace.scaffold import scaffold

    target = directory if directory is not None else app_context(ctx).settings.workspace_dir
    written = scaffold(target, force=force)
    out = console()
    for path in written:
        out.print(f"[green]created[/] {path}")
    out.print(f"next: edit {written[0]}, then run 'launchdeck validate' and 'launchdeck plan'")


def validate(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check the workspace; every problem names file:line:column, the field and a fix."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.errors import ConfigError, ValidationFailed

    try:
        loaded = _loaded(ctx)
    except ConfigError as exc:
        if not as_json:
            raise
        problems = exc.problems if isinstance(exc, ValidationFailed) else (exc,)
        emit_json(
            {
                "valid": False,
                "errors": [
                    {
                        "where": p.where,
                        "field": getattr(p, "field", None),
                        "message": p.message,
                        "hint": p.hint,
                    }
                    for p in problems
                ],
            }
        )
        raise typer.Exit(1) from None
    spec = loaded.spec
    counts = {
        "environments": len(spec.environments),
        "systems": len(spec.systems),
        "campaigns": len(spec.campaigns),
        "slos": len(spec.slos),
        "flags": len(spec.flags),
        "metrics": len(spec.metrics),
        "experiments": len(spec.experiments),
        "rollouts": len(spec.references.rollouts),
    }
    warnings = [
        {"where": w.where, "field": w.field, "message": w.message, "hint": w.hint}
        for w in loaded.warnings
    ]
    if as_json:
        emit_json({"valid": True, "file": str(loaded.path), "counts": counts, "warnings": warnings})
        return
    from launchdeck.cli.render import err_console

    for warning in loaded.warnings:
        err_console().print(f"[yellow]warning[/]: {warning}")
        if warning.hint:
            err_console().print(f"  hint: {warning.hint}")
    always = ("environments", "systems", "campaigns")
    summary = ", ".join(
        _count(n, _NOUNS.get(k, k.removesuffix("s"))) for k, n in counts.items() if n or k in always
    )
    console().print(f"[green]✓[/] {loaded.path} is valid: {summary}")


def plan(
    ctx: typer.Context,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 when there are no changes, 4 when there are."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show what apply would change against the stored state."""
    from launchdeck.cli.main import EXIT_CHANGES
    from launchdeck.cli.render import console, emit_json
    from launchdeck.workspace.render import print_plan

    app = app_context(ctx)
    spec = _loaded(ctx).spec
    result = app.client.workspace.plan(spec)
    if as_json:
        emit_json(result)
    else:
        print_plan(console(), result, target=app.client.target)
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(EXIT_CHANGES)


def apply(
    ctx: typer.Context,
    expected_revision: Annotated[
        int | None,
        typer.Option(
            help="Refuse unless the store is still at this revision (from a reviewed plan)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply the workspace in one transaction; a failure changes nothing."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.workspace.render import plan_summary, print_plan

    app = app_context(ctx)
    spec = _loaded(ctx).spec
    result = app.client.workspace.apply(spec, expected_revision=expected_revision)
    if as_json:
        emit_json(result)
        return
    out = console()
    print_plan(out, result.plan, target=app.client.target)
    if result.plan.has_changes:
        out.print(
            f"[green]Applied[/] revision {result.revision}: "
            f"{plan_summary(result.plan, done=True)}; "
            f"{_count(len(result.event_ids), 'event')} on the timeline."
        )


def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Where the state lives, its revision and what it holds."""
    from launchdeck.cli.render import console, emit_json, table

    app = app_context(ctx)
    info = app.client.workspace.info()
    if as_json:
        emit_json(
            {"mode": app.client.mode, "target": app.client.target, **info.model_dump(mode="json")}
        )
        return
    name = info.settings.name if info.settings else "(nothing applied yet)"
    rows = [
        ("mode", app.client.mode),
        ("state", app.client.target),
        ("workspace", name),
        ("timezone", info.settings.timezone if info.settings else "-"),
        ("revision", info.revision),
        *((f"{kind}s", n) for kind, n in info.counts.items()),
    ]
    console().print(table(None, ["", ""], rows, show_header=False))


systems_app = typer.Typer(
    help="Systems: the services and sites your campaigns run on.", no_args_is_help=True
)
environments_app = typer.Typer(help="Environments (staging, production …).", no_args_is_help=True)
campaigns_app = typer.Typer(help="Campaigns: when revenue is at stake.", no_args_is_help=True)


@systems_app.command("list")
def systems_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Systems with tier, owners and dependencies."""
    from launchdeck.cli.render import console, emit_json, table

    items = app_context(ctx).client.workspace.systems()
    if as_json:
        emit_json(items)
        return
    rows = [(s.id, s.name, s.tier, ", ".join(s.depends_on), ", ".join(s.owners)) for s in items]
    console().print(table("Systems", ["id", "name", "tier", "depends on", "owners"], rows))


@systems_app.command("show")
def systems_show(ctx: typer.Context, system_id: str, as_json: JsonOpt = False) -> None:
    """One system in full."""
    _show(app_context(ctx).client.workspace.system(system_id), as_json)


@environments_app.command("list")
def environments_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Environments."""
    from launchdeck.cli.render import console, emit_json, table

    items = app_context(ctx).client.workspace.environments()
    if as_json:
        emit_json(items)
        return
    rows = [(e.id, e.name, "yes" if e.production_like else "no") for e in items]
    console().print(table("Environments", ["id", "name", "production-like"], rows))


@environments_app.command("show")
def environments_show(ctx: typer.Context, environment_id: str, as_json: JsonOpt = False) -> None:
    """One environment in full."""
    _show(app_context(ctx).client.workspace.environment(environment_id), as_json)


@campaigns_app.command("list")
def campaigns_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Campaigns with their window (in the campaign's zone), tier and revenue per hour."""
    from launchdeck.cli.render import console, emit_json, fmt_time, table

    items = app_context(ctx).client.workspace.campaigns()
    if as_json:
        emit_json(items)
        return
    rows = [
        (
            c.id,
            c.name,
            c.tier,
            fmt_time(c.starts_at, c.timezone),
            fmt_time(c.ends_at, c.timezone),
            f"{c.revenue_per_hour:,.0f} {c.currency}",
            ", ".join(c.systems),
        )
        for c in items
    ]
    console().print(
        table("Campaigns", ["id", "name", "tier", "starts", "ends", "revenue/h", "systems"], rows)
    )


@campaigns_app.command("show")
def campaigns_show(ctx: typer.Context, campaign_id: str, as_json: JsonOpt = False) -> None:
    """One campaign in full."""
    _show(app_context(ctx).client.workspace.campaign(campaign_id), as_json)


def _show(item: Any, as_json: bool) -> None:
    from launchdeck.cli.render import console, emit_json, table

    if as_json:
        emit_json(item)
        return
    rows = [
        (k, v if not isinstance(v, list | dict) else _compact(v))
        for k, v in item.model_dump(mode="json").items()
    ]
    console().print(table(None, ["field", "value"], rows))


_NOUNS = {"slos": "SLO", "rollouts": "rollout strategy"}


def _count(n: int, noun: str) -> str:
    if noun.endswith("y") and n != 1:
        return f"{n} {noun[:-1]}ies"
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(validate)
    app.command()(plan)
    app.command()(apply)
    app.command()(status)
    app.add_typer(systems_app, name="systems")
    app.add_typer(environments_app, name="environments")
    app.add_typer(campaigns_app, name="campaigns")
