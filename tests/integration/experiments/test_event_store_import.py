"""Importing JSON-lines, CSV and Parquet files into the event store: same validation as the
API, rejects placed on their file line, nothing stored twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from launchdeck.errors import UsageError
from launchdeck.experiments.events import RejectReason
from launchdeck.experiments.files import FileFormat, guess_format
from launchdeck.experiments.model import Catalog
from launchdeck.experiments.store import EventStore, ImportResult

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CATALOG = Catalog(experiments={"hero": frozenset({"control", "urgency"})}, by_flag={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.duckdb") as opened:
        yield opened


def run(
    store: EventStore,
    path: Path,
    file_format: FileFormat,
    *,
    max_age: timedelta | None = timedelta(days=90),
    chunk_rows: int = 50_000,
    progress: list[tuple[int, int]] | None = None,
) -> ImportResult:
    return store.import_file(
        path,
        file_format=file_format,
        catalog=CATALOG,
        now=NOW,
        max_skew=timedelta(minutes=5),
        max_age=max_age,
        chunk_rows=chunk_rows,
        on_progress=None if progress is None else lambda d, t: progress.append((d, t)),
    )


def stored(store: EventStore, sql: str) -> list[tuple[Any, ...]]:
    cursor = store.cursor()
    try:
        return cursor.execute(sql).fetchall()
    finally:
        cursor.close()


def placed(result: ImportResult) -> list[tuple[int, RejectReason, str | None]]:
    return [(r.index, r.reason, r.field) for r in result.rejects]


JSONL_LINES = [
    '{"id": "e1", "type": "exposure", "experiment": "hero", "variant": "urgency", '
    '"unit": "u1", "timestamp": "2026-11-27T10:00:00Z"}',
    "",
    '{"id": "m1", "type": "metric", "event": "purchase", "value": 20, "unit": "u1", '
    '"timestamp": 1795773600}',
    "{this is not json",
    '{"id": "e2", "type": "exposure", "experiment": "hero", "variant": "bold", '
    '"unit": "u2", "timestamp": "2026-11-27T10:00:00Z"}',
    '{"type": "metric", "event": "purchase", "unit": "u3", "timestamp": "2019-01-01T00:00:00Z"}',
    '{"id": "e3", "type": "exposure", "experiment": "hero", "variant": "control", '
    '"unit": "u3", "timestamp": "2026-11-27T10:00:00Z"}',
]


@pytest.mark.parametrize("chunk_rows", [50_000, 2], ids=["one chunk", "chunks of two"])
def test_a_jsonl_file_is_imported_with_rejects_on_their_lines(
    store: EventStore, tmp_path: Path, chunk_rows: int
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(JSONL_LINES) + "\n", encoding="utf-8")
    progress: list[tuple[int, int]] = []

    result = run(store, path, FileFormat.JSONL, chunk_rows=chunk_rows, progress=progress)

    assert (result.rows, result.accepted, result.duplicates, result.rejected) == (6, 3, 0, 3)
    assert placed(result) == [
        (4, RejectReason.NOT_AN_OBJECT, None),
        (5, RejectReason.UNKNOWN_VARIANT, "variant"),
        (6, RejectReason.TOO_OLD, "timestamp"),
    ]
    assert "line 4 is not JSON" in result.rejects[0].message
    assert result.by_reason == {"not_an_object": 1, "unknown_variant": 1, "too_old": 1}
    assert progress[-1] == (path.stat().st_size, path.stat().st_size)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert stored(store, "SELECT id FROM exposures ORDER BY id") == [("e1",), ("e3",)]


def test_importing_a_file_again_stores_nothing_twice(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(JSONL_LINES), encoding="utf-8")

    run(store, path, FileFormat.JSONL)
    again = run(store, path, FileFormat.JSONL)

    assert (again.accepted, again.duplicates, again.rejected) == (0, 3, 3)
    assert stored(store, "SELECT count(*) FROM metric_events") == [(1,)]


def test_allow_old_lets_a_backfill_through(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(JSONL_LINES[5], encoding="utf-8")

    result = run(store, path, FileFormat.JSONL, max_age=None)

    assert (result.accepted, result.rejected) == (1, 0)


def test_a_csv_file_maps_columns_to_fields_and_the_rest_to_attributes(
    store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "type,id,experiment,variant,unit,event,value,timestamp,browser,attributes\n"
        'exposure,e1,hero,urgency,u1,,,2026-11-27T10:00:00Z,firefox,"{""country"": ""FR""}"\n'
        "metric,m1,,,u1,purchase,19.5,1795773600,,\n"
        'metric,m2,,,u2,purchase,"12,5",1795773600,"safari\nmobile",\n'
        "metric,m3,,,u3,purchase,7,1795773600,,\n"
        "\n"
        "metric,m4,,,,purchase,7,1795773600,,\n",
        encoding="utf-8",
    )

    result = run(store, path, FileFormat.CSV)

    assert (result.rows, result.accepted, result.rejected) == (5, 3, 2)
    assert placed(result) == [
        (4, RejectReason.WRONG_TYPE, "value"),  # the record starts on line 4, ends on 5
        (8, RejectReason.MISSING_UNIT, "unit"),
    ]
    assert [
        (i, json.loads(a)) for i, a in stored(store, "SELECT id, attributes FROM exposures")
    ] == [("e1", {"country": "FR", "browser": "firefox"})]
    assert stored(store, "SELECT id, value FROM metric_events ORDER BY id") == [
        ("m1", 19.5),
        ("m3", 7.0),
    ]


def test_a_csv_file_without_event_columns_is_refused(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("name,age\nana,3\n", encoding="utf-8")

    with pytest.raises(UsageError, match="names no event columns"):
        run(store, path, FileFormat.CSV)


def test_a_parquet_file_is_read_by_duckdb_with_typed_columns(
    store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "events.parquet"
    table = pa.table(
        {
            "id": ["e1", "e2", "m1", "m2"],
            "type": ["exposure", "exposure", "metric", "metric"],
            "experiment": ["hero", "hero", None, None],
            "variant": ["urgency", "control", None, None],
            "event": [None, None, "purchase", "purchase"],
            "value": [None, None, 42.0, float("nan")],
            "unit": ["u1", "u2", "u1", "u2"],
            "timestamp": pa.array(
                [datetime(2026, 11, 27, 10, 0)] * 4, pa.timestamp("us")
            ),  # no zone: read as UTC
            "country": ["FR", "DE", None, None],
            "items": pa.array([None, None, 3, 1], pa.int64()),
            "attributes": pa.array(
                [{"browser": "firefox"}, None, None, None], pa.struct([("browser", pa.string())])
            ),
        }
    )
    pq.write_table(table, path)
    progress: list[tuple[int, int]] = []

    result = run(store, path, FileFormat.PARQUET, chunk_rows=3, progress=progress)

    assert (result.rows, result.accepted, result.rejected) == (4, 3, 1)
    assert placed(result) == [(4, RejectReason.WRONG_TYPE, "value")]
    assert progress == [(3, 4), (4, 4)]
    exposures = stored(store, "SELECT id, timestamp, attributes FROM exposures ORDER BY id")
    assert [(i, t, json.loads(a)) for i, t, a in exposures] == [
        ("e1", datetime(2026, 11, 27, 10, 0), {"browser": "firefox", "country": "FR"}),
        ("e2", datetime(2026, 11, 27, 10, 0), {"country": "DE"}),
    ]
    assert stored(store, "SELECT id, value, attributes FROM metric_events") == [
        ("m1", 42.0, '{"items":3}')
    ]


def test_a_file_that_is_not_parquet_is_a_usage_error(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    path.write_text(json.dumps({"not": "parquet"}), encoding="utf-8")

    with pytest.raises(UsageError, match="not a readable Parquet file"):
        run(store, path, FileFormat.PARQUET)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("events.jsonl", FileFormat.JSONL),
        ("events.NDJSON", FileFormat.JSONL),
        ("export.csv", FileFormat.CSV),
        ("part-0.parquet", FileFormat.PARQUET),
    ],
    ids=["jsonl", "ndjson in capitals", "csv", "parquet"],
)
def test_the_format_comes_from_the_extension(name: str, expected: FileFormat) -> None:
    assert guess_format(Path(name)) is expected


def test_an_unknown_extension_asks_for_the_format() -> None:
    with pytest.raises(UsageError, match="cannot tell the format"):
        guess_format(Path("events.txt"))
