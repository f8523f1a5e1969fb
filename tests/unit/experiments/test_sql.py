"""The analysis queries as text: every query renders for every dialect and parses back there,
values travel only as placeholders, identifiers only quoted, and the metric query stays lean.
What the queries compute is checked on real databases in
tests/integration/experiments/test_sources.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pydantic
import pytest
import sqlglot
from sqlglot import exp

from launchdeck.experiments import sql
from launchdeck.experiments.model import (
    ExperimentSpec,
    MetricSpec,
    SourceSpec,
    SourceType,
    TableSpec,
)

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 29, tzinfo=UTC)
WINDOW = sql.Window(START, END, START - timedelta(days=14))
EXPERIMENT = ExperimentSpec(
    key="bf-hero",
    flag="hero",
    control="control",
    variants={"control": 50, "urgency": 50},
    primary_metric="revenue",
    start=START,
    end=END,
)
WAREHOUSE = SourceSpec(
    type="postgres",
    url="postgresql://warehouse/analytics",
    exposures=TableSpec(
        table="prod.analytics.exposure_log",
        columns={"unit": "user_id", "timestamp": "ts", "variant": "arm", "id": "event_id"},
    ),
    metrics=TableSpec(table="analytics.tracking", columns={"event": "name", "value": "amount"}),
)
METRICS = {
    "binomial": MetricSpec(key="conversion", event="purchase"),
    "mean count": MetricSpec(key="views", type="mean", event="pageview", value="count"),
    "mean, CUPED, capped, windowed": MetricSpec(
        key="revenue", type="mean", event="purchase", cuped=True, capping=99, conversion_window="3d"
    ),
    "ratio of two events, capped": MetricSpec(
        key="per_view",
        type="ratio",
        numerator={"event": "purchase"},
        denominator={"event": "pageview", "value": "count"},
        capping=95,
    ),
}
PLACEHOLDER = {
    "duckdb": "${}",
    "postgres": "%({})s",
    "bigquery": "@{}",
    "snowflake": ":{}",
    "trino": ":{}",
    "spark": ":{}",
}

QUERIES: dict[str, Callable[[SourceSpec, str], sql.Query]] = {
    **{
        f"metric_moments ({name})": (
            lambda s, d, m=m: sql.metric_moments(s, EXPERIMENT, m, WINDOW, dialect=d)
        )
        for name, m in METRICS.items()
    },
    "experiment_moments": lambda s, d: sql.experiment_moments(
        s, EXPERIMENT, list(METRICS.values()), WINDOW, dialect=d
    ),
    "experiment_moments (no CUPED, no cap)": lambda s, d: sql.experiment_moments(
        s, EXPERIMENT, [METRICS["binomial"], METRICS["mean count"]], WINDOW, dialect=d
    ),
    "metric_cap": lambda s, d: sql.metric_cap(
        s, EXPERIMENT, METRICS["ratio of two events, capped"], WINDOW, dialect=d
    ),
    "exposure_counts": lambda s, d: sql.exposure_counts(s, EXPERIMENT, WINDOW, dialect=d),
    "dimension_counts": lambda s, d: sql.dimension_counts(
        s, EXPERIMENT, WINDOW, "browser", dialect=d
    ),
    "multi_variant_units": lambda s, d: sql.multi_variant_units(s, EXPERIMENT, WINDOW, dialect=d),
    "assignment_sample": lambda s, d: sql.assignment_sample(s, EXPERIMENT, WINDOW, 1000, dialect=d),
    "out_of_window_exposures": lambda s, d: sql.out_of_window_exposures(s, EXPERIMENT, dialect=d),
    "duplicate_ids": lambda s, d: sql.duplicate_ids(s, EXPERIMENT, WINDOW, dialect=d),
    "daily_exposures": lambda s, d: sql.daily_exposures(s, EXPERIMENT, WINDOW, dialect=d),
    "unexposed_metric_events": lambda s, d: sql.unexposed_metric_events(
        s, EXPERIMENT, WINDOW, ("purchase", "pageview"), dialect=d
    ),
    "daily_metric_counts": lambda s, d: sql.daily_metric_counts(
        s, EXPERIMENT, WINDOW, ("purchase",), dialect=d
    ),
    "unit_activity": lambda s, d: sql.unit_activity(s, EXPERIMENT, WINDOW, 50.0, dialect=d),
}
CASES = [(q, d) for q in QUERIES for d in sql.DIALECTS]


def _placeholders(tree: exp.Expression) -> set[str]:
    """The names of the placeholders (BigQuery's `@x` parses as a Parameter)."""
    return {p.name for p in tree.find_all(exp.Placeholder, exp.Parameter)}


@pytest.mark.parametrize(("query", "dialect"), CASES, ids=[f"{q} in {d}" for q, d in CASES])
def test_every_query_parses_back_in_its_dialect_with_its_placeholders(
    query: str, dialect: str
) -> None:
    rendered = QUERIES[query](WAREHOUSE, dialect)
    tree = sqlglot.parse_one(rendered.sql, read=dialect)
    assert set(_placeholders(tree)) == set(rendered.params)
    assert rendered.dialect == dialect
    assert rendered.columns == tuple(tree.named_selects)
    if dialect == "clickhouse":
        for name, value in rendered.params.items():
            assert re.search(rf"\{{{re.escape(name)}: ?\w+", rendered.sql), (name, value)
    else:
        for name in rendered.params:
            assert PLACEHOLDER[dialect].format(name) in rendered.sql


def test_clickhouse_placeholders_carry_the_type_of_their_value() -> None:
    query = sql.metric_moments(
        WAREHOUSE,
        EXPERIMENT,
        METRICS["mean, CUPED, capped, windowed"],
        WINDOW,
        dialect="clickhouse",
    )
    assert "{experiment: String}" in query.sql
    assert "{start: DateTime64(6)}" in query.sql
    assert "{conversion_window_s: Int64}" in query.sql
    assert "{capping: Float64}" in query.sql


HOSTILE_KEY = "x'; DROP TABLE exposures; --"
HOSTILE_EVENT = "purchase' OR '1'='1"


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_user_text_travels_only_as_parameters(dialect: str) -> None:
    queries = [
        sql.metric_moments(WAREHOUSE, HOSTILE_KEY, METRICS["binomial"], WINDOW, dialect=dialect),
        sql.unexposed_metric_events(
            WAREHOUSE, HOSTILE_KEY, WINDOW, (HOSTILE_EVENT,), dialect=dialect
        ),
        sql.dimension_counts(WAREHOUSE, HOSTILE_KEY, WINDOW, "browser", dialect=dialect),
    ]
    # A metric key is validated by MetricSpec; even one that skipped validation is a parameter.
    hostile_metric = METRICS["binomial"].model_copy(update={"key": HOSTILE_KEY})
    with_key = sql.experiment_moments(
        WAREHOUSE, "k", [hostile_metric, METRICS["mean count"]], WINDOW, dialect=dialect
    )
    assert HOSTILE_KEY not in with_key.sql and "DROP" not in with_key.sql.upper()
    assert with_key.params["metric_0"] == HOSTILE_KEY
    queries.append(
        sql.experiment_moments(
            WAREHOUSE, HOSTILE_KEY, [METRICS["binomial"]], WINDOW, dialect=dialect
        )
    )
    for query in queries:
        assert HOSTILE_KEY not in query.sql and "DROP" not in query.sql.upper()
        assert "1'='1" not in query.sql and "browser" not in query.sql
        assert HOSTILE_KEY in query.params.values()
        tree = sqlglot.parse_one(query.sql, read=dialect)
        # The only string literals are the module's own constants (JSON/interval spellings).
        literals = {lit.this for lit in tree.find_all(exp.Literal) if lit.is_string}
        assert literals <= {"1 SECOND", "SECOND", "exposures", "metric_events"}
        # Every identifier is quoted, the user's table and column names included.
        names = {
            i.this: i.quoted
            for i in tree.find_all(exp.Identifier)
            if not isinstance(i.parent, exp.Placeholder)
        }
        assert all(names.values()), [n for n, quoted in names.items() if not quoted]
        assert {"exposure_log", "analytics", "prod", "user_id", "ts"} <= set(names)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("table", 'exposures"; DROP TABLE x; --'),
        ("table", "a.b.c.d"),
        ("table", "analytics.exposures --"),
        ("columns", {"unit": 'user_id" OR 1=1'}),
        ("columns", {"timestamp": "ts)"}),
    ],
    ids=["quote in a table", "four-part name", "comment", "quote in a column", "paren"],
)
def test_table_and_column_names_outside_the_pattern_are_refused(field: str, value: object) -> None:
    with pytest.raises(pydantic.ValidationError):
        TableSpec.model_validate({field: value})


def test_names_are_checked_again_when_a_spec_skipped_validation() -> None:
    sneaky = SourceSpec.model_construct(
        type=SourceType.EMBEDDED,
        exposures=TableSpec.model_construct(table='x"; DROP TABLE y', columns={}),
        metrics=TableSpec(),
    )
    with pytest.raises(ValueError, match="not a valid table name"):
        sql.exposure_counts(sneaky, "k", WINDOW)
    sneaky_column = SourceSpec.model_construct(
        type=SourceType.EMBEDDED,
        exposures=TableSpec.model_construct(table="exposures", columns={"unit": "u; --"}),
        metrics=TableSpec(),
    )
    with pytest.raises(ValueError, match="not a valid column name"):
        sql.exposure_counts(sneaky_column, "k", WINDOW)
    with pytest.raises(ValueError, match="dimension"):
        sql.dimension_counts(WAREHOUSE, "k", WINDOW, "browser') --")


def test_the_json_path_is_a_key_or_a_jsonpath_as_the_dialect_reads_it() -> None:
    by_dialect = {
        d: sql.dimension_counts(WAREHOUSE, "k", WINDOW, "browser", dialect=d).params["dimension"]
        for d in sql.DIALECTS
    }
    assert by_dialect == {
        "duckdb": "browser",
        "postgres": "browser",
        "bigquery": "$.browser",
        "snowflake": "browser",
        "clickhouse": "browser",
        "trino": "$.browser",
        "spark": "$.browser",
    }


def test_parquet_paths_are_parameters_of_read_parquet() -> None:
    source = SourceSpec(
        type="parquet",
        exposures=TableSpec(path="/data/exposures/*.parquet"),
        metrics=TableSpec(path="/data/o'brien/events.parquet"),
    )
    query = sql.metric_moments(source, "k", METRICS["binomial"], WINDOW)
    assert "READ_PARQUET($exposures_path)" in query.sql
    assert "READ_PARQUET($metrics_path)" in query.sql
    assert "o'brien" not in query.sql
    assert query.params["metrics_path"] == "/data/o'brien/events.parquet"
    with pytest.raises(ValueError, match="DuckDB only"):
        sql.metric_moments(source, "k", METRICS["binomial"], WINDOW, dialect="postgres")


@pytest.mark.parametrize("metric", list(METRICS), ids=list(METRICS))
def test_the_metric_query_reads_each_table_once_with_no_subquery(metric: str) -> None:
    query = sql.metric_moments(SourceSpec(), "k", METRICS[metric], WINDOW)
    tree = sqlglot.parse_one(query.sql, read="duckdb")
    tables = [t.name for t in tree.find_all(exp.Table)]
    assert tables.count("exposures") == 1
    assert tables.count("metric_events") == 1
    assert not list(tree.find_all(exp.Subquery))
    joins = list(tree.find_all(exp.Join))
    # The exposed units meet the events on the unit (a hash join); only the cap is a cross join.
    keyed = [j for j in joins if j.args.get("on") is not None]
    assert len(keyed) == 1
    assert any(
        isinstance(eq, exp.EQ) and {c.name for c in eq.find_all(exp.Column)} == {"unit"}
        for eq in keyed[0].args["on"].find_all(exp.EQ)
    )


def test_the_experiment_query_reads_each_table_once_for_every_metric() -> None:
    query = sql.experiment_moments(SourceSpec(), "k", list(METRICS.values()), WINDOW)
    tree = sqlglot.parse_one(query.sql, read="duckdb")
    tables = [t.name for t in tree.find_all(exp.Table)]
    assert tables.count("exposures") == 1
    assert tables.count("metric_events") == 1
    assert not list(tree.find_all(exp.Subquery))
    keyed = [j for j in tree.find_all(exp.Join) if j.args.get("on") is not None]
    assert len(keyed) == 1
    # One filter for the events of all metrics, from the pre-period (a metric uses CUPED).
    [events] = [c for c in tree.find_all(exp.CTE) if c.alias == "events"]
    [names] = events.find_all(exp.In)
    assert len(names.expressions) == 2
    assert {query.params[p.name] for p in names.find_all(exp.Placeholder)} == {
        "purchase",
        "pageview",
    }
    assert "pre_start" in {p.name for p in events.find_all(exp.Placeholder)}
    assert query.columns == (
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
    assert [query.params[f"metric_{i}"] for i in range(len(METRICS))] == [
        m.key for m in METRICS.values()
    ]


def test_the_experiment_query_computes_a_shared_per_unit_value_once() -> None:
    revenue = MetricSpec(key="revenue", type="mean", event="purchase")
    aov = MetricSpec(
        key="aov",
        type="ratio",
        numerator={"event": "purchase"},
        denominator={"event": "purchase", "value": "count"},
    )
    capped = revenue.model_copy(update={"key": "capped", "capping": 99.0})
    again = capped.model_copy(update={"key": "again"})
    query = sql.experiment_moments(SourceSpec(), "k", [revenue, aov, capped, again], WINDOW)
    tree = sqlglot.parse_one(query.sql, read="duckdb")
    [unit_values] = [c for c in tree.find_all(exp.CTE) if c.alias == "unit_values"]
    # Σvalue (revenue, aov's numerator, both capped ones) and the count (aov's denominator).
    assert len(unit_values.this.expressions) == 1 + 2
    assert len(list(tree.find_all(exp.PercentileCont))) == 1
    assert unit_values.args.get("materialized") is True


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_only_duckdb_and_postgres_are_told_to_materialize_the_per_unit_values(
    dialect: str,
) -> None:
    capped = sql.experiment_moments(
        WAREHOUSE, "k", [METRICS["ratio of two events, capped"]], WINDOW, dialect=dialect
    )
    plain = sql.experiment_moments(WAREHOUSE, "k", [METRICS["binomial"]], WINDOW, dialect=dialect)
    materialized = dialect in {"duckdb", "postgres"}
    assert ("AS MATERIALIZED" in capped.sql) is materialized
    assert "MATERIALIZED" not in plain.sql


def test_instants_are_bound_as_naive_utc() -> None:
    paris = timezone(timedelta(hours=1))
    window = sql.Window(START.astimezone(paris), END.astimezone(paris))
    query = sql.exposure_counts(SourceSpec(), "k", window)
    assert query.params["start"] == datetime(2026, 11, 1)
    assert query.params["end"] == datetime(2026, 11, 29)


def test_a_window_without_start_has_no_lower_bound() -> None:
    query = sql.exposure_counts(SourceSpec(), "k", sql.Window(None, END))
    assert set(query.params) == {"experiment", "end"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((datetime(2026, 11, 1), END), "timezone-aware"),
        ((END, START), "after its start"),
        ((START, END, START), "pre-period"),
        ((None, END, START - timedelta(days=1)), "pre-period"),
    ],
    ids=["naive start", "end before start", "pre-period at start", "pre-period without start"],
)
def test_a_window_must_be_aware_and_ordered(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sql.Window(*args)  # type: ignore[arg-type]


def test_queries_refuse_what_they_cannot_answer() -> None:
    cuped = METRICS["mean, CUPED, capped, windowed"]
    with pytest.raises(ValueError, match="pre_start"):
        sql.metric_moments(SourceSpec(), "k", cuped, sql.Window(START, END))
    with pytest.raises(ValueError, match="pre_start"):
        sql.experiment_moments(
            SourceSpec(), "k", [METRICS["binomial"], cuped], sql.Window(START, END)
        )
    with pytest.raises(ValueError, match="at least one metric"):
        sql.experiment_moments(SourceSpec(), "k", [], WINDOW)
    with pytest.raises(ValueError, match="'conversion' is named twice"):
        sql.experiment_moments(SourceSpec(), "k", [METRICS["binomial"]] * 2, WINDOW)
    with pytest.raises(ValueError, match="not capped"):
        sql.metric_cap(SourceSpec(), "k", METRICS["binomial"], WINDOW)
    with pytest.raises(ValueError, match="at least 1"):
        sql.assignment_sample(SourceSpec(), "k", WINDOW, 0)
    with pytest.raises(ValueError, match="at least one event"):
        sql.unexposed_metric_events(SourceSpec(), "k", WINDOW, ())
    with pytest.raises(ValueError, match="neither start nor end"):
        sql.out_of_window_exposures(
            SourceSpec(), EXPERIMENT.model_copy(update={"start": None, "end": None})
        )
    with pytest.raises(ValueError, match="unknown dialect"):
        sql.exposure_counts(SourceSpec(), "k", WINDOW, dialect="oracle")


def test_duplicate_ids_read_only_tables_that_have_an_id() -> None:
    embedded = sql.duplicate_ids(SourceSpec(), "k", WINDOW)
    assert embedded.sql.count("COUNT(DISTINCT") == 2
    warehouse = sql.duplicate_ids(WAREHOUSE, "k", WINDOW)  # only exposures map `id`
    assert warehouse.sql.count("COUNT(DISTINCT") == 1 and '"event_id"' in warehouse.sql
    none = SourceSpec(type="postgres", url="postgresql://w/a")
    assert "COUNT(DISTINCT" not in sql.duplicate_ids(none, "k", WINDOW).sql


def test_each_source_type_reads_in_its_own_dialect() -> None:
    assert {t: sql.dialect_of(SourceSpec.model_construct(type=t)) for t in SourceType} == {
        SourceType.EMBEDDED: "duckdb",
        SourceType.DUCKDB: "duckdb",
        SourceType.PARQUET: "duckdb",
        SourceType.POSTGRES: "postgres",
        SourceType.BIGQUERY: "bigquery",
        SourceType.SNOWFLAKE: "snowflake",
        SourceType.CLICKHOUSE: "clickhouse",
        SourceType.TRINO: "trino",
        SourceType.SPARK: "spark",
    }


def test_a_conversion_window_is_added_in_each_dialects_own_way() -> None:
    metric = MetricSpec(key="c", event="purchase", conversion_window="36h")
    rendered = {
        d: sql.metric_moments(WAREHOUSE, "k", metric, WINDOW, dialect=d) for d in sql.DIALECTS
    }
    assert rendered["postgres"].params["conversion_window_s"] == 36 * 3600
    assert "INTERVAL '1 SECOND' * %(conversion_window_s)s" in rendered["postgres"].sql
    assert "INTERVAL ($conversion_window_s) SECOND" in rendered["duckdb"].sql
    assert "TIMESTAMP_ADD(" in rendered["bigquery"].sql
    assert "DATE_ADD(SECOND, {conversion_window_s: Int64}" in rendered["clickhouse"].sql


def test_logical_names_are_mapped_once_even_when_a_mapping_swaps_them() -> None:
    mapping = {"unit": "event", "event": "unit"}
    swapped = SourceSpec(metrics=TableSpec(table="metric_events", columns=mapping))
    query = sql.unexposed_metric_events(swapped, "k", WINDOW, ("purchase",))
    assert 'ON "e"."unit" = "m"."event"' in query.sql
    assert '"m"."unit" IN ($event_0)' in query.sql
