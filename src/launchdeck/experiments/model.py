"""What an experiment is: metrics, the experiment on a flag, where its events live. Pure.

One shape serves `launchdeck.yaml` (the `metrics:`, `experiments:` and `events:` sections), the
API and the store (each stored as the JSON of its spec). An experiment is defined on a flag that
launchdeck.yaml manages: its variants, weights and coverage become that flag's fallthrough
rollout in the experiment's environment (salted with the experiment key), and a rule before it
serves the control variant to contexts without analytics consent (`compile_into`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from launchdeck.durations import coerce_duration
from launchdeck.flags.model import (
    KEY_PATTERN,
    UNITS,
    Clause,
    EnvConfig,
    FlagSpec,
    NotOf,
    Rollout,
    Rule,
    Serve,
    percent_units,
)

__all__ = [
    "IDENTIFIER_PATTERN",
    "TABLE_PATTERN",
    "AnalysisSpec",
    "Catalog",
    "Consent",
    "Correction",
    "EventsSpec",
    "ExperimentSpec",
    "Method",
    "MetricSpec",
    "MetricType",
    "SourceSpec",
    "SourceType",
    "TableSpec",
    "ValueAgg",
    "compile_into",
    "consent_rule_name",
]

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]{0,127}$"
"""A column or table name part: validated, then quoted by sqlglot; never pasted as text."""
TABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_$]{0,127}(\.[A-Za-z_][A-Za-z0-9_$]{0,127}){0,2}$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
Percent = Annotated[float, Field(gt=0, le=100)]
Duration = Annotated[timedelta, BeforeValidator(coerce_duration)]


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


class MetricType(StrEnum):
    BINOMIAL = "binomial"
    """Share of units with at least one `event` after their first exposure (a conversion rate)."""
    MEAN = "mean"
    """Per-unit `value` aggregated over the unit's events (revenue per visitor)."""
    RATIO = "ratio"
    """Sum of a numerator over sum of a denominator across units (average order value)."""


class ValueAgg(StrEnum):
    SUM = "sum"
    """Sum of the events' values (revenue)."""
    COUNT = "count"
    """Number of events (orders, page views)."""


class Side(_Spec):
    """One side of a ratio metric: which event, summed or counted per unit."""

    event: Key
    value: ValueAgg = ValueAgg.SUM


class MetricSpec(_Spec):
    """A metric, measured per unit between its first exposure and the conversion window."""

    key: Key
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    type: MetricType = MetricType.BINOMIAL
    event: Key | None = None
    """The event of a binomial or mean metric."""
    value: ValueAgg = ValueAgg.SUM
    """How a mean metric aggregates the unit's events."""
    numerator: Side | None = None
    denominator: Side | None = None
    higher_is_better: bool = True
    capping: Annotated[float, Field(gt=50, lt=100)] | None = None
    """Winsorise per-unit values above this percentile of all exposed units (revenue)."""
    cuped: bool = False
    """Reduce variance with the same metric measured over `AnalysisSpec.pre_period`."""
    conversion_window: Duration | None = None
    """Count only events this long after the unit's first exposure (default: until the end)."""

    @model_validator(mode="after")
    def _shape(self) -> MetricSpec:
        if self.type is MetricType.RATIO:
            if self.numerator is None or self.denominator is None:
                raise ValueError("a ratio metric needs `numerator` and `denominator`")
            if self.event is not None:
                raise ValueError("a ratio metric takes `numerator`/`denominator`, not `event`")
            if self.cuped:
                raise ValueError("CUPED is for binomial and mean metrics, not ratios")
        else:
            if self.event is None:
                raise ValueError(f"a {self.type} metric needs `event`")
            if self.numerator is not None or self.denominator is not None:
                raise ValueError("`numerator`/`denominator` are for ratio metrics only")
        if self.capping is not None and self.type is MetricType.BINOMIAL:
            raise ValueError("capping is for mean and ratio metrics (a 0/1 value has no tail)")
        return self

    def events(self) -> tuple[str, ...]:
        """The event names this metric reads."""
        if self.type is MetricType.RATIO:
            assert self.numerator is not None and self.denominator is not None
            return tuple(dict.fromkeys((self.numerator.event, self.denominator.event)))
        assert self.event is not None
        return (self.event,)


class Method(StrEnum):
    SEQUENTIAL = "sequential"
    """Always-valid confidence sequences: look as often as you like."""
    FIXED = "fixed"
    """Fixed horizon: one look, at the planned sample size."""


class Correction(StrEnum):
    HOLM = "holm"
    BH = "bh"
    """Benjamini–Hochberg (false discovery rate)."""
    NONE = "none"


class AnalysisSpec(_Spec):
    method: Method = Method.SEQUENTIAL
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    power: Annotated[float, Field(gt=0.5, lt=1)] = 0.8
    mde: Annotated[float, Field(gt=0, le=10)] = 0.05
    """Minimum detectable effect, relative (0.05: a 5 % lift of the primary metric)."""
    correction: Correction = Correction.HOLM
    """Across metrics × variants; guardrails are never corrected (a guardrail should fire)."""
    bayesian: bool = False
    """Also give chance to beat control and expected loss (Gaussian approximation)."""
    pre_period: Duration = timedelta(days=14)
    """The window before `start` that CUPED reads the covariate from."""
    sequential_tuning: Annotated[int, Field(ge=100)] = 5000
    """N* of the asymptotic confidence sequence: the total sample at which it is tightest."""


class Consent(_Spec):
    attribute: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "analytics_consent"
    """A context whose attribute is not `true` gets the control variant and logs no exposure."""


class ExperimentSpec(_Spec):
    """An experiment on a flag managed in launchdeck.yaml."""

    key: Key
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    flag: Key
    environment: Annotated[str, StringConstraints(min_length=1, max_length=63)] = "production"
    hypothesis: Annotated[str, StringConstraints(max_length=2000)] = ""
    owner: Annotated[str, StringConstraints(max_length=200)] | None = None
    control: Key
    """The variant every other is compared with; it is also served without consent."""
    variants: dict[Key, Percent] = Field(min_length=2)
    """Variant → share of the covered units, adding up to 100 %, control included."""
    coverage: Percent = 100.0
    """Share of units in the experiment; the rest get the flag's off variant, unexposed."""
    unit: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "targetingKey"
    """The context attribute units are bucketed by."""
    primary_metric: Key
    secondary_metrics: tuple[Key, ...] = ()
    guardrail_metrics: tuple[Key, ...] = ()
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    campaign: Key | None = None
    """Run during this campaign: `start`/`end` default to its window."""
    daily_units: Annotated[int, Field(gt=0)] | None = None
    """Expected units a day for `plan` when there is no recent traffic to read."""
    baseline_rate: Annotated[float, Field(gt=0, lt=1)] | None = None
    """Expected primary conversion rate of control, for `plan` before any data."""
    analysis: AnalysisSpec = AnalysisSpec()
    consent: Consent | None = Consent()
    """None: no consent requirement (only where consent is collected elsewhere)."""
    dimensions: tuple[Identifier, ...] = ("browser", "channel", "country", "consent")
    """Exposure attributes that sample-ratio checks drill down by."""

    @field_validator("variants")
    @classmethod
    def _sum(cls, weights: dict[str, float]) -> dict[str, float]:
        total = sum(percent_units(w) for w in weights.values())
        if total != UNITS:
            raise ValueError(f"the variant weights add up to {total / 1000:g} %, not 100 %")
        return weights

    @model_validator(mode="after")
    def _shape(self) -> ExperimentSpec:
        if self.control not in self.variants:
            raise ValueError(
                f"control {self.control!r} is not one of the variants {sorted(self.variants)}"
            )
        if self.start and self.end and self.end <= self.start:
            raise ValueError("`end` must be after `start`")
        metrics = self.metric_keys()
        if len(set(metrics)) != len(metrics):
            raise ValueError("a metric is named twice across primary, secondary and guardrails")
        return self

    def metric_keys(self) -> tuple[str, ...]:
        return (self.primary_metric, *self.secondary_metrics, *self.guardrail_metrics)

    def treatments(self) -> tuple[str, ...]:
        return tuple(v for v in self.variants if v != self.control)

    def weight_shares(self) -> dict[str, float]:
        """Variant → expected share of exposed units (sums to 1)."""
        return {v: percent_units(w) / UNITS for v, w in self.variants.items()}


def consent_rule_name(experiment: str) -> str:
    return f"experiment {experiment}: no analytics consent"


def compile_into(flag: FlagSpec, experiment: ExperimentSpec) -> FlagSpec:
    """The flag with the experiment in its environment: consent rule last among the rules, the
    experiment's split as the fallthrough (salt = experiment key). Raises ValueError when the
    flag cannot carry it (a variant it lacks, a fallthrough already set)."""
    missing = [v for v in experiment.variants if v not in flag.variants]
    if missing:
        raise ValueError(
            f"variants {missing} are not variants of flag {flag.key!r} "
            f"(it has {sorted(flag.variants)})"
        )
    env = flag.environments.get(experiment.environment, EnvConfig())
    owned = [
        i
        for i, change in enumerate(env.schedule)
        if change.set.rules is not None or change.set.fallthrough is not None
    ]
    if owned:
        raise ValueError(
            f"flag {flag.key!r} schedules a change of its rules or fallthrough in "
            f"{experiment.environment!r} (schedule[{owned[0]}]), which would replace the "
            "experiment's consent rule or split; schedule only `enabled` while it runs"
        )
    if env.fallthrough != Serve(code_default=True):
        raise ValueError(
            f"flag {flag.key!r} sets its own fallthrough in {experiment.environment!r}; "
            "remove it: the experiment's split is the fallthrough"
        )
    rules = list(env.rules)
    if experiment.consent is not None:
        rules.append(
            Rule(
                name=consent_rule_name(experiment.key),
                when=NotOf.model_validate(
                    {"not": Clause(attribute=experiment.consent.attribute, op="in", values=(True,))}
                ),
                serve=Serve(variant=experiment.control),
            )
        )
    rollout = Rollout(
        coverage=experiment.coverage,
        weights=dict(experiment.variants),
        bucket_by=experiment.unit,
        salt=experiment.key,
    )
    compiled = env.model_copy(update={"rules": tuple(rules), "fallthrough": Serve(rollout=rollout)})
    environments = {**flag.environments, experiment.environment: compiled}
    return flag.model_copy(update={"environments": environments})


class SourceType(StrEnum):
    EMBEDDED = "embedded"
    """launchdeck's own DuckDB event store (what `POST /api/v1/events` and import fill)."""
    DUCKDB = "duckdb"
    PARQUET = "parquet"
    """Parquet files read by DuckDB (`path` is a file or glob)."""
    POSTGRES = "postgres"
    BIGQUERY = "bigquery"
    SNOWFLAKE = "snowflake"
    CLICKHOUSE = "clickhouse"
    TRINO = "trino"
    SPARK = "spark"


class TableSpec(_Spec):
    """Where exposures or metric events live, and what their columns are called."""

    table: Annotated[str, StringConstraints(pattern=TABLE_PATTERN)] | None = None
    """`table`, `schema.table` or `catalog.schema.table` (each part validated and quoted)."""
    path: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = None
    """Parquet sources: a file or glob (a bound parameter, never pasted into the SQL)."""
    columns: dict[
        Literal["id", "experiment", "variant", "unit", "event", "value", "timestamp", "attributes"],
        Identifier,
    ] = Field(default_factory=dict)
    """Logical column → the source's column name; unnamed ones keep the logical name."""

    def column(self, logical: str) -> str:
        return self.columns.get(logical, logical)  # type: ignore[call-overload,no-any-return]


class SourceSpec(_Spec):
    type: SourceType = SourceType.EMBEDDED
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    """SQLAlchemy URL (postgres and other warehouses), or a DuckDB file for `duckdb`."""
    exposures: TableSpec = TableSpec(table="exposures")
    metrics: TableSpec = TableSpec(table="metric_events")

    @model_validator(mode="after")
    def _where(self) -> SourceSpec:
        if self.type is SourceType.PARQUET:
            if not (self.exposures.path and self.metrics.path):
                raise ValueError("a parquet source needs `path` for exposures and metrics")
        elif self.type in {SourceType.POSTGRES, SourceType.DUCKDB} and not self.url:
            raise ValueError(f"a {self.type} source needs `url`")
        return self


class EventsSpec(_Spec):
    """The `events:` section: ingest limits and where analysis reads events from."""

    max_skew: Duration = timedelta(minutes=5)
    """Reject events stamped further than this in the future."""
    max_age: Duration = timedelta(days=90)
    """Reject events older than this (late imports use `events import --allow-old`)."""
    source: SourceSpec = SourceSpec()
    ofrep_exposures: bool = False
    """Log an exposure for every OFREP evaluation that puts a unit in a running experiment."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """What ingest checks events against: experiments and their variants, and which flag serves
    which experiment (an exposure may name the flag instead of the experiment)."""

    experiments: Mapping[str, frozenset[str]] = field(default_factory=dict)
    by_flag: Mapping[str, str] = field(default_factory=dict)
    windows: Mapping[str, tuple[datetime | None, datetime | None]] = field(default_factory=dict)
    environments: Mapping[str, str] = field(default_factory=dict)
    """Experiment → the environment it runs in (OFREP exposures count only there)."""
    units: Mapping[str, str] = field(default_factory=dict)
    """Experiment → the context attribute its units are bucketed by."""

    @classmethod
    def of(cls, experiments: tuple[ExperimentSpec, ...]) -> Catalog:
        return cls(
            experiments={e.key: frozenset(e.variants) for e in experiments},
            by_flag={e.flag: e.key for e in experiments},
            windows={e.key: (e.start, e.end) for e in experiments},
            environments={e.key: e.environment for e in experiments},
            units={e.key: e.unit for e in experiments},
        )
