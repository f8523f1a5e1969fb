"""`launchdeck incident …`: open, list, show, update, resolve, note, task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from launchdeck.cli.context import app_context

if TYPE_CHECKING:
    from launchdeck.incidents.model import IncidentView

__all__ = ["parse_ref", "register", "workspace_timezone"]

incident_app = typer.Typer(
    help="Incidents sized by the campaigns they hurt: open, update, resolve.", no_args_is_help=True
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Ref = Annotated[str, typer.Argument(help="The incident: INC-7 or 7.")]


def parse_ref(ref: str) -> int:
    from launchdeck.errors import UsageError

    text = ref.strip().upper().removeprefix("INC-")
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise UsageError(f"not an incident id: {ref!r}", hint="e.g. INC-7 or 7")
    return int(text)


_OPTIONS = {
    "started_at": "started",
    "detected_at": "detected",
    "due_at": "due",
    "systems": "system",
    "add_participants": "participant",
    "pinned": "pin",
}
"""Request fields whose option is named otherwise."""


def _model(cls: Any, **fields: Any) -> Any:
    """Build a request model; a bad value is a usage error naming the option."""
    from pydantic import ValidationError

    from launchdeck.errors import UsageError

    try:
        return cls(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        option = _OPTIONS.get(field, field.replace("_", "-"))
        raise UsageError(f"--{option}: {error['msg'].removeprefix('Value error, ')}") from None


def _show(ctx: typer.Context, item: IncidentView, as_json: bool) -> None:
    from launchdeck.cli.render import console, emit_json
    from launchdeck.incidents.render import print_incident

    if as_json:
        emit_json(item)
    else:
        print_incident(console(), item, tz=workspace_timezone(ctx))


def workspace_timezone(ctx: typer.Context) -> str:
    """The workspace's IANA zone, for showing times as its people read them."""
    settings = app_context(ctx).client.workspace.info().settings
    return settings.timezone if settings else "UTC"


def _instant(text: str | None) -> Any:
    if text is None:
        return None
    from launchdeck.client import utc_now
    from launchdeck.durations import parse_instant

    return parse_instant(text, now=utc_now())


@incident_app.command("open")
def open_(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What is wrong, in a line.")],
    system: Annotated[
        list[str], typer.Option("--system", "-s", help="An affected system (repeat for more).")
    ],
    signal: Annotated[str, typer.Option(help="outage or degradation.")] = "outage",
    traffic_share: Annotated[
        float | None,
        typer.Option(help="Share of traffic affected, 0-1 (default: the policy's by signal)."),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--type", help="Incident type (runbooks attach to types).")
    ] = None,
    summary: Annotated[str | None, typer.Option(help="More detail.")] = None,
    started: Annotated[
        str | None, typer.Option(help="When the impact began: 20m (ago) or ISO 8601.")
    ] = None,
    detected: Annotated[
        str | None, typer.Option(help="When it was detected (default now): 5m or ISO 8601.")
    ] = None,
    severity: Annotated[
        str | None, typer.Option(help="Set SEV1-SEV4 by hand instead of computing it.")
    ] = None,
    commander: Annotated[str | None, typer.Option(help="The incident commander.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open an incident; its severity comes from the live campaigns it reaches."""
    from launchdeck.incidents.model import OpenRequest

    request = _model(
        OpenRequest,
        title=title,
        systems=tuple(system),
        signal=signal,
        traffic_share=traffic_share,
        type=kind,
        summary=summary,
        started_at=_instant(started),
        detected_at=_instant(detected),
        severity=severity.upper() if severity else None,
        commander=commander,
    )
    _show(ctx, app_context(ctx).client.incidents.open(request), as_json)


@incident_app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    system: Annotated[str | None, typer.Option(help="Only incidents on this system.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open incidents (or all) with severity, revenue at risk, TTD, TTR and MTTD/MTTR."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.incidents.render import print_incidents

    items = app_context(ctx).client.incidents.list_incidents(all=all_, system=system)
    if as_json:
        emit_json(items)
    else:
        print_incidents(console(), items, tz=workspace_timezone(ctx))


@incident_app.command("show")
def show(ctx: typer.Context, ref: Ref, as_json: JsonOpt = False) -> None:
    """An incident: severity and why, campaigns at risk, timeline, tasks."""
    _show(ctx, app_context(ctx).client.incidents.show(parse_ref(ref)), as_json)


@incident_app.command("update")
def update(
    ctx: typer.Context,
    ref: Ref,
    status: Annotated[
        str | None, typer.Option(help="triage, active, mitigated, resolved, postmortem_done.")
    ] = None,
    severity: Annotated[str | None, typer.Option(help="SEV1-SEV4, set by hand.")] = None,
    auto_severity: Annotated[
        bool, typer.Option("--auto-severity", help="Let the calendar set the severity again.")
    ] = False,
    priority: Annotated[str | None, typer.Option(help="P1-P4.")] = None,
    signal: Annotated[str | None, typer.Option(help="outage or degradation.")] = None,
    traffic_share: Annotated[float | None, typer.Option(help="Share of traffic, 0-1.")] = None,
    system: Annotated[
        list[str] | None, typer.Option("--system", "-s", help="Replace the affected systems.")
    ] = None,
    title: Annotated[str | None, typer.Option()] = None,
    summary: Annotated[str | None, typer.Option()] = None,
    kind: Annotated[str | None, typer.Option("--type", help="Incident type.")] = None,
    commander: Annotated[str | None, typer.Option()] = None,
    scribe: Annotated[str | None, typer.Option()] = None,
    liaison: Annotated[str | None, typer.Option(help="Who talks to marketing.")] = None,
    participant: Annotated[
        list[str] | None, typer.Option("--participant", help="Add a participant (repeat).")
    ] = None,
    started: Annotated[str | None, typer.Option(help="Correct when the impact began.")] = None,
    note: Annotated[str | None, typer.Option(help="A note for the timeline.")] = None,
    pin: Annotated[bool, typer.Option("--pin", help="Pin the note.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Change status, severity, roles …; each change is an entry on the incident's timeline."""
    from launchdeck.incidents.model import UpdateRequest

    request = _model(
        UpdateRequest,
        status=status,
        severity=severity.upper() if severity else None,
        auto_severity=auto_severity,
        priority=priority.upper() if priority else None,
        signal=signal,
        traffic_share=traffic_share,
        systems=tuple(system) if system else None,
        title=title,
        summary=summary,
        type=kind,
        commander=commander,
        scribe=scribe,
        liaison=liaison,
        add_participants=tuple(participant or ()),
        started_at=_instant(started),
        note=note,
        pinned=pin,
    )
    _show(ctx, app_context(ctx).client.incidents.update(parse_ref(ref), request), as_json)


@incident_app.command("resolve")
def resolve(
    ctx: typer.Context,
    ref: Ref,
    note: Annotated[str | None, typer.Option(help="How it was resolved.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Resolve an incident (mitigated too, if it was not yet)."""
    from launchdeck.incidents.model import UpdateRequest

    request = UpdateRequest(status="resolved", note=note)
    _show(ctx, app_context(ctx).client.incidents.update(parse_ref(ref), request), as_json)


@incident_app.command("note")
def note_(
    ctx: typer.Context,
    ref: Ref,
    text: Annotated[str, typer.Argument(help="What happened or was decided.")],
    pin: Annotated[bool, typer.Option("--pin", help="Pin it.")] = False,
) -> None:
    """Add a note to the incident's timeline."""
    from launchdeck.cli.render import console
    from launchdeck.incidents.model import EntryRequest

    item = app_context(ctx).client.incidents.add_entry(
        parse_ref(ref), _model(EntryRequest, text=text, pinned=pin)
    )
    console().print(f"noted on {item.incident.ref}")


@incident_app.command("task")
def task(
    ctx: typer.Context,
    ref: Ref,
    title: Annotated[str | None, typer.Argument(help="A new task's title.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who does it.")] = None,
    due: Annotated[str | None, typer.Option(help="Due: 4h (from now) or ISO 8601.")] = None,
    action: Annotated[
        str | None,
        typer.Option(help="A postmortem action item: mitigate, prevent or process."),
    ] = None,
    done: Annotated[int | None, typer.Option(help="Mark task N done.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a task (or an action item), or mark one done."""
    from launchdeck.cli.render import console, emit_json
    from launchdeck.client import utc_now
    from launchdeck.durations import until_instant
    from launchdeck.errors import UsageError
    from launchdeck.incidents.model import TaskKind, TaskRequest

    incidents = app_context(ctx).client.incidents
    if done is not None:
        result = incidents.set_task(parse_ref(ref), done, done=True)
    elif title is not None:
        request = _model(
            TaskRequest,
            title=title,
            owner=owner,
            due_at=until_instant(due, now=utc_now()) if due else None,
            kind=TaskKind.ACTION_ITEM if action else TaskKind.TASK,
            action_type=action,
        )
        result = incidents.add_task(parse_ref(ref), request)
    else:
        raise UsageError("give a task title, or --done N", hint="e.g. task INC-3 'Page payments'")
    if as_json:
        emit_json(result)
    else:
        console().print(f"task #{result.id} ({result.status}) {result.title}", markup=False)


def register(app: typer.Typer) -> None:
    from launchdeck.incidents.postmortem_cli import register as register_postmortem
    from launchdeck.incidents.runbook_cli import register as register_runbook

    app.add_typer(incident_app, name="incident")
    register_runbook(app)
    register_postmortem(app)
