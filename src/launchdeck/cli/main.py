"""The root Typer app, global options and the one place errors become output and exit codes.

Exit codes (part of the API): 0 ok, 1 error, 2 usage, 3 blocked by a gate, 4 plan has changes.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Context as ClickContext
from typer.core import TyperGroup

from launchdeck import __version__
from launchdeck.cli.context import AppContext
from launchdeck.errors import Blocked, LaunchdeckError, UsageError, ValidationFailed

__all__ = ["EXIT_BLOCKED", "EXIT_CHANGES", "EXIT_ERROR", "EXIT_USAGE", "build_app", "run"]

EXIT_ERROR, EXIT_USAGE, EXIT_BLOCKED, EXIT_CHANGES = 1, 2, 3, 4


def render_error(exc: LaunchdeckError, *, debug: bool) -> None:
    """Print `error: …` and `hint: …` (one line per problem for a failed validation)."""
    from rich.markup import escape

    from launchdeck.cli.render import err_console

    out = err_console()
    if isinstance(exc, ValidationFailed):
        out.print(f"[bold red]error:[/] {escape(exc.message)}")
        for problem in exc.problems:
            where = f"{problem.where}: " if problem.where else ""
            out.print(f"  [red]✗[/] {escape(where + problem.message)}")
            if problem.hint:
                out.print(f"    [dim]hint: {escape(problem.hint)}[/]")
    else:
        out.print(f"[bold red]error:[/] {escape(str(exc))}")
        if exc.hint:
            out.print(f"[dim]hint: {escape(exc.hint)}[/]")
    if debug:
        out.print(escape("".join(traceback.format_exception(exc))))


class LaunchdeckGroup(TyperGroup):
    """Renders LaunchdeckErrors raised by any command and maps them to exit codes."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except LaunchdeckError as exc:
            obj = ctx.obj
            render_error(exc, debug=isinstance(obj, AppContext) and obj.debug)
            code = EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR
            raise typer.Exit(EXIT_BLOCKED if isinstance(exc, Blocked) else code) from None
        finally:
            if isinstance(ctx.obj, AppContext):
                ctx.obj.close()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"launchdeck {__version__}")
        raise typer.Exit()


def _settings(workspace: Path | None) -> Any:
    from pydantic import ValidationError

    from launchdeck.errors import ConfigError
    from launchdeck.settings import Settings

    try:
        return Settings(workspace=workspace) if workspace is not None else Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "LAUNCHDECK_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigError(f"{field}: {first['msg']}", where="environment") from None


def build_app() -> typer.Typer:
    """The root command with every capability's commands registered."""
    app = typer.Typer(
        cls=LaunchdeckGroup,
        name="launchdeck",
        help="Release safety for marketing technology teams.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        workspace: Annotated[
            Path | None,
            typer.Option(
                "--workspace",
                "-w",
                help="Workspace directory or launchdeck.yaml \\[env: LAUNCHDECK_WORKSPACE]",
            ),
        ] = None,
        debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
        version: Annotated[
            bool,
            typer.Option(
                "--version", "-V", callback=_version, is_eager=True, help="Print the version."
            ),
        ] = False,
    ) -> None:
        """launchdeck: plan and apply your martech workspace, see every change on a timeline.

        Local mode (default) uses the embedded store; set LAUNCHDECK_URL and LAUNCHDECK_TOKEN
        to run every command through a launchdeck API instead.
        """
        ctx.obj = AppContext(settings=_settings(workspace), debug=debug)

    from launchdeck.api.cli import register as register_api
    from launchdeck.auth.cli import register as register_auth
    from launchdeck.calendar.cli import register as register_calendar
    from launchdeck.cli.db import register as register_store
    from launchdeck.experiments.cli import register as register_experiments
    from launchdeck.experiments.events_cli import register as register_events
    from launchdeck.flags.cli import register as register_flags
    from launchdeck.gate.cli import register as register_gate
    from launchdeck.incidents.cli import register as register_incidents
    from launchdeck.reliability.cli import register as register_slo
    from launchdeck.rollout.cli import register as register_rollout
    from launchdeck.timeline.cli import register as register_timeline
    from launchdeck.workspace.cli import register as register_workspace

    for register in (
        register_workspace,
        register_timeline,
        register_auth,
        register_calendar,
        register_gate,
        register_slo,
        register_incidents,
        register_flags,
        register_events,
        register_experiments,
        register_rollout,
        register_api,
        register_store,
    ):
        register(app)
    return app


def run(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with its code."""
    app = build_app()
    sys.exit(app(args=argv, prog_name="launchdeck", standalone_mode=True))
