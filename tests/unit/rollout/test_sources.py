"""Prometheus and web metric sources on a test transport: what is asked, and what answers mean.

The real servers are in tests/integration/rollout/test_metric_sources.py; here each answer
shape (empty, several series, an error, a secret header) is pinned without a network."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from launchdeck.rollout.judge import Counts
from launchdeck.rollout.sources import Reading, SourceContext, read_readings
from launchdeck.rollout.strategy import StrategySpec, parse_strategy

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
CONTEXT = SourceContext(
    system="landing-pages",
    environment="production",
    at=AT,
    interval=timedelta(minutes=1),
    prometheus_url="http://prometheus.test:9090/",
    environ={"STATS_TOKEN": "Bearer s3cr3t-token"},
    since=AT - timedelta(minutes=15),
)
STRATEGY = parse_strategy(
    "strategy: canary\n"
    "steps: [{set_weight: 10}]\n"
    "metrics:\n"
    "  - {name: p99, kind: threshold, source: prometheus, threshold_range: {max: 0.5},\n"
    '     query: \'p99{system="{{system}}",env="{{environment}}",v="{{variant}}"}'
    "[{{interval}}]'}\n"
    "  - {name: errors, kind: error_rate, source: prometheus, address: 'http://other.test',\n"
    "     total_query: 'sum(increase(t{v=\"{{variant}}\"}[{{elapsed}}]))',\n"
    "     count_query: 'sum(increase(c{v=\"{{variant}}\"}[{{elapsed}}]))'}\n"
    "  - {name: bounce, kind: threshold, source: web, threshold_range: {max: 0.4},\n"
    "     url: 'https://stats.test/bounce?system={{system}}',\n"
    "     headers: {Authorization: {env: STATS_TOKEN}}, json_path: '$.data[0].rate'}\n"
    "  - {name: orders, kind: conversion_rate, source: web,\n"
    "     url: 'https://stats.test/orders/{{variant}}',\n"
    "     total_json_path: $.visitors, count_json_path: $.orders}\n",
    source="s.yaml",
)

Handler = Callable[[httpx.Request], httpx.Response]


def read(handler: Handler, *metrics: str, strategy: StrategySpec = STRATEGY) -> dict[str, Reading]:
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return read_readings(strategy, metrics, context=CONTEXT, client=client)


def vector(*values: str) -> httpx.Response:
    result = [{"metric": {"i": str(i)}, "value": [AT.timestamp(), v]} for i, v in enumerate(values)]
    return httpx.Response(
        200, json={"status": "success", "data": {"resultType": "vector", "result": result}}
    )


def test_a_threshold_query_is_filled_for_the_canary_and_evaluated_at_the_measurement() -> None:
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return vector("0.42")

    readings = read(answer, "p99")

    assert readings == {"p99": Reading({"canary": 0.42})}
    (request,) = asked
    assert request.url.copy_with(query=None) == "http://prometheus.test:9090/api/v1/query"
    assert request.url.params["query"] == (
        'p99{system="landing-pages",env="production",v="canary"}[60s]'
    )
    assert request.url.params["time"] == f"{AT.timestamp():.3f}"


def test_a_rate_reads_total_and_count_per_variant_since_the_canary_started() -> None:
    counts = {
        'sum(increase(t{v="canary"}[900s]))': "1000.4",
        'sum(increase(c{v="canary"}[900s]))': "30.6",
        'sum(increase(t{v="stable"}[900s]))': "9000",
    }
    hosts: set[str] = set()

    def answer(request: httpx.Request) -> httpx.Response:
        hosts.add(request.url.host)
        query = request.url.params["query"]
        return vector(counts[query]) if query in counts else vector()

    readings = read(answer, "errors")

    # No stable 5xx series at all: `sum` over nothing is empty, which is no event.
    assert readings == {"errors": Reading({"canary": Counts(1000, 31), "stable": Counts(9000, 0)})}
    assert hosts == {"other.test"}


def test_an_empty_total_is_no_data_and_the_count_is_not_asked() -> None:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["query"])
        return vector()

    assert read(answer, "errors") == {"errors": Reading({"canary": None, "stable": None})}
    assert len(asked) == 2


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (vector("1", "2"), "gave 2 series, not one number: aggregate it"),
        (
            httpx.Response(
                400,
                json={"status": "error", "errorType": "bad_data", "error": "parse error at char 4"},
            ),
            "failed to run 'p99{",
        ),
        (httpx.Response(502, text="<html>Bad gateway</html>"), "answered HTTP 502"),
        (
            httpx.Response(
                200, json={"status": "success", "data": {"resultType": "matrix", "result": []}}
            ),
            "gave a matrix result, not one number",
        ),
        (vector("not a number"), "is 'not a number', not a number"),
    ],
    ids=["several series", "a bad query", "a proxy's page", "a range vector", "a string"],
)
def test_prometheus_answers_that_are_not_one_number_are_errors(
    response: httpx.Response, error: str
) -> None:
    (reading,) = read(lambda _request: response, "p99").values()

    assert reading.values == {}
    assert error in (reading.error or "")


def test_nan_is_no_data_and_an_unreachable_prometheus_an_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert read(lambda _r: vector("NaN"), "p99") == {"p99": Reading({"canary": None})}
    (reading,) = read(refuse, "p99").values()
    assert reading.error == (
        "could not reach Prometheus at http://prometheus.test:9090: connection refused"
    )


def test_a_web_threshold_sends_the_secret_header_and_reads_the_path() -> None:
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json={"data": [{"rate": "0.25"}]})

    assert read(answer, "bounce") == {"bounce": Reading({"canary": 0.25})}
    (request,) = asked
    assert str(request.url) == "https://stats.test/bounce?system=landing-pages"
    assert request.headers["Authorization"] == "Bearer s3cr3t-token"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"data": [{"rate": None}]}, Reading({"canary": None})),
        ({"data": []}, Reading({"canary": None})),
        ({"data": [{"rate": 1}]}, Reading({"canary": 1.0})),
        ({"data": [{"ratio": 0.1}]}, Reading(error="$.data[0].rate: no key 'rate' in $.data[0]")),
        ({"data": [{"rate": "high"}]}, Reading(error="$.data[0].rate is 'high', not a number")),
        ({"data": [{"rate": True}]}, Reading(error="$.data[0].rate is True, not a number")),
        ({"data": [{"rate": [1]}]}, Reading(error="$.data[0].rate is list, not a number")),
        ({"data": {"rate": 1}}, Reading(error="$.data[0].rate: $.data is not a list")),
    ],
    ids=[
        "null is no data",
        "an index past the end is no data",
        "an integer",
        "a missing key is an error",
        "text",
        "a boolean",
        "a list",
        "an object where a list was expected",
    ],
)
def test_what_a_json_path_finds(document: object, expected: Reading) -> None:
    assert read(lambda _r: httpx.Response(200, json=document), "bounce") == {"bounce": expected}


def test_web_errors_name_the_url_and_never_the_secret() -> None:
    def forbidden(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text=f"bad token {request.headers['Authorization']}")

    def quoting(request: httpx.Request) -> httpx.Response:  # as h11 does for a bad character
        raise httpx.LocalProtocolError(f"Illegal header value {request.headers['Authorization']!r}")

    (refused,) = read(forbidden, "bounce").values()
    (broken,) = read(quoting, "bounce").values()

    assert refused.error == "https://stats.test/bounce?system=landing-pages answered HTTP 403"
    assert broken.error == (
        "could not reach https://stats.test/bounce?system=landing-pages: "
        "LocalProtocolError: Illegal header value '[redacted]'"
    )


def test_a_secret_that_is_not_set_is_an_error_naming_the_variable() -> None:
    context = SourceContext(
        system="landing-pages",
        environment="production",
        at=AT,
        interval=timedelta(minutes=1),
        prometheus_url="http://prometheus.test:9090",
        environ={},
    )
    with httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(200))) as client:
        readings = read_readings(STRATEGY, ["bounce"], context=context, client=client)

    assert readings == {
        "bounce": Reading(error="header Authorization: environment variable STATS_TOKEN is not set")
    }


def test_a_web_rate_reads_each_variants_document() -> None:
    documents = {
        "/orders/canary": {"visitors": 400, "orders": 4},
        "/orders/stable": {"visitors": "3600", "orders": "216"},
    }

    readings = read(lambda r: httpx.Response(200, json=documents[r.url.path]), "orders")

    assert readings == {"orders": Reading({"canary": Counts(400, 4), "stable": Counts(3600, 216)})}


def test_an_answer_that_is_not_json_is_an_error() -> None:
    (reading,) = read(lambda _r: httpx.Response(200, text="<html>"), "orders").values()

    assert reading.error == "https://stats.test/orders/canary did not answer JSON"


def test_only_metrics_read_elsewhere_are_read_and_each_once() -> None:
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, content=json.dumps({"data": [{"rate": 0.1}]}))

    readings = read(answer, "error_rate", "bounce", "latency", "bounce")

    assert list(readings) == ["bounce"]
    assert paths == ["/bounce"]
