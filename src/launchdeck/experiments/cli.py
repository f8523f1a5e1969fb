"""`launchdeck experiments …`: list, show, plan, analyse (with a chart), validate, sql."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from launchdeck.cli.context import app_context

if TYPE_CHECKING:
    from launchdeck.experiments.service import ExperimentApi

__all__ = ["register"]

experiments_app = typer.Typer(
    help="Experiments on flags: plan against the campaign's deadline, analyse, validate.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Key = Annotated[str, typer.Argument(help="The experiment key.")]
EXIT_FAILED_CHECK = 4
"""`validate` exits with this when a check fails (warnings exit 0)."""


def _api(ctx: typer.Context) -> ExperimentApi:
    return app_context(ctx).client.experiments


@experiments_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every experiment: its flag, environment, phase and window."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.experiments.render import print_experiments

    items = _api(ctx).list_experiments()
    if as_json:
        emit_json([i.model_dump(mode="json") for i in items])
    else:
        print_experiments(console(), items)


@experiments_app.command("show")
def show(ctx: typer.Context, key: Key, as_json: JsonOpt = False) -> None:
    """An experiment's definition and metrics."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.experiments.render import print_experiment

    info = _api(ctx).get(key)
    if as_json:
        emit_json(info.model_dump(mode="json"))
    else:
        print_experiment(console(), info)


@experiments_app.command("plan")
def plan(
    ctx: typer.Context,
    key: Key,
    daily_units: Annotated[
        float | None,
        typer.Option("--daily-units", min=1, help="Eligible units a day (default: recent)."),
    ] = None,
    baseline: Annotated[
        float | None,
        typer.Option(
            min=1e-9,
            max=0.999999,
            help="Control's conversion rate, e.g. 0.03 (default: recent, or the spec).",
        ),
    ] = None,
    mde: Annotated[
        float | None,
        typer.Option(min=1e-6, max=10, help="Relative minimum detectable effect, e.g. 0.05."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sample size per arm, days at the traffic, and whether the campaign lasts long enough."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.experiments.render import print_design

    result = _api(ctx).plan(key, daily_units=daily_units, baseline=baseline, mde=mde)
    if as_json:
        emit_json(result.model_dump(mode="json"))
    else:
        print_design(console(), result)


@experiments_app.command("analyse")
def analyse(
    ctx: typer.Context,
    key: Key,
    chart: Annotated[
        Path | None,
        typer.Option("--chart", help="Also write a chart (.png or .svg): lift with CI, exposure."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every metric × variant against control, corrected, with decisions a marketer can read.
    The exposures per day are counted only for the chart."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.experiments.render import print_analysis

    if chart is not None and chart.suffix.lower() not in {".png", ".svg"}:
        from launchdeck.errors import UsageError

        raise UsageError(
            f"--chart {chart}: the chart is written as .png or .svg", hint="e.g. --chart lift.png"
        )
    report = _api(ctx).analyse(key, daily=chart is not None)
    written = None
    if chart is not None:
        from launchdeck.experiments.chart import write_chart

        written = write_chart(report.analysis, report.daily_exposures, chart)
    if as_json:
        emit_json(report.model_dump(mode="json"))
        return
    out = console()
    print_analysis(out, report.analysis)
    if written is not None:
        out.print(f"chart: {written}")


@experiments_app.command("validate")
def validate(ctx: typer.Context, key: Key, as_json: JsonOpt = False) -> None:
    """Check the implementation: sample ratio, assignment, tracking, power, peeking.
    Exit 0 when nothing fails (warnings included), 4 when a check fails."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.experiments.checks import Status
    from launchdeck.experiments.render import print_validation

    result = _api(ctx).validate(key)
    if as_json:
        emit_json(result.model_dump(mode="json"))
    else:
        print_validation(console(), result)
    if result.status is Status.FAIL:
        raise typer.Exit(EXIT_FAILED_CHECK)


@experiments_app.command("sql")
def sql(
    ctx: typer.Context,
    key: Key,
    dialect: Annotated[
        str,
        typer.Option(help="duckdb|postgres|bigquery|snowflake|clickhouse|trino|spark"),
    ] = "postgres",
    as_json: JsonOpt = False,
) -> None:
    """The aggregation queries in a warehouse's dialect (values are bound parameters)."""
    from launchdeck.cli.render import console, emit_json

    queries = _api(ctx).sql(key, dialect=dialect)
    if as_json:
        emit_json([q.model_dump(mode="json") for q in queries])
        return
    out = console()
    for query in queries:
        out.print(f"-- {query.name} ({query.dialect}); parameters: {query.params}")
        out.print(query.sql, markup=False)
        out.print()


def register(app: typer.Typer) -> None:
    app.add_typer(experiments_app, name="experiments")
