"""`launchdeck events …`: import event files, and see what ingest stored and refused.

Local mode opens the DuckDB event store (LAUNCHDECK_EVENTS_PATH) directly, and is refused while
another process (say `launchdeck serve`) holds it; remote mode sends the file's events through
`POST /api/v1/events` in batches, so the server's own store takes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from launchdeck.cli.context import app_context

if TYPE_CHECKING:
    from rich.progress import Progress

    from launchdeck.experiments.events import EventStats, Reject
    from launchdeck.experiments.files import FileFormat
    from launchdeck.experiments.store import ImportResult
    from launchdeck.settings import Settings

__all__ = ["register"]

events_app = typer.Typer(
    help="Experiment events: import files, see what ingest stored and refused.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
REMOTE_BATCH: Final = 5_000
"""Events per request in remote mode (the API takes at most 10,000)."""
SHOWN_REJECTS: Final = 20


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from launchdeck.cli.render import err_console

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
    )


def _import_local(
    settings: Settings, path: Path, file_format: FileFormat, *, allow_old: bool, progress: Progress
) -> ImportResult:
    from launchdeck.client import utc_now
    from launchdeck.experiments.model import Catalog, EventsSpec
    from launchdeck.experiments.store import EventStore
    from launchdeck.store import Database
    from launchdeck.store.state import SqlStateStore
    from launchdeck.workspace.model import ResourceKind

    db = Database(settings.resolved_database_url)
    try:
        with db.read() as session:  # the experiments applied, and the `events:` limits
            state = SqlStateStore(session)
            catalog = Catalog.of(tuple(e.spec for e in state.list(ResourceKind.EXPERIMENT)))
            workspace = state.settings()
    finally:
        db.dispose()
    limits = workspace.events if workspace is not None else EventsSpec()
    task = progress.add_task(f"importing {path.name}", total=None)
    with EventStore(settings.resolved_events_path) as store:
        return store.import_file(
            path,
            file_format=file_format,
            catalog=catalog,
            now=utc_now(),
            max_skew=limits.max_skew,
            max_age=None if allow_old else limits.max_age,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )


def _import_remote(
    settings: Settings, path: Path, file_format: FileFormat, *, allow_old: bool, progress: Progress
) -> ImportResult:
    from dataclasses import replace

    from launchdeck.client.http import HttpTransport
    from launchdeck.experiments.files import read_chunks
    from launchdeck.experiments.store import ImportResult, WriteResult

    assert settings.url is not None
    token = settings.token.get_secret_value() if settings.token else None
    http = HttpTransport(settings.url, token, timeout_s=settings.http_timeout_s)
    params = {"allow_old": "true"} if allow_old else None
    task = progress.add_task(f"sending {path.name}", total=None)
    result = ImportResult()
    try:
        for chunk in read_chunks(path, file_format, chunk_rows=REMOTE_BATCH):
            # Lines that are not JSON go too (as their text), so the server counts them.
            payload = [*chunk.items, *(r.message for r in chunk.unreadable)]
            if not payload:
                continue
            answer: dict[str, Any] = http.request(
                "POST", "/api/v1/events", dict[str, Any], json={"events": payload}, params=params
            )
            lines = [*chunk.lines, *(r.index for r in chunk.unreadable)]
            unreadable = {r.index: r for r in chunk.unreadable}
            rejects = [
                unreadable.get(lines[r.index]) or replace(r, index=lines[r.index])
                for r in _rejects(answer["rejects"])
            ]
            written = WriteResult(answer["accepted"], answer["duplicates"], answer["rejected"])
            result = result.add(len(payload), written, rejects)
            progress.update(task, completed=chunk.done, total=chunk.total)
    finally:
        http.close()
    return result


def _rejects(answers: list[dict[str, Any]]) -> list[Reject]:
    from launchdeck.experiments.events import Reject, RejectReason

    return [
        Reject(a["index"], a.get("id"), RejectReason(a["reason"]), a.get("field"), a["message"])
        for a in answers
    ]


@events_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A JSON-lines, CSV or Parquet file of events.")],
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="jsonl|csv|parquet (default: from the extension)."),
    ] = None,
    allow_old: Annotated[
        bool, typer.Option("--allow-old", help="Accept events older than events.max_age.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a file of exposures and metric events, validated as the API validates them.

    A rejected row is reported with its line (its row number in Parquet); importing a file
    again stores nothing twice.
    """
    from launchdeck.errors import UsageError
    from launchdeck.experiments.files import FileFormat, guess_format

    settings = app_context(ctx).settings
    if file_format is None:
        chosen = guess_format(file)
    elif file_format in {f.value for f in FileFormat}:
        chosen = FileFormat(file_format)
    else:
        raise UsageError(f"unknown format {file_format!r}", hint="use jsonl, csv or parquet")
    if not file.is_file():
        raise UsageError(f"no file {file}")
    run = _import_remote if settings.remote else _import_local
    with _progress() as progress:
        result = run(settings, file, chosen, allow_old=allow_old, progress=progress)
    _print_import(file, result, as_json)


def _print_import(path: Path, result: ImportResult, as_json: bool) -> None:
    from rich.markup import escape

    from launchdeck.cli.render import console, emit_json, table

    if as_json:
        emit_json(
            {
                "file": str(path),
                "rows": result.rows,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": result.rejected,
                "by_reason": dict(result.by_reason),
                "rejects": [
                    {
                        "line": r.index,
                        "id": r.id,
                        "reason": str(r.reason),
                        "field": r.field,
                        "message": r.message,
                    }
                    for r in result.rejects
                ],
            }
        )
        return
    out = console()
    mark = "[green]✓[/]" if not result.rejected else "[yellow]![/]"
    out.print(
        f"{mark} {escape(path.name)}: {result.rows:,} rows, {result.accepted:,} stored, "
        f"{result.duplicates:,} duplicates, {result.rejected:,} rejected"
    )
    if result.rejected:
        reasons = sorted(result.by_reason.items(), key=lambda item: (-item[1], item[0]))
        out.print(table(None, ["reason", "rows"], [(r, f"{n:,}") for r, n in reasons]))
        rows = [
            (r.index, str(r.reason), r.field, escape(r.message))
            for r in result.rejects[:SHOWN_REJECTS]
        ]
        out.print(table("First rejected rows", ["line", "reason", "field", "message"], rows))


@events_app.command("stats")
def stats(
    ctx: typer.Context,
    days: Annotated[
        int | None, typer.Option(min=1, max=3660, help="Only the last N days (UTC).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Events stored, and what ingest made of everything it was sent, by experiment."""
    from launchdeck.cli.render import emit_json

    settings = app_context(ctx).settings
    found = _stats_remote(settings, days) if settings.remote else _stats_local(settings, days)
    if as_json:
        emit_json(found.model_dump(mode="json"))
    else:
        _print_stats(found)


def _stats_local(settings: Settings, days: int | None) -> EventStats:
    from datetime import timedelta

    from launchdeck.client import utc_now
    from launchdeck.experiments.events import EventStats
    from launchdeck.experiments.store import EventStore

    since = None if days is None else (utc_now() - timedelta(days=days - 1)).date()
    path = settings.resolved_events_path
    if not path.exists():
        return EventStats(path=str(path), exposures=0, metric_events=0, since=since)
    with EventStore(path, read_only=True) as store:
        return store.stats(since=since)


def _stats_remote(settings: Settings, days: int | None) -> EventStats:
    from launchdeck.client.http import HttpTransport
    from launchdeck.experiments.events import EventStats

    assert settings.url is not None
    token = settings.token.get_secret_value() if settings.token else None
    http = HttpTransport(settings.url, token, timeout_s=settings.http_timeout_s)
    try:
        found: EventStats = http.request(
            "GET", "/api/v1/events/stats", EventStats, params={"days": days}
        )
        return found
    finally:
        http.close()


def _print_stats(found: EventStats) -> None:
    from collections import defaultdict

    from rich.markup import escape

    from launchdeck.cli.render import console, table

    out = console()
    window = f" since {found.since}" if found.since else ""
    out.print(
        f"{escape(found.path)}: {found.exposures:,} exposures, "
        f"{found.metric_events:,} metric events stored"
    )
    by_row: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for count in found.outcomes:
        by_row[(count.experiment or "-", count.kind or "?")][count.outcome] = count.count
    rows = []
    for (experiment, kind), outcomes in sorted(by_row.items()):
        refused = {k.removeprefix("rejected:"): n for k, n in outcomes.items() if k != "accepted"}
        refused.pop("duplicate", None)
        rows.append(
            (
                experiment,
                kind,
                f"{outcomes.get('accepted', 0):,}",
                f"{outcomes.get('duplicate', 0):,}",
                f"{sum(refused.values()):,}",
                ", ".join(f"{r} {n:,}" for r, n in sorted(refused.items())) or "-",
            )
        )
    out.print(
        table(
            f"Ingest{window}",
            ["experiment", "kind", "accepted", "duplicates", "rejected", "reasons"],
            rows,
        )
    )


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
