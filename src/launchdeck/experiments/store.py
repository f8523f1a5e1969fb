"""The embedded event store: exposures and metric events in one DuckDB file.

Tables (the contract analysis reads; `CREATE … IF NOT EXISTS`, so opening is idempotent):

    exposures(id, experiment, variant, unit, timestamp, attributes JSON, id_key)
    metric_events(id, event, unit, value, timestamp, attributes JSON, id_key)
    ingest_counts(day, experiment, kind, outcome, count)   -- a view: one row per key
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

Exactly once: `write_many` inserts a group of batches in ONE transaction with the counts and
returns after DuckDB's commit (the write-ahead log is synced), so a write that returned is
durable and a retried one is counted as duplicates. The insert is a plain one first (the
primary key refuses a stored id: ConstraintException), then, only if it was refused,
`INSERT … ON CONFLICT DO NOTHING RETURNING id` on the group deduplicated: that clause costs
about 2 ms a statement even when nothing conflicts, three quarters of a commit's time.

The counts are appended to `ingest_tally` (a few rows a commit) and `ingest_counts` is the view
summing them by key; the tally is compacted to one row per key when the store is opened and
every `COMPACT_EVERY` commits. (A store written when `ingest_counts` was a keyed table has it
moved into the tally the first time it is opened for writing.)

DuckDB lets one process open a file for writing, and no other process may open it then, not
even read-only (a lock on the file). `launchdeck serve` holds the store while it runs: other
processes go through its API (LAUNCHDECK_URL). Opening a held file is a ConfigError that names
the file and the process holding it. Within one process, share the `EventStore`.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final, NamedTuple

import duckdb
import pyarrow as pa

from launchdeck.errors import ConfigError
from launchdeck.experiments.events import (
    EXPOSURE,
    METRIC,
    Event,
    EventStats,
    OutcomeCount,
    Reject,
    validate_batch,
)
from launchdeck.experiments.files import FileFormat, read_chunks
from launchdeck.experiments.model import Catalog

__all__ = [
    "Batch",
    "EventStats",
    "EventStore",
    "ImportResult",
    "OutcomeCount",
    "WriteResult",
]

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS exposures (id VARCHAR NOT NULL, experiment VARCHAR NOT NULL,"
    " variant VARCHAR NOT NULL, unit VARCHAR NOT NULL, timestamp TIMESTAMP NOT NULL,"
    " attributes JSON, id_key UHUGEINT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS metric_events (id VARCHAR NOT NULL, event VARCHAR NOT NULL,"
    " unit VARCHAR NOT NULL, value DOUBLE, timestamp TIMESTAMP NOT NULL, attributes JSON,"
    " id_key UHUGEINT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS ingest_tally (day DATE, experiment VARCHAR, kind VARCHAR,"
    " outcome VARCHAR, count BIGINT)",
    "CREATE TABLE IF NOT EXISTS analyses (experiment VARCHAR NOT NULL,"
    " analysed_at TIMESTAMP NOT NULL, units BIGINT NOT NULL)",
)
_COUNTS_VIEW: Final = (
    "CREATE VIEW IF NOT EXISTS ingest_counts AS SELECT day, experiment, kind, outcome,"
    " sum(count)::BIGINT AS count FROM ingest_tally GROUP BY ALL"
)
COMPACT_EVERY: Final = 1000
"""Commits between two compactions of `ingest_tally` (also compacted at each opening)."""
_TS: Final = pa.timestamp("us")
_APPEND_EXPOSURES: Final = (
    "INSERT INTO exposures SELECT id, experiment, variant, unit, timestamp, attributes,"
    " md5_number(id) FROM _new_exposures"
)
_APPEND_METRICS: Final = (
    "INSERT INTO metric_events SELECT id, event, unit, value, timestamp, attributes,"
    " md5_number(id) FROM _new_metrics"
)
# The first row of each id (in batch order), unless the id is stored already.
_INSERT_EXPOSURES: Final = (
    _APPEND_EXPOSURES
    + " QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq) = 1"
    + " ON CONFLICT DO NOTHING RETURNING id"
)
_INSERT_METRICS: Final = (
    _APPEND_METRICS
    + " QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq) = 1"
    + " ON CONFLICT DO NOTHING RETURNING id"
)
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


class WriteResult(NamedTuple):
    """What one submitted batch came to: newly stored, already there, refused."""

    accepted: int
    duplicates: int
    rejected: int


class Batch:
    """One submission to `write_many`: what is to be stored and counted, and when it came in.

    Held as Arrow tables (`exposures`, `metrics`), the rejects, and the counts of the batch as
    if every event went in: built here from validated events, or from a body decoded in
    another process (`from_tables`), so the one writer thread does no per-event Python work.
    """

    __slots__ = ("counts", "exposures", "metrics", "now", "rejects")

    def __init__(self, events: Sequence[Event], rejects: Sequence[Reject], now: datetime) -> None:
        exposures = [e for e in events if e.kind == EXPOSURE]
        metrics = [e for e in events if e.kind != EXPOSURE]
        self.exposures = _exposure_table(exposures)
        self.metrics = _metric_table(metrics)
        self.rejects = rejects
        self.now = now
        self.counts = batch_counts(
            now, Counter(e.experiment for e in exposures), len(metrics), rejects
        )

    @classmethod
    def from_tables(
        cls,
        exposures: pa.Table,
        metrics: pa.Table,
        rejects: Sequence[Reject],
        now: datetime,
        counts: Counter[CountKey],
    ) -> Batch:
        batch = cls.__new__(cls)
        batch.exposures, batch.metrics, batch.rejects = exposures, metrics, rejects
        batch.now, batch.counts = now, counts
        return batch

    @property
    def valid(self) -> int:
        """How many valid events the batch holds."""
        return int(self.exposures.num_rows + self.metrics.num_rows)


CountKey = tuple[date, str, str, str]
"""An `ingest_counts` key: (UTC day, experiment, kind, outcome)."""


def batch_counts(
    now: datetime, exposures: Counter[str], metrics: int, rejects: Sequence[Reject]
) -> Counter[CountKey]:
    """A batch's counts if every event went in: exposures by experiment, metric events, and
    the rejects by experiment, kind and reason."""
    day = now.astimezone(UTC).date()
    counts: Counter[CountKey] = Counter(
        {(day, experiment, EXPOSURE, "accepted"): n for experiment, n in exposures.items()}
    )
    if metrics:
        counts[(day, "", METRIC, "accepted")] = metrics
    for reject in rejects:
        counts[(day, reject.experiment, reject.kind, f"rejected:{reject.reason}")] += 1
    return counts


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
        self._appended = 0
        if not read_only:
            for statement in _SCHEMA:
                self._con.execute(statement)
            _counts_view(self._con)
            _compact_counts(self._con)
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
        with self._lock:
            con = self._con
            con.begin()
            try:
                results = self._insert_all(batches)
                if results is None:  # some id was seen before: find which, to count them
                    con.rollback()
                    con.begin()
                    results = self._insert_first(batches)
                con.commit()
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # keep the error that got us here
                    con.rollback()
                raise
            finally:
                for name in ("_new_exposures", "_new_metrics"):
                    con.unregister(name)
            self._committed()
        return results

    def _insert_all(self, batches: Sequence[Batch]) -> list[WriteResult] | None:
        """Insert every event and the batches' counts; None if an id was stored already or
        came twice (the primary key refused it: the transaction is to be rolled back).

        A plain INSERT: `ON CONFLICT DO NOTHING` costs about 2 ms a statement even when
        nothing conflicts, which was three quarters of a commit's time.
        """
        for name, statement, table in (
            ("_new_exposures", _APPEND_EXPOSURES, pa.concat_tables([b.exposures for b in batches])),
            ("_new_metrics", _APPEND_METRICS, pa.concat_tables([b.metrics for b in batches])),
        ):
            if table.num_rows:
                self._con.register(name, table)
                try:
                    self._con.execute(statement)
                except duckdb.ConstraintException:
                    return None
        counts: Counter[CountKey] = Counter()
        for batch in batches:
            counts.update(batch.counts)
        _append_counts(self._con, counts)
        return [WriteResult(b.valid, 0, len(b.rejects)) for b in batches]

    def _insert_first(self, batches: Sequence[Batch]) -> list[WriteResult]:
        """Insert the first event of each id not stored yet, and count the rest duplicates."""
        inserted: list[set[str]] = []
        for name, statement, column in (
            ("_new_exposures", _INSERT_EXPOSURES, "exposures"),
            ("_new_metrics", _INSERT_METRICS, "metrics"),
        ):
            table = pa.concat_tables([getattr(b, column) for b in batches])
            table = table.append_column("seq", pa.array(range(table.num_rows), pa.int64()))
            self._con.register(name, table)
            found = self._con.execute(statement).fetchall() if table.num_rows else []
            inserted.append({row[0] for row in found})
        results, counts = _tally(batches, inserted[0], inserted[1])
        _append_counts(self._con, counts)
        return results

    def _committed(self) -> None:
        self._appended += 1
        if self._appended % COMPACT_EVERY == 0:
            _compact_counts(self._con)

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


def _tally(
    batches: Sequence[Batch], exposures: set[str], metrics: set[str]
) -> tuple[list[WriteResult], Counter[CountKey]]:
    """Per batch: accepted, duplicates, rejected; and the ingest_counts increments. An event is
    accepted when it is the first with its id in this write and its row went in (its id is in
    `exposures` or `metrics`, the ids inserted)."""
    counts: Counter[CountKey] = Counter()
    results: list[WriteResult] = []
    seen: tuple[set[str], set[str]] = (set(), set())
    for batch in batches:
        day = batch.now.astimezone(UTC).date()
        accepted = 0
        exposure_rows = zip(
            batch.exposures.column("id").to_pylist(),
            batch.exposures.column("experiment").to_pylist(),
            strict=True,
        )
        metric_rows = ((i, "") for i in batch.metrics.column("id").to_pylist())
        for table, kind, inserted, rows in (
            (0, EXPOSURE, exposures, exposure_rows),
            (1, METRIC, metrics, metric_rows),
        ):
            for event_id, experiment in rows:
                first = event_id not in seen[table]
                seen[table].add(event_id)
                if first and event_id in inserted:
                    accepted += 1
                    counts[(day, experiment, kind, "accepted")] += 1
                else:
                    counts[(day, experiment, kind, "duplicate")] += 1
        for reject in batch.rejects:
            counts[(day, reject.experiment, reject.kind, f"rejected:{reject.reason}")] += 1
        results.append(WriteResult(accepted, batch.valid - accepted, len(batch.rejects)))
    return results, counts


def _append_counts(con: duckdb.DuckDBPyConnection, counts: Counter[CountKey]) -> None:
    """Append `counts` to ingest_tally: one statement with parameters (a few rows; an Arrow
    table would cost more to register than to insert). Appended, not added to a row per key:
    an upsert costs three times as much, and the `ingest_counts` view sums them anyway."""
    if not counts:
        return
    rows = ", ".join(["(?, ?, ?, ?, ?)"] * len(counts))
    params = [value for key, count in counts.items() for value in (*key, count)]
    con.execute(
        f"INSERT INTO ingest_tally VALUES {rows}",  # noqa: S608 (placeholders only)
        params,
    )


def _counts_view(con: duckdb.DuckDBPyConnection) -> None:
    """Create the `ingest_counts` view; a store written before it (where ingest_counts was a
    table keyed by day … outcome) has its counts moved to ingest_tally first."""
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'ingest_counts'"
    ).fetchall()
    if kind == [("BASE TABLE",)]:
        con.begin()
        try:
            con.execute(
                "INSERT INTO ingest_tally SELECT day, experiment, kind, outcome, count"
                " FROM ingest_counts"
            )
            con.execute("DROP TABLE ingest_counts")
            con.commit()
        except BaseException:
            con.rollback()
            raise
    con.execute(_COUNTS_VIEW)


def _compact_counts(con: duckdb.DuckDBPyConnection) -> None:
    """Replace ingest_tally's rows by one per key, in one transaction (readers see either)."""
    con.begin()
    try:
        summed = con.execute("SELECT * FROM ingest_counts").fetchall()
        con.execute("DELETE FROM ingest_tally")
        _append_counts(con, Counter({(d, e, k, o): count for d, e, k, o, count in summed}))
        con.commit()
    except BaseException:
        con.rollback()
        raise
