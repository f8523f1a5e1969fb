"""The embedded event store: exposures and metric events in one DuckDB file.

Tables (the contract analysis reads; `CREATE … IF NOT EXISTS`, so opening is idempotent):

    exposures(id, experiment, variant, unit, timestamp, attributes JSON, id_key)
    metric_events(id, event, unit, value, timestamp, attributes JSON, id_key)
    ingest_counts(day, experiment, kind, outcome, count)   -- PRIMARY KEY (day … outcome)
    analyses(experiment, analysed_at, units)   -- each analysis run: when, on how many units

The primary key of the event tables is `id_key = md5_number(id)` (UHUGEINT), not the VARCHAR
`id` itself: DuckDB's ART index on random 36-character strings slows inserts down as the table
grows (about 100,000 events/s on an empty table, 30,000 at a million rows), while 128-bit
integer keys keep it flat. Two distinct ids would have to collide in 128 bits of MD5 for one to
be taken for the other, which random ids never do (and a client crafting a collision could
only drop its own events: a preimage of someone else's id is out of reach).

Timestamps are naive UTC. `ingest_counts` counts every event ingested, by the UTC day it was
ingested: `accepted`, `duplicate` (its id was stored already, or came twice in one write) or
`rejected:<reason>`; kind `exposure`/`metric` ('' when an event did not say which it was),
experiment '' for metric events.

Exactly once: `write_many` inserts a group of batches in ONE transaction with the counts, with
`INSERT … ON CONFLICT DO NOTHING` on the id, and returns after DuckDB's commit (the write-ahead
log is synced), so a write that returned is durable and a retried one is counted as duplicates.

DuckDB lets one process open a file for writing, and no other process may open it then, not
even read-only (a lock on the file). `launchdeck serve` holds the store while it runs: other
processes go through its API (LAUNCHDECK_URL). Opening a held file is a ConfigError that names
the file and the process holding it. Within one process, share the `EventStore`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, NamedTuple

import duckdb
import pyarrow as pa

from launchdeck.errors import ConfigError, UsageError
from launchdeck.experiments.events import (
    EXPOSURE,
    Event,
    EventStats,
    OutcomeCount,
    Reject,
    RejectReason,
    validate_batch,
)
from launchdeck.experiments.model import Catalog

__all__ = [
    "Batch",
    "EventStats",
    "EventStore",
    "FileFormat",
    "ImportResult",
    "OutcomeCount",
    "WriteResult",
    "guess_format",
    "read_chunks",
]

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS exposures (id VARCHAR NOT NULL, experiment VARCHAR NOT NULL,"
    " variant VARCHAR NOT NULL, unit VARCHAR NOT NULL, timestamp TIMESTAMP NOT NULL,"
    " attributes JSON, id_key UHUGEINT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS metric_events (id VARCHAR NOT NULL, event VARCHAR NOT NULL,"
    " unit VARCHAR NOT NULL, value DOUBLE, timestamp TIMESTAMP NOT NULL, attributes JSON,"
    " id_key UHUGEINT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS ingest_counts (day DATE, experiment VARCHAR, kind VARCHAR,"
    " outcome VARCHAR, count BIGINT, PRIMARY KEY (day, experiment, kind, outcome))",
    "CREATE TABLE IF NOT EXISTS analyses (experiment VARCHAR NOT NULL,"
    " analysed_at TIMESTAMP NOT NULL, units BIGINT NOT NULL)",
)
_TS: Final = pa.timestamp("us")
_INSERT_EXPOSURES: Final = (
    "INSERT INTO exposures SELECT id, experiment, variant, unit, timestamp, attributes,"
    " md5_number(id) FROM _new_exposures ON CONFLICT DO NOTHING"
)
_INSERT_METRICS: Final = (
    "INSERT INTO metric_events SELECT id, event, unit, value, timestamp, attributes,"
    " md5_number(id) FROM _new_metrics ON CONFLICT DO NOTHING"
)
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


class WriteResult(NamedTuple):
    """What one submitted batch came to: newly stored, already there, refused."""

    accepted: int
    duplicates: int
    rejected: int


class Batch(NamedTuple):
    """One submission to `write_many`: validated events, rejects, and when it was ingested."""

    events: Sequence[Event]
    rejects: Sequence[Reject]
    now: datetime


class FileFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """An import's totals; `rejects` holds the first `keep` rejects (index = file line for JSONL
    and CSV, row number for Parquet, 1-based) and `by_reason` counts them all."""

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    by_reason: Mapping[str, int] = field(default_factory=dict)
    rejects: tuple[Reject, ...] = ()

    def add(
        self, rows: int, written: WriteResult, rejects: Sequence[Reject], *, keep: int = 1000
    ) -> ImportResult:
        """These totals plus one more chunk of `rows` rows (`rejects`: all of its rejects)."""
        by_reason = Counter(self.by_reason)
        by_reason.update(str(r.reason) for r in rejects)
        room = max(0, keep - len(self.rejects))
        return ImportResult(
            rows=self.rows + rows,
            accepted=self.accepted + written.accepted,
            duplicates=self.duplicates + written.duplicates,
            rejected=self.rejected + len(rejects),
            by_reason=dict(by_reason),
            rejects=(*self.rejects, *sorted(rejects, key=lambda r: r.index)[:room]),
        )


def _open_error(path: Path, exc: duckdb.Error) -> ConfigError:
    text = str(exc)
    holder = _LOCK_HOLDER.search(text)
    if holder is not None:
        return ConfigError(
            f"the event store is open in another process ({holder.group(1)}, PID "
            f"{holder.group(2)}): DuckDB lets one process at a time open it",
            where=str(path),
            hint="send events through that process's API (LAUNCHDECK_URL, e.g. to "
            "'launchdeck serve'), or stop it first",
        )
    return ConfigError(
        f"cannot open the event store: {text.removeprefix('IO Error: ')}",
        where=str(path),
        hint="LAUNCHDECK_EVENTS_PATH names the DuckDB file of ingested events",
    )


class EventStore:
    """The DuckDB event store at `path` (created with its tables unless `read_only`).

    Thread-safe: writes are serialised on one connection; reads use their own cursor.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            if not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.ConnectionException:
            # This process has the file open read-write already (DuckDB shares one instance
            # per file and configuration): a read-only view of it is that instance.
            self._con = duckdb.connect(str(path))
        except duckdb.Error as exc:
            raise _open_error(path, exc) from None
        if not read_only:
            for statement in _SCHEMA:
                self._con.execute(statement)
        # Read cursors are spawned from a connection nobody executes on, so a read starting on
        # one thread never touches the writer's connection while it commits on another.
        self._spawner = self._con.cursor()
        self._spawn_lock = threading.Lock()

    def close(self) -> None:
        with self._lock, self._spawn_lock:
            self._spawner.close()
            self._con.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # writes --------------------------------------------------------------------------------

    def write(
        self, events: Sequence[Event], rejects: Sequence[Reject], *, now: datetime
    ) -> WriteResult:
        """Store one batch (see `write_many`)."""
        return self.write_many([Batch(events, rejects, now)])[0]

    def write_many(self, batches: Sequence[Batch]) -> list[WriteResult]:
        """Store the batches' new events and every count in one transaction; durable on return.

        An id already stored, or claimed by an earlier event of the same call, is a duplicate
        (the earlier batch gets it). One result per batch, in order.
        """
        seen: tuple[set[str], set[str]] = (set(), set())
        unique: tuple[list[Event], list[Event]] = ([], [])
        for batch in batches:
            for event in batch.events:
                table = 0 if event.kind == EXPOSURE else 1
                if event.id not in seen[table]:
                    seen[table].add(event.id)
                    unique[table].append(event)
        with self._lock:
            return self._insert(unique, batches)

    def _insert(
        self, unique: tuple[list[Event], list[Event]], batches: Sequence[Batch]
    ) -> list[WriteResult]:
        con = self._con
        tables = (_exposure_table(unique[0]), _metric_table(unique[1]))
        con.begin()
        try:
            inserted = self._run_inserts(unique, tables, returning=False)
            if inserted is None:  # some ids were stored already: find which, to count them
                con.rollback()  # (which also drops the registered tables)
                con.begin()
                inserted = self._run_inserts(unique, tables, returning=True)
                assert inserted is not None
            results, counts = _tally(batches, inserted)
            _upsert_counts(con, counts)
            con.commit()
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # keep the error that got us here
                con.rollback()
            raise
        finally:
            for name in ("_new_exposures", "_new_metrics"):
                con.unregister(name)
        return results

    def _run_inserts(
        self,
        unique: tuple[list[Event], list[Event]],
        tables: tuple[pa.Table, pa.Table],
        *,
        returning: bool,
    ) -> tuple[set[str] | None, set[str] | None] | None:
        """Insert both tables. Without `returning`: (None, None) when every row went in, None
        when some did not. With it: the ids that went in, per table."""
        self._con.register("_new_exposures", tables[0])
        self._con.register("_new_metrics", tables[1])
        out: list[set[str] | None] = []
        for rows, statement in ((unique[0], _INSERT_EXPOSURES), (unique[1], _INSERT_METRICS)):
            if not rows:
                out.append(None)
                continue
            if returning:
                found = self._con.execute(statement + " RETURNING id").fetchall()
                out.append({row[0] for row in found})
                continue
            count = self._con.execute(statement).fetchall()
            if count[0][0] != len(rows):
                return None
            out.append(None)
        return out[0], out[1]

    # reads ---------------------------------------------------------------------------------

    def stats(self, *, since: date | None = None) -> EventStats:
        """Rows stored and the ingest outcomes (from the UTC day `since`, or all)."""
        cursor = self.cursor()
        try:
            exposures = cursor.execute("SELECT count(*) FROM exposures").fetchall()[0]
            metrics = cursor.execute("SELECT count(*) FROM metric_events").fetchall()[0]
            rows = cursor.execute(
                "SELECT experiment, kind, outcome, sum(count)::BIGINT FROM ingest_counts"
                " WHERE $since IS NULL OR day >= $since"
                " GROUP BY ALL ORDER BY experiment, kind, outcome",
                {"since": since},
            ).fetchall()
        except duckdb.CatalogException:  # a read-only view of a file never written to
            return EventStats(path=str(self.path), exposures=0, metric_events=0, since=since)
        finally:
            cursor.close()
        return EventStats(
            path=str(self.path),
            exposures=exposures[0],
            metric_events=metrics[0],
            outcomes=tuple(
                OutcomeCount(experiment=e, kind=k, outcome=o, count=c) for e, k, o, c in rows
            ),
            since=since,
        )

    def duplicate_counts(self, experiment: str) -> tuple[int, int]:
        """(duplicate deliveries, valid deliveries) of the experiment's exposures, all days:
        the duplicate-event rate's numerator and denominator (rejects are not deliveries)."""
        cursor = self.cursor()
        try:
            row = cursor.execute(
                "SELECT coalesce(sum(count) FILTER (outcome = 'duplicate'), 0)::BIGINT,"
                " coalesce(sum(count), 0)::BIGINT FROM ingest_counts"
                " WHERE experiment = $experiment AND kind = 'exposure'"
                " AND outcome IN ('accepted', 'duplicate')",
                {"experiment": experiment},
            ).fetchall()[0]
        finally:
            cursor.close()
        return int(row[0]), int(row[1])

    def record_analysis(self, experiment: str, *, at: datetime, units: int) -> None:
        """Remember that the experiment was analysed at `at` on `units` units."""
        naive = at.astimezone(UTC).replace(tzinfo=None)
        with self._lock:
            self._con.execute(
                "INSERT INTO analyses VALUES ($experiment, $at, $units)",
                {"experiment": experiment, "at": naive, "units": units},
            )

    def analyses_below(self, experiment: str, *, units: int) -> int:
        """How many analyses of the experiment ran on fewer than `units` units (peeks before a
        fixed horizon was reached)."""
        cursor = self.cursor()
        try:
            row = cursor.execute(
                "SELECT count(*) FROM analyses WHERE experiment = $experiment AND units < $units",
                {"experiment": experiment, "units": units},
            ).fetchall()[0]
        finally:
            cursor.close()
        return int(row[0])

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own on the store, for reads in the calling thread (analysis
        queries); close it when done."""
        with self._spawn_lock:
            return self._spawner.cursor()

    # imports -------------------------------------------------------------------------------

    def import_file(
        self,
        path: Path,
        *,
        file_format: FileFormat,
        catalog: Catalog,
        now: datetime,
        max_skew: timedelta,
        max_age: timedelta | None,
        chunk_rows: int = 50_000,
        keep: int = 1000,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> ImportResult:
        """Validate and store a file chunk by chunk (one transaction per chunk), exactly as
        `POST /api/v1/events` would; `on_progress(done, total)` after each chunk (bytes for
        JSONL and CSV, rows for Parquet). Importing a file again stores nothing twice."""
        result = ImportResult()
        for chunk in read_chunks(path, file_format, chunk_rows=chunk_rows):
            validated = validate_batch(
                chunk.items, catalog=catalog, now=now, max_skew=max_skew, max_age=max_age
            )
            rejects = chunk.placed(validated.rejects)
            written = self.write(validated.accepted, rejects, now=now)
            result = result.add(chunk.rows, written, rejects, keep=keep)
            if on_progress is not None:
                on_progress(chunk.done, chunk.total)
        return result


def _exposure_table(rows: list[Event]) -> pa.Table:
    # A list per column (a comprehension each): zip(*rows) costs five times as much.
    return pa.table(
        {
            "id": pa.array([e.id for e in rows], pa.string()),
            "experiment": pa.array([e.experiment for e in rows], pa.string()),
            "variant": pa.array([e.variant for e in rows], pa.string()),
            "unit": pa.array([e.unit for e in rows], pa.string()),
            "timestamp": pa.array([e.timestamp_us for e in rows], pa.int64()).cast(_TS),
            "attributes": pa.array([e.attributes for e in rows], pa.string()),
        }
    )


def _metric_table(rows: list[Event]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([e.id for e in rows], pa.string()),
            "event": pa.array([e.event for e in rows], pa.string()),
            "unit": pa.array([e.unit for e in rows], pa.string()),
            "value": pa.array([e.value for e in rows], pa.float64()),
            "timestamp": pa.array([e.timestamp_us for e in rows], pa.int64()).cast(_TS),
            "attributes": pa.array([e.attributes for e in rows], pa.string()),
        }
    )


_CountKey = tuple[date, str, str, str]


def _tally(
    batches: Sequence[Batch],
    inserted: tuple[set[str] | None, set[str] | None],
) -> tuple[list[WriteResult], Counter[_CountKey]]:
    """Per batch: accepted, duplicates, rejected; and the ingest_counts increments. An event is
    accepted when it is the first with its id in this write and its row went in (`inserted`
    None for a table: every row of it went in)."""
    counts: Counter[_CountKey] = Counter()
    results: list[WriteResult] = []
    seen: tuple[set[str], set[str]] = (set(), set())
    for batch in batches:
        day = batch.now.astimezone(UTC).date()
        accepted = 0
        for event in batch.events:
            table = 0 if event.kind == EXPOSURE else 1
            first = event.id not in seen[table]
            if first:
                seen[table].add(event.id)
            ids = inserted[table]
            if first and (ids is None or event.id in ids):
                accepted += 1
                counts[(day, event.experiment, event.kind, "accepted")] += 1
            else:
                counts[(day, event.experiment, event.kind, "duplicate")] += 1
        for reject in batch.rejects:
            counts[(day, reject.experiment, reject.kind, f"rejected:{reject.reason}")] += 1
        results.append(WriteResult(accepted, len(batch.events) - accepted, len(batch.rejects)))
    return results, counts


def _upsert_counts(con: duckdb.DuckDBPyConnection, counts: Counter[_CountKey]) -> None:
    """Add `counts` to ingest_counts: one statement with parameters (a few rows; an Arrow
    table would cost more to register than to insert)."""
    if not counts:
        return
    rows = ", ".join(["(?, ?, ?, ?, ?)"] * len(counts))
    params = [value for key, count in counts.items() for value in (*key, count)]
    con.execute(
        f"INSERT INTO ingest_counts VALUES {rows}"  # noqa: S608 (placeholders only)
        " ON CONFLICT DO UPDATE SET count = count + excluded.count",
        params,
    )


# ------------------------------------------------------------------------------------ files


def guess_format(path: Path) -> FileFormat:
    """The format a file's extension names; UsageError when it names none."""
    suffix = path.suffix.lower()
    for fmt, suffixes in (
        (FileFormat.JSONL, {".jsonl", ".ndjson", ".json"}),
        (FileFormat.CSV, {".csv"}),
        (FileFormat.PARQUET, {".parquet", ".pq"}),
    ):
        if suffix in suffixes:
            return fmt
    raise UsageError(
        f"cannot tell the format of {path.name} from its extension",
        hint="pass --format jsonl, csv or parquet",
    )


@dataclass(frozen=True, slots=True)
class Chunk:
    """Rows of a file as wire-format events, where each came from, and how far the file is
    read (`done` of `total`: bytes for JSONL and CSV, rows for Parquet)."""

    items: list[object]
    lines: list[int]
    """The file line (JSONL, CSV: where the record starts) or row number of each item."""
    unreadable: list[Reject]
    """Lines that are not even JSON, already placed."""
    done: int
    total: int

    @property
    def rows(self) -> int:
        return len(self.items) + len(self.unreadable)

    def placed(self, rejects: Iterable[Reject]) -> list[Reject]:
        """`rejects` of validating `items`, re-indexed to file lines, with the unreadable."""
        lines = self.lines
        return [*self.unreadable, *(replace(r, index=lines[r.index]) for r in rejects)]


def read_chunks(path: Path, file_format: FileFormat, *, chunk_rows: int) -> Iterator[Chunk]:
    """The file as chunks of about `chunk_rows` events, read as they are needed."""
    try:
        if file_format is FileFormat.PARQUET:
            yield from _parquet_chunks(path, chunk_rows)
        elif file_format is FileFormat.CSV:
            yield from _csv_chunks(path, chunk_rows)
        else:
            yield from _jsonl_chunks(path, chunk_rows)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _jsonl_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    total = path.stat().st_size
    with path.open("rb") as lines:
        items: list[object] = []
        numbers: list[int] = []
        unreadable: list[Reject] = []
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                items.append(json.loads(raw))
                numbers.append(number)
            except (ValueError, RecursionError) as exc:
                unreadable.append(_unreadable(number, f"line {number} is not JSON: {exc}"))
            if len(items) + len(unreadable) >= chunk_rows:
                yield Chunk(items, numbers, unreadable, lines.tell(), total)
                items, numbers, unreadable = [], [], []
        yield Chunk(items, numbers, unreadable, total, total)


def _unreadable(number: int, message: str) -> Reject:
    return Reject(number, None, RejectReason.NOT_AN_OBJECT, None, message[:300])


_WIRE_FIELDS: Final = frozenset(
    {"id", "type", "experiment", "flag", "variant", "unit", "event", "value", "timestamp"}
)


def _csv_item(header: Sequence[str], row: Sequence[str]) -> dict[str, object]:
    """A CSV record as a wire event: empty cells are absent; `value` and a numeric `timestamp`
    become numbers; an `attributes` cell is a JSON object; other columns are attributes."""
    item: dict[str, object] = {}
    attributes: dict[str, object] = {}
    for name, cell in zip(header, row, strict=False):
        if cell == "":
            continue
        if name in _WIRE_FIELDS:
            item[name] = _csv_number(cell) if name in {"value", "timestamp"} else cell
        elif name == "attributes":
            try:
                parsed = json.loads(cell)
            except ValueError:
                parsed = cell
            if isinstance(parsed, dict):
                attributes.update(parsed)
            else:
                item["attributes"] = cell  # refused by validation, with the field named
        else:
            attributes[name] = cell
    if attributes and "attributes" not in item:
        item["attributes"] = attributes
    return item


def _csv_number(cell: str) -> object:
    try:
        return float(cell) if any(c in cell for c in ".eE") else int(cell)
    except ValueError:
        return cell  # a timestamp in RFC 3339, or a value validation refuses


class _CountingLines:
    """Lines of a binary file as text, counting the bytes read (for the progress bar)."""

    def __init__(self, binary: Iterable[bytes], path: Path) -> None:
        self._binary = binary
        self._path = path
        self.read = 0
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self._binary:
            self.read += len(raw)
            self.number += 1
            try:
                text = raw.decode()
            except UnicodeDecodeError:
                raise UsageError(f"{self._path}:{self.number}: not UTF-8 text") from None
            yield text.removeprefix("\ufeff") if self.number == 1 else text


def _csv_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    total = path.stat().st_size
    with path.open("rb") as binary:
        lines = _CountingLines(binary, path)
        reader = csv.reader(lines)
        header = [name.strip() for name in next(reader, [])]
        if "unit" not in header and "type" not in header:
            raise UsageError(
                f"{path}: the first line names no event columns (type, unit, …)",
                hint="the header names the wire fields: id,type,experiment,flag,variant,unit,"
                "event,value,timestamp (other columns become attributes)",
            )
        items: list[object] = []
        numbers: list[int] = []
        start = lines.number + 1
        for row in reader:
            if any(row):
                items.append(_csv_item(header, row))
                numbers.append(start)
            start = lines.number + 1
            if len(items) >= chunk_rows:
                yield Chunk(items, numbers, [], lines.read, total)
                items, numbers = [], []
        yield Chunk(items, numbers, [], total, total)


def _parquet_value(value: object) -> object:
    if isinstance(value, datetime):  # a TIMESTAMP without zone is taken as UTC
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _parquet_attributes(value: object) -> object:
    """An `attributes` cell as a dict when it is one: a STRUCT, a MAP or JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, list):  # a MAP column reads as (key, value) pairs
        try:
            return dict(value)
        except (TypeError, ValueError):
            return value
    return value


def _parquet_item(row: dict[str, Any]) -> dict[str, object]:
    item: dict[str, object] = {}
    attributes: dict[str, object] = {}
    for name, value in row.items():
        if value is None:
            continue
        if name in _WIRE_FIELDS:
            item[name] = _parquet_value(value)
        elif name == "attributes":
            given = _parquet_attributes(value)
            if isinstance(given, dict):
                attributes.update({k: v for k, v in given.items() if v is not None})
            else:
                item["attributes"] = given  # refused by validation, with the field named
        else:
            attributes[name] = _parquet_value(value)
    if attributes and "attributes" not in item:
        item["attributes"] = attributes
    return item


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[Chunk]:
    if not path.is_file():
        raise UsageError(f"cannot read {path}: no such file")
    con = duckdb.connect()
    try:
        try:
            params = {"path": str(path)}
            found = con.execute("SELECT count(*) FROM read_parquet($path)", params).fetchall()
            total = int(found[0][0])
            relation = con.sql("SELECT * FROM read_parquet($path)", params=params)
            assert relation is not None
            reader = relation.to_arrow_reader(chunk_rows)
        except duckdb.Error as exc:
            raise UsageError(f"{path}: not a readable Parquet file: {exc}") from None
        done = 0
        for record_batch in reader:
            rows = record_batch.to_pylist()
            numbers = list(range(done + 1, done + len(rows) + 1))
            done += len(rows)
            yield Chunk([_parquet_item(r) for r in rows], numbers, [], done, total)
        if total == 0:
            yield Chunk([], [], [], 0, 0)
    finally:
        con.close()
