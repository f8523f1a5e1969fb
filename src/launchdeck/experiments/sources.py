"""Where analysis reads events: runners that execute the rendered queries of `sql.py`. Shell.

A `Runner` takes a `Query` (SQL for one dialect plus its named parameters) and returns its rows.

- `DuckDbRunner` reads the embedded event store, another DuckDB file or Parquet files (an
  in-memory database; `read_parquet($path)` with the path bound). It opens files read-only.
  DuckDB lets one process write a file and no other process open it meanwhile, not even to
  read: inside the process that owns the store, hand it the open `EventStore` (or any DuckDB
  connection) as `cursors=`, and each query runs on a cursor of its own; elsewhere, opening a
  file another process holds raises `ConfigError` naming the file.
- `SqlAlchemyRunner` reads PostgreSQL and any warehouse with an SQLAlchemy dialect. It binds the
  parameters the way the rendered dialect writes them: as the driver's own (`%(x)s` for psycopg,
  `@x` for BigQuery's DB-API, `{x:Type}` for clickhouse-connect), or, for the `:x` of Snowflake,
  Trino and Spark, through `sqlalchemy.text`, which converts them for the driver. PostgreSQL
  sessions are read-only and use the UTC time zone, so naive UTC bounds compare as stored.

Failures raise `ConfigError` when the source's mapping does not fit (a missing table or column,
a file held by another process) and `UpstreamError` when the database cannot be reached.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import duckdb
import sqlalchemy
from sqlalchemy import event

from launchdeck.errors import ConfigError, UpstreamError
from launchdeck.experiments.model import SourceSpec, SourceType
from launchdeck.experiments.sql import Dialect, Query, dialect_of
from launchdeck.stats.moments import Moments

__all__ = [
    "Cursors",
    "DuckDbRunner",
    "Runner",
    "SqlAlchemyRunner",
    "moments_by_metric",
    "moments_by_variant",
    "open_runner",
]

_TEXT_BOUND: frozenset[str] = frozenset({"snowflake", "trino", "spark"})
"""Dialects rendered with `:x` placeholders, which `sqlalchemy.text` binds for any driver."""
_MOMENT_COLUMNS = ("variant", "n", "sum", "sum_sq", "x_sum", "x_sum_sq", "xy_sum")
_EXPERIMENT_COLUMNS = (
    "metric",
    "variant",
    "n",
    "y_sum",
    "y_sum_sq",
    "x_sum",
    "x_sum_sq",
    "xy_sum",
    "cap",
)


class Runner(Protocol):
    """Runs rendered queries against one source."""

    dialect: str

    def rows(self, query: Query) -> list[tuple[Any, ...]]:
        """The query's rows, columns in `query.columns` order."""
        ...

    def close(self) -> None: ...


class Cursors(Protocol):
    """What hands out DuckDB cursors: an `EventStore`, or a DuckDB connection."""

    def cursor(self) -> duckdb.DuckDBPyConnection: ...


class _Closing:
    def close(self) -> None:
        """Release the connection or engine."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_dialect(runner: Runner, query: Query) -> None:
    if query.dialect != runner.dialect:
        raise ValueError(
            f"query {query.name!r} was rendered for {query.dialect}, this source reads "
            f"{runner.dialect}"
        )


class DuckDbRunner(_Closing):
    """Queries on DuckDB: a database file opened read-only, cursors of an open store or
    connection, or (neither) an in-memory database for Parquet sources."""

    dialect: str = "duckdb"

    def __init__(self, path: str | Path | None = None, *, cursors: Cursors | None = None) -> None:
        if path is not None and cursors is not None:
            raise ValueError("give a DuckDB file or an open store, not both")
        self.path = Path(path) if path is not None else None
        self._shared = cursors
        self._own: duckdb.DuckDBPyConnection | None = None

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._shared is not None:
            return _in_utc(self._shared.cursor())
        if self._own is None:
            self._own = _in_utc(self._open())
        return self._own

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self.path is None:
            return duckdb.connect()
        if not self.path.is_file():
            raise ConfigError(
                f"no DuckDB event store at {self.path}",
                where=str(self.path),
                hint="ingest events first, or point events.source at the right file",
            )
        try:
            return duckdb.connect(str(self.path), read_only=True)
        except duckdb.ConnectionException:
            # This process holds the file read-write already: DuckDB shares that instance.
            return duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            raise ConfigError(
                f"cannot open {self.path} for reading: {exc}",
                where=str(self.path),
                hint="DuckDB lets only one process open a file while it is written; "
                "run the analysis in the server process (or stop it), or read a copy",
            ) from exc

    def rows(self, query: Query) -> list[tuple[Any, ...]]:
        """The query's rows; a table or column the source lacks raises ConfigError."""
        _check_dialect(self, query)
        conn = self._connection()
        try:
            return conn.execute(query.sql, dict(query.params)).fetchall()
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            raise ConfigError(
                f"query {query.name!r} does not fit the event source: {exc}",
                hint="check the table names and `columns:` of events.source",
            ) from exc
        except duckdb.IOException as exc:
            raise ConfigError(f"query {query.name!r} could not read its files: {exc}") from exc
        finally:
            if self._shared is not None:
                conn.close()

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
            self._own = None


def _in_utc(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The connection with its session in UTC: naive UTC bounds against TIMESTAMPTZ columns
    (Parquet) compare as the instants they are."""
    conn.execute("SET SESSION TimeZone = 'UTC'")
    return conn


def _postgres_session(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    cursor.close()
    dbapi_connection.commit()


class SqlAlchemyRunner(_Closing):
    """Queries on a database reached through SQLAlchemy (PostgreSQL, warehouses), from a URL
    (PostgreSQL sessions then read-only in UTC) or an engine the caller set up, used as is."""

    def __init__(self, url: str | sqlalchemy.Engine, *, dialect: Dialect) -> None:
        self.dialect: str = dialect
        if isinstance(url, sqlalchemy.Engine):
            self.engine = url
            self._owns_engine = False
        else:
            if dialect == "postgres" and url.startswith(("postgresql://", "postgres://")):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            try:
                self.engine = sqlalchemy.create_engine(url, pool_pre_ping=True)
            except (sqlalchemy.exc.ArgumentError, ImportError) as exc:
                raise ConfigError(
                    f"cannot use the events source URL for {dialect}: {exc}",
                    field="events.source.url",
                    hint="is the SQLAlchemy driver of this warehouse installed?",
                ) from exc
            self._owns_engine = True
            if self.engine.dialect.name == "postgresql":
                event.listen(self.engine, "connect", _postgres_session)

    def rows(self, query: Query) -> list[tuple[Any, ...]]:
        """The query's rows; an unreachable database raises UpstreamError, a table or column the
        source lacks ConfigError."""
        _check_dialect(self, query)
        params = dict(query.params)
        try:
            with self.engine.connect() as conn:
                if query.dialect in _TEXT_BOUND:
                    result = conn.execute(sqlalchemy.text(query.sql), params)
                else:
                    result = conn.exec_driver_sql(query.sql, params)
                return [tuple(row) for row in result]
        except sqlalchemy.exc.OperationalError as exc:
            raise UpstreamError(
                f"could not run {query.name!r} on the {self.dialect} event source: {exc.orig}",
                hint="is the database reachable with the URL of events.source?",
            ) from exc
        except sqlalchemy.exc.DBAPIError as exc:
            raise ConfigError(
                f"query {query.name!r} does not fit the {self.dialect} event source: {exc.orig}",
                hint="check the table names and `columns:` of events.source",
            ) from exc

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()


def _duckdb_path(url: str) -> Path:
    for prefix in ("duckdb:///", "duckdb://"):
        if url.startswith(prefix):
            return Path(url.removeprefix(prefix))
    return Path(url)


def open_runner(
    spec: SourceSpec, embedded_path: Path | None = None, *, store: Cursors | None = None
) -> Runner:
    """The runner for an events source; render its queries in `runner.dialect`. The embedded
    store is read through `store` (the process's open `EventStore`) when given, else from the
    DuckDB file at `embedded_path`, opened read-only."""
    dialect = dialect_of(spec)
    if spec.type is SourceType.EMBEDDED:
        if store is not None:
            return DuckDbRunner(cursors=store)
        if embedded_path is None:
            raise ValueError("the embedded source needs the open store or its path")
        return DuckDbRunner(embedded_path)
    if spec.type is SourceType.PARQUET:
        return DuckDbRunner()
    if spec.url is None:
        raise ConfigError(f"a {spec.type} events source needs `url`", field="events.source.url")
    if spec.type is SourceType.DUCKDB:
        return DuckDbRunner(_duckdb_path(spec.url))
    return SqlAlchemyRunner(spec.url, dialect=dialect)


def moments_by_variant(runner: Runner, query: Query) -> dict[str, Moments]:
    """Variant → the sufficient statistics of a `metric_moments` query; a variant without
    exposed units is absent."""
    if query.columns != _MOMENT_COLUMNS:
        raise ValueError(f"query {query.name!r} does not return moments")
    result: dict[str, Moments] = {}
    for variant, n, total, total_sq, x_sum, x_sum_sq, xy_sum in runner.rows(query):
        result[str(variant)] = Moments(
            n=int(n),
            sum=float(total),
            sum_sq=float(total_sq),
            x_sum=float(x_sum),
            x_sum_sq=float(x_sum_sq),
            xy_sum=float(xy_sum),
        )
    return result


def moments_by_metric(
    runner: Runner, query: Query
) -> tuple[dict[str, dict[str, Moments]], dict[str, float]]:
    """Metric → variant → the sufficient statistics of an `experiment_moments` query, and
    metric → the cap it applied (capped metrics only). A metric or variant without exposed
    units is absent."""
    if query.columns != _EXPERIMENT_COLUMNS:
        raise ValueError(f"query {query.name!r} does not return the moments of metrics")
    moments: dict[str, dict[str, Moments]] = {}
    caps: dict[str, float] = {}
    for metric, variant, n, total, total_sq, x_sum, x_sum_sq, xy_sum, cap in runner.rows(query):
        moments.setdefault(str(metric), {})[str(variant)] = Moments(
            n=int(n),
            sum=float(total),
            sum_sq=float(total_sq),
            x_sum=float(x_sum),
            x_sum_sq=float(x_sum_sq),
            xy_sum=float(xy_sum),
        )
        if cap is not None:
            caps[str(metric)] = float(cap)
    return moments, caps
