"""Metric sources against real servers: Prometheus (Debian's, history backfilled) and a JSON
endpoint on loopback, read by `read_readings` and judged by `measure`.

Half an hour of a canary's history is written before Prometheus starts, a sample a minute;
each scenario is its own `system` (the `{{system}}` placeholder picks its series):

- `bad-canary`: the canary answers 5xx to 1 request in 6, stable to 1 in 100;
- `good-canary`: both answer 5xx to 1 request in 100.

The measurement is taken at the end of that half hour, over `[{{elapsed}}]` since the canary
started, so Prometheus counts exactly what was written. Web metrics read a JSON endpoint the
test serves on loopback.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from launchdeck.rollout.analysis import AnalysisRun, Measurement, RunPhase
from launchdeck.rollout.judge import Verdict
from launchdeck.rollout.measure import measure
from launchdeck.rollout.sources import SourceContext, read_readings
from launchdeck.rollout.strategy import AnalysisSpec, StrategySpec, parse_strategy
from prometheus_server import (
    PrometheusServer,
    backfill,
    counter_samples,
    free_port,
    running_prometheus,
)

MINUTE = timedelta(minutes=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RATES = {  # system -> variant -> (200s, 5xx) per second
    "bad-canary": {"canary": (5.0, 1.0), "stable": (44.55, 0.45)},
    "good-canary": {"canary": (4.95, 0.05), "stable": (44.55, 0.45)},
}
TOKEN = "Bearer s3cr3t-stats-token"
SELECT = 'http_requests_total{system="{{system}}",variant="{{variant}}"'
RATIO = (
    f'sum(rate({SELECT},code=~"5.."}}[{{{{interval}}}}])) / sum(rate({SELECT}}}[{{{{interval}}}}]))'
)


def strategy_for(stats: str = "http://127.0.0.1:9") -> StrategySpec:
    """Prometheus metrics, and web metrics at the `stats` base URL."""
    return parse_strategy(
        "strategy: canary\n"
        "steps: [{set_weight: 10}]\n"
        "metrics:\n"
        "  - name: http_errors\n"
        "    kind: error_rate\n"
        "    source: prometheus\n"
        f"    total_query: 'sum(increase({SELECT}}}[{{{{elapsed}}}}]))'\n"
        f"    count_query: 'sum(increase({SELECT},code=~\"5..\"}}[{{{{elapsed}}}}]))'\n"
        "  - name: error_ratio\n"
        "    kind: threshold\n"
        "    source: prometheus\n"
        f"    query: '{RATIO}'\n"
        "    threshold_range: {max: 0.05}\n"
        "  - name: strict_ratio\n"
        "    kind: threshold\n"
        "    source: prometheus\n"
        f"    query: '{RATIO}'\n"
        "    threshold_range: {max: 0.05}\n"
        "    no_data: fail\n"
        "  - name: bounce\n"
        "    kind: threshold\n"
        "    source: web\n"
        f"    url: '{stats}/bounce/{{{{system}}}}'\n"
        "    headers: {Authorization: {env: STATS_TOKEN}}\n"
        "    json_path: $.data.rates[0].value\n"
        "    threshold_range: {max: 0.4}\n"
        "  - name: orders\n"
        "    kind: conversion_rate\n"
        "    source: web\n"
        f"    url: '{stats}/orders/{{{{system}}}}/{{{{variant}}}}'\n"
        "    total_json_path: $.visitors\n"
        "    count_json_path: $.orders\n",
        source="landing.yaml",
    )


@dataclass(frozen=True)
class History:
    server: PrometheusServer
    since: datetime
    """When the canary started: the first sample, every counter at 0."""
    at: datetime
    """The measurement: the last sample."""


def steady(per_s: float) -> Callable[[datetime], float]:
    return lambda _at: per_s


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    at = EPOCH + (datetime.now(UTC) - EPOCH) // MINUTE * MINUTE - 10 * MINUTE
    since = at - 30 * MINUTE
    series = {
        f'http_requests_total{{system="{system}",variant="{variant}",code="{code}"}}': (
            counter_samples(since, at, every=MINUTE, rate=steady(rate))
        )
        for system, variants in RATES.items()
        for variant, (ok, failed) in variants.items()
        for code, rate in (("200", ok), ("500", failed))
    }
    workdir = tmp_path_factory.mktemp("prometheus-rollout")
    backfill(workdir / "data", series)
    with running_prometheus(workdir, data_dir=workdir / "data") as server:
        yield History(server, since, at)


def measured(
    history: History,
    system: str,
    metrics: list[str],
    *,
    address: str | None = None,
    stats: str = "http://127.0.0.1:9",
) -> Measurement:
    """One measurement of `metrics` for `system`, read as the controller will read it."""
    strategy = strategy_for(stats)
    context = SourceContext(
        system=system,
        environment="production",
        at=history.at,
        interval=5 * MINUTE,
        prometheus_url=address or history.server.url,
        environ={"STATS_TOKEN": TOKEN},
        since=history.since,
    )
    with httpx.Client(timeout=5) as client:
        readings = read_readings(strategy, metrics, context=context, client=client)
    return measure(strategy, metrics, {}, history.at, readings=readings)


def test_a_canary_with_more_5xx_in_prometheus_fails(history: History) -> None:
    measurement = measured(history, "bad-canary", ["http_errors", "error_ratio"])

    errors, ratio = measurement.results
    assert measurement.verdict is Verdict.FAIL
    assert errors.verdict is Verdict.FAIL
    assert (errors.numbers["canary_units"], errors.numbers["canary_events"]) == (10_800, 1_800)
    assert (errors.numbers["baseline_units"], errors.numbers["baseline_events"]) == (81_000, 810)
    assert "higher than the baseline's" in errors.reason
    assert ratio.verdict is Verdict.FAIL
    assert ratio.numbers["value"] == pytest.approx(1 / 6)
    assert ratio.reason == "0.1667 is above 0.05"


def test_a_canary_erring_like_stable_passes(history: History) -> None:
    measurement = measured(history, "good-canary", ["http_errors", "error_ratio"])

    assert [(r.name, r.verdict) for r in measurement.results] == [
        ("http_errors", Verdict.PASS),
        ("error_ratio", Verdict.PASS),
    ]
    assert measurement.results[1].numbers["value"] == pytest.approx(0.01)


def test_an_empty_vector_is_no_data_under_the_metrics_policy(history: History) -> None:
    measurement = measured(history, "no-such-system", ["http_errors", "strict_ratio"])

    errors, strict = measurement.results
    assert measurement.error is None
    # http_errors: the default policy, inconclusive, waits for traffic (the step extends).
    assert (errors.verdict, errors.waiting) == (Verdict.INCONCLUSIVE, True)
    assert errors.reason.startswith("no units on the canary or the baseline")
    # strict_ratio: no_data: fail counts as a failed measurement.
    assert strict.verdict is Verdict.NO_DATA
    assert strict.reason == "the query returned no value (no-data policy: fail)"


def test_a_prometheus_that_is_down_is_a_measurement_error_until_the_limit(
    history: History,
) -> None:
    down = f"http://127.0.0.1:{free_port()}"

    measurement = measured(history, "bad-canary", ["http_errors"], address=down)

    assert measurement.verdict is None
    assert (measurement.error or "").startswith(
        f"http_errors: could not reach Prometheus at {down}: "
    )
    run = AnalysisRun(AnalysisSpec(consecutive_error_limit=2), history.since, count=5)
    for minute in range(3):
        run = run.record(replace(measurement, at=history.since + minute * MINUTE))
    assert run.phase is RunPhase.ERROR
    assert "3 measurements in a row could not be taken" in run.reason()


def test_a_query_prometheus_refuses_is_a_measurement_error(history: History) -> None:
    broken = parse_strategy(
        "strategy: canary\nsteps: [{set_weight: 10}]\nmetrics:\n"
        "  - {name: broken, kind: threshold, source: prometheus, query: 'sum(rate(x[5m]',\n"
        "     threshold_range: {max: 1}}\n",
        source="broken.yaml",
    )
    context = SourceContext(
        system="bad-canary",
        environment="production",
        at=history.at,
        interval=MINUTE,
        prometheus_url=history.server.url,
        environ={},
    )
    with httpx.Client(timeout=5) as client:
        readings = read_readings(broken, ["broken"], context=context, client=client)

    measurement = measure(broken, ["broken"], {}, history.at, readings=readings)

    assert (measurement.error or "").startswith(
        f"broken: Prometheus at {history.server.url} failed to run 'sum(rate(x[5m]' (bad_data): "
    )


# ---------------------------------------------------------------------------------------- web


@dataclass
class Stats:
    """A JSON endpoint on loopback: path -> (status, document), and the headers it was sent."""

    base: str
    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)
    seen: list[Mapping[str, str]] = field(default_factory=list)


@contextmanager
def stats_server() -> Iterator[Stats]:
    stats: Stats

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stats.seen.append(dict(self.headers.items()))
            status, document = stats.answers.get(self.path, (404, {"error": "not found"}))
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: a test reads what it needs from the handler, not from stderr."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stats = Stats(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield stats
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def stats() -> Iterator[Stats]:
    with stats_server() as server:
        yield server


def on_web(history: History, stats: Stats, system: str, metrics: list[str]) -> Measurement:
    return measured(history, system, metrics, stats=stats.base)


def bounce(value: object) -> tuple[int, object]:
    return 200, {"data": {"rates": [{"value": value}]}}


def test_a_web_threshold_out_of_range_fails_and_the_secret_is_sent(
    history: History, stats: Stats
) -> None:
    stats.answers["/bounce/landing"] = bounce(0.62)

    measurement = on_web(history, stats, "landing", ["bounce"])

    (result,) = measurement.results
    assert (result.verdict, result.reason) == (Verdict.FAIL, "0.62 is above 0.4")
    assert [seen["Authorization"] for seen in stats.seen] == [TOKEN]


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (bounce(0.2), Verdict.PASS),
        (bounce("0.2"), Verdict.PASS),
        (bounce(None), Verdict.INCONCLUSIVE),
    ],
    ids=["a number in range", "a quoted number", "null is no data"],
)
def test_a_web_threshold_reads_the_number_at_its_path(
    history: History, stats: Stats, answer: tuple[int, object], verdict: Verdict
) -> None:
    stats.answers["/bounce/landing"] = answer

    assert on_web(history, stats, "landing", ["bounce"]).verdict is verdict


@pytest.mark.parametrize(
    ("canary", "verdict"),
    [
        ({"visitors": 4_000, "orders": 40}, Verdict.FAIL),
        ({"visitors": 4_000, "orders": 240}, Verdict.PASS),
    ],
    ids=["conversion fell from 6 % to 1 %", "conversion held at 6 %"],
)
def test_a_web_conversion_rate_compares_the_variants_documents(
    history: History, stats: Stats, canary: dict[str, int], verdict: Verdict
) -> None:
    stats.answers["/orders/landing/canary"] = (200, canary)
    stats.answers["/orders/landing/stable"] = (200, {"visitors": 36_000, "orders": 2_160})

    (result,) = on_web(history, stats, "landing", ["orders"]).results

    assert result.verdict is verdict
    assert result.numbers["canary_rate"] == pytest.approx(canary["orders"] / 4_000)


def test_a_web_source_that_errs_or_is_down_is_a_measurement_error(
    history: History, stats: Stats
) -> None:
    stats.answers["/bounce/landing"] = (503, {"error": "warming up"})

    failing = on_web(history, stats, "landing", ["bounce"])
    down = measured(history, "landing", ["bounce"], stats=f"http://127.0.0.1:{free_port()}")

    assert failing.error == f"bounce: {stats.base}/bounce/landing answered HTTP 503"
    assert (down.error or "").startswith("bounce: could not reach http://127.0.0.1:")
    assert TOKEN not in (down.error or "")


def test_metrics_of_both_sources_and_the_access_log_in_one_measurement(
    history: History, stats: Stats
) -> None:
    stats.answers["/bounce/bad-canary"] = bounce(0.1)

    measurement = on_web(history, stats, "bad-canary", ["bounce", "error_ratio", "error_rate"])

    assert [(r.name, r.verdict) for r in measurement.results] == [
        ("bounce", Verdict.PASS),
        ("error_ratio", Verdict.FAIL),
        ("error_rate", Verdict.INCONCLUSIVE),  # no access-log traffic here: it waits for some
    ]
    assert measurement.verdict is Verdict.FAIL
