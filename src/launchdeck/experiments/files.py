"""Event files read in chunks for `launchdeck events import`: JSONL, CSV and Parquet.

`read_chunks` yields the rows of a file as event dicts, as `POST /api/v1/events` would receive
them, a chunk at a time, with where each row sits (line for JSONL and CSV, row for Parquet) so a
reject names it, and how far into the file the chunk ends (for a progress bar). A line that is
not JSON, or a CSV row that does not fit its header, becomes that line's reject, never the
file's failure.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import duckdb

from launchdeck.errors import UsageError
from launchdeck.experiments.events import Reject, RejectReason

__all__ = ["Chunk", "FileFormat", "guess_format", "read_chunks"]


class FileFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


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
