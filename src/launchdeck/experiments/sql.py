"""The analysis queries, written once in DuckDB SQL and rendered per warehouse by sqlglot. Pure.

Each query is a template of this module's own text: the source's tables are `src_exposures AS
x` and `src_metric_events AS m`, their columns are written with logical names (`x.unit`,
`m.timestamp`) and every value is a named placeholder (`$start`). `_render` parses the template,
swaps in the source's quoted table (or `read_parquet($…_path)` for Parquet) and column names,
expands the constructs sqlglot cannot transpile by itself (`LD_ADD_SECONDS`, `LD_FIRST`,
`LD_QUANTILE`), and writes the dialect's SQL with its own placeholders: `$x` (DuckDB),
`%(x)s` (PostgreSQL, psycopg), `@x` (BigQuery), `:x` (Snowflake, Trino, Spark), `{x:Type}`
(ClickHouse).
Identifiers come only from `TableSpec` (validated patterns, checked again here) and are always
quoted, so names match case-sensitively (write Snowflake's upper-case names as stored); user
text (keys, event names, dimensions, paths) only ever travels as a parameter. Instants are bound
as naive UTC, as the event store keeps them.

Per-unit semantics, shared by every query:

- Exposed units: exposures of the experiment with `start <= timestamp < end` (no lower bound
  when the window has no start); per unit the first exposure's time and its variant. Units seen
  in more than one variant are left out of every analysis query (`multi_variant_units` counts
  them); rows with a NULL unit are ignored.
- A metric's per-unit value y: the unit's metric events with `first exposure <= timestamp`,
  `timestamp < first exposure + conversion_window` (when set) and `timestamp < end`.
  binomial: 1 if there is any such event, else 0; mean: Σvalue (NULL values add nothing) or the
  number of events (`value: count`); ratio: y = the numerator side, x = the denominator side.
  Exposed units without events count as 0.
- Capping: cap = the `capping` percentile (`quantile_cont`, linear interpolation) of y over all
  exposed units of all variants; y = least(y, cap) (a ratio caps its numerator).
- CUPED: x = the same per-unit value over `[pre_start, start)` (0 for units without events).
- Result per variant: n, Σy, Σy², Σx, Σx², Σxy as DOUBLE, the fields of `Moments`.

`metric_moments` computes this for one metric, `metric_cap` its cap; `experiment_moments` for
all of an experiment's metrics in one statement, with the same numbers. Each reads the exposures
once and the metric events once (each filtered before a hash join on the unit) and aggregates
per unit with conditional aggregates, never a correlated subquery. A capped query reads its
per-unit values twice (the cap, then the sums): DuckDB and PostgreSQL are told to materialize
them (`AS MATERIALIZED`); the other engines plan CTEs their own way. Percentiles are exact and
linearly interpolated (DuckDB's quantile_cont) except on Trino and BigQuery, which only have
approximate quantiles (`approx_percentile`, `APPROX_QUANTILES` at 1/10,000 resolution).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

import sqlglot
from sqlglot import exp

from launchdeck.experiments.model import (
    IDENTIFIER_PATTERN,
    TABLE_PATTERN,
    ExperimentSpec,
    MetricSpec,
    MetricType,
    SourceSpec,
    SourceType,
    TableSpec,
    ValueAgg,
)

__all__ = [
    "DIALECTS",
    "Dialect",
    "Experiment",
    "Query",
    "Window",
    "assignment_sample",
    "daily_exposures",
    "daily_metric_counts",
    "dialect_of",
    "dimension_counts",
    "duplicate_ids",
    "experiment_moments",
    "exposure_counts",
    "metric_cap",
    "metric_moments",
    "multi_variant_units",
    "out_of_window_exposures",
    "unexposed_metric_events",
    "unit_activity",
]

Dialect = Literal["duckdb", "postgres", "bigquery", "snowflake", "clickhouse", "trino", "spark"]
DIALECTS: Final[tuple[Dialect, ...]] = (
    "duckdb",
    "postgres",
    "bigquery",
    "snowflake",
    "clickhouse",
    "trino",
    "spark",
)
_DIALECT_OF: Final[Mapping[SourceType, Dialect]] = {
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
_MATERIALIZING_DIALECTS: Final = frozenset({"duckdb", "postgres"})
"""Dialects that take `WITH name AS MATERIALIZED (…)`; the others get a plain CTE."""
_JSON_PATH_DIALECTS: Final = frozenset({"bigquery", "trino", "spark"})
"""Dialects whose JSON extraction takes a JSONPath (`$.key`); the others take the key."""
_TABLE_MARKERS: Final = {"src_exposures": "exposures", "src_metric_events": "metrics"}
_SOURCE_ALIASES: Final = {"x": "exposures", "m": "metrics"}
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
_TABLE = re.compile(TABLE_PATTERN)

Experiment = ExperimentSpec | str
"""An experiment, or its key: the queries only need the key (and `out_of_window_exposures` its
start and end)."""


@dataclass(frozen=True, slots=True)
class Window:
    """What the analysis reads: exposures in [start, end) (start None: from the beginning),
    and, for CUPED, metric events from `pre_start`. Aware datetimes."""

    start: datetime | None
    end: datetime
    pre_start: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end", "pre_start"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"window {name} must be timezone-aware, got {value!r}")
        if self.start is not None and self.end <= self.start:
            raise ValueError("the window's end must be after its start")
        if self.pre_start is not None and (self.start is None or self.pre_start >= self.start):
            raise ValueError("the pre-period must start before the window's start")


@dataclass(frozen=True, slots=True)
class Query:
    """One rendered query: its SQL for `dialect`, the values of its placeholders, and the names
    of the columns its rows carry, in order."""

    name: str
    sql: str
    params: Mapping[str, object]
    dialect: str
    columns: tuple[str, ...]


def dialect_of(source: SourceSpec) -> Dialect:
    """The sqlglot dialect that reads `source`: DuckDB for the embedded store, DuckDB files and
    Parquet, else the warehouse's own."""
    return _DIALECT_OF[source.type]


# --- rendering -------------------------------------------------------------------------------


def _clickhouse_type(value: object) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, datetime):
        return "DateTime64(6)"
    return "String"


def _identifier(name: str) -> exp.Identifier:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a valid column name")
    return exp.to_identifier(name, quoted=True)


def _table(spec: TableSpec, role: str, source: SourceSpec, dialect: str) -> exp.Expression:
    if source.type is SourceType.PARQUET:
        if dialect != "duckdb":
            raise ValueError("a parquet source is read by DuckDB only")
        return exp.ReadParquet(expressions=[exp.Placeholder(this=f"{role}_path")])
    if spec.table is None or not _TABLE.match(spec.table):
        raise ValueError(f"{spec.table!r} is not a valid table name")
    parts = [exp.to_identifier(p, quoted=True) for p in spec.table.split(".")]
    catalog, db = [None, None, *parts[:-1]][-2:]
    return exp.Table(this=parts[-1], db=db, catalog=catalog)


def _map_source(node: exp.Expression, source: SourceSpec, dialect: str) -> exp.Expression:
    if isinstance(node, exp.Table) and not node.args.get("db") and node.name in _TABLE_MARKERS:
        role = _TABLE_MARKERS[node.name]
        spec = source.exposures if role == "exposures" else source.metrics
        table = _table(spec, role, source, dialect)
        if not isinstance(table, exp.Table):
            table = exp.Table(this=table)
        table.set("alias", node.args.get("alias"))
        return table
    if isinstance(node, exp.Column) and node.table in _SOURCE_ALIASES:
        spec = source.exposures if node.table == "x" else source.metrics
        return exp.Column(this=_identifier(spec.column(node.name)), table=node.args["table"])
    return node


def _snippet(text: str, read: str, **parts: exp.Expression) -> exp.Expression:
    """A dialect's own spelling of a construct, its column names replaced by `parts`."""
    tree = sqlglot.parse_one(text, read=read)
    return tree.transform(
        lambda n: parts[n.name].copy() if isinstance(n, exp.Column) and n.name in parts else n
    )


def _first_value(value: exp.Expression, order: exp.Expression, dialect: str) -> exp.Expression:
    """The value on the row with the smallest `order`, among rows where it is not NULL (as
    DuckDB's arg_min); PostgreSQL has no arg_min."""
    if dialect == "postgres":
        text = "(ARRAY_AGG(v ORDER BY o) FILTER (WHERE v IS NOT NULL))[1]"
        return _snippet(text, "postgres", v=value, o=order)
    return exp.ArgMin(this=value, expression=order)


def _quantile(value: exp.Expression, level: exp.Expression, dialect: str) -> exp.Expression:
    """The `level` quantile of `value`, interpolated linearly (quantile_cont) where the engine
    computes it exactly; Trino and BigQuery only have approximate quantiles."""
    if dialect == "clickhouse":
        return _snippet("quantileExactInclusive(q)(v)", "clickhouse", q=level, v=value)
    if dialect == "bigquery":
        text = "APPROX_QUANTILES(v, 10000)[OFFSET(CAST(ROUND(q * 10000) AS INT64))]"
        return _snippet(text, "bigquery", q=level, v=value)
    if dialect == "trino":
        return exp.ApproxQuantile(this=value, quantile=level)
    if dialect == "spark":
        return exp.Quantile(this=value, quantile=level)
    return exp.PercentileCont(this=value, expression=level)


def _expand_macros(node: exp.Expression, dialect: str) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.upper() == "LD_ADD_SECONDS":
        when, seconds = node.expressions
        # ClickHouse spells it date_add(unit, n, t); the others transpile from TimestampAdd.
        kind = exp.DateAdd if dialect == "clickhouse" else exp.TimestampAdd
        return kind(this=when, expression=seconds, unit=exp.var("SECOND"))
    if isinstance(node, exp.Anonymous) and node.name.upper() == "LD_FIRST":
        return _first_value(node.expressions[0], node.expressions[1], dialect)
    if isinstance(node, exp.Anonymous) and node.name.upper() == "LD_QUANTILE":
        return _quantile(node.expressions[0], node.expressions[1], dialect)
    if isinstance(node, exp.CTE) and dialect not in _MATERIALIZING_DIALECTS:
        node.set("materialized", None)
    return node


def _render(
    name: str, template: str, values: Mapping[str, object], source: SourceSpec, dialect: str
) -> Query:
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; one of {', '.join(DIALECTS)}")
    tree = sqlglot.parse_one(template, read="duckdb")
    tree = tree.transform(lambda node: _map_source(node, source, dialect))
    tree = tree.transform(lambda node: _expand_macros(node, dialect))
    values = {
        **values,
        "exposures_path": source.exposures.path,
        "metrics_path": source.metrics.path,
    }
    params: dict[str, object] = {}
    for holder in tree.find_all(exp.Placeholder):
        value = values[holder.name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None)
        params[holder.name] = value
        if dialect == "clickhouse":
            holder.set("kind", exp.DataType.build(_clickhouse_type(value), dialect="clickhouse"))
    assert isinstance(tree, exp.Query)
    sql = tree.sql(dialect=dialect, identify=True, unsupported_level=sqlglot.ErrorLevel.RAISE)
    return Query(name, sql, params, dialect, tuple(tree.named_selects))


# --- shared fragments ------------------------------------------------------------------------


def _key(experiment: Experiment) -> str:
    return experiment if isinstance(experiment, str) else experiment.key


def _values(experiment: Experiment, window: Window) -> dict[str, object]:
    return {"experiment": _key(experiment), "start": window.start, "end": window.end}


def _in_window(alias: str, window: Window) -> str:
    since = f"{alias}.timestamp >= $start AND " if window.start is not None else ""
    return f"{since}{alias}.timestamp < $end"


def _exposures_of(window: Window) -> str:
    return f"x.experiment = $experiment AND {_in_window('x', window)} AND x.unit IS NOT NULL"


def _exposed(window: Window) -> str:
    """The CTE `exposed(unit, first_ts, variant)` of the analysed units."""
    return f"""
exposed AS (
  SELECT x.unit AS unit, MIN(x.timestamp) AS first_ts, MIN(x.variant) AS variant
  FROM src_exposures AS x
  WHERE {_exposures_of(window)}
  GROUP BY x.unit
  HAVING MIN(x.variant) = MAX(x.variant)
)"""  # noqa: S608 - every interpolation in this module is this module's own constant text


def _event_list(events: Sequence[str], values: dict[str, object]) -> str:
    if not events:
        raise ValueError("name at least one event")
    names = tuple(dict.fromkeys(events))
    values.update({f"event_{i}": e for i, e in enumerate(names)})
    return ", ".join(f"$event_{i}" for i in range(len(names)))


def _dialect(source: SourceSpec, dialect: str | None) -> str:
    return dialect or dialect_of(source)


# --- the metric queries ----------------------------------------------------------------------


def _aggregate(kind: MetricType | ValueAgg, condition: str | None) -> str:
    """A unit's value over its joined event rows (`v`), of those meeting `condition` if given.
    The row of a unit without events is NULL-extended by the LEFT JOIN and counts nothing."""
    if kind is MetricType.BINOMIAL:
        hit = f"CASE WHEN {condition} THEN 1 END" if condition else "v.unit"
        body = f"CASE WHEN COUNT({hit}) > 0 THEN 1 ELSE 0 END"
    elif kind is ValueAgg.COUNT:
        body = f"COUNT(CASE WHEN {condition} THEN 1 END)" if condition else "COUNT(v.unit)"
    else:
        value = f"CASE WHEN {condition} THEN v.value END" if condition else "v.value"
        body = f"COALESCE(SUM({value}), 0)"
    return f"CAST({body} AS DOUBLE)"


def _per_unit(metric: MetricSpec, window: Window, values: dict[str, object]) -> tuple[str, bool]:
    """The CTEs up to `per_unit(variant, y[, x])` (capped when the metric caps), and whether
    there is an x. The window after exposure goes into the join condition when y and x share
    it (faster than filtering inside the aggregates); CUPED reads a second window, so it
    filters inside them."""
    after = "v.ts >= e.first_ts"
    if metric.conversion_window is not None:
        after += " AND v.ts < LD_ADD_SECONDS(e.first_ts, $conversion_window_s)"
        values["conversion_window_s"] = int(metric.conversion_window.total_seconds())
    join = f"v.unit = e.unit AND {after}"
    lower = "m.timestamp >= $start AND " if window.start is not None else ""
    x: str | None = None
    if metric.type is MetricType.RATIO:
        assert metric.numerator is not None and metric.denominator is not None
        events = metric.events()
        values.update(numerator=metric.numerator.event, denominator=metric.denominator.event)
        two = len(events) == 2
        y = _aggregate(metric.numerator.value, "v.event = $numerator" if two else None)
        x = _aggregate(metric.denominator.value, "v.event = $denominator" if two else None)
    else:
        assert metric.event is not None
        events = (metric.event,)
        kind = MetricType.BINOMIAL if metric.type is MetricType.BINOMIAL else metric.value
        y = _aggregate(kind, None)
        if metric.cuped:
            if window.pre_start is None:
                raise ValueError(f"metric {metric.key!r} uses CUPED: the window needs pre_start")
            values["pre_start"] = window.pre_start
            join, lower = "v.unit = e.unit", "m.timestamp >= $pre_start AND "
            y, x = _aggregate(kind, after), _aggregate(kind, "v.ts < $start")
    holders = _event_list(events, values)
    unit_x = f", {x} AS x" if x else ""
    # A capped metric reads its per-unit values twice: for the cap, then for the sums.
    name = "per_unit AS" if metric.capping is None else "unit_values AS MATERIALIZED"
    ctes = f"""{_exposed(window)},
events AS (
  SELECT m.unit AS unit, m.timestamp AS ts, m.value AS value, m.event AS event
  FROM src_metric_events AS m
  WHERE m.event IN ({holders}) AND {lower}m.timestamp < $end
),
{name} (
  SELECT e.variant AS variant, {y} AS y{unit_x}
  FROM exposed AS e LEFT JOIN events AS v ON {join}
  GROUP BY e.unit, e.variant
)"""  # noqa: S608
    if metric.capping is None:
        return ctes, x is not None
    values["capping"] = metric.capping / 100
    keep_x = ", u.x AS x" if x else ""
    return (
        f"""{ctes},
cap AS (SELECT LD_QUANTILE(y, $capping) AS cap FROM unit_values),
per_unit AS (
  SELECT u.variant AS variant, LEAST(u.y, c.cap) AS y{keep_x}
  FROM unit_values AS u CROSS JOIN cap AS c
)""",  # noqa: S608
        x is not None,
    )


def metric_moments(
    source: SourceSpec,
    experiment: Experiment,
    metric: MetricSpec,
    window: Window,
    *,
    dialect: str | None = None,
) -> Query:
    """Per variant n, Σy, Σy², Σx, Σx², Σxy of `metric` (columns variant, n, sum, sum_sq, x_sum,
    x_sum_sq, xy_sum), per the module's per-unit semantics. CUPED needs `window.pre_start`."""
    values = _values(experiment, window)
    ctes, has_x = _per_unit(metric, window, values)
    if has_x:
        x_sums = "SUM(x) AS x_sum, SUM(x * x) AS x_sum_sq, SUM(x * y) AS xy_sum"
    else:
        zero = "CAST(0 AS DOUBLE)"
        x_sums = f"{zero} AS x_sum, {zero} AS x_sum_sq, {zero} AS xy_sum"
    template = f"""
WITH {ctes}
SELECT variant, COUNT(*) AS n, SUM(y) AS sum, SUM(y * y) AS sum_sq, {x_sums}
FROM per_unit
GROUP BY variant
ORDER BY variant"""  # noqa: S608
    return _render("metric_moments", template, values, source, _dialect(source, dialect))


def metric_cap(
    source: SourceSpec,
    experiment: Experiment,
    metric: MetricSpec,
    window: Window,
    *,
    dialect: str | None = None,
) -> Query:
    """One row: the cap `metric_moments` applies (column cap; NULL without exposed units).
    Only for metrics with `capping`."""
    if metric.capping is None:
        raise ValueError(f"metric {metric.key!r} is not capped")
    values = _values(experiment, window)
    ctes, _ = _per_unit(metric, window, values)
    template = f"WITH {ctes}\nSELECT cap FROM cap"
    return _render("metric_cap", template, values, source, _dialect(source, dialect))


class _Columns:
    """The columns of the one-query form: each distinct per-unit aggregate once (`a0`, `a1` …),
    each distinct cap once (`cap0` …, per aggregate and percentile), and per metric the
    expressions of its five sums and its cap in the `moments` CTE."""

    _FIELDS = ("y_sum", "y_sum_sq", "x_sum", "x_sum_sq", "xy_sum", "cap")

    def __init__(self) -> None:
        self.aggregates: dict[str, str] = {}
        self.caps: dict[tuple[str, float], str] = {}
        self.sums: list[str] = []
        self.picks: dict[str, list[str]] = {f: [] for f in self._FIELDS}

    def aggregate(self, text: str) -> str:
        return self.aggregates.setdefault(text, f"a{len(self.aggregates)}")

    def add(self, i: int, y: str, x: str | None, cap: str | None) -> None:
        """Metric `i` with per-unit columns y and x, y capped at the caps column `cap`."""
        value = f"LEAST(u.{y}, c.{cap})" if cap else f"u.{y}"
        self.sums += [f"SUM({value}) AS y_sum_{i}", f"SUM({value} * {value}) AS y_sum_sq_{i}"]
        if x is not None:
            self.sums += [
                f"SUM(u.{x}) AS x_sum_{i}",
                f"SUM(u.{x} * u.{x}) AS x_sum_sq_{i}",
                f"SUM(u.{x} * {value}) AS xy_sum_{i}",
            ]
        for field in self._FIELDS[:-1]:
            known = x is not None or field.startswith("y_")
            self.picks[field].append(f"m.{field}_{i}" if known else "CAST(0 AS DOUBLE)")
        self.picks["cap"].append(f"m.{cap}" if cap else "CAST(NULL AS DOUBLE)")

    def long_format(self) -> str:
        """The final select list: each field is the metric's own column, chosen by its index."""
        picked = []
        for field, options in self.picks.items():
            branches = " ".join(f"WHEN {i} THEN {e}" for i, e in enumerate(options))
            picked.append(f"CASE l.i {branches} END AS {field}")
        return ", ".join(picked)


def _sides(
    metric: MetricSpec, columns: _Columns, holders: Mapping[str, str], *, after_in_join: bool
) -> tuple[str, str | None, dict[str, object]]:
    """The per-unit columns of a metric's y and x (None without x), per the module's per-unit
    semantics, as conditional aggregates over the joined rows of all the metrics' events; and
    the values of the placeholders they add."""
    values: dict[str, object] = {}
    after = [] if after_in_join else ["v.ts >= e.first_ts"]
    if metric.conversion_window is not None:
        seconds = int(metric.conversion_window.total_seconds())
        values[f"window_{seconds}_s"] = seconds
        after.append(f"v.ts < LD_ADD_SECONDS(e.first_ts, $window_{seconds}_s)")

    def side(kind: MetricType | ValueAgg, event: str, when: list[str]) -> str:
        named = [f"v.event = {holders[event]}"] if len(holders) > 1 else []
        return columns.aggregate(_aggregate(kind, " AND ".join(named + when) or None))

    if metric.type is MetricType.RATIO:
        assert metric.numerator is not None and metric.denominator is not None
        num, den = metric.numerator, metric.denominator
        return side(num.value, num.event, after), side(den.value, den.event, after), values
    assert metric.event is not None
    kind = MetricType.BINOMIAL if metric.type is MetricType.BINOMIAL else metric.value
    x = side(kind, metric.event, ["v.ts < $start"]) if metric.cuped else None
    return side(kind, metric.event, after), x, values


def experiment_moments(
    source: SourceSpec,
    experiment: Experiment,
    metrics: Sequence[MetricSpec],
    window: Window,
    *,
    dialect: str | None = None,
) -> Query:
    """Per metric and variant n, Σy, Σy², Σx, Σx², Σxy and the cap, of all `metrics` in one
    statement (columns metric, variant, n, y_sum, y_sum_sq, x_sum, x_sum_sq, xy_sum, cap; rows
    by metric in the given order, then variant; cap NULL for an uncapped metric): the numbers of
    `metric_moments` and `metric_cap` for each metric, from one scan of the exposures and one of
    the metric events (every metric's event names; from the pre-period when a metric uses
    CUPED). Each metric's per-unit values are conditional aggregates of the same per-unit group,
    identical ones computed once; metric keys travel as parameters. CUPED needs
    `window.pre_start`."""
    keys = [m.key for m in metrics]
    if not keys:
        raise ValueError("name at least one metric")
    if len(set(keys)) != len(keys):
        raise ValueError(f"metric {next(k for k in keys if keys.count(k) > 1)!r} is named twice")
    values = _values(experiment, window)
    cuped = next((m.key for m in metrics if m.cuped), None)
    if cuped is not None:
        if window.pre_start is None:
            raise ValueError(f"metric {cuped!r} uses CUPED: the window needs pre_start")
        # The join keeps the pre-period and what follows the first exposure, nothing between.
        values["pre_start"] = window.pre_start
        lower = "m.timestamp >= $pre_start AND "
        join = "v.unit = e.unit AND (v.ts >= e.first_ts OR v.ts < $start)"
    else:
        lower = "m.timestamp >= $start AND " if window.start is not None else ""
        join = "v.unit = e.unit AND v.ts >= e.first_ts"
    names = tuple(dict.fromkeys(e for m in metrics for e in m.events()))
    _event_list(names, values)
    holders = {name: f"$event_{i}" for i, name in enumerate(names)}  # as _event_list names them
    columns = _Columns()
    for i, metric in enumerate(metrics):
        y, x, more = _sides(metric, columns, holders, after_in_join=cuped is None)
        values.update(more)
        values[f"metric_{i}"] = metric.key
        cap = None
        if metric.capping is not None:
            cap = columns.caps.setdefault((y, metric.capping / 100), f"cap{len(columns.caps)}")
            values[f"{cap}_level"] = metric.capping / 100
        columns.add(i, y, x, cap)
    per_unit = ", ".join(f"{text} AS {name}" for text, name in columns.aggregates.items())
    sums = ", ".join(columns.sums + [f"MAX(c.{cap}) AS {cap}" for cap in columns.caps.values()])
    listed = " UNION ALL ".join(
        f"SELECT {i} AS i, CAST($metric_{i} AS VARCHAR) AS metric" for i in range(len(keys))
    )
    if columns.caps:
        quantiles = ", ".join(
            f"LD_QUANTILE({y}, ${cap}_level) AS {cap}" for (y, _), cap in columns.caps.items()
        )
        # The per-unit values are read twice: for the caps, then for the sums.
        unit_values = "unit_values AS MATERIALIZED"
        caps = f",\ncaps AS (SELECT {quantiles} FROM unit_values)"  # noqa: S608
        capped = " CROSS JOIN caps AS c"
    else:
        unit_values, caps, capped = "unit_values AS", "", ""
    template = f"""
WITH {_exposed(window)},
events AS (
  SELECT m.unit AS unit, m.timestamp AS ts, m.value AS value, m.event AS event
  FROM src_metric_events AS m
  WHERE m.event IN ({", ".join(holders.values())}) AND {lower}m.timestamp < $end
),
{unit_values} (
  SELECT e.variant AS variant, {per_unit}
  FROM exposed AS e LEFT JOIN events AS v ON {join}
  GROUP BY e.unit, e.variant
){caps},
moments AS (
  SELECT u.variant AS variant, COUNT(*) AS n, {sums}
  FROM unit_values AS u{capped}
  GROUP BY u.variant
),
metric_list AS ({listed})
SELECT l.metric AS metric, m.variant AS variant, m.n AS n, {columns.long_format()}
FROM moments AS m CROSS JOIN metric_list AS l
ORDER BY l.i, m.variant"""  # noqa: S608
    return _render("experiment_moments", template, values, source, _dialect(source, dialect))


# --- exposure checks -------------------------------------------------------------------------


def exposure_counts(
    source: SourceSpec, experiment: Experiment, window: Window, *, dialect: str | None = None
) -> Query:
    """Analysed units per variant (columns variant, units): the n of the metric queries."""
    template = f"""
WITH {_exposed(window)}
SELECT variant, COUNT(*) AS units FROM exposed GROUP BY variant ORDER BY variant"""  # noqa: S608
    values = _values(experiment, window)
    return _render("exposure_counts", template, values, source, _dialect(source, dialect))


def dimension_counts(
    source: SourceSpec,
    experiment: Experiment,
    window: Window,
    dimension: str,
    *,
    dialect: str | None = None,
) -> Query:
    """Analysed units per (value, variant) of an exposure attribute (columns value, variant,
    units). A unit's value is the one on its earliest exposure carrying the attribute; units
    whose exposures never carry it are counted under a NULL value."""
    if not _IDENTIFIER.match(dimension):
        raise ValueError(f"{dimension!r} is not a valid dimension name")
    dialect = _dialect(source, dialect)
    template = f"""
WITH per_unit AS (
  SELECT MIN(x.variant) AS variant,
    LD_FIRST(x.attributes ->> $dimension, x.timestamp) AS value
  FROM src_exposures AS x
  WHERE {_exposures_of(window)}
  GROUP BY x.unit
  HAVING MIN(x.variant) = MAX(x.variant)
)
SELECT value, variant, COUNT(*) AS units FROM per_unit
GROUP BY value, variant ORDER BY value NULLS LAST, variant"""  # noqa: S608
    values = _values(experiment, window)
    values["dimension"] = f"$.{dimension}" if dialect in _JSON_PATH_DIALECTS else dimension
    return _render("dimension_counts", template, values, source, dialect)


def multi_variant_units(
    source: SourceSpec, experiment: Experiment, window: Window, *, dialect: str | None = None
) -> Query:
    """One row: units exposed in more than one variant, and all exposed units (columns
    multi_variant_units, units)."""
    template = f"""
WITH per_unit AS (
  SELECT CASE WHEN MIN(x.variant) <> MAX(x.variant) THEN 1 ELSE 0 END AS multi
  FROM src_exposures AS x
  WHERE {_exposures_of(window)}
  GROUP BY x.unit
)
SELECT COALESCE(SUM(multi), 0) AS multi_variant_units, COUNT(*) AS units FROM per_unit"""  # noqa: S608
    values = _values(experiment, window)
    return _render("multi_variant_units", template, values, source, _dialect(source, dialect))


def assignment_sample(
    source: SourceSpec,
    experiment: Experiment,
    window: Window,
    limit: int,
    *,
    dialect: str | None = None,
) -> Query:
    """Up to `limit` analysed units and their variant (columns unit, variant): a deterministic
    pseudo-random sample (ordered by the md5 of the unit), to re-check against bucketing."""
    if limit < 1:
        raise ValueError("the sample needs a limit of at least 1")
    template = f"""
WITH {_exposed(window)}
SELECT unit, variant FROM exposed ORDER BY MD5(unit), unit LIMIT $limit"""  # noqa: S608
    values = {**_values(experiment, window), "limit": limit}
    return _render("assignment_sample", template, values, source, _dialect(source, dialect))


def out_of_window_exposures(
    source: SourceSpec, experiment: ExperimentSpec, *, dialect: str | None = None
) -> Query:
    """One row: exposure rows of the experiment stamped before its `start` and at or after its
    `end` (columns before_start, after_end; 0 for a bound it does not set)."""
    if experiment.start is None and experiment.end is None:
        raise ValueError(f"experiment {experiment.key!r} sets neither start nor end")
    before = "CASE WHEN x.timestamp < $start THEN 1 END" if experiment.start else "NULL"
    after = "CASE WHEN x.timestamp >= $end THEN 1 END" if experiment.end else "NULL"
    template = f"""
SELECT COUNT({before}) AS before_start, COUNT({after}) AS after_end
FROM src_exposures AS x
WHERE x.experiment = $experiment"""  # noqa: S608
    values = {"experiment": experiment.key, "start": experiment.start, "end": experiment.end}
    return _render("out_of_window_exposures", template, values, source, _dialect(source, dialect))


def duplicate_ids(
    source: SourceSpec, experiment: Experiment, window: Window, *, dialect: str | None = None
) -> Query:
    """One row per table that has an id column (the embedded store's, or a table whose
    `columns` names `id`): rows − distinct ids, rows, and the table (columns duplicates, total,
    source_table), over the experiment's exposures and all metric events in the window. No
    rows when neither table has ids."""
    parts = []
    embedded = source.type is SourceType.EMBEDDED
    if embedded or "id" in source.exposures.columns:
        parts.append(f"""
SELECT COUNT(*) - COUNT(DISTINCT x.id) AS duplicates, COUNT(*) AS total,
  'exposures' AS source_table
FROM src_exposures AS x WHERE {_exposures_of(window)}""")  # noqa: S608
    if embedded or "id" in source.metrics.columns:
        parts.append(f"""
SELECT COUNT(*) - COUNT(DISTINCT m.id) AS duplicates, COUNT(*) AS total,
  'metric_events' AS source_table
FROM src_metric_events AS m WHERE {_in_window("m", window)}""")  # noqa: S608
    if not parts:
        parts.append(
            "SELECT CAST(0 AS BIGINT) AS duplicates, CAST(0 AS BIGINT) AS total,"
            " 'none' AS source_table WHERE 1 = 0"
        )
    values = _values(experiment, window)
    return _render(
        "duplicate_ids", " UNION ALL ".join(parts), values, source, _dialect(source, dialect)
    )


def daily_exposures(
    source: SourceSpec, experiment: Experiment, window: Window, *, dialect: str | None = None
) -> Query:
    """Analysed units by the UTC day of their first exposure (columns day, variant, units)."""
    template = f"""
WITH {_exposed(window)}
SELECT CAST(first_ts AS DATE) AS day, variant, COUNT(*) AS units
FROM exposed GROUP BY CAST(first_ts AS DATE), variant ORDER BY day, variant"""  # noqa: S608
    values = _values(experiment, window)
    return _render("daily_exposures", template, values, source, _dialect(source, dialect))


# --- metric event checks ---------------------------------------------------------------------


def unexposed_metric_events(
    source: SourceSpec,
    experiment: Experiment,
    window: Window,
    events: Sequence[str],
    *,
    dialect: str | None = None,
) -> Query:
    """One row: metric events named `events` in the window from units with no exposure to the
    experiment in the window, and all of them (columns unexposed, total)."""
    values = _values(experiment, window)
    holders = _event_list(events, values)
    template = f"""
WITH exposed_units AS (
  SELECT DISTINCT x.unit AS unit FROM src_exposures AS x WHERE {_exposures_of(window)}
)
SELECT COUNT(CASE WHEN e.unit IS NULL THEN 1 END) AS unexposed, COUNT(*) AS total
FROM src_metric_events AS m LEFT JOIN exposed_units AS e ON e.unit = m.unit
WHERE m.event IN ({holders}) AND {_in_window("m", window)}"""  # noqa: S608
    return _render("unexposed_metric_events", template, values, source, _dialect(source, dialect))


def daily_metric_counts(
    source: SourceSpec,
    experiment: Experiment,
    window: Window,
    events: Sequence[str],
    *,
    dialect: str | None = None,
) -> Query:
    """Metric events named `events` of analysed units, at or after their first exposure and
    before `end`, by event and UTC day (columns event, day, variant, events)."""
    values = _values(experiment, window)
    holders = _event_list(events, values)
    template = f"""
WITH {_exposed(window)}
SELECT m.event AS event, CAST(m.timestamp AS DATE) AS day, e.variant AS variant,
  COUNT(*) AS events
FROM src_metric_events AS m JOIN exposed AS e ON e.unit = m.unit AND m.timestamp >= e.first_ts
WHERE m.event IN ({holders}) AND {_in_window("m", window)}
GROUP BY m.event, CAST(m.timestamp AS DATE), e.variant
ORDER BY event, day, variant"""  # noqa: S608
    return _render("daily_metric_counts", template, values, source, _dialect(source, dialect))


def unit_activity(
    source: SourceSpec,
    experiment: Experiment,
    window: Window,
    threshold: float | None = None,
    *,
    dialect: str | None = None,
) -> Query:
    """One row over the analysed units' metric event counts (any event, at or after the first
    exposure, before `end`; units without events count 0): units, p50, p99, max, and, given a
    threshold, how many units have more events than it (columns units, p50, p99, max[, above])."""
    above = ""
    if threshold is not None:
        above = ", COUNT(CASE WHEN events > $threshold THEN 1 END) AS above"
    template = f"""
WITH {_exposed(window)},
events AS (
  SELECT m.unit AS unit, m.timestamp AS ts FROM src_metric_events AS m
  WHERE {_in_window("m", window)}
),
per_unit AS (
  SELECT COUNT(v.unit) AS events
  FROM exposed AS e LEFT JOIN events AS v ON v.unit = e.unit AND v.ts >= e.first_ts
  GROUP BY e.unit
)
SELECT COUNT(*) AS units, LD_QUANTILE(events, 0.5) AS p50, LD_QUANTILE(events, 0.99) AS p99,
  MAX(events) AS max{above}
FROM per_unit"""  # noqa: S608
    values = {**_values(experiment, window), "threshold": threshold}
    return _render("unit_activity", template, values, source, _dialect(source, dialect))
