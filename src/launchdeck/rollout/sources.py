"""Metric sources beyond the access log: Prometheus and JSON over HTTP. The shell of `measure`.

`read_readings` reads, for one measurement, every metric of `metrics` whose `source` is
`prometheus` or `web` (access-log metrics are left to `access_log`), and `measure` judges them.
A source answers with a `Reading` and never raises: whatever keeps it from reading becomes the
reading's `error`, which makes the measurement an error (Argo's Error; the analysis tolerates
`consecutive_error_limit` of them in a row).

- **Prometheus** — instant queries (`GET /api/v1/query`, evaluated at `context.at`) at the
  metric's `address` or the settings' Prometheus URL. A `threshold` metric's `query` is read
  once, for the canary; an error or conversion rate reads `total_query` and `count_query` for
  each variant (`{{variant}}` = `canary`, `stable`) and rounds them to `Counts`. A query must
  give one number: an empty vector is no data (the metric's `no_data` policy decides), NaN too;
  several series are an error (a missing `sum(...)`), as are a string or a range vector.
- **Web** — `GET url` with the metric's headers (secrets read from the environment or a file
  at request time, and never in an error or a log line), a JSON answer, and `json_path` into
  it (`strategy.parse_json_path`: `$.data.result[0].value`). A number, or a string holding one
  (Prometheus-style APIs quote their numbers), is the value; `null` or an index past the end
  is no data; a missing key, another type or a non-2xx answer is an error. A rate reads the
  URL per variant and `total_json_path` / `count_json_path` in each answer.

Counts are cumulative since the canary started, as the access log's are: write comparative
queries over `[{{elapsed}}]` so the judge's anytime-valid test sees all of the canary's traffic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

import httpx

from launchdeck.notify.spec import SecretRef
from launchdeck.rollout.judge import Counts
from launchdeck.rollout.measure import Reading
from launchdeck.rollout.strategy import MetricSpec, StrategySpec, fill_template, parse_json_path
from launchdeck.secrets import SecretUnavailable, read_secret

__all__ = [
    "MetricSource",
    "PrometheusMetrics",
    "Reading",
    "SourceContext",
    "WebMetrics",
    "read_readings",
]

VARIANTS: Final = ("canary", "stable")


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What reading a metric needs besides its spec: the release, the clock and the settings."""

    system: str
    environment: str
    at: datetime
    """When the measurement is taken: Prometheus evaluates the queries at this instant."""
    interval: timedelta
    """The analysis interval: `{{interval}}`."""
    prometheus_url: str
    """For Prometheus metrics without an `address` (the settings' prometheus_url)."""
    environ: Mapping[str, str]
    """Where `{env: NAME}` header secrets are read (os.environ, at the composition root)."""
    since: datetime | None = None
    """When the canary started: `{{elapsed}}` is `at - since` (the interval when unknown)."""

    def placeholders(self, variant: str) -> dict[str, str]:
        """The template placeholders' values for `variant`."""
        elapsed = self.at - self.since if self.since is not None else self.interval
        return {
            "variant": variant,
            "system": self.system,
            "environment": self.environment,
            "interval": _duration(self.interval),
            "elapsed": _duration(elapsed),
        }


class MetricSource(Protocol):
    """Reads one metric for a measurement; never raises (a failure is the reading's error)."""

    def read(self, spec: MetricSpec, *, context: SourceContext) -> Reading: ...


def read_readings(
    strategy: StrategySpec,
    metrics: Sequence[str],
    *,
    context: SourceContext,
    client: httpx.Client,
) -> dict[str, Reading]:
    """A reading per metric of `metrics` that Prometheus or the web gives (access-log metrics
    have none); each is read once, even when named twice."""
    sources: Mapping[str, MetricSource] = {
        "prometheus": PrometheusMetrics(client),
        "web": WebMetrics(client),
    }
    readings: dict[str, Reading] = {}
    for name in dict.fromkeys(metrics):
        spec = strategy.metric(name)
        source = sources.get(spec.source)
        if source is not None:
            readings[name] = source.read(spec, context=context)
    return readings


class _Unreadable(Exception):
    """Why a metric could not be read: the reading's error."""


class PrometheusMetrics:
    """A `MetricSource` over the Prometheus HTTP API's instant queries."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def read(self, spec: MetricSpec, *, context: SourceContext) -> Reading:
        """The canary's value (threshold) or each variant's counts (rates)."""
        address = (spec.address or context.prometheus_url).rstrip("/")

        def value(template: str | None, variant: str) -> float | None:
            query = fill_template(template or "", context.placeholders(variant))
            return self._value(address, query, context.at)

        try:
            if spec.kind == "threshold":
                return Reading({"canary": value(spec.query, "canary")})
            values: dict[str, float | Counts | None] = {}
            for variant in VARIANTS:
                total = value(spec.total_query, variant)
                count = value(spec.count_query, variant) if total is not None else None
                values[variant] = _counts(total, count, variant)
            return Reading(values)
        except _Unreadable as exc:
            return Reading(error=str(exc))

    def _value(self, address: str, query: str, at: datetime) -> float | None:
        """The instant query's one number; None for an empty vector or NaN."""
        params = {"query": query, "time": f"{at.timestamp():.3f}"}
        try:
            response = self._client.get(f"{address}/api/v1/query", params=params)
        except httpx.HTTPError as exc:
            raise _Unreadable(f"could not reach Prometheus at {address}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _Unreadable(
                f"Prometheus at {address} answered HTTP {response.status_code} to {query!r} "
                "without an API response (is it Prometheus?)"
            )
        if body.get("status") != "success" or not response.is_success:
            kind = body.get("errorType") or f"HTTP {response.status_code}"
            raise _Unreadable(
                f"Prometheus at {address} failed to run {query!r} ({kind}): "
                f"{body.get('error') or 'no error message'}"
            )
        return _instant_value(body.get("data"), query)


def _instant_value(data: object, query: str) -> float | None:
    if not isinstance(data, dict):
        raise _Unreadable(f"Prometheus answered {query!r} without data")
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list):
        sample: object = result
    elif kind == "vector" and isinstance(result, list):
        if not result:
            return None
        if len(result) > 1:
            raise _Unreadable(
                f"{query!r} gave {len(result)} series, not one number: aggregate it, e.g. sum(...)"
            )
        sample = result[0].get("value") if isinstance(result[0], dict) else None
    else:
        raise _Unreadable(f"{query!r} gave a {kind} result, not one number (a vector or scalar)")
    if not isinstance(sample, list) or len(sample) != 2:
        raise _Unreadable(f"Prometheus answered {query!r} with a malformed sample")
    value = _number(sample[1], f"the value of {query!r}")
    return None if value is None or math.isnan(value) else value


def _counts(total: float | None, count: float | None, variant: str) -> Counts | None:
    """A variant's units and events from two query values, rounded (increase() extrapolates);
    no total is no data, no count is no event (`sum` over no series is empty)."""
    if total is None:
        return None
    for name, value in (("total", total), ("count", count or 0.0)):
        if not math.isfinite(value) or value < 0:
            raise _Unreadable(f"the {variant}'s {name} is {value:g}, not a count")
    units = round(total)
    return Counts(units, min(round(count or 0.0), units))


class WebMetrics:
    """A `MetricSource` reading a number out of a JSON document served over HTTP."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def read(self, spec: MetricSpec, *, context: SourceContext) -> Reading:
        """The canary's value (threshold) or each variant's counts (rates)."""
        headers: dict[str, str] = {}
        secrets: list[str] = []
        try:
            for name, value in (spec.headers or {}).items():
                if isinstance(value, SecretRef):
                    secrets.append(_secret(value, context.environ, name))
                    headers[name] = secrets[-1]
                else:
                    headers[name] = value
            if spec.kind == "threshold":
                document = self._document(spec, "canary", context, headers)
                return Reading({"canary": _read_path(document, spec.json_path or "$")})
            values: dict[str, float | Counts | None] = {}
            for variant in VARIANTS:
                document = self._document(spec, variant, context, headers)
                total = _read_path(document, spec.total_json_path or "$")
                count = _read_path(document, spec.count_json_path or "$")
                values[variant] = _counts(total, count, variant)
            return Reading(values)
        except _Unreadable as exc:
            # An HTTP library's error may quote a header (an illegal character in it, say).
            message = str(exc)
            for secret in secrets:
                message = message.replace(secret, "[redacted]")
            return Reading(error=message)

    def _document(
        self, spec: MetricSpec, variant: str, context: SourceContext, headers: Mapping[str, str]
    ) -> object:
        url = fill_template(spec.url or "", context.placeholders(variant))
        try:
            response = self._client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise _Unreadable(f"could not reach {url}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise _Unreadable(f"{url} answered HTTP {response.status_code}")
        try:
            document: object = response.json()
        except ValueError as exc:
            raise _Unreadable(f"{url} did not answer JSON") from exc
        return document


def _read_path(document: object, path: str) -> float | None:
    """The number at `path`; None for null or an index past the end of a list."""
    node = document
    steps = parse_json_path(path)
    for depth, step in enumerate(steps):
        where = _path_text(steps[:depth])
        if isinstance(step, int):
            if not isinstance(node, list):
                raise _Unreadable(f"{path}: {where} is not a list")
            if not -len(node) <= step < len(node):
                return None
            node = node[step]
        else:
            if not isinstance(node, dict):
                raise _Unreadable(f"{path}: {where} is not an object")
            if step not in node:
                raise _Unreadable(f"{path}: no key {step!r} in {where}")
            node = node[step]
    return _number(node, path)


def _number(value: object, what: str) -> float | None:
    """A JSON number, or a string holding one, as a float; None for null."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        with suppress(ValueError):
            return float(value)
    shown = repr(value) if isinstance(value, str | bool) else type(value).__name__
    raise _Unreadable(f"{what} is {shown[:80]}, not a number")


def _path_text(steps: Sequence[str | int]) -> str:
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)


def _secret(ref: SecretRef, environ: Mapping[str, str], header: str) -> str:
    """The header value `ref` points at; the error names the variable or file, never it."""
    try:
        return read_secret(ref, environ=environ)
    except SecretUnavailable as exc:
        raise _Unreadable(f"header {header}: {exc.message}") from None


def _duration(span: timedelta) -> str:
    """`span` in Prometheus notation, whole seconds (rounded up, at least 1s): `90s`."""
    return f"{max(1, math.ceil(span.total_seconds()))}s"
