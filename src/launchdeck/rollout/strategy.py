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
    hooks:                           # asked outside launchdeck (Flagger's webhook types; hooks.py)
      - {name: qa-sign-off, type: confirm-promotion, url: https://qa.example.com/hook,
         secret: {env: QA_HOOK_KEY}}
      - {name: smoke, type: pre-rollout, command: [./scripts/smoke.sh], timeout: 2m}

Built-in metrics (from the nginx-static access log): `error_rate` (5xx share, harmful up),
`conversion_rate` (converting visitors, harmful down), `latency` (Kayenta's Mann–Whitney and
p99 ≤ 1.5× the baseline's). Argo Rollouts' analysis semantics: the worst metric decides a
measurement, and each limit is how many such measurements are tolerated (Argo's `failureLimit`,
`inconclusiveLimit`, `consecutiveErrorLimit`); the default failure limit is 1, so a canary is
rolled back at its second failed measurement: one bad interval alone does not decide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
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
from launchdeck.notify.spec import SecretRef
from launchdeck.rollout.hooks import HookSpec
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
    "PLACEHOLDERS",
    "AnalysisSpec",
    "BlueGreenSpec",
    "MetricSpec",
    "RevenueSpec",
    "Step",
    "StrategySpec",
    "ThresholdRange",
    "VerificationSpec",
    "default_strategy",
    "fill_template",
    "parse_json_path",
    "parse_strategy",
]

Duration = Annotated[timedelta, BeforeValidator(coerce_duration)]
BUILT_IN_METRICS = ("error_rate", "conversion_rate", "latency")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PLACEHOLDERS: Final = ("variant", "system", "environment", "interval", "elapsed")
"""What `{{name}}` in a metric's query or URL becomes: the variant (`canary` or `stable`), the
system and environment ids, the analysis interval, and the time since the canary started (both
durations in Prometheus notation, `60s`)."""
_PLACEHOLDER: Final = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_JSON_STEP: Final = re.compile(r"\.([A-Za-z_][\w-]*)|\[(-?\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")
_SECRET_HEADER: Final = re.compile(r"authorization|cookie|token|secret|key|passw", re.IGNORECASE)
_SOURCE_FIELDS: Final = {
    "prometheus": ("address", "query", "total_query", "count_query"),
    "web": ("url", "headers", "json_path", "total_json_path", "count_json_path"),
    "events": ("event",),
}
_Problems = list[tuple[tuple[str | int, ...], str, str]]


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """`template` with every `{{name}}` replaced by `values[name]` (KeyError for a missing one)."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def parse_json_path(path: str) -> tuple[str | int, ...]:
    """The keys and indexes of a JSONPath in the subset metrics use: `$`, then steps `.key`,
    `["key"]` or `[index]` (negative counts from the end), e.g. `$.data.result[0].value`.
    ValueError for anything else (no wildcards, filters or recursive descent)."""
    if not path.startswith("$"):
        raise ValueError("a JSON path starts with $, as in $.data.error_rate")
    steps: list[str | int] = []
    at = 1
    while at < len(path):
        match = _JSON_STEP.match(path, at)
        if match is None:
            raise ValueError(f'cannot read {path[at:]!r}: steps are .key, ["key"] or [0]')
        key, index, double, single = match.groups()
        name = key if key is not None else double if double is not None else single
        steps.append(int(index) if index is not None else str(name))
        at = match.end()
    return tuple(steps)


def _json_path(path: str) -> str:
    try:
        parse_json_path(path)
    except ValueError as exc:
        raise PydanticCustomError(
            "json_path", "{message}", {"message": str(exc), "hint": "for example $.data.rate"}
        ) from None
    return path


def _refuse(problems: _Problems) -> PydanticCustomError:
    """A validation error the loader reports as one located problem each (yamlpos)."""
    return PydanticCustomError(
        "strategy", "{message}", {"message": problems[0][1], "problems": tuple(problems)}
    )


def _header_value(value: object) -> str | SecretRef:
    """Text (a number is written as text) or a secret reference, refused without echoing it."""
    if isinstance(value, str | SecretRef):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    hint = "text, or {env: NAME} / {file: PATH} for a secret"
    if not isinstance(value, dict):
        raise _refuse([((), "a header value is text or a secret reference", hint)])
    try:
        return SecretRef.model_validate(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        located = [(tuple(e["loc"]), str(e["msg"]), hint) for e in errors]
        raise _refuse(
            [p for e in errors for p in (e.get("ctx") or {}).get("problems", ())] or located
        ) from None


JsonPath = Annotated[str, AfterValidator(_json_path)]
HeaderValue = Annotated[str | SecretRef, BeforeValidator(_header_value)]


class ThresholdRange(_Spec):
    """Flagger's `thresholdRange`: the canary's value passes within [min, max] (either optional)."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ThresholdRange:
        if self.min is None and self.max is None:
            raise _refuse([((), "a threshold_range needs min:, max: or both", "e.g. {max: 0.01}")])
        if self.min is not None and self.max is not None and self.min > self.max:
            message = f"max {self.max:g} is below min {self.min:g}"
            raise _refuse([(("max",), message, "values from min to max pass")])
        return self


class MetricSpec(_Spec):
    """A metric the analyses judge and where it is read (docs/rollout.md, "Metric sources"):
    the access log, Prometheus (`query`, or `total_query` and `count_query` per variant), a
    JSON document on the web (`url` and `json_path`, or `total_json_path` and `count_json_path`
    per variant), or launchdeck's own events (`event`: the visitors of each variant, from the
    access log, who sent that metric event). Templates take the `PLACEHOLDERS`."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    kind: Literal["error_rate", "conversion_rate", "latency", "threshold"]
    source: Literal["access_log", "prometheus", "web", "events"] = "access_log"
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.01
    min_sample: Annotated[int, Field(ge=0)] | None = None
    no_data: NoDataPolicy = NoDataPolicy.INCONCLUSIVE
    percentile_limits: dict[float, Annotated[float, Field(gt=1)]] | None = None
    critical: bool | None = None
    threshold_range: ThresholdRange | None = None
    """Kind threshold: the range the canary's value must lie in."""
    address: str | None = None
    """Prometheus's base URL; default: the settings' prometheus_url."""
    query: str | None = None
    """Kind threshold: PromQL giving one number."""
    total_query: str | None = None
    """Error or conversion rate: PromQL giving a variant's units (requests, visitors)."""
    count_query: str | None = None
    """Error or conversion rate: PromQL giving the units with the event (a 5xx, an order)."""
    url: str | None = None
    headers: dict[str, HeaderValue] | None = None
    """Sent with the request; secrets as `{env: NAME}` or `{file: PATH}`, never written here."""
    json_path: JsonPath | None = None
    total_json_path: JsonPath | None = None
    count_json_path: JsonPath | None = None
    event: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    """Source events: the metric event (`POST /api/v1/events`, `"type": "metric"`) that counts
    a visitor as converted; its `unit` is the visitor's `ld_uid` cookie."""

    @model_validator(mode="after")
    def _readable(self) -> MetricSpec:
        if problems := _source_problems(self):
            raise _refuse(problems)
        return self


def _source_problems(spec: MetricSpec) -> _Problems:
    """What keeps `spec` from being read and judged: fields of another source, a missing query."""
    problems: _Problems = [
        ((name,), f"{name} is for source {source}", f"add source: {source}, or remove {name}")
        for source, names in _SOURCE_FIELDS.items()
        if source != spec.source
        for name in names
        if getattr(spec, name) is not None
    ]
    if spec.kind == "threshold" and spec.threshold_range is None:
        problems.append(((), "a threshold metric needs threshold_range", "e.g. {max: 0.01}"))
    if spec.kind != "threshold" and spec.threshold_range is not None:
        hint = f"{spec.kind} compares the canary with stable; kind: threshold judges one value"
        problems.append((("threshold_range",), f"threshold_range is not for {spec.kind}", hint))
    if spec.source == "access_log" and spec.kind == "threshold":
        hint = "read it with source: prometheus (query:) or source: web (url:, json_path:)"
        problems.append((("kind",), "the access log has no threshold metrics", hint))
    elif spec.source == "events":
        if spec.kind != "conversion_rate":
            hint = "launchdeck's events count converting visitors: kind: conversion_rate"
            problems.append((("kind",), f"{spec.kind} cannot be read from events", hint))
        if spec.event is None:
            hint = "the metric event that counts as a conversion, e.g. event: purchase"
            problems.append(((), "a metric from events needs event:", hint))
    elif spec.source != "access_log" and spec.kind == "latency":
        hint = "judge a percentile with kind: threshold, e.g. histogram_quantile(0.99, …)"
        problems.append((("kind",), "latency samples come from the access log only", hint))
    elif spec.source != "access_log":
        problems += _query_problems(spec)
    for name in ("address", "url"):
        value = getattr(spec, name)
        if value is not None and not value.startswith(("http://", "https://")):
            hint = "e.g. http://prometheus:9090"
            problems.append(((name,), f"{name} is not an http:// or https:// URL", hint))
    for name in ("query", "total_query", "count_query", "url"):
        for unknown in sorted(_placeholders(getattr(spec, name)) - set(PLACEHOLDERS)):
            known = ", ".join(f"{{{{{p}}}}}" for p in PLACEHOLDERS)
            problems.append(((name,), f"unknown placeholder {{{{{unknown}}}}}", f"known: {known}"))
    for header, value in (spec.headers or {}).items():  # a literal would sit in the repository
        if isinstance(value, str) and _SECRET_HEADER.search(header):
            hint = "write {env: NAME} (an environment variable) or {file: PATH} that holds it"
            problems.append((("headers", header), f"header {header} is a secret", hint))
    return problems


def _query_problems(spec: MetricSpec) -> _Problems:
    """A Prometheus or web metric's queries: one value for a threshold, else a total and a count
    per variant (the templates must tell the variants apart)."""
    one, total, count = (
        ("query", "total_query", "count_query")
        if spec.source == "prometheus"
        else ("json_path", "total_json_path", "count_json_path")
    )
    given = {name for name in (one, total, count) if getattr(spec, name) is not None}
    problems: _Problems = []
    if spec.source == "web" and spec.url is None:
        problems.append(((), "a web metric needs url:", "where a JSON document answers"))
    threshold = spec.kind == "threshold"
    wanted, unwanted = ((one,), (total, count)) if threshold else ((total, count), (one,))
    needs = " and ".join(f"{name}:" for name in wanted)
    for name in sorted(given & set(unwanted)):
        problems.append(((name,), f"{name} is not for kind {spec.kind}", f"it reads {needs}"))
    if missing := [name for name in wanted if name not in given]:
        hint = "one number" if threshold else "per variant ({{variant}}: canary, then stable)"
        message = f"{spec.kind} from {spec.source} needs {needs}"
        if len(missing) < len(wanted):
            message += f" ({', '.join(missing)} missing)"
        problems.append(((), message, hint))
    templates = (total, count) if spec.source == "prometheus" else ("url",)
    for name in () if threshold else templates:
        text = getattr(spec, name)
        if text is not None and "variant" not in _placeholders(text):
            message = f"{name} does not tell the variants apart: use {{{{variant}}}}"
            problems.append(((name,), message, "it is read for the canary and for stable"))
    return problems


def _placeholders(text: str | None) -> set[str]:
    return {match[1] for match in _PLACEHOLDER.finditer(text or "")}


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


class VerificationSpec(_Spec):
    """A canary's post-deploy verification: after promotion, every visitor on the new version
    is compared with the period before it for `window`; a failure rolls it back."""

    window: Duration = timedelta(minutes=30)
    metrics: tuple[str, ...] = ("error_rate", "conversion_rate")


class RevenueSpec(_Spec):
    """What a lost order is worth, and how much a release may put at risk before it is rolled
    back (like an error budget, in money)."""

    order_value: Annotated[float, Field(gt=0)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    budget: Annotated[float, Field(gt=0)] | None = None
    metric: str = "conversion_rate"
    """The conversion metric whose drop costs orders."""


class StrategySpec(_Spec):
    strategy: Literal["canary", "blue-green"]
    steps: tuple[Step, ...] = ()
    analysis: AnalysisSpec = AnalysisSpec()
    metrics: tuple[MetricSpec, ...] = ()
    blue_green: BlueGreenSpec | None = None
    hooks: tuple[HookSpec, ...] = ()
    revenue: RevenueSpec | None = None
    verification: VerificationSpec | None = None

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
        if self.verification is not None:
            if self.strategy == "blue-green":
                problems.append(
                    (
                        ("verification",),
                        "verification is for canaries",
                        "blue-green has blue_green.post_promotion",
                    )
                )
            problems += _unknown(known, self.verification.metrics, ("verification", "metrics"))
        if self.revenue is not None:
            metric = self.revenue.metric
            if metric not in known:
                problems.append(
                    (
                        ("revenue", "metric"),
                        f"no metric {metric!r}",
                        "a conversion metric of this strategy (conversion_rate is built in)",
                    )
                )
            elif self.metric(metric).kind != "conversion_rate":
                problems.append(
                    (
                        ("revenue", "metric"),
                        f"{metric!r} is not a conversion rate",
                        "name a metric of kind conversion_rate",
                    )
                )
        names = [m.name for m in self.metrics]
        for index, name in enumerate(names):
            if name in names[:index]:
                problems.append((("metrics", index, "name"), f"metric {name!r} twice", "one each"))
        hook_names = [h.name for h in self.hooks]
        for index, name in enumerate(hook_names):
            if name in hook_names[:index]:
                problems.append((("hooks", index, "name"), f"hook {name!r} twice", "one each"))
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


def default_strategy(kind: Literal["canary", "blue-green"]) -> StrategySpec:
    """The strategy of a system whose `rollout:` names no file: a canary at 10 % then 50 %,
    each judged on errors, latency and conversion for 5 one-minute measurements, errors watched
    throughout; or blue-green with the defaults of `BlueGreenSpec`."""
    if kind == "blue-green":
        return StrategySpec(strategy="blue-green", blue_green=BlueGreenSpec())
    judged = Analysis(analysis=AnalysisStepSpec())
    return StrategySpec(
        strategy="canary",
        steps=(SetWeight(set_weight=10), judged, SetWeight(set_weight=50), judged),
    )
