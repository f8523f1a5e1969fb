"""Experiment analysis over Parquet: launchdeck's full analysis against a hand-written DuckDB
query (the practical limit) and a pandas + SciPy baseline, on the same files in the same run.

The data (generated once by DuckDB itself, seeded, cached in `.bench/experiment_analysis/`):
`--rows` rows in two Parquet files, 42 % exposures and 58 % metric events. Exposures (id,
experiment, variant, unit, timestamp, attributes JSON) of one experiment over 14 days, about 1.05
exposures per unit, 50/50 control/treatment by a hash of the unit, a few units in both variants
and some exposures outside the window. Metric events (id, event, unit, value, timestamp,
attributes): `purchase` (a Pareto-tailed value) and `add_to_cart`, from a skewed share of the
exposed units plus some never exposed, stamped from a day before to a week after the unit's first
exposure; a treatment unit's event is a purchase slightly more often. At 20M rows: 8.4M
exposures (8M units), 11.6M metric events.

Three ways to the same three metrics (`purchase`: a binomial conversion; `revenue`: the mean of
the purchase value per unit, capped at its 99.9th percentile; `aov`: the ratio revenue / orders):
- launchdeck: what `ExperimentService.analyse(key, daily=False)` does (the CLI without
  `--chart`), minus the state store: an `ExperimentSpec`, its `MetricSpec`s and a Parquet
  `SourceSpec` built in code, `open_runner`, one `sql.experiment_moments` query for all three
  metrics (their moments and the cap) through `moments_by_metric`, then `analysis.analyse`
  (the statistics; fixed horizon, so its p-values can be checked against SciPy). sqlglot
  rendering is inside the timing; the daily exposures a chart needs are not (the other two
  paths do not count them either);
- raw DuckDB: one hand-written query over the same files computing the same per-unit values
  and per-variant sufficient statistics (n, Σy, Σy², Σx, Σx², Σxy) of all three metrics at once;
- pandas + SciPy: `pd.read_parquet` (pyarrow) of the needed columns, boolean filters, groupby
  per unit then per variant, statsmodels' `proportions_ztest`, SciPy's Welch `ttest_ind` and
  the delta method for the ratio in NumPy.
Each is timed as the best of `--repeat` runs after one warm-up run (the files in the page cache
for all three), the paths interleaved round by round; DuckDB uses every core (its default
threads), pandas one. Checks: launchdeck's moments and cap equal the raw query's (1e-9
relative), pandas' means, units and cap equal launchdeck's (1e-9), its p-values launchdeck's
(1e-6).

Targets (issue 5): launchdeck within 1.3x of raw DuckDB, and at least 5x faster than pandas.
Run: make bench  (or .venv/bin/python bench/experiment_analysis.py [--quick] [--rows N]
[--repeat N]); the first run at a size writes its Parquet files (one to two minutes at 20M
rows, 267 MiB). At 20M rows pandas peaks at about 3.5 GB of memory; a default run takes about
five minutes on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import duckdb
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench" / "experiment_analysis"
GENERATOR = "v1"
"""Part of the cached files' names: change it when the generating SQL changes."""
SEED = 5
ROWS = 20_000_000
QUICK_ROWS = 2_000_000
EXPOSURE_SHARE = 0.42
EXPOSURES_PER_UNIT = 1.05
KEY = "hero-banner"
FLAG = "hero-banner-flag"
CONTROL, TREATMENT = "control", "treatment"
START = datetime(2025, 11, 1, tzinfo=UTC)
END = START + timedelta(days=14)
NOW = END + timedelta(days=1)
"""The analysis runs after the experiment ended: the window is [START, END)."""
CAPPING = 99.9
TARGET_RAW_RATIO = 1.3
TARGET_PANDAS_SPEEDUP = 5.0
MOMENTS_RTOL = 1e-9
P_VALUE_RTOL = 1e-6

console = Console(width=None if sys.stdout.isatty() else 120)
T = TypeVar("T")


# ---------------------------------------------------------------- the data


@dataclass(frozen=True)
class Dataset:
    exposures: Path
    metrics: Path
    exposure_rows: int
    metric_rows: int
    units: int

    @property
    def rows(self) -> int:
        return self.exposure_rows + self.metric_rows


def _sizes(rows: int) -> tuple[int, int, int]:
    exposures = round(rows * EXPOSURE_SHARE)
    return exposures, rows - exposures, round(exposures / EXPOSURES_PER_UNIT)


_MACROS = """
CREATE MACRO u01(i, tag) AS (hash(i, tag, {seed}) >> 11)::DOUBLE / 9007199254740992.0;
CREATE MACRO arm(u) AS CASE WHEN hash(u, 'arm', {seed}) % 2 = 0 THEN 'control'
  ELSE 'treatment' END;
CREATE MACRO first_us(u) AS {start_us} + CAST((u01(u, 'first') * 14.2 - 0.1) * 86400e6 AS BIGINT);
CREATE MACRO pick(options, u, tag) AS options[1 + CAST(hash(u, tag, {seed}) % len(options) AS INT)];
"""
"""Deterministic pseudo-random draws from hashes (no per-row state, any number of threads):
u01 is uniform on [0, 1); a unit's variant and first exposure are functions of the unit."""

_EXPOSURES = """
COPY (
  WITH r AS (
    SELECT range AS i,
      CASE WHEN range < {units} THEN range
        ELSE CAST(hash(range, 'repeat', {seed}) % {units} AS BIGINT) END AS u
    FROM range({exposures})
  )
  SELECT 'x-' || i AS id,
    '{key}' AS experiment,
    CASE WHEN i >= {units} AND u01(i, 'flip') < 0.002
      THEN (CASE WHEN arm(u) = 'control' THEN 'treatment' ELSE 'control' END)
      ELSE arm(u) END AS variant,
    'user-' || u AS unit,
    make_timestamp(first_us(u)
      + CASE WHEN i >= {units} THEN CAST(u01(i, 'again') * 3 * 86400e6 AS BIGINT) ELSE 0 END)
      AS timestamp,
    json_object(
      'browser', pick(['chrome', 'safari', 'firefox', 'edge'], u, 'browser'),
      'channel', pick(['email', 'search', 'social', 'direct'], u, 'channel'),
      'country', pick(['US', 'GB', 'DE', 'FR', 'CA'], u, 'country'),
      'consent', true) AS attributes
  FROM r
  ORDER BY timestamp
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""
"""Unit i < units is first exposed at first_us(i); the rest are later repeat exposures of a
random unit, 0.2 % of them in the other variant (units then left out of the analysis)."""

_METRICS = """
COPY (
  WITH r AS (
    SELECT range AS j,
      CASE WHEN u01(range, 'exposed') < 0.95
        THEN CAST(floor({units} * pow(u01(range, 'who'), 1.5)) AS BIGINT)
        ELSE {units} + CAST(hash(range, 'stranger', {seed}) % {strangers} AS BIGINT) END AS u
    FROM range({metrics})
  ), e AS (
    SELECT j, u,
      u01(j, 'kind') < CASE WHEN arm(u) = 'treatment' THEN 0.153 ELSE 0.15 END AS bought
    FROM r
  )
  SELECT 'm-' || j AS id,
    CASE WHEN bought THEN 'purchase' ELSE 'add_to_cart' END AS event,
    'user-' || u AS unit,
    round(CASE WHEN bought THEN 20 * pow(1 - u01(j, 'value'), -0.45)
      ELSE 5 + 60 * u01(j, 'value') END, 2) AS value,
    make_timestamp(first_us(u) + CAST((u01(j, 'when') * 8 - 1) * 86400e6 AS BIGINT)) AS timestamp,
    json_object('page', pick(['home', 'product', 'cart', 'checkout'], j, 'page')) AS attributes
  FROM e
  ORDER BY timestamp
) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
"""
"""95 % of events from exposed units, skewed towards some (a few very active units, most with
none), 5 % from units never exposed; a treatment unit's event is a purchase 2 % more often."""


def dataset(rows: int) -> Dataset:
    """The Parquet files for `rows` rows, generated by DuckDB the first time (written to a
    temporary name, then renamed, so an interrupted run leaves no half file behind)."""
    exposures, metrics, units = _sizes(rows)
    stem = f"{GENERATOR}-seed{SEED}-{rows}"
    found = Dataset(
        CACHE / f"exposures-{stem}.parquet",
        CACHE / f"metric_events-{stem}.parquet",
        exposures,
        metrics,
        units,
    )
    if found.exposures.exists() and found.metrics.exists():
        return found
    CACHE.mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "seed": SEED,
        "start_us": int(START.timestamp() * 1_000_000),
        "units": units,
        "strangers": max(1, units // 10),
        "exposures": exposures,
        "metrics": metrics,
        "key": KEY,
    }
    started = time.perf_counter()
    with (
        console.status(f"generating {rows:,} rows of Parquet with DuckDB (once) …"),
        duckdb.connect() as conn,
    ):
        conn.execute(_MACROS.format(**values))
        for template, target in ((_EXPOSURES, found.exposures), (_METRICS, found.metrics)):
            partial = target.with_suffix(".partial")
            conn.execute(template.format(path=partial, **values))
            partial.replace(target)
    console.print(
        f"[dim]generated {found.exposures.name} and {found.metrics.name} in "
        f"{time.perf_counter() - started:.0f} s[/dim]"
    )
    return found


# ---------------------------------------------------------------- the experiment


@dataclass(frozen=True)
class Setup:
    experiment: Any
    """ExperimentSpec."""
    metrics: Mapping[str, Any]
    """key → MetricSpec."""
    source: Any
    """SourceSpec."""


def setup(data: Dataset) -> Setup:
    from launchdeck.experiments.model import (
        AnalysisSpec,
        ExperimentSpec,
        MetricSpec,
        SourceSpec,
        TableSpec,
    )

    metrics = [
        MetricSpec(key="purchase", type="binomial", event="purchase"),
        MetricSpec(key="revenue", type="mean", event="purchase", value="sum", capping=CAPPING),
        MetricSpec(
            key="aov",
            type="ratio",
            numerator={"event": "purchase", "value": "sum"},
            denominator={"event": "purchase", "value": "count"},
        ),
    ]
    experiment = ExperimentSpec(
        key=KEY,
        flag=FLAG,
        control=CONTROL,
        variants={CONTROL: 50, TREATMENT: 50},
        primary_metric="purchase",
        secondary_metrics=("revenue", "aov"),
        start=START,
        end=END,
        analysis=AnalysisSpec(method="fixed"),
    )
    source = SourceSpec(
        type="parquet",
        exposures=TableSpec(path=str(data.exposures)),
        metrics=TableSpec(path=str(data.metrics)),
    )
    return Setup(experiment, {m.key: m for m in metrics}, source)


# ---------------------------------------------------------------- (a) launchdeck


@dataclass
class LaunchdeckRun:
    moments: dict[str, dict[str, Any]]
    """metric → variant → Moments."""
    caps: dict[str, float]
    analysis: Any
    steps: dict[str, float] = field(default_factory=dict)
    """Seconds per step of this run."""


def launchdeck_analysis(s: Setup) -> LaunchdeckRun:
    """`ExperimentService.analyse(key, daily=False)` without the state store (which supplies
    the specs and records that the analysis ran): the same calls in the same order."""
    from launchdeck.experiments import sql
    from launchdeck.experiments.analysis import analyse
    from launchdeck.experiments.sources import moments_by_metric, open_runner

    clock = time.perf_counter
    spec = s.experiment
    used = [s.metrics[m] for m in spec.metric_keys()]
    window = sql.Window(start=spec.start, end=min(spec.end, NOW), pre_start=None)
    runner = open_runner(s.source)
    try:
        t0 = clock()
        query = sql.experiment_moments(s.source, spec, used, window, dialect=runner.dialect)
        t1 = clock()
        found, caps = moments_by_metric(runner, query)
        t2 = clock()
    finally:
        runner.close()
    moments = {m.key: found.get(m.key, {}) for m in used}
    analysis = analyse(spec, s.metrics, moments, at=NOW, capped_at=caps)
    steps = {
        "render SQL (sqlglot)": t1 - t0,
        f"experiment_moments ({len(used)} metrics, one query)": t2 - t1,
        "analyse (statistics)": clock() - t2,
    }
    return LaunchdeckRun(moments, caps, analysis, steps)


# ---------------------------------------------------------------- (b) raw DuckDB

RAW_SQL = """
WITH exposed AS (
  SELECT unit, MIN(timestamp) AS first_ts, MIN(variant) AS variant
  FROM read_parquet($exposures)
  WHERE experiment = $experiment AND timestamp >= $start AND timestamp < $end
    AND unit IS NOT NULL
  GROUP BY unit
  HAVING MIN(variant) = MAX(variant)
), purchases AS (
  SELECT unit, timestamp AS ts, value
  FROM read_parquet($metrics)
  WHERE event = $event AND timestamp >= $start AND timestamp < $end
), per_unit AS (
  SELECT e.variant, CAST(COUNT(p.unit) AS DOUBLE) AS orders,
    CAST(COALESCE(SUM(p.value), 0) AS DOUBLE) AS revenue
  FROM exposed AS e LEFT JOIN purchases AS p ON p.unit = e.unit AND p.ts >= e.first_ts
  GROUP BY e.unit, e.variant
), cap AS (
  SELECT quantile_cont(revenue, $capping) AS cap FROM per_unit
)
SELECT variant, COUNT(*) AS n,
  SUM(CASE WHEN orders > 0 THEN 1.0 ELSE 0.0 END) AS converted,
  SUM(LEAST(revenue, cap)) AS capped, SUM(LEAST(revenue, cap) * LEAST(revenue, cap)) AS capped_sq,
  SUM(revenue) AS revenue, SUM(revenue * revenue) AS revenue_sq,
  SUM(orders) AS orders, SUM(orders * orders) AS orders_sq, SUM(orders * revenue) AS cross_sum,
  ANY_VALUE(cap) AS cap
FROM per_unit CROSS JOIN cap
GROUP BY variant
ORDER BY variant
"""
"""Every exposed unit's orders and revenue in one pass over each file; the three metrics' sums
from the same per-unit rows (a 0/1 conversion squares to itself)."""


@dataclass
class RawRun:
    moments: dict[str, dict[str, Any]]
    cap: float


def raw_duckdb(data: Dataset) -> RawRun:
    from launchdeck.stats.moments import Moments

    params = {
        "exposures": str(data.exposures),
        "metrics": str(data.metrics),
        "experiment": KEY,
        "event": "purchase",
        "start": START.replace(tzinfo=None),
        "end": END.replace(tzinfo=None),
        "capping": CAPPING / 100,
    }
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        rows = conn.execute(RAW_SQL, params).fetchall()
    moments: dict[str, dict[str, Any]] = {"purchase": {}, "revenue": {}, "aov": {}}
    caps = {row[-1] for row in rows}
    for variant, n, conv, capped, capped_sq, rev, rev_sq, orders, orders_sq, cross, _ in rows:
        moments["purchase"][variant] = Moments(int(n), float(conv), float(conv))
        moments["revenue"][variant] = Moments(int(n), float(capped), float(capped_sq))
        moments["aov"][variant] = Moments(
            int(n), float(rev), float(rev_sq), float(orders), float(orders_sq), float(cross)
        )
    return RawRun(moments, float(caps.pop()) if len(caps) == 1 else math.nan)


# ---------------------------------------------------------------- (c) pandas + SciPy


@dataclass
class PandasRun:
    units: dict[str, int]
    means: dict[str, dict[str, float]]
    """metric → variant → mean (the ratio: Σrevenue / Σorders)."""
    p_values: dict[str, float]
    cap: float


def pandas_scipy(data: Dataset) -> PandasRun:
    """The analysis as a pandas user writes it: whole columns into memory, filter, group."""
    import numpy as np
    import pandas as pd
    from scipy import stats
    from statsmodels.stats.proportion import proportions_ztest

    start, end = pd.Timestamp(START.replace(tzinfo=None)), pd.Timestamp(END.replace(tzinfo=None))
    x = pd.read_parquet(data.exposures, columns=["experiment", "variant", "unit", "timestamp"])
    x = x[(x["experiment"] == KEY) & (x["timestamp"] >= start) & (x["timestamp"] < end)]
    per_unit = x.groupby("unit").agg(
        first_ts=("timestamp", "min"), variant=("variant", "min"), last=("variant", "max")
    )
    exposed = per_unit.loc[per_unit["variant"] == per_unit["last"], ["first_ts", "variant"]]
    del x, per_unit
    m = pd.read_parquet(data.metrics, columns=["event", "unit", "value", "timestamp"])
    m = m[(m["event"] == "purchase") & (m["timestamp"] >= start) & (m["timestamp"] < end)]
    joined = m.merge(exposed[["first_ts"]], left_on="unit", right_index=True)
    joined = joined[joined["timestamp"] >= joined["first_ts"]]
    bought = joined.groupby("unit").agg(orders=("value", "size"), revenue=("value", "sum"))
    del m, joined
    units = exposed.join(bought, how="left")
    units["orders"] = units["orders"].fillna(0).astype("float64")
    units["revenue"] = units["revenue"].fillna(0.0)
    units["converted"] = (units["orders"] > 0).astype("float64")
    cap = float(units["revenue"].quantile(CAPPING / 100))
    units["capped"] = units["revenue"].clip(upper=cap)

    arms = {str(v): g for v, g in units.groupby("variant")}
    c, t = arms[CONTROL], arms[TREATMENT]
    counts = np.array([t["converted"].sum(), c["converted"].sum()])
    nobs = np.array([len(t), len(c)])
    _, p_purchase = proportions_ztest(counts, nobs)
    p_revenue = stats.ttest_ind(t["capped"], c["capped"], equal_var=False).pvalue

    def ratio(arm: pd.DataFrame) -> tuple[float, float]:
        y, xs = arm["revenue"].to_numpy(), arm["orders"].to_numpy()
        r = y.sum() / xs.sum()
        cov = np.cov(y, xs)
        var = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (len(y) * xs.mean() ** 2)
        return float(r), float(var)

    (rc, vc), (rt, vt) = ratio(c), ratio(t)
    p_aov = 2 * stats.norm.sf(abs(rt - rc) / math.sqrt(vc + vt))
    means = {
        "purchase": {v: float(g["converted"].mean()) for v, g in arms.items()},
        "revenue": {v: float(g["capped"].mean()) for v, g in arms.items()},
        "aov": {CONTROL: rc, TREATMENT: rt},
    }
    p_values = {"purchase": float(p_purchase), "revenue": float(p_revenue), "aov": float(p_aov)}
    return PandasRun({v: len(g) for v, g in arms.items()}, means, p_values, cap)


# ---------------------------------------------------------------- timing


@dataclass
class Timed(Generic[T]):
    best: float
    runs: list[float]
    result: T
    """The best run's result."""


def timed(paths: Mapping[str, Callable[[], Any]], repeat: int) -> dict[str, Timed[Any]]:
    """One warm-up run of each path, then `repeat` rounds running each path once (interleaved,
    so a busy moment of the machine does not fall on one path only); the best run counts. A
    collection before each run, not timed."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    best: dict[str, Any] = {}
    for i in range(repeat + 1):
        label = "warm-up" if i == 0 else f"run {i}/{repeat}"
        for name, run in paths.items():
            with console.status(f"{name}: {label}"):
                gc.collect()
                started = time.perf_counter()
                result = run()
                spent = time.perf_counter() - started
            if i == 0:
                continue
            if not times[name] or spent < min(times[name]):
                best[name] = result
            times[name].append(spent)
    return {name: Timed(min(times[name]), times[name], best[name]) for name in paths}


# ---------------------------------------------------------------- checks and report


def _worst(pairs: list[tuple[float, float]]) -> float:
    """The largest relative difference among the pairs (infinite for a NaN or no pairs)."""
    if not pairs:
        return math.inf
    worst = 0.0
    for a, b in pairs:
        if not (math.isfinite(a) and math.isfinite(b)):
            return math.inf
        if a != b:
            worst = max(worst, abs(a - b) / max(abs(a), abs(b)))
    return worst


def checks(
    ours: LaunchdeckRun, raw: RawRun, frame: PandasRun
) -> list[tuple[str, float, float, bool]]:
    """(check, worst relative difference, tolerance, passed) for each comparison."""
    fields = ("n", "sum", "sum_sq", "x_sum", "x_sum_sq", "xy_sum")
    shape = {m: sorted(arms) for m, arms in raw.moments.items()}
    same_shape = {m: sorted(arms) for m, arms in ours.moments.items()} == shape
    moments = [
        (float(getattr(ours.moments[m][v], f)), float(getattr(raw.moments[m][v], f)))
        for m, variants in shape.items()
        if same_shape
        for v in variants
        for f in fields
    ]
    results = {r.metric: r for r in ours.analysis.results if r.variant == TREATMENT}
    means = [
        pair
        for m, arms in frame.means.items()
        for pair in (
            (results[m].control_mean, arms[CONTROL]),
            (results[m].treatment_mean, arms[TREATMENT]),
        )
    ]
    p_values = [(results[m].p_value, p) for m, p in frame.p_values.items()]
    same_units = {v: a.n for v, a in ours.moments["purchase"].items()} == frame.units
    cap = ours.caps.get("revenue", math.nan)
    found = [
        ("launchdeck moments == raw DuckDB (3 metrics × 2 variants × 6)", moments, same_shape),
        ("launchdeck revenue cap == raw DuckDB", [(cap, raw.cap)], True),
        ("pandas means == launchdeck (and units per variant)", means, same_units),
        ("pandas revenue cap == launchdeck", [(cap, frame.cap)], True),
    ]
    out = []
    for name, pairs, also in found:
        worst = _worst(pairs)
        out.append((name, worst, MOMENTS_RTOL, also and worst <= MOMENTS_RTOL))
    worst = _worst(p_values)
    out.append(
        ("SciPy/statsmodels p-values == launchdeck", worst, P_VALUE_RTOL, worst <= P_VALUE_RTOL)
    )
    return out


def verdict(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red bold]MISS[/red bold]"


def report(
    data: Dataset,
    ours: Timed[LaunchdeckRun],
    raw: Timed[RawRun],
    frame: Timed[PandasRun],
) -> bool:
    """Print the figures and the checks; True when the three agree (a missed speed target is
    reported, not a failure: the machine may be busy)."""
    table = Table(
        title=f"Experiment analysis over Parquet: {data.rows:,} rows ({data.exposure_rows:,} "
        f"exposures, {data.metric_rows:,} metric events), 3 metrics × 2 variants",
        caption=f"seconds: best of {len(ours.runs)} after a warm-up; ÷ raw DuckDB: that path's "
        "seconds ÷ raw DuckDB's; pandas ÷: pandas seconds ÷ that path's",
    )
    table.add_column("path", no_wrap=True)
    for column in ("seconds", "runs (s)", "rows/s", "÷ raw DuckDB", "pandas ÷"):
        table.add_column(column, justify="right")
    for name, t in (
        ("launchdeck full analysis", ours),
        ("raw DuckDB (hand-written SQL)", raw),
        ("pandas + SciPy", frame),
    ):
        table.add_row(
            name,
            f"{t.best:.2f}",
            " ".join(f"{s:.2f}" for s in t.runs),
            f"{data.rows / t.best / 1e6:,.1f}M",
            f"{t.best / raw.best:.2f}×",
            f"{frame.best / t.best:.1f}×",
        )
    console.print(table)

    steps = Table(title="launchdeck, its best run step by step", show_header=True)
    steps.add_column("step")
    steps.add_column("seconds", justify="right")
    for step, seconds in ours.result.steps.items():
        steps.add_row(step, f"{seconds:.3f}")
    console.print(steps)

    check = Table(title="Agreement")
    check.add_column("check")
    check.add_column("worst rel. diff", justify="right")
    check.add_column("tolerance", justify="right")
    check.add_column("result")
    found = checks(ours.result, raw.result, frame.result)
    for name, worst, tolerance, ok in found:
        check.add_row(name, f"{worst:.1e}", f"{tolerance:g}", verdict(ok))
    console.print(check)

    analysis = ours.result.analysis
    console.print(
        f"units {analysis.units}; revenue capped at {ours.result.caps.get('revenue', math.nan):.2f}"
    )
    for r in analysis.results:
        console.print(
            f"  {r.metric:<8} control {r.control_mean:.6g}  treatment {r.treatment_mean:.6g}  "
            f"lift {r.relative.estimate * 100:+.2f}%  p {r.p_value:.3g}  ({r.test})"
        )
    ratio = ours.best / raw.best
    speedup = frame.best / ours.best
    console.print(
        f"Target: launchdeck within {TARGET_RAW_RATIO:g}× of raw DuckDB: {ratio:.2f}× "
        f"{verdict(ratio <= TARGET_RAW_RATIO)}"
    )
    console.print(
        f"Target: launchdeck ≥ {TARGET_PANDAS_SPEEDUP:g}× faster than pandas + SciPy: "
        f"{speedup:.1f}× {verdict(speedup >= TARGET_PANDAS_SPEEDUP)}"
    )
    return all(ok for *_, ok in found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS, help="exposure + metric event rows")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_ROWS:,} rows (overrides --rows)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per path (best kept)")
    args = parser.parse_args()
    rows = QUICK_ROWS if args.quick else args.rows
    if rows < 10_000 or args.repeat < 1:
        parser.error("--rows must be at least 10,000 and --repeat at least 1")
    import pandas as pd

    data = dataset(rows)
    with duckdb.connect() as conn:
        threads = str(conn.execute("SELECT current_setting('threads')").fetchone()[0])  # type: ignore[index]
    console.print(
        f"[dim]{os.cpu_count()} CPUs, DuckDB {duckdb.__version__} with {threads} threads, "
        f"pandas {pd.__version__} (one thread); Parquet "
        f"{(data.exposures.stat().st_size + data.metrics.stat().st_size) / 2**20:,.0f} MiB "
        f"in {CACHE.relative_to(ROOT)}; load average {os.getloadavg()[0]:.1f}[/dim]"
    )
    s = setup(data)
    found = timed(
        {
            "launchdeck": lambda: launchdeck_analysis(s),
            "raw DuckDB": lambda: raw_duckdb(data),
            "pandas + SciPy": lambda: pandas_scipy(data),
        },
        args.repeat,
    )
    ours, raw, frame = found["launchdeck"], found["raw DuckDB"], found["pandas + SciPy"]
    console.print(f"[dim]load average after the runs {os.getloadavg()[0]:.1f}[/dim]")
    return 0 if report(data, ours, raw, frame) else 1


if __name__ == "__main__":
    raise SystemExit(main())
