"""Where SLI events come from: the `SliSource` protocol and its Prometheus implementation.

A source answers one question: how many good and total events fell in each step of a range.
Bucket i is `[start + i*step, start + (i+1)*step)`; there are ceil((end - start) / step)
buckets, so when `end - start` is not a multiple of `step` the last one reaches past `end` and
holds what Prometheus has of it (nothing from the future is invented).

Prometheus semantics, Sloth/OpenSLO style:

- A query returns a per-second rate over a range window: `sum(rate(http_requests_total{code!~
  "5.."}[5m]))`. `promql.with_window` sets that window to the step: the `{{.window}}`
  placeholder when the query has one, else every range selector `[<duration>]` (subqueries,
  offsets and strings are kept). Each bucket then counts exactly the events of its own interval.
- The value at evaluation time t covers (t - step, t], so the source evaluates at each bucket's
  end (`start + step`, …) with `GET /api/v1/query_range`, and a rate times the step in seconds
  is the bucket's count.
- good_total reads good and total; bad_total reads bad and total and counts good = total - bad;
  both keep 0 <= good <= total, since separately extrapolated rates can cross by a hair.
- raw is one sample per bucket: total 1, good the ratio (rawType success, clamped to [0, 1]) or
  1 - ratio (failure). threshold is one sample per bucket: total 1, good 1 when
  `value <op> objective.value`, else 0.
- No data is never invented: a bucket whose total (or only) query has no sample, or a NaN one
  (0/0), has total 0 and good 0. When total has a sample but good or bad has none, the
  good/bad query matched no series, which is 0 events (`sum` over nothing is empty). For
  counts and raw ratios ±Inf is no data too; a threshold compares it (an +Inf latency is bad).
- A query must return one series; several mean a missing `sum(...)`, reported as such.
- Prometheus answers at most 11,000 points per series, so long ranges go in several requests.

Failures to read (unreachable server, non-2xx, `status: error`) raise `UpstreamError` naming
the query and Prometheus's own message.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from launchdeck.errors import UpstreamError, UsageError
from launchdeck.reliability.model import Bucket, Indicator, IndicatorKind, Objective
from launchdeck.reliability.promql import format_duration, with_window

__all__ = ["PrometheusSource", "SliSource", "prometheus_source_for"]

MAX_POINTS = 11_000
"""Prometheus refuses a range query of more points per series than this."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_COMPARE: Mapping[str, Callable[[float, float], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


class SliSource(Protocol):
    """Reads an indicator's events, bucketed by `step`."""

    def buckets(
        self,
        indicator: Indicator,
        *,
        start: datetime,
        end: datetime,
        step: timedelta,
        objective: Objective | None = None,
    ) -> list[Bucket]:
        """Good and total events of each step in [start, end); thresholds need `objective`."""
        ...


class PrometheusSource:
    """An `SliSource` over the Prometheus HTTP API at `url`.

    Pass `client` to reuse a connection pool (or a test transport); otherwise each `buckets`
    call opens and closes its own.
    """

    def __init__(
        self, url: str, *, timeout_s: float = 10.0, client: httpx.Client | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._client = client

    def __repr__(self) -> str:
        return f"PrometheusSource({self.url!r})"

    def buckets(
        self,
        indicator: Indicator,
        *,
        start: datetime,
        end: datetime,
        step: timedelta,
        objective: Objective | None = None,
    ) -> list[Bucket]:
        """Good and total events of each step in [start, end), read with query_range."""
        grid = _Grid.of(start, end, step)
        if grid.count == 0:
            return []
        if self._client is not None:
            return _read(indicator, objective, grid, _Reader(self._client, self.url))
        with httpx.Client(timeout=self.timeout_s) as client:
            return _read(indicator, objective, grid, _Reader(client, self.url))


def prometheus_source_for(
    indicator: Indicator,
    default_url: str | None,
    *,
    timeout_s: float = 10.0,
    client: httpx.Client | None = None,
) -> PrometheusSource:
    """The source for `indicator`: its DataSource URL when the SLO names one, else `default_url`."""
    if indicator.source_type.casefold() != "prometheus":
        raise UsageError(
            f"cannot read an SLI from a {indicator.source_type!r} source",
            hint="launchdeck reads SLIs from Prometheus: use a Prometheus metricSource",
        )
    url = indicator.source_url or default_url
    if not url:
        raise UsageError(
            "no Prometheus URL to read the SLI from",
            hint="set connectionDetails.url on the SLO's DataSource, or configure a Prometheus URL",
        )
    return PrometheusSource(url, timeout_s=timeout_s, client=client)


class _Grid:
    """Evaluation instants, in epoch milliseconds: bucket i is read at `first_ms + i*step_ms`."""

    def __init__(self, start: datetime, first_ms: int, step_ms: int, count: int) -> None:
        self.start = start
        self.first_ms = first_ms
        self.step_ms = step_ms
        self.count = count
        self.step = step_ms * _MS

    @classmethod
    def of(cls, start: datetime, end: datetime, step: timedelta) -> _Grid:
        if start.tzinfo is None or end.tzinfo is None:
            raise UsageError("start and end of an SLI range must be timezone-aware")
        format_duration(step)  # refuses a step Prometheus cannot express
        if end < start:
            raise UsageError(f"the SLI range ends ({end}) before it starts ({start})")
        step_ms = step // _MS
        start_ms = (start - _EPOCH) // _MS
        count = -(-((end - start) // _MS) // step_ms)
        return cls(start, start_ms + step_ms, step_ms, count)

    def chunks(self) -> Iterator[tuple[int, int]]:
        """(first bucket, bucket count) per request, each within Prometheus's point limit."""
        for first in range(0, self.count, MAX_POINTS):
            yield first, min(MAX_POINTS, self.count - first)


class _Reader:
    """Runs one query over the grid: a value (or None, no data) per bucket."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self.client = client
        self.url = url

    def values(self, query: str, grid: _Grid) -> list[float | None]:
        sent = with_window(query, grid.step)
        values: list[float | None] = [None] * grid.count
        for first, count in grid.chunks():
            first_ms = grid.first_ms + first * grid.step_ms
            params = {
                "query": sent,
                "start": _seconds(first_ms),
                "end": _seconds(first_ms + (count - 1) * grid.step_ms),
                "step": format_duration(grid.step),
            }
            for at_ms, value in _samples(self._get(params, sent), sent):
                index, off_grid = divmod(at_ms - grid.first_ms, grid.step_ms)
                if not off_grid and first <= index < first + count:
                    values[index] = value
        return values

    def _get(self, params: Mapping[str, str], query: str) -> Any:
        endpoint = f"{self.url}/api/v1/query_range"
        try:
            response = self.client.get(endpoint, params=params)
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"could not reach Prometheus at {self.url} to run {query!r}: {exc}",
                hint=f"is Prometheus at {self.url} running and reachable from here?",
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UpstreamError(
                f"Prometheus at {self.url} answered HTTP {response.status_code} without an API "
                f"response to {query!r}: {response.text[:200]!r}",
                hint=f"is {self.url} the Prometheus server (not a proxy or another service)?",
            )
        if body.get("status") != "success" or not response.is_success:
            raise _query_failed(self.url, query, response.status_code, body)
        return body.get("data")


def _query_failed(url: str, query: str, status: int, body: Mapping[str, Any]) -> UpstreamError:
    kind = body.get("errorType") or f"HTTP {status}"
    message = body.get("error") or "no error message"
    if kind == "bad_data":
        return UpstreamError(
            f"Prometheus at {url} rejected the query {query!r}: {message}",
            hint="fix the PromQL in the SLO's indicator; `promtool query instant` shows the error",
            retryable=False,
        )
    return UpstreamError(
        f"Prometheus at {url} failed to run {query!r} ({kind}): {message}",
        hint=f"is Prometheus at {url} running and healthy? A timeout may need a longer step",
    )


def _samples(data: Any, query: str) -> Iterator[tuple[int, float]]:
    """(epoch ms, value) of the matrix's single series; nothing for an empty result."""
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        kind = data.get("resultType") if isinstance(data, dict) else None
        raise UpstreamError(
            f"Prometheus answered {query!r} with a {kind or 'malformed'} result, not a range",
            hint="the SLI query must be an instant-vector expression such as sum(rate(...))",
            retryable=False,
        )
    series: list[dict[str, Any]] = data.get("result") or []
    if len(series) > 1:
        shown = ", ".join(_labels(s.get("metric", {})) for s in series[:3])
        raise UpstreamError(
            f"the SLI query {query!r} returned {len(series)} series ({shown}"
            f"{', …' if len(series) > 3 else ''}); it must return one",
            hint="aggregate it with sum(...), e.g. sum(rate(http_requests_total[5m]))",
            retryable=False,
        )
    for series_one in series:
        for at, text in series_one.get("values", []):
            yield round(float(at) * 1000), float(text)


def _read(
    indicator: Indicator, objective: Objective | None, grid: _Grid, reader: _Reader
) -> list[Bucket]:
    step_s = grid.step.total_seconds()
    starts = [grid.start + i * grid.step for i in range(grid.count)]
    kind = indicator.kind
    if kind in (IndicatorKind.GOOD_TOTAL, IndicatorKind.BAD_TOTAL):
        part_query = indicator.good if kind is IndicatorKind.GOOD_TOTAL else indicator.bad
        total_query = _required(indicator.total, "total", kind)
        part = reader.values(_required(part_query, _part_name(kind), kind), grid)
        totals = reader.values(total_query, grid)
        return [
            _events(kind, rate, part_rate, step_s, at)
            for at, rate, part_rate in zip(starts, totals, part, strict=True)
        ]
    if kind is IndicatorKind.RAW:
        if indicator.raw_type is None:
            raise UsageError("a raw indicator needs rawType: success or failure")
        failure = indicator.raw_type == "failure"
        ratios = reader.values(_required(indicator.raw, "raw", kind), grid)
        return [
            _ratio_sample(at, ratio, failure=failure)
            for at, ratio in zip(starts, ratios, strict=True)
        ]
    compare, limit = _threshold(objective)
    values = reader.values(_required(indicator.threshold, "threshold", kind), grid)
    return [
        Bucket(at, 0.0, 0.0)
        if v is None or math.isnan(v)
        else Bucket(at, float(compare(v, limit)), 1.0)
        for at, v in zip(starts, values, strict=True)
    ]


def _events(
    kind: IndicatorKind,
    total_rate: float | None,
    part_rate: float | None,
    step_s: float,
    at: datetime,
) -> Bucket:
    if total_rate is None or not math.isfinite(total_rate):
        return Bucket(at, 0.0, 0.0)
    total = max(total_rate * step_s, 0.0)
    part = part_rate * step_s if part_rate is not None and math.isfinite(part_rate) else 0.0
    good = part if kind is IndicatorKind.GOOD_TOTAL else total - part
    return Bucket(at, min(max(good, 0.0), total), total)


def _ratio_sample(at: datetime, ratio: float | None, *, failure: bool) -> Bucket:
    if ratio is None or not math.isfinite(ratio):
        return Bucket(at, 0.0, 0.0)
    ratio = min(max(ratio, 0.0), 1.0)
    return Bucket(at, 1.0 - ratio if failure else ratio, 1.0)


def _threshold(objective: Objective | None) -> tuple[Callable[[float, float], bool], float]:
    if objective is None or objective.op is None or objective.value is None:
        name = f" {objective.name!r}" if objective is not None else ""
        raise UsageError(
            f"a threshold indicator needs an objective with op and value; objective{name} has none",
            hint="give the objective op (lt, lte, gt, gte) and value, e.g. op: lte, value: 0.3",
        )
    return _COMPARE[objective.op], objective.value


def _required(query: str | None, name: str, kind: IndicatorKind) -> str:
    if not query:
        raise UsageError(f"a {kind.value} indicator needs a {name} query")
    return query


def _part_name(kind: IndicatorKind) -> str:
    return "good" if kind is IndicatorKind.GOOD_TOTAL else "bad"


def _labels(metric: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"


def _seconds(epoch_ms: int) -> str:
    return f"{epoch_ms // 1000}.{epoch_ms % 1000:03d}"
