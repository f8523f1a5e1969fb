"""The DuckDB event store and its group-commit writer, on real files."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from launchdeck.errors import ConfigError, UpstreamError
from launchdeck.experiments.events import Event, Reject, RejectReason, validate_batch
from launchdeck.experiments.model import Catalog
from launchdeck.experiments.store import Batch, EventStore, OutcomeCount, WriteResult
from launchdeck.experiments.writer import EventWriter, Overloaded

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CATALOG = Catalog(
    experiments={"hero": frozenset({"control", "urgency"}), "ship": frozenset({"a", "b"})},
    by_flag={"bf-hero-copy": "hero"},
)


def events(*items: dict[str, Any]) -> tuple[list[Event], list[Reject]]:
    found = validate_batch(
        list(items), catalog=CATALOG, now=NOW, max_skew=timedelta(minutes=5), max_age=None
    )
    return found.accepted, found.rejects


def exposure(event_id: str, unit: str = "u1", experiment: str = "hero") -> dict[str, Any]:
    variant = "urgency" if experiment == "hero" else "a"
    return {
        "id": event_id,
        "type": "exposure",
        "experiment": experiment,
        "variant": variant,
        "unit": unit,
        "timestamp": "2026-11-27T11:00:00Z",
        "attributes": {"browser": "firefox"},
    }


def metric(event_id: str, unit: str = "u1", value: float | None = 9.5) -> dict[str, Any]:
    item = {"id": event_id, "type": "metric", "event": "purchase", "unit": unit}
    item["timestamp"] = 1795777200.25
    if value is not None:
        item["value"] = value
    return item


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "state" / "events.duckdb") as opened:
        yield opened


def rows(store: EventStore, sql: str) -> list[tuple[Any, ...]]:
    cursor = store.cursor()
    try:
        return cursor.execute(sql).fetchall()
    finally:
        cursor.close()


def test_the_tables_follow_the_contract_analysis_reads(store: EventStore) -> None:
    columns = rows(
        store,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_name IN ('exposures', 'metric_events', 'ingest_counts') "
        "ORDER BY table_name, ordinal_position",
    )

    assert columns == [
        ("exposures", "id", "VARCHAR"),
        ("exposures", "experiment", "VARCHAR"),
        ("exposures", "variant", "VARCHAR"),
        ("exposures", "unit", "VARCHAR"),
        ("exposures", "timestamp", "TIMESTAMP"),
        ("exposures", "attributes", "JSON"),
        ("exposures", "id_key", "UHUGEINT"),
        ("ingest_counts", "day", "DATE"),
        ("ingest_counts", "experiment", "VARCHAR"),
        ("ingest_counts", "kind", "VARCHAR"),
        ("ingest_counts", "outcome", "VARCHAR"),
        ("ingest_counts", "count", "BIGINT"),
        ("metric_events", "id", "VARCHAR"),
        ("metric_events", "event", "VARCHAR"),
        ("metric_events", "unit", "VARCHAR"),
        ("metric_events", "value", "DOUBLE"),
        ("metric_events", "timestamp", "TIMESTAMP"),
        ("metric_events", "attributes", "JSON"),
        ("metric_events", "id_key", "UHUGEINT"),
    ]
    keys = rows(
        store,
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY' ORDER BY table_name",
    )
    assert keys == [("exposures", ["id_key"]), ("metric_events", ["id_key"])]
    kinds = rows(
        store,
        "SELECT table_name, table_type FROM information_schema.tables "
        "WHERE table_name LIKE 'ingest%' ORDER BY table_name",
    )
    assert kinds == [("ingest_counts", "VIEW"), ("ingest_tally", "BASE TABLE")]


def test_a_batch_is_stored_once_and_a_retry_only_counts_duplicates(store: EventStore) -> None:
    accepted, rejects = events(
        exposure("e1"),
        exposure("e1"),  # twice in one batch: once
        metric("m1"),
        metric("m2", value=None),
        {**exposure("bad"), "variant": "bold"},
    )

    first = store.write(accepted, rejects, now=NOW)
    retry = store.write(accepted, rejects, now=NOW + timedelta(days=1))

    assert first == WriteResult(accepted=3, duplicates=1, rejected=1)
    assert retry == WriteResult(accepted=0, duplicates=4, rejected=1)
    assert rows(store, "SELECT * EXCLUDE (id_key) FROM exposures") == [
        ("e1", "hero", "urgency", "u1", datetime(2026, 11, 27, 11, 0), '{"browser":"firefox"}')
    ]
    assert rows(
        store, "SELECT id, event, unit, value, timestamp FROM metric_events ORDER BY id"
    ) == [
        ("m1", "purchase", "u1", 9.5, datetime(2026, 11, 27, 11, 0, 0, 250000)),
        ("m2", "purchase", "u1", None, datetime(2026, 11, 27, 11, 0, 0, 250000)),
    ]
    assert rows(store, "SELECT * FROM ingest_counts ORDER BY ALL") == [
        (date(2026, 11, 27), "", "metric", "accepted", 2),
        (date(2026, 11, 27), "hero", "exposure", "accepted", 1),
        (date(2026, 11, 27), "hero", "exposure", "duplicate", 1),
        (date(2026, 11, 27), "hero", "exposure", "rejected:unknown_variant", 1),
        (date(2026, 11, 28), "", "metric", "duplicate", 2),
        (date(2026, 11, 28), "hero", "exposure", "duplicate", 2),
        (date(2026, 11, 28), "hero", "exposure", "rejected:unknown_variant", 1),
    ]


def test_ids_are_unique_per_table_not_across_tables(store: EventStore) -> None:
    accepted, _ = events(exposure("same"), metric("same"))

    assert store.write(accepted, [], now=NOW) == WriteResult(2, 0, 0)


def test_in_one_group_the_first_batch_claiming_an_id_gets_it(store: EventStore) -> None:
    store.write(events(exposure("old"))[0], [], now=NOW)
    one = events(exposure("a"), exposure("b"), exposure("old"))[0]
    two = events(exposure("b"), exposure("c"), metric("m"))[0]

    results = store.write_many([Batch(one, [], NOW), Batch(two, [], NOW)])

    assert results == [WriteResult(2, 1, 0), WriteResult(2, 1, 0)]
    assert rows(store, "SELECT count(*) FROM exposures") == [(4,)]


def test_stats_sum_the_outcomes_by_experiment_over_the_days_asked(store: EventStore) -> None:
    accepted, rejects = events(exposure("e1"), exposure("e2", experiment="ship"), metric("m1"))
    store.write(accepted, rejects, now=NOW - timedelta(days=3))
    store.write(accepted, [], now=NOW)

    everything = store.stats()
    today = store.stats(since=NOW.date())

    assert (everything.exposures, everything.metric_events) == (2, 1)
    assert everything.outcomes == (
        OutcomeCount(experiment="", kind="metric", outcome="accepted", count=1),
        OutcomeCount(experiment="", kind="metric", outcome="duplicate", count=1),
        OutcomeCount(experiment="hero", kind="exposure", outcome="accepted", count=1),
        OutcomeCount(experiment="hero", kind="exposure", outcome="duplicate", count=1),
        OutcomeCount(experiment="ship", kind="exposure", outcome="accepted", count=1),
        OutcomeCount(experiment="ship", kind="exposure", outcome="duplicate", count=1),
    )
    assert {o.outcome for o in today.outcomes} == {"duplicate"}
    assert store.duplicate_counts("hero") == (1, 2)


def test_analyses_are_recorded_for_the_peeking_check(store: EventStore) -> None:
    for units in (100, 900, 2000):
        store.record_analysis("hero", at=NOW, units=units)

    assert store.analyses_below("hero", units=1000) == 2
    assert store.analyses_below("ship", units=1000) == 0


def test_reopening_keeps_everything_and_a_read_only_view_sees_it(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    with EventStore(path) as first:
        first.write(*events(exposure("e1"), metric("m1")), now=NOW)
    with EventStore(path) as again:
        assert again.write(*events(exposure("e1")), now=NOW) == WriteResult(0, 1, 0)

    with EventStore(path, read_only=True) as view:
        assert (view.stats().exposures, view.stats().metric_events) == (1, 1)


def test_a_store_another_process_holds_is_a_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"open\n"
        for read_only in (False, True):
            with pytest.raises(ConfigError) as raised:
                EventStore(path, read_only=read_only)
            assert raised.value.where == str(path)
            assert f"PID {holder.pid}" in raised.value.message
            assert "LAUNCHDECK_URL" in (raised.value.hint or "")
    finally:
        holder.communicate(b"", timeout=10)


class SlowStore(EventStore):
    """Commits take `delay_s`, so batches submitted meanwhile queue up; a batch holding an
    event with id `poison` fails its commit."""

    delay_s = 0.05
    poison = "poison"

    def write_many(self, batches: Sequence[Batch]) -> list[WriteResult]:
        threading.Event().wait(self.delay_s)
        if any(self.poison in b.metrics.column("id").to_pylist() for b in batches):
            raise RuntimeError("disk full")
        return super().write_many(batches)


def test_the_writer_commits_what_queued_during_a_commit_together(tmp_path: Path) -> None:
    store = SlowStore(tmp_path / "events.duckdb")
    writer = EventWriter(store)
    futures: list[Future[WriteResult]] = []
    lock = threading.Lock()

    def submit(thread: int) -> None:
        for batch in range(10):
            accepted, _ = events(*(metric(f"{thread}-{batch}-{i}") for i in range(20)))
            future = writer.submit(accepted, [], now=NOW)
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=submit, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results = [f.result(timeout=30) for f in futures]
    writer.close()

    assert sum(r.accepted for r in results) == 8 * 10 * 20
    assert writer.commits < len(futures) / 2
    assert store.stats().metric_events == 8 * 10 * 20
    store.close()


def test_a_batch_that_cannot_be_written_fails_alone(tmp_path: Path) -> None:
    store = SlowStore(tmp_path / "events.duckdb")
    writer = EventWriter(store)
    gate = writer.submit(events(metric("first"))[0], [], now=NOW)  # holds the writer a moment
    good = writer.submit(events(metric("good"))[0], [], now=NOW)
    bad = writer.submit(events(metric("poison"))[0], [], now=NOW)
    also_good = writer.submit(events(metric("also"))[0], [], now=NOW)

    assert gate.result(timeout=10) == WriteResult(1, 0, 0)
    assert good.result(timeout=10) == WriteResult(1, 0, 0)
    assert also_good.result(timeout=10) == WriteResult(1, 0, 0)
    with pytest.raises(RuntimeError, match="disk full"):
        bad.result(timeout=10)
    writer.close()
    store.close()


def test_the_writer_refuses_work_beyond_its_backlog_and_after_close(tmp_path: Path) -> None:
    store = SlowStore(tmp_path / "events.duckdb")
    store.delay_s = 0.5
    writer = EventWriter(store, max_pending=30)
    batch = events(*(metric(f"m{i}") for i in range(20)))[0]
    writer.submit(batch, [], now=NOW)  # taken by the writer at once, committed slowly
    deadline = time.monotonic() + 5
    while writer.pending and time.monotonic() < deadline:
        time.sleep(0.005)
    queued = writer.submit(batch, [], now=NOW)

    with pytest.raises(Overloaded) as busy:
        writer.submit(batch, [], now=NOW)
    assert busy.value.status == 503
    writer.close()
    assert queued.result(timeout=10) == WriteResult(0, 20, 0)  # drained on close
    with pytest.raises(UpstreamError, match="shut down"):
        writer.submit(batch, [], now=NOW)
    store.close()


def test_ingest_counts_has_one_row_per_key_and_the_tally_is_compacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("launchdeck.experiments.store.COMPACT_EVERY", 4)
    path = tmp_path / "events.duckdb"
    store = EventStore(path)
    for i in range(3):
        store.write(*events(metric(f"m{i}"), exposure(f"e{i}")), now=NOW)

    tally = "SELECT count(*) FROM ingest_tally"
    assert rows(store, tally) == [(6,)]  # appended: two keys a commit, not yet compacted
    assert rows(store, "SELECT kind, outcome, count FROM ingest_counts ORDER BY ALL") == [
        ("exposure", "accepted", 3),
        ("metric", "accepted", 3),
    ]
    store.write(*events(metric("m0"), metric("m9")), now=NOW)  # the 4th commit compacts
    assert rows(store, tally) == [(3,)]
    assert rows(store, "SELECT kind, outcome, count FROM ingest_counts ORDER BY ALL") == [
        ("exposure", "accepted", 3),
        ("metric", "accepted", 4),
        ("metric", "duplicate", 1),
    ]
    store.write(*events(metric("m10")), now=NOW)
    store.close()

    reopened = EventStore(path)  # compacted again on opening
    assert rows(reopened, tally) == [(3,)]
    assert rows(
        reopened, "SELECT count FROM ingest_counts WHERE outcome = 'accepted' AND kind = 'metric'"
    ) == [(5,)]
    reopened.close()


def test_a_store_with_the_former_keyed_counts_table_keeps_its_counts(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    with duckdb.connect(str(path)) as old:  # how stores were written before ingest_tally
        old.execute(
            "CREATE TABLE ingest_counts (day DATE, experiment VARCHAR, kind VARCHAR,"
            " outcome VARCHAR, count BIGINT, PRIMARY KEY (day, experiment, kind, outcome))"
        )
        old.execute(
            "INSERT INTO ingest_counts VALUES ('2026-11-26', 'hero', 'exposure', 'accepted', 7),"
            " ('2026-11-26', '', 'metric', 'rejected:too_old', 2)"
        )

    with EventStore(path) as store:
        store.write(*events(exposure("e1")), now=NOW)
        assert store.stats().outcomes == (
            OutcomeCount(experiment="", kind="metric", outcome="rejected:too_old", count=2),
            OutcomeCount(experiment="hero", kind="exposure", outcome="accepted", count=8),
        )
        assert rows(
            store,
            "SELECT table_type FROM information_schema.tables WHERE table_name = 'ingest_counts'",
        ) == [("VIEW",)]


def test_a_group_with_stored_and_repeated_ids_is_counted_like_batches_one_by_one(
    store: EventStore,
) -> None:
    store.write(*events(metric("stored")), now=NOW)
    first = Batch(*events(metric("new-1"), metric("stored"), exposure("x1")), NOW)
    second = Batch(*events(metric("new-1"), metric("new-2"), exposure("x1")), NOW)

    # A conflict makes the plain insert fail: the group is redone deduplicated, and the first
    # batch to name an id gets it.
    assert store.write_many([first, second]) == [WriteResult(2, 1, 0), WriteResult(1, 2, 0)]
    assert rows(store, "SELECT id FROM metric_events ORDER BY id") == [
        ("new-1",),
        ("new-2",),
        ("stored",),
    ]
    assert rows(store, "SELECT count(*) FROM exposures") == [(1,)]
    assert store.duplicate_counts("hero") == (1, 2)


def test_a_rejected_only_batch_is_counted(store: EventStore) -> None:
    reject = Reject(0, None, RejectReason.NOT_AN_OBJECT, None, "an event is a JSON object")

    assert store.write([], [reject], now=NOW) == WriteResult(0, 0, 1)
    assert rows(store, "SELECT kind, outcome, count FROM ingest_counts") == [
        ("", "rejected:not_an_object", 1)
    ]


def test_the_duckdb_file_stays_readable_by_plain_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    with EventStore(path) as store:
        store.write(*events(exposure("e1", unit="ü-1")), now=NOW)

    con = duckdb.connect(str(path), read_only=True)
    try:
        found = con.execute("SELECT unit, attributes->>'browser' FROM exposures").fetchall()
    finally:
        con.close()
    assert found == [("ü-1", "firefox")]
