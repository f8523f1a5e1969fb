"""`launchdeck slo validate|import-sloth|list|status|rules`: SLOs and error budgets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from launchdeck.cli.context import app_context

__all__ = ["register"]

slo_app = typer.Typer(
    help="SLOs (OpenSLO v1), error budgets, burn-rate alerts and Prometheus rules.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@slo_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="OpenSLO v1 YAML files.")],
    as_json: JsonOpt = False,
) -> None:
    """Check OpenSLO files: errors and the spec's traps, each with file:line:column."""
    from launchdeck.cli.render import console, emit_json, err_console
    from launchdeck.errors import ValidationFailed
    from launchdeck.reliability.openslo_files import validate_openslo

    report = validate_openslo(files)

    def entry(p: object) -> dict[str, object]:
        return {
            "where": getattr(p, "where", None),
            "field": getattr(p, "field", None),
            "message": getattr(p, "message", str(p)),
            "hint": getattr(p, "hint", None),
        }

    if as_json:
        emit_json(
            {
                "valid": not report.errors,
                "errors": [entry(p) for p in report.errors],
                "warnings": [entry(p) for p in report.warnings],
            }
        )
        if report.errors:
            raise typer.Exit(1)
        return
    err = err_console()
    for warning in report.warnings:
        err.print(f"[yellow]warning[/]: {warning}")
        if warning.hint:
            err.print(f"  hint: {warning.hint}")
    if report.errors:
        raise ValidationFailed(report.errors, source=", ".join(str(f) for f in files))
    noun = "file" if len(files) == 1 else "files"
    console().print(
        f"[green]valid[/]: {len(files)} OpenSLO {noun}"
        + (f", {len(report.warnings)} warning(s)" if report.warnings else "")
    )


@slo_app.command("import-sloth")
def import_sloth_cmd(
    file: Annotated[Path, typer.Argument(help="A Sloth prometheus/v1 spec.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Convert a Sloth spec to OpenSLO v1 documents (Service + SLOs)."""
    from launchdeck.cli.render import console
    from launchdeck.reliability.openslo_files import dump_openslo
    from launchdeck.reliability.sloth import import_sloth

    text = dump_openslo(import_sloth(file))
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console().print(f"[green]wrote[/] {output}: reference it under references.slos")


@slo_app.command("list")
def list_slos(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Argument(help="Only this system's SLOs.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The workspace's SLOs: objectives, windows, methods, protected campaign windows."""
    from launchdeck.cli.render import console, emit_json, table

    items = app_context(ctx).client.slos.list_slos(system)
    if as_json:
        emit_json(items)
        return
    rows = [
        (
            s.slo,
            s.system,
            ", ".join(f"{o.name} {o.target * 100:g}%" for o in s.objectives),
            f"{'rolling' if s.rolling else 'calendar'} {s.window}",
            str(s.method),
            ", ".join(s.protected_by) or "—",
        )
        for s in items
    ]
    out = table(
        "SLOs",
        ["slo", "system", "objectives", "window", "method", "protected by"],
        rows,
    )
    out.columns[0].no_wrap = True  # an SLO name is what people copy from here
    console().print(out)


@slo_app.command("status")
def status(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Argument(help="Only this system's SLOs.")] = None,
    at: Annotated[
        str | None, typer.Option(help="As of this past instant: ISO 8601 or a duration ago (2h).")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write a burn-down chart here (.svg).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Budget left, burn rate per window, firing alert tiers and time to exhaustion."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.client import utc_now
    from launchdeck.durations import parse_instant
    from launchdeck.errors import UpstreamError, UsageError
    from launchdeck.reliability.render import print_status

    if chart is not None and chart.suffix.lower() != ".svg":
        raise UsageError(
            f"cannot write a chart as {chart.suffix or 'no suffix'}", hint="--chart burn.svg"
        )
    when = parse_instant(at, now=utc_now()) if at is not None else None
    report = app_context(ctx).client.slos.status(system, at=when, series=chart is not None)
    if chart is not None:
        from launchdeck.reliability.chart import burn_down_svg

        if not report.burn_down:
            unread = [st.error for st in report.statuses if st.error]
            if unread:
                raise UpstreamError(
                    f"no SLI data to draw: {unread[0]}",
                    hint="check that Prometheus answers at LAUNCHDECK_PROMETHEUS_URL",
                )
            raise UsageError("no SLI data to draw", hint="check 'launchdeck slo status' first")
        title = f"Error budget burn-down{f' — {system}' if system else ''}"
        chart.write_text(burn_down_svg(report.burn_down, title=title), encoding="utf-8")
    if as_json:
        emit_json(report)
        return
    print_status(console(), report.statuses)
    if chart is not None:
        console().print(f"[green]wrote[/] {chart}")


@slo_app.command("rules")
def rules(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Prometheus recording + alerting rules (Sloth's metric names); `promtool check rules` ok."""
    from launchdeck.cli.render import console

    text = app_context(ctx).client.slos.rules()
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    groups = text.count("- name: ")
    console().print(f"[green]wrote[/] {output}: {groups} rule groups")


@slo_app.command("export")
def export(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Argument(help="Only this system's SLOs.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """The stored SLOs as OpenSLO v1 YAML (indicators and alert policies inlined), for other
    OpenSLO tools."""
    from launchdeck.cli.render import console

    text = app_context(ctx).client.slos.export(system)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console().print(f"[green]wrote[/] {output}: {text.count('kind: SLO')} SLO(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(slo_app, name="slo")
