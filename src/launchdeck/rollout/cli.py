"""`launchdeck deploy`, `launchdeck release …` and `launchdeck controller`.

`deploy` reads the system's strategy from the workspace (`rollout:` in launchdeck.yaml) and
sends it with the release, so a release always runs with the strategy it started with.
`--watch` follows it to the end: in local mode it also runs the controller's passes itself
(nothing else need run), in remote mode it follows the server's controller. Exit codes: 0
promoted (or, without --watch, started), 1 rolled back, 3 refused by the gate.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape

from launchdeck.cli.context import app_context

if TYPE_CHECKING:
    from rich.console import Console

    from launchdeck.client import Client
    from launchdeck.rollout.strategy import StrategySpec
    from launchdeck.rollout.views import ReleaseView
    from launchdeck.settings import Settings

__all__ = ["register"]

release_app = typer.Typer(
    help="Progressive-delivery releases: status, promote, pause, resume, abort, rollback.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EnvOpt = Annotated[str, typer.Option("--env", help="The environment.")]
SystemArg = Annotated[str, typer.Argument(help="The system.")]
EXIT_ROLLED_BACK = 1


def _strategy_for(
    settings: Settings, system: str, strategy_file: Path | None
) -> StrategySpec | None:
    """The strategy file given, else the one the workspace names for `system` (None: none)."""
    from launchdeck.errors import ConfigError
    from launchdeck.rollout.strategy import parse_strategy
    from launchdeck.workspace.load import parse_workspace

    if strategy_file is None:
        workspace = settings.workspace_file
        if not workspace.exists():
            return None
        spec = parse_workspace(workspace.read_text(), source=str(workspace))
        found = next((s for s in spec.systems if s.id == system), None)
        if found is None or found.rollout is None:
            return None
        strategy_file = workspace.parent / found.rollout
    try:
        text = strategy_file.read_text()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the strategy file: {exc.strerror}", where=str(strategy_file)
        ) from None
    return parse_strategy(text, source=str(strategy_file))


def deploy(
    ctx: typer.Context,
    system: SystemArg,
    version: Annotated[str, typer.Option(help="The version released (names the release).")],
    artifact: Annotated[Path, typer.Option(help="The build: a directory of files (nginx-static).")],
    env: EnvOpt = "production",
    strategy: Annotated[
        str | None,
        typer.Option(help="canary or blue-green (default: the system's rollout file, or canary)."),
    ] = None,
    strategy_file: Annotated[
        Path | None, typer.Option(help="A strategy file instead of the system's rollout file.")
    ] = None,
    change_type: Annotated[
        str, typer.Option(help="What the gate is asked about: feature, hotfix, content …")
    ] = "feature",
    watch: Annotated[bool, typer.Option(help="Follow the release to its end.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between passes with --watch.")
    ] = 5.0,
    as_json: JsonOpt = False,
) -> None:
    """Release VERSION of SYSTEM progressively: canary steps or a blue-green switch, judged,
    gated at every step, rolled back automatically when the judge finds harm."""
    from pydantic import ValidationError

    from launchdeck.calendar.model import ChangeType
    from launchdeck.cli.render import console, emit_json
    from launchdeck.errors import UsageError
    from launchdeck.rollout.views import DeployRequest

    if strategy not in (None, "canary", "blue-green"):
        raise UsageError(f"unknown strategy {strategy!r}", hint="canary or blue-green")
    if change_type not in {c.value for c in ChangeType}:
        allowed = ", ".join(c.value for c in ChangeType)
        raise UsageError(f"unknown change type {change_type!r}", hint=f"use one of: {allowed}")
    context = app_context(ctx)
    spec = _strategy_for(context.settings, system, strategy_file)
    kind: Literal["canary", "blue-green"] | None = strategy  # type: ignore[assignment]
    try:
        request = DeployRequest(
            system=system,
            environment=env,
            version=version,
            artifact=str(artifact.resolve()),
            strategy=spec,
            kind=kind,
            change_type=ChangeType(change_type),
        )
    except ValidationError as exc:  # a malformed id or version: a usage error, not a traceback
        error = exc.errors()[0]
        field = str(error["loc"][0])
        raise UsageError(
            f"--{field}: {error['msg'].removeprefix('Value error, ')}"
            if field != "system"
            else f"system {system!r}: {error['msg']}",
            hint="versions are letters, digits and . _ + - (v2.4.1); ids are lowercase with "
            "dashes (landing-pages)",
        ) from None
    client = context.client
    started = client.rollouts.deploy(request)
    out = console()
    if not watch:
        if as_json:
            emit_json(started)
        else:
            print_release(out, started)
        return
    final = follow(client, started, interval=interval, out=None if as_json else out)
    if as_json:
        emit_json(final)
    if final.phase == "rolled_back":
        raise typer.Exit(EXIT_ROLLED_BACK)


def follow(
    client: Client, release: ReleaseView, *, interval: float, out: Console | None
) -> ReleaseView:
    """Follow `release` to its end, a line per change; in local mode, taking the passes."""
    from launchdeck.rollout.service import RolloutService

    service = client.rollouts
    last = ""
    while True:
        if isinstance(service, RolloutService):
            release = service.view(service.take_pass(release.id))
        else:
            release = service.status(release.system, release.environment)
        line = _line(release)
        if out is not None and line != last:
            out.print(line)
            last = line
        if release.phase in ("promoted", "rolled_back"):
            if out is not None:
                print_release(out, release)
            return release
        time.sleep(interval)


def _line(release: ReleaseView) -> str:
    from launchdeck.cli.render import fmt_time

    at = fmt_time(release.updated_at)
    weight = f" · {release.weight:g} % on {release.version}" if release.weight else ""
    step = f" · step {min(release.step + 1, len(release.steps))}/{len(release.steps)}"
    return f"{at}  {release.phase.replace('_', ' ')}{step}{weight} · {escape(release.reason)}"


def print_release(out: Console, release: ReleaseView) -> None:
    """A release as people read it: where it is, its steps, its analyses, its last moves."""
    from rich.table import Table

    from launchdeck.cli.render import fmt_time

    colour = {"promoted": "green", "rolled_back": "red", "paused": "yellow"}.get(
        release.phase, "cyan"
    )
    out.print(
        f"[bold]{release.system}[/] {release.version} in {release.environment} "
        f"(release #{release.id}, {release.strategy}, from {release.previous or 'nothing'}): "
        f"[{colour}]{release.phase.replace('_', ' ')}[/] — {escape(release.reason)}"
    )
    served = f"stable {release.stable or '-'}"
    if release.canary:
        served += f", canary {release.canary} at {release.weight:g} %"
    if release.preview:
        served += f", preview {release.preview}"
    out.print(f"  serves: {served}" + (f"  ({release.url})" if release.url else ""))
    if release.failing:
        out.print(
            f"  [red]! the controller's last {release.failing['passes']} pass(es) failed[/] "
            f"(since {release.failing['since']}): {escape(str(release.failing['error']))}"
        )
    money = release.revenue
    if money:
        currency = money.get("currency")
        budget = money.get("budget")
        out.print(
            f"  revenue at risk: {money['per_hour']:,.0f} {currency} an hour; lost so far "
            f"{money['lost']:,.0f} {currency} (at least {money['lost_at_least']:,.0f})"
            + (f"; budget {budget:,.0f} {currency}" if isinstance(budget, int | float) else "")
        )
    marks = {"done": "[green]✓[/]", "current": "[cyan]▶[/]", "next": "·"}
    for step in release.steps:
        out.print(f"  {marks[step.state]} {step.index + 1}. {step.text}")
    for name, analysis in (
        ("step analysis", release.step_analysis),
        ("background analysis", release.background_analysis),
    ):
        if analysis is None or not analysis.last:
            continue
        table = Table(
            title=f"{name}: {analysis.phase}, {_count(analysis.measurements, 'measurement')}, "
            f"{analysis.failures} failed",
            title_justify="left",
        )
        for column in ("metric", "verdict", "why"):
            table.add_column(column)
        for metric in analysis.last:
            tone = {"pass": "green", "fail": "red"}.get(metric.verdict, "yellow")
            table.add_row(metric.name, f"[{tone}]{metric.verdict}[/]", escape(metric.reason))
        out.print(table)
    for at, phase, reason in release.history[-6:]:
        out.print(f"  {fmt_time(at)}  {phase.replace('_', ' ')}: {escape(reason)}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@release_app.command("list")
def list_releases(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Argument(help="Only this system.")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    active: Annotated[bool, typer.Option(help="Only releases in progress.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Releases, newest first."""
    from launchdeck.cli.render import console, emit_json, fmt_time, table

    found = app_context(ctx).client.rollouts.releases(
        system=system, environment=env, active=True if active else None, limit=limit
    )
    if as_json:
        emit_json(found)
        return
    rows = [
        (
            f"#{r.id}",
            r.system,
            r.environment,
            r.version,
            r.previous or "-",
            r.phase.replace("_", " "),
            f"{r.weight:g} %" if r.weight else "",
            fmt_time(r.created_at),
            r.reason if len(r.reason) <= 60 else r.reason[:59] + "…",
        )
        for r in found
    ]
    console().print(
        table(
            "Releases",
            [
                "id",
                "system",
                "env",
                "version",
                "from",
                "phase",
                "weight",
                "created",
                "why",
            ],
            rows,
        )
    )


@release_app.command("status")
def status(
    ctx: typer.Context,
    system: SystemArg,
    env: EnvOpt = "production",
    watch: Annotated[bool, typer.Option(help="Follow it to its end.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between looks with --watch.")
    ] = 5.0,
    as_json: JsonOpt = False,
) -> None:
    """The active release of SYSTEM (else its newest): steps, analyses, history."""
    from launchdeck.cli.render import console, emit_json

    client = app_context(ctx).client
    found = client.rollouts.status(system, env)
    if watch and found.phase not in ("promoted", "rolled_back"):
        found = follow(client, found, interval=interval, out=None if as_json else console())
        if as_json:
            emit_json(found)
        return
    if as_json:
        emit_json(found)
    else:
        print_release(console(), found)


def _action(name: str, doc: str) -> None:
    def command(
        ctx: typer.Context,
        system: SystemArg,
        env: EnvOpt = "production",
        reason: Annotated[str, typer.Option(help="Why (on the timeline).")] = "",
        full: Annotated[
            bool, typer.Option(help="promote: skip every step left, straight to 100 %.")
        ] = False,
        as_json: JsonOpt = False,
    ) -> None:
        from launchdeck.cli.render import console, emit_json
        from launchdeck.errors import UsageError
        from launchdeck.rollout.views import ActionRequest

        if full and name != "promote":
            raise UsageError("--full is for promote")
        done = app_context(ctx).client.rollouts.act(
            system,
            env,
            name,  # type: ignore[arg-type]
            ActionRequest(reason=reason, full=full),
        )
        if as_json:
            emit_json(done)
        else:
            print_release(console(), done)

    command.__doc__ = doc
    release_app.command(name)(command)


_action("promote", "Move the release past its current step (--full: to the end), gate allowing.")
_action("pause", "Hold the release where it is (analyses stop; rollback stays possible).")
_action("resume", "Go on with a paused release (an inconclusive analysis starts over).")
_action("abort", "Roll the release in progress back: stable serves the previous version.")
_action(
    "rollback",
    "Roll the newest release back, even promoted: stable serves the version before it at once.",
)


@release_app.command("export")
def export(
    ctx: typer.Context,
    system: SystemArg,
    image: Annotated[str, typer.Option(help="The container image the Rollout runs.")],
    url: Annotated[str, typer.Option(help="The launchdeck API Argo's analysis calls.")],
    env: EnvOpt = "production",
    strategy_file: Annotated[
        Path | None, typer.Option(help="A strategy file instead of the system's rollout file.")
    ] = None,
    token_secret: Annotated[
        str, typer.Option(help="The Kubernetes Secret holding the API token (key: token).")
    ] = "launchdeck-api",  # noqa: S107 - the Secret's name, not its value
    replicas: Annotated[int, typer.Option(min=1)] = 10,
    namespace: Annotated[str | None, typer.Option(help="The manifests' namespace.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the YAML here (default: stdout).")] = None,
) -> None:
    """The system's strategy as an Argo Rollouts Rollout + AnalysisTemplates whose web metric
    asks launchdeck's judge: Argo moves the traffic, launchdeck's statistics decide."""
    import sys

    from launchdeck.errors import UsageError
    from launchdeck.rollout.argo import export_argo, to_yaml

    spec = _strategy_for(app_context(ctx).settings, system, strategy_file)
    if spec is None:
        raise UsageError(
            f"{system} names no rollout strategy in the workspace",
            hint="give --strategy-file, or rollout: in launchdeck.yaml",
        )
    text = to_yaml(
        export_argo(
            spec,
            system=system,
            environment=env,
            image=image,
            launchdeck_url=url,
            token_secret=token_secret,
            replicas=replicas,
            namespace=namespace,
        )
    )
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)


def controller(
    ctx: typer.Context,
    interval: Annotated[
        float | None,
        typer.Option(
            min=0.1, help="Seconds between passes (default LAUNCHDECK_CONTROLLER_INTERVAL_S)."
        ),
    ] = None,
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
) -> None:
    """Run the release controller: a pass over every active release at an interval. Safe to
    kill at any moment; started again, it reconciles every target with the stored releases."""
    from launchdeck.cli.render import err_console
    from launchdeck.errors import UsageError
    from launchdeck.rollout.service import RolloutService

    context = app_context(ctx)
    service = context.client.rollouts
    if not isinstance(service, RolloutService):
        raise UsageError(
            "the controller runs beside the store, not through an API",
            hint="unset LAUNCHDECK_URL (the API server runs its own controller)",
        )
    pause_s = context.settings.controller_interval_s if interval is None else interval
    if pause_s <= 0:
        raise UsageError(
            "LAUNCHDECK_CONTROLLER_INTERVAL_S is 0 (no controller)",
            hint="give --interval, e.g. --interval 5",
        )
    out = err_console()
    out.print(f"release controller: a pass every {pause_s:g} s (Ctrl-C stops it)")
    said: dict[int, str] = {}
    try:
        while True:
            for done in service.pass_all():
                release = done.release
                line = (
                    f"#{done.id} {release.system} {release.version}: "
                    f"{release.phase.replace('_', ' ')} · {escape(release.reason)}"
                )
                if said.get(done.id) != line:
                    out.print(line)
                    said[done.id] = line
            if once:
                return
            time.sleep(pause_s)
    except KeyboardInterrupt:
        return


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("controller")(controller)
    app.add_typer(release_app, name="release")
