"""The Prometheus SLI source on Prometheus's JSON answers (httpx.MockTransport).

The real server runs in tests/integration/reliability/; these pin the edge cases a live
Prometheus cannot be made to produce on demand: NaN, several series, chunking, error bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from launchdeck.errors import UpstreamError, UsageError
from launchdeck.reliability.model import Bucket, Indicator, IndicatorKind, Objective
from launchdeck.reliability.sources import MAX_POINTS, PrometheusSource, prometheus_source_for

URL = "http://prometheus.test:9090"
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
Value = float | str | None
"""A sample: a number, a string Prometheus writes ("NaN", "+Inf"), or None for no sample."""


@dataclass
class FakePrometheus:
    """Answers query_range from `series[query](t)` and records each request's parameters."""

    series: dict[str, Callable[[float], Value]]
    requests: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/query_range"
        params = dict(request.url.params)
        self.requests.append(params)
        start_ms = round(float(params["start"]) * 1000)
        end_ms = round(float(params["end"]) * 1000)
        step_ms = _ms(params["step"])
        assert (end_ms - start_ms) // step_ms <= 11_000, "Prometheus refuses this many points"
        compute = self.series[params["query"]]
        values = []
        for at_ms in range(start_ms, end_ms + 1, step_ms):
            value = compute(at_ms / 1000)
            if value is not None:
                values.append([at_ms / 1000, value if isinstance(value, str) else repr(value)])
        result = [{"metric": {}, "values": values}] if values else []
        return httpx.Response(200, json=_matrix(result))

    def source(self) -> PrometheusSource:
        return PrometheusSource(URL, client=httpx.Client(transport=httpx.MockTransport(self)))


def _ms(duration: str) -> int:
    units = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    for unit in ("ms", "s", "m", "h", "d"):
        if duration.endswith(unit) and duration[: -len(unit)].isdigit():
            return int(duration[: -len(unit)]) * units[unit]
    raise AssertionError(f"unexpected step {duration!r}")


def _matrix(result: list[dict[str, object]]) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def constant(value: Value) -> Callable[[float], Value]:
    return lambda _t: value


def by_bucket(*values: Value) -> Callable[[float], Value]:
    """The i-th value for the bucket evaluated at START + (i + 1) * STEP."""

    def compute(t: float) -> Value:
        index = round((t - START.timestamp()) / STEP.total_seconds()) - 1
        return values[index]

    return compute


def good_total(good: str = "sum(rate(good[5m]))", total: str = "sum(rate(all[5m]))") -> Indicator:
    return Indicator(kind=IndicatorKind.GOOD_TOTAL, good=good, total=total)


def read(
    fake: FakePrometheus,
    indicator: Indicator,
    *,
    buckets: int = 3,
    objective: Objective | None = None,
) -> list[Bucket]:
    return fake.source().buckets(
        indicator, start=START, end=START + buckets * STEP, step=STEP, objective=objective
    )


def counts(buckets: list[Bucket]) -> list[tuple[float, float]]:
    return [(b.good, b.total) for b in buckets]


def test_a_rate_times_the_step_counts_the_events_of_each_bucket() -> None:
    fake = FakePrometheus(
        {"sum(rate(good[5m]))": by_bucket(0.9, 1.8, 0.0), "sum(rate(all[5m]))": by_bucket(1, 2, 3)}
    )
    buckets = read(fake, good_total())
    assert [b.start for b in buckets] == [START, START + STEP, START + 2 * STEP]
    assert counts(buckets) == [
        pytest.approx((270.0, 300.0)),
        pytest.approx((540.0, 600.0)),
        pytest.approx((0.0, 900.0)),
    ]


def test_each_bucket_is_read_at_its_end_over_a_range_of_one_step() -> None:
    fake = FakePrometheus({"sum(rate(good[5m]))": constant(1), "sum(rate(all[5m]))": constant(1)})
    read(fake, good_total("sum(rate(good[30d]))", "sum(rate(all[{{.window}}]))"))
    assert fake.requests == [
        {
            "query": query,
            "start": f"{(START + STEP).timestamp():.3f}",
            "end": f"{(START + 3 * STEP).timestamp():.3f}",
            "step": "5m",
        }
        for query in ("sum(rate(good[5m]))", "sum(rate(all[5m]))")
    ]


def test_bad_and_total_count_good_as_the_difference() -> None:
    fake = FakePrometheus(
        {"sum(rate(bad[5m]))": by_bucket(0.5, None, 0.0), "sum(rate(all[5m]))": by_bucket(2, 2, 2)}
    )
    indicator = Indicator(
        kind=IndicatorKind.BAD_TOTAL, bad="sum(rate(bad[5m]))", total="sum(rate(all[5m]))"
    )
    # The middle bucket's bad query matched no series: no bad events, not missing data.
    assert counts(read(fake, indicator)) == [(450.0, 600.0), (600.0, 600.0), (600.0, 600.0)]


def test_a_bucket_without_a_total_sample_holds_no_events() -> None:
    fake = FakePrometheus(
        {
            "sum(rate(good[5m]))": by_bucket(1, 1, 1, 1),
            "sum(rate(all[5m]))": by_bucket(1, None, "NaN", "+Inf"),
        }
    )
    assert counts(read(fake, good_total(), buckets=4)) == [(300, 300), (0, 0), (0, 0), (0, 0)]


def test_a_good_query_without_a_sample_counts_no_good_events() -> None:
    fake = FakePrometheus(
        {"sum(rate(good[5m]))": by_bucket(None, "NaN"), "sum(rate(all[5m]))": constant(1)}
    )
    assert counts(read(fake, good_total(), buckets=2)) == [(0, 300), (0, 300)]


def test_an_empty_result_is_no_events_in_any_bucket() -> None:
    fake = FakePrometheus(
        {"sum(rate(good[5m]))": constant(None), "sum(rate(all[5m]))": constant(None)}
    )
    buckets = read(fake, good_total())
    assert counts(buckets) == [(0, 0)] * 3
    assert [b.start for b in buckets] == [START + i * STEP for i in range(3)]


def test_good_never_exceeds_total_when_extrapolations_cross() -> None:
    fake = FakePrometheus(
        {"sum(rate(good[5m]))": constant(1.0000001), "sum(rate(all[5m]))": constant(1)}
    )
    assert counts(read(fake, good_total(), buckets=1)) == [(300, 300)]


@pytest.mark.parametrize(
    ("raw_type", "expected"),
    [
        ("success", [(0.99, 1), (1, 1), (0, 1), (0, 0), (0, 0)]),
        ("failure", [(pytest.approx(0.01), 1), (0, 1), (1, 1), (0, 0), (0, 0)]),
    ],
    ids=["a ratio of successes", "a ratio of failures"],
)
def test_a_raw_ratio_is_one_sample_per_bucket(
    raw_type: str, expected: list[tuple[float, float]]
) -> None:
    fake = FakePrometheus({"ratio": by_bucket(0.99, 1.2, -0.1, "NaN", None)})
    indicator = Indicator(kind=IndicatorKind.RAW, raw="ratio", raw_type=raw_type)  # type: ignore[arg-type]
    assert counts(read(fake, indicator, buckets=5)) == expected


@pytest.mark.parametrize(
    ("op", "expected_good"),
    [("lt", [1, 0, 0, 0]), ("lte", [1, 1, 0, 0]), ("gt", [0, 0, 1, 1]), ("gte", [0, 1, 1, 1])],
    ids=["lt", "lte", "gt", "gte"],
)
def test_a_threshold_sample_is_good_when_it_meets_the_objective(
    op: str, expected_good: list[float]
) -> None:
    fake = FakePrometheus({"p99": by_bucket(0.2, 0.3, 0.4, "+Inf", "NaN", None)})
    indicator = Indicator(kind=IndicatorKind.THRESHOLD, threshold="p99")
    objective = Objective(name="fast", target=0.99, op=op, value=0.3)  # type: ignore[arg-type]
    buckets = read(fake, indicator, buckets=6, objective=objective)
    assert counts(buckets) == [(g, 1) for g in expected_good] + [(0, 0), (0, 0)]


def test_a_threshold_without_op_and_value_is_a_usage_error() -> None:
    fake = FakePrometheus({"p99": constant(0.1)})
    indicator = Indicator(kind=IndicatorKind.THRESHOLD, threshold="p99")
    with pytest.raises(UsageError, match="op and value"):
        read(fake, indicator, objective=Objective(name="ratio", target=0.99))
    with pytest.raises(UsageError, match="op and value"):
        read(fake, indicator)


def test_a_long_range_is_read_in_chunks_within_the_point_limit() -> None:
    total = 2 * MAX_POINTS + 5
    step = timedelta(minutes=1)
    base = START.timestamp()
    fake = FakePrometheus(
        {
            "sum(rate(good[1m]))": lambda t: (t - base) / 60,
            "sum(rate(all[1m]))": lambda t: 1e6,
        }
    )
    source = fake.source()
    buckets = source.buckets(good_total(), start=START, end=START + total * step, step=step)
    assert len(buckets) == total
    # Bucket i is read at START + (i + 1) minutes, so its good rate is i + 1.
    assert [b.good for b in buckets] == pytest.approx([(i + 1) * 60.0 for i in range(total)])
    assert [b.start for b in buckets[-2:]] == [
        START + (total - 2) * step,
        START + (total - 1) * step,
    ]
    good_requests = [r for r in fake.requests if r["query"] == "sum(rate(good[1m]))"]
    spans = [(float(r["start"]), float(r["end"])) for r in good_requests]
    assert spans == [
        (base + 60, base + MAX_POINTS * 60),
        (base + (MAX_POINTS + 1) * 60, base + 2 * MAX_POINTS * 60),
        (base + (2 * MAX_POINTS + 1) * 60, base + total * 60),
    ]


def test_a_range_that_is_not_a_multiple_of_the_step_ends_with_a_whole_bucket() -> None:
    fake = FakePrometheus({"sum(rate(good[5m]))": constant(1), "sum(rate(all[5m]))": constant(1)})
    buckets = fake.source().buckets(
        good_total(), start=START, end=START + 2 * STEP + timedelta(minutes=1), step=STEP
    )
    assert [b.start for b in buckets] == [START, START + STEP, START + 2 * STEP]
    assert fake.requests[0]["end"] == f"{(START + 3 * STEP).timestamp():.3f}"


def test_an_empty_range_reads_nothing() -> None:
    fake = FakePrometheus({})
    assert fake.source().buckets(good_total(), start=START, end=START, step=STEP) == []
    assert fake.requests == []


@pytest.mark.parametrize(
    ("start", "end", "step", "message"),
    [
        (START.replace(tzinfo=None), START + STEP, STEP, "timezone-aware"),
        (START, START - STEP, STEP, "ends"),
        (START, START + STEP, timedelta(0), "milliseconds"),
        (START, START + STEP, timedelta(microseconds=10), "milliseconds"),
    ],
    ids=["a naive start", "an end before the start", "a zero step", "a sub-millisecond step"],
)
def test_a_malformed_range_is_a_usage_error(
    start: datetime, end: datetime, step: timedelta, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        FakePrometheus({}).source().buckets(good_total(), start=start, end=end, step=step)


def test_a_query_returning_several_series_asks_for_an_aggregation() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        series = [
            {"metric": {"code": code, "service": "checkout-api"}, "values": [[1, "1"]]}
            for code in ("200", "201", "204", "404")
        ]
        return httpx.Response(200, json=_matrix(series))

    source = PrometheusSource(URL, client=httpx.Client(transport=httpx.MockTransport(answer)))
    indicator = good_total("rate(http_requests_total[5m])")
    with pytest.raises(UpstreamError) as caught:
        source.buckets(indicator, start=START, end=START + STEP, step=STEP)
    error = caught.value
    assert "'rate(http_requests_total[5m])' returned 4 series" in error.message
    assert '{code="200", service="checkout-api"}' in error.message
    assert error.hint is not None and "sum(" in error.hint
    assert not error.retryable


def failing(status: int, body: str | dict[str, object]) -> PrometheusSource:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, dict):
            return httpx.Response(status, json=body)
        return httpx.Response(status, text=body)

    return PrometheusSource(URL, client=httpx.Client(transport=httpx.MockTransport(answer)))


def test_a_rejected_query_carries_prometheus_s_message() -> None:
    message = 'parse error: unexpected "}" in label matching'
    source = failing(400, {"status": "error", "errorType": "bad_data", "error": message})
    with pytest.raises(UpstreamError) as caught:
        source.buckets(good_total("sum(rate(x}[5m]))"), start=START, end=START + STEP, step=STEP)
    assert caught.value.message == (
        f"Prometheus at {URL} rejected the query 'sum(rate(x}}[5m]))': {message}"
    )
    assert not caught.value.retryable


def test_an_execution_error_is_retryable_and_asks_whether_prometheus_runs() -> None:
    body = {"status": "error", "errorType": "timeout", "error": "query timed out in expression"}
    with pytest.raises(UpstreamError) as caught:
        failing(503, body).buckets(good_total(), start=START, end=START + STEP, step=STEP)
    assert "(timeout): query timed out in expression" in caught.value.message
    assert caught.value.hint is not None and f"is Prometheus at {URL} running" in caught.value.hint
    assert caught.value.retryable


def test_an_answer_that_is_not_the_api_names_the_status() -> None:
    with pytest.raises(UpstreamError, match="answered HTTP 502 without an API response"):
        failing(502, "<html>Bad Gateway</html>").buckets(
            good_total(), start=START, end=START + STEP, step=STEP
        )


def test_a_success_status_without_a_matrix_is_refused() -> None:
    body = {"status": "success", "data": {"resultType": "scalar", "result": [1, "1"]}}
    with pytest.raises(UpstreamError, match="scalar result, not a range"):
        failing(200, body).buckets(good_total(), start=START, end=START + STEP, step=STEP)


def test_an_unreachable_server_is_an_upstream_error_with_a_hint() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    source = PrometheusSource(URL, client=httpx.Client(transport=httpx.MockTransport(refuse)))
    with pytest.raises(UpstreamError) as caught:
        source.buckets(good_total(), start=START, end=START + STEP, step=STEP)
    assert "Connection refused" in caught.value.message
    assert "sum(rate(good[5m]))" in caught.value.message
    assert caught.value.hint == f"is Prometheus at {URL} running and reachable from here?"


def test_the_slo_s_data_source_url_wins_over_the_default() -> None:
    own = Indicator(kind=IndicatorKind.RAW, raw="r", source_url="http://slo-prom:9090/")
    assert prometheus_source_for(own, "http://default:9090").url == "http://slo-prom:9090"
    assert prometheus_source_for(good_total(), "http://default:9090").url == "http://default:9090"


def test_no_prometheus_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no Prometheus URL"):
        prometheus_source_for(good_total(), None)


def test_a_source_that_is_not_prometheus_is_a_usage_error() -> None:
    datadog = Indicator(kind=IndicatorKind.RAW, raw="r", source_type="Datadog")
    with pytest.raises(UsageError, match="'Datadog' source"):
        prometheus_source_for(datadog, "http://default:9090")
    lower = Indicator(kind=IndicatorKind.RAW, raw="r", source_type="prometheus")
    assert prometheus_source_for(lower, "http://p:9090").url == "http://p:9090"
