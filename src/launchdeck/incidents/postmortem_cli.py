"""`launchdeck postmortem draft|check|actions`: a blameless postmortem from the incident's record.

`draft` fills what launchdeck knows (impact and money at risk, campaigns, SLO budget consumed,
the suspected trigger, time to detect and mitigate, the timeline, the action items) and marks
what a person must write; `check` runs the blameless-language check on an edited draft;
`actions` turns the draft's new action items into tracked tasks.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from launchdeck.cli.context import app_context

__all__ = ["register"]

postmortem_app = typer.Typer(
    help="Blameless postmortems drafted from the incident's record.", no_args_is_help=True
)


@postmortem_app.command("draft")
def draft(
    ctx: typer.Context,
    incident: Annotated[str, typer.Argument(help="The incident: INC-7 or 7.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the Markdown here (else stdout).")
    ] = None,
) -> None:
    """Draft the postmortem in Markdown (Google SRE template), auto-filled from the record."""
    from launchdeck.cli.render import console, err_console
    from launchdeck.client import utc_now
    from launchdeck.errors import LaunchdeckError
    from launchdeck.incidents.blameless import check_blameless
    from launchdeck.incidents.cli import parse_ref, workspace_timezone
    from launchdeck.incidents.postmortem import (
        BudgetImpact,
        PostmortemInputs,
        people_in,
    )
    from launchdeck.incidents.postmortem import (
        draft as draft_postmortem,
    )

    client = app_context(ctx).client
    item = client.incidents.show(parse_ref(incident))
    inc = item.incident
    now = utc_now()
    end = inc.resolved_at or now
    start = inc.started_at
    if end <= start:
        end = start + timedelta(minutes=1)
    budgets: list[BudgetImpact] = []
    budget_error = None
    try:
        for system in inc.systems:
            budgets += [
                BudgetImpact(**b.model_dump())
                for b in client.slos.incident_budget(system, start=start, end=end)
            ]
    except LaunchdeckError as exc:
        budget_error = exc.message
    inputs = PostmortemInputs(
        incident=inc,
        entries=item.entries,
        tasks=item.tasks,
        budgets=tuple(budgets),
        budget_error=budget_error,
        generated_at=now,
        timezone=workspace_timezone(ctx),
    )
    result = draft_postmortem(inputs)
    if out is None:
        console().print(result.markdown, markup=False, end="")
    else:
        out.write_text(result.markdown, encoding="utf-8")
        console().print(f"wrote {out} ({len(result.filled)} sections filled)")
    errors = err_console()
    if result.todo:
        errors.print(f"to write by hand: {', '.join(result.todo)} (search for TODO(author))")
    for finding in check_blameless(result.markdown, people=people_in(inputs)):
        errors.print(f"blameless: line {finding.line}: {finding.phrase!r}: {finding.why}")


@postmortem_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="An edited postmortem (Markdown).")],
    person: Annotated[
        list[str] | None,
        typer.Option("--person", help="A name to watch for as a cause (repeat)."),
    ] = None,
) -> None:
    """Flag blaming language (a person as the cause, "should have", "human error" …). Exit 1 if
    any."""
    from launchdeck.cli.render import console
    from launchdeck.errors import UsageError
    from launchdeck.incidents.blameless import check_blameless

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None
    findings = check_blameless(text, people=person or ())
    out = console()
    for f in findings:
        out.print(f"{file}:{f.line}:{f.column}: {f.phrase!r}: {f.why}")
        out.print(f"  try: {f.suggestion}")
    if findings:
        out.print(f"[red]✗[/] {len(findings)} blaming phrase(s)")
        raise typer.Exit(1)
    out.print(f"[green]✓[/] {file}: blameless")


@postmortem_app.command("actions")
def actions(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The edited postmortem (Markdown).")],
    incident: Annotated[str, typer.Option(help="The incident the action items belong to.")],
) -> None:
    """Turn the draft's new action items (rows without a task #) into tracked tasks."""
    from launchdeck.cli.render import console
    from launchdeck.errors import UsageError
    from launchdeck.incidents.cli import parse_ref, workspace_timezone
    from launchdeck.incidents.model import TaskKind, TaskRequest
    from launchdeck.incidents.postmortem import parse_action_items

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror}") from None
    items = [i for i in parse_action_items(text, source=str(file)) if i.task_id is None]
    client = app_context(ctx).client
    incident_id = parse_ref(incident)
    tz = ZoneInfo(workspace_timezone(ctx))
    out = console()
    for item in items:
        due = datetime.combine(item.due, time(23, 59), tzinfo=tz) if item.due is not None else None
        task = client.incidents.add_task(
            incident_id,
            TaskRequest(
                title=item.title,
                kind=TaskKind.ACTION_ITEM,
                action_type=item.action_type,
                owner=item.owner,
                due_at=due,
            ),
        )
        out.print(f"task #{task.id} ({item.action_type}) {task.title} → {task.owner or '-'}")
    out.print(f"{len(items)} action item(s) now tracked on INC-{incident_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(postmortem_app, name="postmortem")
