"""`launchdeck runbook list|show|run`: runbooks as code, run from the operator's machine.

The runbooks come from the workspace's `references.runbooks`. Executable steps go through the
client (local or remote), so a freeze added by a runbook is the same freeze `launchdeck freeze
add` makes; shell steps run here. With `--incident`, every step lands on the incident's timeline.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from launchdeck.cli.context import app_context

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from launchdeck.client import Client
    from launchdeck.incidents.runbook import BoundStep, Runbook
    from launchdeck.incidents.runner import Answer, ShellResult

__all__ = ["ClientActions", "register"]

runbook_app = typer.Typer(
    help="Runbooks as code: ordered steps, people's and launchdeck's.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


class ClientActions:
    """The runbook actions through a launchdeck client (and a local shell)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def freeze(
        self, *, system: str | None, environment: str | None, duration: timedelta, reason: str
    ) -> str:
        from launchdeck.client import utc_now

        window = self.client.calendar.add_freeze(
            reason=reason, until=utc_now() + duration, system=system, environment=environment
        )
        return f"freeze {window.id} on {system or 'every system'} until {window.ends_at:%H:%M}Z"

    def flag_off(self, *, flag: str, environment: str, reason: str) -> str:
        from launchdeck.flags.model import EnvPatch
        from launchdeck.flags.requests import ChangeBody

        outcome = self.client.flags.change(
            flag, ChangeBody(environment=environment, patch=EnvPatch(enabled=False), comment=reason)
        )
        return f"{flag} off in {environment} (version {outcome.flag.version}; {outcome.gate})"

    def rollback(self, *, system: str, environment: str, reason: str) -> str:
        from launchdeck.rollout.views import ActionRequest

        done = self.client.rollouts.act(
            system, environment, "rollback", ActionRequest(reason=reason)
        )
        return (
            f"release #{done.id} of {system} rolled back in {environment}: "
            f"{done.version} → {done.stable or 'nothing'}"
        )

    def shell(self, command: str, *, timeout_s: float) -> ShellResult:
        from launchdeck.incidents.runner import ShellActions

        return ShellActions().shell(command, timeout_s=timeout_s)


def _workspace(ctx: typer.Context) -> tuple[list[Runbook], list[str]]:
    """The runbooks, and the secret values their output must never carry onto the timeline:
    the notification channels' webhook URLs and keys, and the API token."""
    import os

    from launchdeck.incidents.runbook import load_runbooks
    from launchdeck.workspace.load import load_workspace

    settings = app_context(ctx).settings
    spec = load_workspace(settings.workspace_file).spec
    base = settings.workspace_dir
    refs = [c.url for c in spec.notifications.channels]
    refs += [c.secret for c in spec.notifications.channels if c.secret is not None]
    secrets = [os.environ.get(r.env, "") for r in refs if r.env]
    if settings.token is not None:
        secrets.append(settings.token.get_secret_value())
    books = load_runbooks(base / path for path in spec.references.runbooks)
    return books, [v for v in secrets if len(v.strip()) >= 6]


def _runbooks(ctx: typer.Context) -> list[Runbook]:
    return _workspace(ctx)[0]


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _confirmer(out: Console, *, yes: bool) -> Callable[[BoundStep], Answer]:
    """Show each step, then ask: y runs (or confirms) it, s skips it, n stops the run."""
    from rich.markup import escape

    from launchdeck.incidents.runner import Answer

    answers = {"y": Answer.YES, "s": Answer.SKIP, "n": Answer.NO}

    def confirm(step: BoundStep) -> Answer:
        out.print(f"\n[bold]{escape(f'{step.index}. {step.name}')}[/]")
        if step.instruction:
            out.print(step.instruction.strip(), markup=False)
        if step.action is not None:
            out.print(f"[cyan]will run:[/] {escape(step.preview)}")
        if yes:
            return Answer.YES
        question = "Run it?" if step.action is not None else "Done?"
        while True:
            reply = typer.prompt(
                f"{question} y = yes, s = skip (done another way), n = stop here", default="n"
            )
            if reply.strip().lower()[:1] in answers:
                return answers[reply.strip().lower()[:1]]
            out.print("answer y, s or n")

    return confirm


def _find(books: list[Runbook], name: str) -> Runbook:
    from difflib import get_close_matches

    from launchdeck.errors import NotFound

    for book in books:
        if book.name == name:
            return book
    names = [b.name for b in books]
    close = get_close_matches(name, names, n=1)
    raise NotFound(
        f"no runbook {name!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
        hint=f"runbooks: {', '.join(names) or '(none: list files under references.runbooks)'}",
    )


@runbook_app.command("list")
def list_(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Option(help="Only runbooks for this system.")] = None,
    kind: Annotated[str | None, typer.Option("--type", help="Only for this incident type.")] = None,
    incident: Annotated[
        str | None, typer.Option(help="Only those for this incident's systems and type.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The workspace's runbooks, and what they are for."""
    from launchdeck.cli.render import console, emit_json, table
    from launchdeck.incidents.cli import parse_ref

    books = _runbooks(ctx)
    if incident is not None:
        found = app_context(ctx).client.incidents.show(parse_ref(incident)).incident
        books = [b for b in books if any(b.matches(s, found.type) for s in found.systems)]
    books = [b for b in books if b.matches(system, kind)]
    if as_json:
        emit_json(
            [
                {
                    "name": b.name,
                    "title": b.title,
                    "systems": list(b.systems),
                    "incident_types": list(b.incident_types),
                    "steps": len(b.steps),
                    "source": b.source,
                }
                for b in books
            ]
        )
        return
    rows = [
        (
            b.name,
            b.title,
            ", ".join(b.systems) or "any",
            ", ".join(b.incident_types) or "any",
            len(b.steps),
            sum(1 for s in b.steps if s.kind != "instruction"),
        )
        for b in books
    ]
    console().print(
        table("Runbooks", ["name", "title", "systems", "incident types", "steps", "actions"], rows)
    )


@runbook_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The runbook's name.")],
) -> None:
    """A runbook's parameters and steps."""
    from launchdeck.cli.render import console, table

    book = _find(_runbooks(ctx), name)
    out = console()
    out.print(f"[bold]{book.name}[/]: {book.title}  [dim]({book.where})[/]")
    if book.description:
        out.print(book.description)
    if book.params:
        out.print(
            table(
                "Parameters",
                ["name", "default", "description"],
                [(p.name, p.default or "(required)", p.description) for p in book.params],
            )
        )
    out.print(
        table(
            "Steps",
            ["#", "step", "kind", "what"],
            [
                (i, s.name, str(s.kind), (s.instruction or "").strip().split("\n")[0][:120])
                for i, s in enumerate(book.steps, start=1)
            ],
        )
    )


def _params(values: list[str] | None) -> dict[str, str]:
    from launchdeck.errors import UsageError

    params = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {item!r} is not name=value", hint="--param system=cms")
        params[key.strip()] = value
    return params


@runbook_app.command("run")
def run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The runbook's name.")],
    incident: Annotated[
        str | None, typer.Option(help="Record every step on this incident (INC-7).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what each step would do; do nothing.")
    ] = False,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="name=value (repeat).")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm every step without asking (automation).")
    ] = False,
) -> None:
    """Run a runbook step by step: each executable step asks first; a dry run asks nothing."""

    from rich.markup import escape

    from launchdeck.cli.render import console
    from launchdeck.client import utc_now
    from launchdeck.incidents.cli import parse_ref
    from launchdeck.incidents.model import EntryKind, EntryRequest
    from launchdeck.incidents.runner import StepRecord
    from launchdeck.incidents.runner import run as run_book

    books, secrets = _workspace(ctx)
    book = _find(books, name)
    client = app_context(ctx).client
    params = _params(param)
    ref = None
    incident_id = None
    if incident is not None:
        incident_id = parse_ref(incident)
        found = client.incidents.show(incident_id).incident
        ref = found.ref
        declared = {p.name for p in book.params}
        if "system" in declared and "system" not in params:
            params["system"] = found.systems[0]
    steps = book.bind(params, incident=ref)
    out = console()
    mode = "dry run" if dry_run else "run"
    out.print(f"[bold]{book.title}[/] ({book.name}, {len(steps)} steps, {mode})")

    confirm = _confirmer(out, yes=yes)

    def record(item: StepRecord) -> None:
        colour = {"done": "green", "dry_run": "cyan", "skipped": "yellow"}.get(
            str(item.status), "red"
        )
        detail = _redact(item.detail, secrets)
        line = f"{item.index}. {item.name}: {detail}"
        out.print(f"  [{colour}]{item.status}[/] {escape(line)}")
        if incident_id is not None:
            client.incidents.add_entry(
                incident_id,
                EntryRequest(
                    kind=EntryKind.RUNBOOK,
                    text=_redact(f"{book.name} {item.summary}", secrets),
                    data={
                        "runbook": book.name,
                        "step": item.index,
                        "status": str(item.status),
                        "dry_run": dry_run,
                        "detail": detail[-2000:],
                    },
                ),
            )

    result = run_book(
        book,
        steps,
        actions=ClientActions(client),
        dry_run=dry_run,
        confirm=confirm,
        record=record,
        clock=utc_now,
    )
    where = f" on {ref}'s timeline" if ref else ""
    if result.ok:
        out.print(f"\n[green]✓[/] {book.name}: {len(result.records)} step(s) {mode}{where}")
        return
    out.print(f"\n[red]✗[/] {book.name} stopped at step {result.stopped_at}{where}")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(runbook_app, name="runbook")
