"""Release strategies: the files a system's `rollout:` names in `launchdeck.yaml`. Pure.

    strategy: canary                 # or blue-green
    steps:                           # canary: in order; the release is promoted after the last
      - set_weight: 10               # % of visitors on the canary (only ever rising)
      - pause: {duration: 10m}       # or `pause: {}`: until `launchdeck release promote`
      - analysis: {metrics: [error_rate, latency, conversion_rate]}
      - set_weight: 50
    analysis:                        # how every analysis (and the background one) measures
      interval: 1m
      count: 5                       # measurements of an analysis step (background: unbounded)
      initial_delay: 30s
      failure_limit: 1               # failed measurements tolerated (the next one fails it)
      inconclusive_limit: 0          # inconclusive ones tolerated (the next one pauses it)
      consecutive_error_limit: 4     # measurements in a row that could not be taken, tolerated
      background: [error_rate]       # checked during every step, from the first weight on
    metrics:                         # more metrics, or the built-ins tuned
      - {name: checkout_p99, kind: latency, percentile_limits: {99: 1.3}}
    blue_green:                      # blue-green only
      preview_checks: [/, /buy/]     # paths that must answer 200 on the preview first
      post_promotion: 10m            # analysis window after the switch (failure: switch back)
      keep_previous: 1h              # the old colour stays ready for an instant rollback

Built-in metrics (from the nginx-static access log): `error_rate` (5xx share, harmful up),
`conversion_rate` (converting visitors, harmful down), `latency` (Kayenta's Mann–Whitney and
p99 ≤ 1.5× the baseline's). Argo Rollouts' analysis semantics: the worst metric decides a
measurement, and each limit is how many such measurements are tolerated (Argo's `failureLimit`,
`inconclusiveLimit`, `consecutiveErrorLimit`); the default failure limit is 1, so a canary is
rolled back at its second failed measurement: one bad interval alone does not decide.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from launchdeck.durations import coerce_duration
from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.rollout.judge import NoDataPolicy
from launchdeck.yamlpos import (
    Positions,
    Problem,
    problem_error,
    read_documents,
    schema_problems,
    walk,
    without_echoes,
)

__all__ = [
    "BUILT_IN_METRICS",
    "AnalysisSpec",
    "BlueGreenSpec",
    "MetricSpec",
    "Step",
    "StrategySpec",
    "parse_strategy",
]

Duration = Annotated[timedelta, BeforeValidator(coerce_duration)]
BUILT_IN_METRICS = ("error_rate", "conversion_rate", "latency")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricSpec(_Spec):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    kind: Literal["error_rate", "conversion_rate", "latency"]
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.01
    min_sample: Annotated[int, Field(ge=0)] | None = None
    no_data: NoDataPolicy = NoDataPolicy.INCONCLUSIVE
    percentile_limits: dict[float, Annotated[float, Field(gt=1)]] | None = None
    critical: bool | None = None


class SetWeight(_Spec):
    set_weight: Annotated[float, Field(gt=0, le=100)]


class PauseSpec(_Spec):
    duration: Duration | None = None
    """None: until `launchdeck release promote`."""


class Pause(_Spec):
    pause: PauseSpec


class AnalysisStepSpec(_Spec):
    metrics: tuple[str, ...] = BUILT_IN_METRICS
    count: Annotated[int, Field(ge=1)] | None = None


class Analysis(_Spec):
    analysis: AnalysisStepSpec


Step = SetWeight | Pause | Analysis


class AnalysisSpec(_Spec):
    interval: Duration = timedelta(minutes=1)
    count: Annotated[int, Field(ge=1)] = 5
    initial_delay: Duration = timedelta(0)
    failure_limit: Annotated[int, Field(ge=0)] = 1
    inconclusive_limit: Annotated[int, Field(ge=0)] = 0
    consecutive_error_limit: Annotated[int, Field(ge=0)] = 4
    background: tuple[str, ...] = ("error_rate",)


class BlueGreenSpec(_Spec):
    preview_checks: tuple[Annotated[str, Field(pattern=r"^/")], ...] = ("/",)
    post_promotion: Duration = timedelta(minutes=10)
    keep_previous: Duration = timedelta(hours=1)


class StrategySpec(_Spec):
    strategy: Literal["canary", "blue-green"]
    steps: tuple[Step, ...] = ()
    analysis: AnalysisSpec = AnalysisSpec()
    metrics: tuple[MetricSpec, ...] = ()
    blue_green: BlueGreenSpec | None = None

    def metric_names(self) -> set[str]:
        return {*BUILT_IN_METRICS, *(m.name for m in self.metrics)}

    def metric(self, name: str) -> MetricSpec:
        """The spec of a metric the strategy names: its own definition, or the built-in one
        (KeyError for neither; validation refuses such names)."""
        for spec in self.metrics:
            if spec.name == name:
                return spec
        if name not in BUILT_IN_METRICS:
            raise KeyError(name)
        return MetricSpec.model_validate({"name": name, "kind": name})

    @model_validator(mode="after")
    def _consistent(self) -> StrategySpec:
        problems: list[tuple[tuple[str | int, ...], str, str]] = []
        known = self.metric_names()
        if self.strategy == "canary":
            if not self.steps:
                problems.append((("steps",), "a canary needs steps", "start with - set_weight: 10"))
            if self.blue_green is not None:
                problems.append(
                    (("blue_green",), "blue_green settings on a canary", "strategy: blue-green")
                )
        elif self.steps:
            problems.append(
                (("steps",), "a blue-green release has no steps", "use blue_green: instead")
            )
        weight = 0.0
        for index, step in enumerate(self.steps):
            if isinstance(step, SetWeight):
                if step.set_weight <= weight:
                    problems.append(
                        (
                            ("steps", index, "set_weight"),
                            f"the weight falls from {weight:g} to {step.set_weight:g}",
                            "weights only rise: visitors on the canary stay on it",
                        )
                    )
                weight = step.set_weight
            if isinstance(step, Analysis):
                problems += _unknown(
                    known, step.analysis.metrics, ("steps", index, "analysis", "metrics")
                )
        problems += _unknown(known, self.analysis.background, ("analysis", "background"))
        names = [m.name for m in self.metrics]
        for index, name in enumerate(names):
            if name in names[:index]:
                problems.append((("metrics", index, "name"), f"metric {name!r} twice", "one each"))
        if problems:  # each located at its field by the loader (yamlpos)
            raise PydanticCustomError(
                "strategy", "{message}", {"message": problems[0][1], "problems": tuple(problems)}
            )
        return self


def _unknown(
    known: set[str], names: tuple[str, ...], at: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], str, str]]:
    return [
        (
            (*at, index),
            f"no metric {name!r}",
            f"built in: {', '.join(BUILT_IN_METRICS)}; or define it under metrics:",
        )
        for index, name in enumerate(names)
        if name not in known
    ]


def parse_strategy(text: str, *, source: str) -> StrategySpec:
    """A validated strategy; ValidationFailed lists every problem with `file:line:column`."""
    roots = read_documents(text, source=source)
    if not roots or roots[0][1] is None:
        raise ConfigError(
            "an empty strategy file", where=source, hint="start with strategy: canary"
        )
    node, data = roots[0]
    positions = Positions()
    walk(node, (), positions)
    problems = [
        (Problem(p, f"duplicate key {p[-1]!r}", "a key may appear once per mapping"), True)
        for p in positions.duplicate_keys
    ]
    spec: StrategySpec | None = None
    if not isinstance(data, dict):
        problems.append((Problem((), "a strategy is a mapping", "strategy: canary"), False))
    else:
        try:
            spec = StrategySpec.model_validate(data)
        except ValidationError as exc:
            problems += without_echoes(schema_problems(exc, data, StrategySpec))
    if problems or spec is None:
        errors = [problem_error(source, positions, p, key=key) for p, key in problems]
        raise ValidationFailed(errors, source=source)
    return spec
