"""Every analysis query, run for real on DuckDB (the embedded store's file, Parquet files) and
PostgreSQL (a schema of its own, dropped afterwards; renamed columns), against the pandas oracle
of the per-unit semantics in `sources_oracle.py`. The tests only read, so each backend is loaded
once per module (and per xdist worker)."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import psycopg
import pytest
import sources_oracle as oracle
from sources_oracle import END, EXPERIMENT, START, WINDOW, Events, synthetic_events

from launchdeck.experiments import sql
from launchdeck.experiments.model import ExperimentSpec, MetricSpec, SourceSpec, TableSpec
from launchdeck.experiments.sources import (
    Runner,
    moments_by_metric,
    moments_by_variant,
    open_runner,
)

POSTGRES_URL = os.environ.get(
    "LAUNCHDECK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["embedded", "parquet", pytest.param("postgres", marks=pytest.mark.postgres)]
DATA = synthetic_events()
EMBEDDED_SCHEMA = (
    "CREATE TABLE exposures (id VARCHAR PRIMARY KEY, experiment VARCHAR NOT NULL,"
    " variant VARCHAR NOT NULL, unit VARCHAR NOT NULL, timestamp TIMESTAMP NOT NULL,"
    " attributes JSON)",
    "CREATE TABLE metric_events (id VARCHAR PRIMARY KEY, event VARCHAR NOT NULL,"
    " unit VARCHAR NOT NULL, value DOUBLE, timestamp TIMESTAMP NOT NULL, attributes JSON)",
)
EXPOSURE_COLUMNS = ["id", "experiment", "variant", "unit", "timestamp", "attributes"]
METRIC_COLUMNS = ["id", "event", "unit", "value", "timestamp", "attributes"]
# The warehouse layout of the PostgreSQL tests: other names, one of them mixed-case.
PG_EXPOSURES = {
    "id": "event_id",
    "experiment": "exp_key",
    "variant": "arm",
    "unit": "UserId",
    "timestamp": "ts",
    "attributes": "attrs",
}
PG_METRICS = {
    "id": "event_id",
    "event": "name",
    "unit": "user_id",
    "value": "amount",
    "timestamp": "ts",
    "attributes": "props",
}

METRICS = [
    MetricSpec(key="conversion", event="purchase"),
    MetricSpec(key="conversion_3d", event="purchase", conversion_window="3d"),
    MetricSpec(key="conversion_cuped", event="signup", cuped=True),
    MetricSpec(key="revenue", type="mean", event="purchase"),
    MetricSpec(key="pageviews", type="mean", event="pageview", value="count"),
    MetricSpec(key="pageview_value", type="mean", event="pageview"),
    MetricSpec(key="revenue_capped", type="mean", event="purchase", capping=95),
    MetricSpec(
        key="revenue_all",
        type="mean",
        event="purchase",
        cuped=True,
        capping=90,
        conversion_window="2d",
    ),
    MetricSpec(
        key="aov",
        type="ratio",
        numerator={"event": "purchase"},
        denominator={"event": "purchase", "value": "count"},
    ),
    MetricSpec(
        key="revenue_per_view",
        type="ratio",
        numerator={"event": "purchase"},
        denominator={"event": "pageview", "value": "count"},
        capping=99,
        conversion_window="5d",
    ),
]


@dataclass
class Backend:
    source: SourceSpec
    runner: Runner

    def rows(self, query: sql.Query) -> list[tuple[Any, ...]]:
        assert query.dialect == self.runner.dialect
        return self.runner.rows(query)


def _records(frame: pd.DataFrame, columns: list[str]) -> list[tuple[Any, ...]]:
    out = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [
        tuple(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in row)
        for row in out.itertuples(index=False)
    ]


def _embedded(data: Events, path: Path) -> SourceSpec:
    with duckdb.connect(str(path)) as conn:
        for statement in EMBEDDED_SCHEMA:
            conn.execute(statement)
        for table, frame, columns in (
            ("exposures", data.exposures, EXPOSURE_COLUMNS),
            ("metric_events", data.metrics, METRIC_COLUMNS),
        ):
            conn.from_df(frame[columns]).insert_into(table)
    return SourceSpec()


def _parquet(data: Events, folder: Path) -> SourceSpec:
    with duckdb.connect() as conn:
        conn.from_df(data.exposures[EXPOSURE_COLUMNS]).write_parquet(str(folder / "x.parquet"))
        conn.from_df(data.metrics[METRIC_COLUMNS]).write_parquet(str(folder / "m.parquet"))
    return SourceSpec(
        type="parquet",
        exposures=TableSpec(path=str(folder / "x.parquet"), columns={"id": "id"}),
        metrics=TableSpec(path=str(folder / "m.parquet"), columns={"id": "id"}),
    )


def _postgres(data: Events, schema: str) -> SourceSpec:
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(
            f'CREATE TABLE "{schema}".exposure_log (event_id text, exp_key text, arm text,'
            ' "UserId" text, ts timestamp, attrs json)'
        )
        conn.execute(
            f'CREATE TABLE "{schema}".tracking (event_id text, name text, user_id text,'
            " amount double precision, ts timestamp, props jsonb)"
        )
        for table, frame, columns, mapping in (
            ("exposure_log", data.exposures, EXPOSURE_COLUMNS, PG_EXPOSURES),
            ("tracking", data.metrics, METRIC_COLUMNS, PG_METRICS),
        ):
            names = ", ".join(f'"{mapping[c]}"' for c in columns)
            with conn.cursor().copy(f'COPY "{schema}".{table} ({names}) FROM STDIN') as copy:
                for row in _records(frame, columns):
                    copy.write_row(row)
    return SourceSpec(
        type="postgres",
        url=POSTGRES_URL,
        exposures=TableSpec(table=f"{schema}.exposure_log", columns=PG_EXPOSURES),
        metrics=TableSpec(table=f"{schema}.tracking", columns=PG_METRICS),
    )


def _drop_schema(schema: str) -> None:
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def load(kind: str, data: Events, tmp_path: Path) -> Iterator[Backend]:
    """The data in a backend of `kind`, and a runner on it; a PostgreSQL schema is dropped
    afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    if kind == "embedded":
        source = _embedded(data, tmp_path / "events.duckdb")
    elif kind == "parquet":
        source = _parquet(data, tmp_path)
    else:
        try:
            source = _postgres(data, schema)
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is needed for this test: {exc}")
    runner = open_runner(source, tmp_path / "events.duckdb")
    try:
        yield Backend(source, runner)
    finally:
        runner.close()
        if kind == "postgres":
            _drop_schema(schema)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """The synthetic events in one backend, shared by this module's tests, which only read."""
    yield from load(request.param, DATA, tmp_path_factory.mktemp(request.param))


def render(backend: Backend, build: Any, *args: Any, **kwargs: Any) -> sql.Query:
    query: sql.Query = build(backend.source, *args, dialect=backend.runner.dialect, **kwargs)
    return query


# --- metrics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS, ids=[m.key for m in METRICS])
def test_metric_moments_equal_the_per_unit_semantics(backend: Backend, metric: MetricSpec) -> None:
    query = render(backend, sql.metric_moments, EXPERIMENT, metric, WINDOW)
    got = moments_by_variant(backend.runner, query)
    want = oracle.moments(DATA, metric, WINDOW)
    assert sorted(got) == sorted(want) == ["control", "treatment"]
    for variant, arm in want.items():
        assert dataclasses.astuple(got[variant]) == pytest.approx(
            dataclasses.astuple(arm), rel=1e-9, abs=1e-9
        ), variant


@pytest.mark.parametrize(
    "metric", [m for m in METRICS if m.capping], ids=[m.key for m in METRICS if m.capping]
)
def test_metric_cap_is_the_percentile_over_all_exposed_units(
    backend: Backend, metric: MetricSpec
) -> None:
    [(cap,)] = backend.rows(render(backend, sql.metric_cap, EXPERIMENT, metric, WINDOW))
    assert cap == pytest.approx(oracle.cap(DATA, metric, WINDOW), rel=1e-12)


PLAIN = [m for m in METRICS if not m.cuped]
"""Without CUPED: the one-query form then joins only what follows the first exposure."""
SETS = {
    "all metrics": (METRICS, WINDOW),
    "no CUPED": (PLAIN, sql.Window(START, END)),
    "no window start": (PLAIN, sql.Window(None, END)),
    "one capped ratio": ([METRICS[-1]], WINDOW),
    "one event only": ([METRICS[0], METRICS[3], METRICS[6], METRICS[8]], sql.Window(START, END)),
}


@pytest.mark.parametrize("chosen", list(SETS), ids=list(SETS))
def test_experiment_moments_equal_the_per_metric_queries(backend: Backend, chosen: str) -> None:
    metrics, window = SETS[chosen]
    query = render(backend, sql.experiment_moments, EXPERIMENT, metrics, window)
    moments, caps = moments_by_metric(backend.runner, query)

    assert list(moments) == [m.key for m in metrics]
    for metric in metrics:
        single = render(backend, sql.metric_moments, EXPERIMENT, metric, window)
        want = moments_by_variant(backend.runner, single)
        assert sorted(moments[metric.key]) == sorted(want) == ["control", "treatment"]
        for variant, arm in want.items():
            assert dataclasses.astuple(moments[metric.key][variant]) == pytest.approx(
                dataclasses.astuple(arm), rel=1e-9, abs=1e-9
            ), (metric.key, variant)
        if metric.capping is None:
            assert metric.key not in caps
        else:
            [(cap,)] = backend.rows(render(backend, sql.metric_cap, EXPERIMENT, metric, window))
            assert caps[metric.key] == pytest.approx(cap, rel=1e-9)
    # …and both equal the semantics restated in pandas.
    for metric in metrics:
        for variant, arm in oracle.moments(DATA, metric, window).items():
            assert dataclasses.astuple(moments[metric.key][variant]) == pytest.approx(
                dataclasses.astuple(arm), rel=1e-9, abs=1e-9
            ), (metric.key, variant)


def test_experiment_moments_take_any_metric_key_as_a_parameter(backend: Backend) -> None:
    odd = [
        METRICS[0].model_copy(update={"key": "9.x-Conv_rate"}),
        METRICS[6].model_copy(update={"key": "a" * 100}),
    ]
    query = render(backend, sql.experiment_moments, EXPERIMENT, odd, WINDOW)
    moments, caps = moments_by_metric(backend.runner, query)

    assert list(moments) == ["9.x-Conv_rate", "a" * 100]
    assert list(caps) == ["a" * 100]
    assert caps["a" * 100] == pytest.approx(oracle.cap(DATA, METRICS[6], WINDOW), rel=1e-12)


def test_experiment_moments_of_an_experiment_without_exposures_have_no_rows(
    backend: Backend,
) -> None:
    query = render(backend, sql.experiment_moments, "never-run", METRICS, WINDOW)
    assert moments_by_metric(backend.runner, query) == ({}, {})


def test_an_experiment_spec_and_its_key_give_the_same_query(backend: Backend) -> None:
    spec = ExperimentSpec(
        key=EXPERIMENT,
        flag="hero",
        control="control",
        variants={"control": 50, "treatment": 50},
        primary_metric="conversion",
    )
    by_spec = render(backend, sql.metric_moments, spec, METRICS[0], WINDOW)
    assert by_spec == render(backend, sql.metric_moments, EXPERIMENT, METRICS[0], WINDOW)


def test_a_window_given_in_another_time_zone_reads_the_same_instants(backend: Backend) -> None:
    paris = timezone(timedelta(hours=1))
    shifted = sql.Window(
        START.astimezone(paris), END.astimezone(paris), WINDOW.pre_start.astimezone(paris)
    )
    metric = METRICS[7]
    utc = moments_by_variant(
        backend.runner, render(backend, sql.metric_moments, EXPERIMENT, metric, WINDOW)
    )
    local = moments_by_variant(
        backend.runner, render(backend, sql.metric_moments, EXPERIMENT, metric, shifted)
    )
    assert local.keys() == utc.keys()
    for variant, arm in utc.items():  # parallel sums may differ in the last bit, not more
        assert dataclasses.astuple(local[variant]) == pytest.approx(
            dataclasses.astuple(arm), rel=1e-12
        )


# --- exposures -------------------------------------------------------------------------------


def test_exposure_counts_are_the_analysed_units_per_variant(backend: Backend) -> None:
    rows = backend.rows(render(backend, sql.exposure_counts, EXPERIMENT, WINDOW))
    want = oracle.exposed(DATA, WINDOW).variant.value_counts()
    assert dict(rows) == {str(v): int(n) for v, n in want.items()}


def test_a_window_without_start_reads_every_exposure_before_the_end(backend: Backend) -> None:
    window = sql.Window(None, END)
    rows = backend.rows(render(backend, sql.exposure_counts, EXPERIMENT, window))
    want = oracle.exposed(DATA, window).variant.value_counts()
    assert dict(rows) == {str(v): int(n) for v, n in want.items()}
    assert sum(want) > len(oracle.exposed(DATA, WINDOW))


def test_dimension_counts_use_the_first_exposure_carrying_the_attribute(backend: Backend) -> None:
    rows = backend.rows(render(backend, sql.dimension_counts, EXPERIMENT, WINDOW, "browser"))
    units = oracle.exposed(DATA, WINDOW)
    frame = pd.DataFrame({"value": oracle.first_browser(DATA, WINDOW), "variant": units.variant})
    want = frame.groupby(["value", "variant"], dropna=False).size()
    expected = {(None if pd.isna(v) else v, variant): int(n) for (v, variant), n in want.items()}
    assert {(value, variant): n for value, variant, n in rows} == expected
    assert (None, "control") in expected


def test_multi_variant_units_counts_units_seen_in_two_variants(backend: Backend) -> None:
    [(multi, total)] = backend.rows(render(backend, sql.multi_variant_units, EXPERIMENT, WINDOW))
    variants = oracle.exposures_in(DATA, WINDOW).groupby("unit").variant.nunique()
    assert (multi, total) == (int((variants > 1).sum()), len(variants))
    assert multi > 0


def test_assignment_sample_is_the_md5_ordered_head(backend: Backend) -> None:
    rows = backend.rows(render(backend, sql.assignment_sample, EXPERIMENT, WINDOW, 25))
    units = oracle.exposed(DATA, WINDOW)
    assert rows == [(u, units.variant[u]) for u in oracle.md5_order(units.index)[:25]]


def test_out_of_window_exposures_count_rows_outside_start_and_end(backend: Backend) -> None:
    spec = ExperimentSpec(
        key=EXPERIMENT,
        flag="hero",
        control="control",
        variants={"control": 50, "treatment": 50},
        primary_metric="conversion",
        start=START,
        end=END,
    )
    x = DATA.exposures[DATA.exposures.experiment == EXPERIMENT]
    before = int((x.timestamp < pd.Timestamp(START.replace(tzinfo=None))).sum())
    after = int((x.timestamp >= pd.Timestamp(END.replace(tzinfo=None))).sum())
    assert backend.rows(render(backend, sql.out_of_window_exposures, spec)) == [(before, after)]
    open_ended = spec.model_copy(update={"end": None})
    rows = backend.rows(render(backend, sql.out_of_window_exposures, open_ended))
    assert rows == [(before, 0)]
    assert before > 0 and after > 0


def test_daily_exposures_count_units_on_their_first_day(backend: Backend) -> None:
    rows = backend.rows(render(backend, sql.daily_exposures, EXPERIMENT, WINDOW))
    units = oracle.exposed(DATA, WINDOW)
    want = units.groupby([units.first_ts.dt.date, units.variant]).size()
    assert [(d, v, n) for d, v, n in rows] == [(d, v, int(n)) for (d, v), n in want.items()]
    assert all(isinstance(d, date) for d, _, _ in rows)


def test_duplicate_ids_count_repeated_ids_of_tables_that_have_them(backend: Backend) -> None:
    rows = backend.rows(render(backend, sql.duplicate_ids, EXPERIMENT, WINDOW))
    exposures = len(oracle.exposures_in(DATA, WINDOW).query("unit.notna()"))
    metrics = DATA.metrics.timestamp.between(
        pd.Timestamp(START.replace(tzinfo=None)),
        pd.Timestamp(END.replace(tzinfo=None)),
        inclusive="left",
    )
    assert sorted(rows) == [(0, exposures, "exposures"), (0, int(metrics.sum()), "metric_events")]


@pytest.mark.parametrize("kind", ["parquet", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_duplicate_ids_are_found_where_nothing_enforces_unique_ids(
    kind: str, tmp_path: Path
) -> None:
    resent = Events(
        exposures=pd.concat([DATA.exposures, DATA.exposures.iloc[:40]]),
        metrics=pd.concat([DATA.metrics, DATA.metrics.iloc[:300]]),
    )
    for loaded in load(kind, resent, tmp_path):
        rows = loaded.rows(render(loaded, sql.duplicate_ids, EXPERIMENT, WINDOW))
        x = oracle.exposures_in(resent, WINDOW)
        m = resent.metrics
        m = m[
            (m.timestamp >= pd.Timestamp(START.replace(tzinfo=None)))
            & (m.timestamp < pd.Timestamp(END.replace(tzinfo=None)))
        ]
        assert sorted(rows) == [
            (len(x) - x.id.nunique(), len(x), "exposures"),
            (len(m) - m.id.nunique(), len(m), "metric_events"),
        ]
        assert rows[0][0] > 0


# --- metric events ---------------------------------------------------------------------------


def test_unexposed_metric_events_come_from_units_never_exposed(backend: Backend) -> None:
    names = ("purchase", "signup")
    query = render(backend, sql.unexposed_metric_events, EXPERIMENT, WINDOW, names)
    [(unexposed, total)] = backend.rows(query)
    m = DATA.metrics
    m = m[
        m.event.isin(names)
        & (m.timestamp >= pd.Timestamp(START.replace(tzinfo=None)))
        & (m.timestamp < pd.Timestamp(END.replace(tzinfo=None)))
    ]
    seen = set(oracle.exposures_in(DATA, WINDOW).unit)
    assert (unexposed, total) == (int((~m.unit.isin(seen)).sum()), len(m))
    assert 0 < unexposed < total


def test_daily_metric_counts_count_events_after_exposure_by_day(backend: Backend) -> None:
    names = ("purchase", "pageview")
    rows = backend.rows(render(backend, sql.daily_metric_counts, EXPERIMENT, WINDOW, names))
    units = oracle.exposed(DATA, WINDOW)
    m = DATA.metrics[DATA.metrics.event.isin(names)].merge(units, left_on="unit", right_index=True)
    m = m[(m.timestamp >= m.first_ts) & (m.timestamp < pd.Timestamp(END.replace(tzinfo=None)))]
    want = m.groupby([m.event, m.timestamp.dt.date, m.variant]).size()
    assert rows == [(e, d, v, int(n)) for (e, d, v), n in want.items()]


@pytest.mark.parametrize("threshold", [None, 5.0], ids=["no threshold", "above 5 events"])
def test_unit_activity_summarises_events_per_exposed_unit(
    backend: Backend, threshold: float | None
) -> None:
    [row] = backend.rows(render(backend, sql.unit_activity, EXPERIMENT, WINDOW, threshold))
    assert list(row) == pytest.approx(_activity(DATA, threshold), rel=1e-12)


@pytest.mark.parametrize("kind", BACKENDS)
def test_unit_activity_counts_units_without_events_as_zero(kind: str, tmp_path: Path) -> None:
    sparse = Events(exposures=DATA.exposures, metrics=DATA.metrics.iloc[::15])
    for loaded in load(kind, sparse, tmp_path):
        [row] = loaded.rows(render(loaded, sql.unit_activity, EXPERIMENT, WINDOW, 0.0))
        want = _activity(sparse, 0.0)
        assert list(row) == pytest.approx(want, rel=1e-12)
        assert want[1] == 0  # most exposed units have no event: the median is 0


def _activity(data: Events, threshold: float | None) -> list[float]:
    counts = oracle.events_per_unit(data, WINDOW)
    want = [len(counts), counts.quantile(0.5), counts.quantile(0.99), counts.max()]
    if threshold is not None:
        want.append((counts > threshold).sum())
    return [float(v) for v in want]
