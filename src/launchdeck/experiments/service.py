"""ExperimentApi and ExperimentService: list, plan, analyse, validate experiments. The shell.

The service reads the experiment, its metrics and the `events:` section from the state store,
opens the event source (launchdeck's own DuckDB store, or the team's warehouse), runs the
aggregation queries of `sql.py` there, and hands the few numbers that come back to the pure
core: `analysis.analyse`, `design.design`, `checks.validate`. Nothing here computes a
statistic. Each analysis is recorded in the embedded store (`analyses`), so validation can tell
when a fixed-horizon experiment was looked at early.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from launchdeck.errors import ConfigError, NotFound, UsageError
from launchdeck.experiments.analysis import analyse
from launchdeck.experiments.checks import (
    Activity,
    Observations,
    Validation,
    bot_threshold,
    validate,
)
from launchdeck.experiments.design import Design, design
from launchdeck.experiments.model import (
    Catalog,
    EventsSpec,
    ExperimentSpec,
    Method,
    MetricSpec,
    MetricType,
    SourceType,
)
from launchdeck.experiments.records import ExperimentInfo, Report, SqlText, phase_at
from launchdeck.workspace.model import ResourceKind

if TYPE_CHECKING:
    from launchdeck.experiments.sources import Runner
    from launchdeck.experiments.store import EventStore
    from launchdeck.store import Database

__all__ = ["DIALECTS", "ExperimentApi", "ExperimentService", "LazyEventStore", "load_catalog"]

DIALECTS = ("duckdb", "postgres", "bigquery", "snowflake", "clickhouse", "trino", "spark")
TRAFFIC_DAYS = 7
"""Recent traffic, for `plan`: exposed units a day over the last week."""
ASSIGNMENT_SAMPLE = 20_000


class ExperimentApi(Protocol):
    def list_experiments(self) -> list[ExperimentInfo]: ...
    def get(self, key: str) -> ExperimentInfo: ...
    def plan(
        self,
        key: str,
        *,
        daily_units: float | None = None,
        baseline: float | None = None,
        mde: float | None = None,
    ) -> Design: ...
    def analyse(self, key: str, *, daily: bool = True) -> Report: ...
    def validate(self, key: str) -> Validation: ...
    def sql(self, key: str, *, dialect: str = "postgres") -> list[SqlText]: ...


def _specs(db: Database) -> tuple[list[ExperimentSpec], dict[str, MetricSpec], EventsSpec]:
    from launchdeck.store.state import SqlStateStore

    with db.read() as session:
        state = SqlStateStore(session)
        experiments = [e.spec for e in state.list(ResourceKind.EXPERIMENT)]
        metrics = {m.id: m.spec for m in state.list(ResourceKind.METRIC)}
        settings = state.settings()
    return experiments, metrics, settings.events if settings else EventsSpec()


def load_catalog(db: Database) -> Catalog:
    """What ingest checks events against: the applied experiments and their variants."""
    experiments, _, _ = _specs(db)
    return Catalog.of(tuple(experiments))


class LazyEventStore:
    """The embedded event store, opened on first use (a CLI command that never reads events
    never takes DuckDB's file lock) and closed with the client."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: EventStore | None = None

    def __call__(self) -> EventStore:
        if self._store is None:
            from launchdeck.experiments.store import EventStore

            self._store = EventStore(self.path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


class ExperimentService:
    """The experiment use cases on one database and one event store."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        events: EventStore | Callable[[], EventStore],
    ) -> None:
        self.db = db
        self.clock = clock
        self._events = events

    # ------------------------------------------------------------------ reading definitions

    def _store(self) -> EventStore:
        from launchdeck.experiments.store import EventStore

        return self._events if isinstance(self._events, EventStore) else self._events()

    def _load(self, key: str) -> tuple[ExperimentSpec, dict[str, MetricSpec], EventsSpec]:
        experiments, metrics, events = _specs(self.db)
        for experiment in experiments:
            if experiment.key == key:
                return experiment, metrics, events
        raise NotFound(
            f"no experiment {key!r}",
            hint="list them with 'launchdeck experiments list'; experiments are defined in "
            "launchdeck.yaml and applied",
        )

    def _info(self, spec: ExperimentSpec, metrics: Mapping[str, MetricSpec]) -> ExperimentInfo:
        return ExperimentInfo(
            key=spec.key,
            flag=spec.flag,
            environment=spec.environment,
            phase=phase_at(spec, self.clock()),
            start=spec.start,
            end=spec.end,
            primary_metric=spec.primary_metric,
            spec=spec,
            metrics=[metrics[m] for m in spec.metric_keys() if m in metrics],
        )

    def list_experiments(self) -> list[ExperimentInfo]:
        experiments, metrics, _ = _specs(self.db)
        return [self._info(e, metrics) for e in experiments]

    def get(self, key: str) -> ExperimentInfo:
        spec, metrics, _ = self._load(key)
        return self._info(spec, metrics)

    # ------------------------------------------------------------------ the source

    def _runner(self, events: EventsSpec) -> Runner:
        """The runner on the events source; the caller closes it."""
        from launchdeck.experiments.sources import open_runner

        source = events.source
        if source.type is SourceType.EMBEDDED:
            return open_runner(source, store=self._store())
        return open_runner(source)

    def _window(self, spec: ExperimentSpec, metrics: list[MetricSpec]) -> Any:
        from launchdeck.experiments.sql import Window

        now = self.clock()
        end = min(spec.end, now) if spec.end else now
        if spec.start is not None and end <= spec.start:
            raise UsageError(
                f"experiment {spec.key!r} starts at {spec.start.isoformat()}: there is nothing "
                "to look at yet",
                hint=f"plan it instead: launchdeck experiments plan {spec.key}",
            )
        pre = None
        if spec.start is not None and any(m.cuped for m in metrics):
            pre = spec.start - spec.analysis.pre_period
        return Window(start=spec.start, end=end, pre_start=pre)

    # ------------------------------------------------------------------ use cases

    def analyse(self, key: str, *, daily: bool = True) -> Report:
        """Every metric × variant against control, from one aggregation query over the events
        (all metrics at once); with `daily`, also the new exposed units per day that the chart
        draws (one more query; else the report's `daily_exposures` is empty)."""
        from launchdeck.experiments import sql
        from launchdeck.experiments.sources import moments_by_metric

        spec, metrics, events = self._load(key)
        used = [metrics[m] for m in spec.metric_keys()]
        window = self._window(spec, used)
        runner = self._runner(events)
        try:
            query = sql.experiment_moments(
                events.source, spec, used, window, dialect=runner.dialect
            )
            found, caps = moments_by_metric(runner, query)
            exposures = self._daily_exposures(runner, events, spec, window) if daily else {}
        finally:
            runner.close()
        moments = {m.key: found.get(m.key, {}) for m in used}
        now = self.clock()
        analysis = analyse(spec, metrics, moments, at=now, capped_at=caps)
        self._store().record_analysis(spec.key, at=now, units=sum(analysis.units.values()))
        return Report(analysis=analysis, daily_exposures=exposures, source=str(events.source.type))

    def _daily_exposures(
        self, runner: Runner, events: EventsSpec, spec: ExperimentSpec, window: Any
    ) -> dict[date, dict[str, int]]:
        from launchdeck.experiments import sql

        out: dict[date, dict[str, int]] = {}
        query = sql.daily_exposures(events.source, spec, window, dialect=runner.dialect)
        for day, variant, units in runner.rows(query):
            out.setdefault(_as_date(day), {})[str(variant)] = int(units)
        return dict(sorted(out.items()))

    def plan(
        self,
        key: str,
        *,
        daily_units: float | None = None,
        baseline: float | None = None,
        mde: float | None = None,
    ) -> Design:
        spec, metrics, events = self._load(key)
        now = self.clock()
        traffic_source = "given (--daily-units)" if daily_units else None
        baseline_source = "given (--baseline)" if baseline else None
        if daily_units is None or baseline is None:
            seen_daily, seen_rate = self._recent(spec, metrics, events, now=now)
            if daily_units is None and seen_daily:
                daily_units, traffic_source = seen_daily, f"recent traffic ({TRAFFIC_DAYS} days)"
            if baseline is None and seen_rate:
                baseline, baseline_source = seen_rate, "control's recent rate"
        if daily_units is None and spec.daily_units:
            daily_units, traffic_source = float(spec.daily_units), "the experiment's daily_units"
        if baseline is None and spec.baseline_rate:
            baseline, baseline_source = spec.baseline_rate, "the experiment's baseline_rate"
        if baseline is None:
            raise UsageError(
                f"experiment {key!r} has no baseline rate for {spec.primary_metric!r}",
                hint="give --baseline 0.03, or set baseline_rate in launchdeck.yaml",
            )
        try:
            return design(
                spec,
                now=now,
                baseline=baseline,
                baseline_source=baseline_source or "",
                daily_units=daily_units,
                traffic_source=traffic_source,
                mde=mde,
                collected=self._collected(spec, events, now=now),
            )
        except ValueError as exc:  # a treatment rate at or above 100 %, say
            raise UsageError(
                f"cannot plan experiment {key!r}: {exc}",
                hint="check --baseline (a rate below 1) and --mde (a relative lift)",
            ) from None

    def _collected(self, spec: ExperimentSpec, events: EventsSpec, *, now: datetime) -> int:
        """Units already in the smallest arm of a running experiment (0 before its start)."""
        from launchdeck.experiments import sql

        if spec.start is None or now <= spec.start:
            return 0
        window = sql.Window(start=spec.start, end=min(spec.end, now) if spec.end else now)
        runner = self._runner(events)
        try:
            counts = dict(
                runner.rows(
                    sql.exposure_counts(events.source, spec, window, dialect=runner.dialect)
                )
            )
        finally:
            runner.close()
        return min(int(counts.get(v, 0)) for v in spec.variants)

    def _recent(
        self,
        spec: ExperimentSpec,
        metrics: Mapping[str, MetricSpec],
        events: EventsSpec,
        *,
        now: datetime,
    ) -> tuple[float | None, float | None]:
        """Eligible units a day over the last week, and control's primary rate, if seen."""
        from launchdeck.experiments import sql
        from launchdeck.experiments.sources import moments_by_variant

        start = now - timedelta(days=TRAFFIC_DAYS)
        if spec.start is not None:
            start = max(start, spec.start)
        if start >= now:
            return None, None
        window = sql.Window(start=start, end=now, pre_start=None)
        runner = self._runner(events)
        try:
            counts = sql.exposure_counts(events.source, spec, window, dialect=runner.dialect)
            exposed = sum(int(n) for _, n in runner.rows(counts))
            if exposed == 0:
                return None, None
            primary = metrics[spec.primary_metric]
            control = None
            if primary.type is MetricType.BINOMIAL:
                query = sql.metric_moments(
                    events.source, spec, primary, window, dialect=runner.dialect
                )
                control = moments_by_variant(runner, query).get(spec.control)
        finally:
            runner.close()
        days = max((now - start) / timedelta(days=1), 1 / 24)
        daily = exposed / days / (spec.coverage / 100)
        rate = None
        if control is not None and control.n and 0 < control.mean < 1:
            rate = control.mean
        return daily, rate

    def validate(self, key: str) -> Validation:
        spec, metrics, events = self._load(key)
        used = [metrics[m] for m in spec.metric_keys()]
        window = self._window(spec, used)
        runner = self._runner(events)
        try:
            observed = self._observe(runner, spec, used, events, window)
        finally:
            runner.close()
        plan = None
        try:
            plan = self.plan(key)
        except UsageError:
            plan = None
        peeks = 0
        if spec.analysis.method is Method.FIXED and plan is not None:
            peeks = self._store().analyses_below(spec.key, units=plan.total_units)
        observed = dataclasses.replace(observed, peeks=peeks, design=plan)
        return validate(spec, observed, at=self.clock())

    def _observe(
        self,
        runner: Runner,
        spec: ExperimentSpec,
        used: list[MetricSpec],
        events: EventsSpec,
        window: Any,
    ) -> Observations:
        """What the validation's queries find on the event source (no plan, no peeks yet)."""
        from launchdeck.experiments import sql

        source, dialect = events.source, runner.dialect
        names = tuple(dict.fromkeys(e for m in used for e in m.events()))

        units = {
            str(v): int(n)
            for v, n in runner.rows(sql.exposure_counts(source, spec, window, dialect=dialect))
        }
        dimensions: dict[str, dict[str, dict[str, int]]] = {}
        for dimension in spec.dimensions:
            query = sql.dimension_counts(source, spec, window, dimension, dialect=dialect)
            for value, variant, n in runner.rows(query):
                if value is None:
                    continue
                cell = dimensions.setdefault(dimension, {}).setdefault(str(value), {})
                cell[str(variant)] = int(n)
        multi, total = runner.rows(sql.multi_variant_units(source, spec, window, dialect=dialect))[
            0
        ]
        sample = [
            (str(u), str(v))
            for u, v in runner.rows(
                sql.assignment_sample(source, spec, window, ASSIGNMENT_SAMPLE, dialect=dialect)
            )
        ]
        unexposed, metric_events = runner.rows(
            sql.unexposed_metric_events(source, spec, window, names, dialect=dialect)
        )[0]
        daily: dict[str, dict[date, dict[str, int]]] = {}
        for event, day, variant, n in runner.rows(
            sql.daily_metric_counts(source, spec, window, names, dialect=dialect)
        ):
            cell = daily.setdefault(str(event), {}).setdefault(_as_date(day), {})
            cell[str(variant)] = int(n)
        before = after = 0
        if spec.start is not None or spec.end is not None:
            before, after = runner.rows(sql.out_of_window_exposures(source, spec, dialect=dialect))[
                0
            ]
        duplicates, received = self._duplicates(runner, spec, events, window)
        return Observations(
            units=units,
            dimensions=dimensions,
            multi_variant_units=int(multi or 0),
            total_units=int(total or 0),
            assignment=sample,
            unexposed_events=int(unexposed or 0),
            metric_events=int(metric_events or 0),
            daily_events=daily,
            before_start=int(before or 0),
            after_end=int(after or 0),
            duplicates=duplicates,
            received=received,
            activity=self._activity(runner, spec, window, events),
        )

    def _duplicates(
        self, runner: Runner, spec: ExperimentSpec, events: EventsSpec, window: Any
    ) -> tuple[int, int]:
        """Duplicate deliveries and all deliveries: the embedded store counted them at ingest;
        a warehouse table shows them as repeated ids."""
        from launchdeck.experiments import sql

        if events.source.type is SourceType.EMBEDDED:
            return self._store().duplicate_counts(spec.key)
        rows = runner.rows(sql.duplicate_ids(events.source, spec, window, dialect=runner.dialect))
        duplicates = sum(int(r[0] or 0) for r in rows)
        received = sum(int(r[1] or 0) for r in rows)
        return duplicates, received

    def _activity(
        self, runner: Runner, spec: ExperimentSpec, window: Any, events: EventsSpec
    ) -> Activity:
        from launchdeck.experiments import sql

        source, dialect = events.source, runner.dialect
        units, p50, p99, top = runner.rows(
            sql.unit_activity(source, spec, window, None, dialect=dialect)
        )[0]
        if not units:
            return Activity()
        threshold = bot_threshold(float(p99 or 0))
        over = runner.rows(sql.unit_activity(source, spec, window, threshold, dialect=dialect))[0]
        return Activity(
            units=int(units),
            p50=float(p50 or 0),
            p99=float(p99 or 0),
            max=float(top or 0),
            threshold=threshold,
            over=int(over[-1] or 0),
        )

    def sql(self, key: str, *, dialect: str = "postgres") -> list[SqlText]:
        from launchdeck.experiments import sql

        if dialect not in DIALECTS:
            raise UsageError(
                f"unknown dialect {dialect!r}", hint=f"use one of: {', '.join(DIALECTS)}"
            )
        spec, metrics, events = self._load(key)
        used = [metrics[m] for m in spec.metric_keys()]
        window = self._window(spec, used)
        # First the one statement `analyse` runs (every metric in one scan), then each metric
        # on its own (easier to read and to schedule), then the exposure counts SRM reads.
        queries = [sql.experiment_moments(events.source, spec, used, window, dialect=dialect)]
        queries += [
            sql.metric_moments(events.source, spec, m, window, dialect=dialect) for m in used
        ]
        queries.append(sql.exposure_counts(events.source, spec, window, dialect=dialect))
        return [
            SqlText(
                name=q.name,
                dialect=dialect,
                sql=q.sql,
                params={k: _shown(v) for k, v in q.params.items()},
            )
            for q in queries
        ]


def _shown(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ConfigError(f"the event source returned {value!r} where a day was expected") from None
