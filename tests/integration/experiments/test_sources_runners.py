"""The runners' own behaviour on real databases: shared connections, how parameters are bound,
the PostgreSQL session, and the errors a wrong source or an unreachable database gives."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sources_oracle as oracle
from sources_oracle import EXPERIMENT, WINDOW

from launchdeck.errors import ConfigError, UpstreamError
from launchdeck.experiments import sql
from launchdeck.experiments.model import MetricSpec, SourceSpec, TableSpec
from launchdeck.experiments.sources import (
    DuckDbRunner,
    SqlAlchemyRunner,
    moments_by_variant,
    open_runner,
)

POSTGRES_URL = os.environ.get(
    "LAUNCHDECK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATA = oracle.synthetic_events(seed=11, units=120)
SCHEMA = (
    "CREATE TABLE exposures (id VARCHAR PRIMARY KEY, experiment VARCHAR NOT NULL,"
    " variant VARCHAR NOT NULL, unit VARCHAR NOT NULL, timestamp TIMESTAMP NOT NULL,"
    " attributes JSON)",
    "CREATE TABLE metric_events (id VARCHAR PRIMARY KEY, event VARCHAR NOT NULL,"
    " unit VARCHAR NOT NULL, value DOUBLE, timestamp TIMESTAMP NOT NULL, attributes JSON)",
)


def _fill(conn: duckdb.DuckDBPyConnection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)
    for table, frame in (("exposures", DATA.exposures), ("metric_events", DATA.metrics)):
        columns = [c for c in frame.columns if c != "browser"]
        conn.from_df(frame[columns]).insert_into(table)


def _expected_counts() -> list[tuple[str, int]]:
    counts = oracle.exposed(DATA, WINDOW).variant.value_counts().sort_index()
    return [(str(v), int(n)) for v, n in counts.items()]


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.duckdb"
    with duckdb.connect(str(path)) as conn:
        _fill(conn)
    return path


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A schema of its own holding `exposures` (no metric events), dropped afterwards."""
    from sqlalchemy import column, create_engine, insert, table, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    exposures = table(
        "exposures",
        *(column(c) for c in ("experiment", "variant", "unit", "timestamp")),
        schema=schema,
    )
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(
            text(
                f'CREATE TABLE "{schema}".exposures (experiment text, variant text, unit text,'
                " timestamp timestamp, attributes json)"
            )
        )
        rows = DATA.exposures[["experiment", "variant", "unit", "timestamp"]]
        conn.execute(insert(exposures), rows.to_dict("records"))
    try:
        yield schema
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _pg_source(schema: str) -> SourceSpec:
    return SourceSpec(
        type="postgres",
        url=POSTGRES_URL,
        exposures=TableSpec(table=f"{schema}.exposures"),
        metrics=TableSpec(table=f"{schema}.metric_events"),
    )


# --- DuckDB ----------------------------------------------------------------------------------


def test_the_open_store_of_this_process_is_read_through_its_cursors(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "events.duckdb")) as conn:
        _fill(conn)
        runner = open_runner(SourceSpec(), store=conn)
        query = sql.exposure_counts(SourceSpec(), EXPERIMENT, WINDOW)
        assert runner.rows(query) == _expected_counts()
        assert runner.rows(query) == _expected_counts()  # each query on a cursor of its own
        conn.execute("SELECT 1")  # the store's own connection stays open


def test_a_file_this_process_writes_is_read_through_the_same_instance(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    with duckdb.connect(str(path)) as writer:
        _fill(writer)
        with DuckDbRunner(path) as runner:
            query = sql.exposure_counts(SourceSpec(), EXPERIMENT, WINDOW)
            assert runner.rows(query) == _expected_counts()


def test_a_duckdb_url_opens_the_file_read_only(store_file: Path) -> None:
    source = SourceSpec(type="duckdb", url=f"duckdb:///{store_file}")
    with open_runner(source) as runner:
        assert isinstance(runner, DuckDbRunner)
        assert runner.rows(sql.exposure_counts(source, EXPERIMENT, WINDOW)) == _expected_counts()
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            runner._connection().execute("DELETE FROM exposures")


def test_a_store_file_held_by_another_process_is_a_config_error_naming_it(
    store_file: Path,
) -> None:
    script = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
        " sys.stdin.read()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script, str(store_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "ready"
            runner = open_runner(SourceSpec(), store_file)
            with pytest.raises(ConfigError) as caught:
                runner.rows(sql.exposure_counts(SourceSpec(), EXPERIMENT, WINDOW))
            assert caught.value.where == str(store_file)
            assert "one process" in (caught.value.hint or "")
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)


def test_a_missing_store_file_is_a_config_error(tmp_path: Path) -> None:
    runner = open_runner(SourceSpec(), tmp_path / "nothing.duckdb")
    with pytest.raises(ConfigError, match="no DuckDB event store"):
        runner.rows(sql.exposure_counts(SourceSpec(), EXPERIMENT, WINDOW))


def test_a_table_the_source_lacks_is_a_config_error(store_file: Path) -> None:
    source = SourceSpec(exposures=TableSpec(table="exposure_log"))
    with DuckDbRunner(store_file) as runner, pytest.raises(ConfigError, match="exposure_log"):
        runner.rows(sql.exposure_counts(source, EXPERIMENT, WINDOW))


def test_a_query_rendered_for_another_dialect_is_refused(store_file: Path) -> None:
    query = sql.exposure_counts(SourceSpec(), EXPERIMENT, WINDOW, dialect="postgres")
    with DuckDbRunner(store_file) as runner, pytest.raises(ValueError, match="postgres"):
        runner.rows(query)


def test_moments_come_only_from_a_moments_query(store_file: Path) -> None:
    metric = MetricSpec(key="conversion", event="purchase")
    with DuckDbRunner(store_file) as runner:
        arms = moments_by_variant(
            runner, sql.metric_moments(SourceSpec(), EXPERIMENT, metric, WINDOW)
        )
        assert {v: m.n for v, m in arms.items()} == dict(_expected_counts())
        with pytest.raises(ValueError, match="moments"):
            moments_by_variant(runner, sql.exposure_counts(SourceSpec(), EXPERIMENT, WINDOW))


def test_the_embedded_source_needs_the_store_or_its_file() -> None:
    with pytest.raises(ValueError, match="embedded"):
        open_runner(SourceSpec())


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_sessions_are_read_only_and_in_utc(postgres_schema: str) -> None:
    probe = sql.Query(
        name="probe",
        sql="SELECT current_setting('TimeZone'), current_setting('transaction_read_only')",
        params={},
        dialect="postgres",
        columns=("tz", "read_only"),
    )
    with open_runner(_pg_source(postgres_schema)) as runner:
        assert runner.rows(probe) == [("UTC", "on")]
        write = sql.Query("write", "CREATE TABLE written (x int)", {}, "postgres", ())
        with pytest.raises(ConfigError, match="read-only"):
            runner.rows(write)


@pytest.mark.postgres
def test_colon_placeholders_are_bound_through_sqlalchemy_text(postgres_schema: str) -> None:
    """Trino renders `:x`; on this plain query its SQL is also PostgreSQL's, so the binding
    path of Snowflake, Trino and Spark runs for real here."""
    source = _pg_source(postgres_schema)
    query = sql.exposure_counts(source, EXPERIMENT, WINDOW, dialect="trino")
    assert ":experiment" in query.sql
    with SqlAlchemyRunner(POSTGRES_URL, dialect="trino") as runner:
        assert runner.rows(query) == _expected_counts()


@pytest.mark.postgres
def test_a_plain_postgresql_url_uses_psycopg(postgres_schema: str) -> None:
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    source = _pg_source(postgres_schema).model_copy(update={"url": url})
    with open_runner(source) as runner:
        assert runner.rows(sql.exposure_counts(source, EXPERIMENT, WINDOW)) == _expected_counts()


@pytest.mark.postgres
def test_a_missing_postgres_table_is_a_config_error(postgres_schema: str) -> None:
    source = _pg_source(postgres_schema)
    metric = MetricSpec(key="conversion", event="purchase")
    with open_runner(source) as runner, pytest.raises(ConfigError, match="metric_events"):
        runner.rows(sql.metric_moments(source, EXPERIMENT, metric, WINDOW))


def test_an_unreachable_database_is_an_upstream_error() -> None:
    with socket_closed_port() as port:
        source = SourceSpec(
            type="postgres", url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/x"
        )
        with open_runner(source) as runner, pytest.raises(UpstreamError) as caught:
            runner.rows(sql.exposure_counts(source, EXPERIMENT, WINDOW))
    assert caught.value.retryable


class socket_closed_port:
    """A loopback port nothing listens on, while the block runs."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *_exc: object) -> None:
        self.sock.close()
