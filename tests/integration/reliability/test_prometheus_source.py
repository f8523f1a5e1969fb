"""The Prometheus SLI source against a real Prometheus: live scrapes, backfilled days, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from launchdeck.errors import UpstreamError
from launchdeck.reliability.model import Indicator, IndicatorKind, Objective
from launchdeck.reliability.sources import MAX_POINTS, PrometheusSource, prometheus_source_for
from prometheus_server import (
    Exporter,
    PrometheusServer,
    StartPrometheus,
    backfill,
    counter_samples,
    free_port,
    running_prometheus,
)
from random_refs import random_id

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
LOAD_SECONDS = 3.0


def floor(at: datetime, unit: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + (at - epoch) // unit * unit


def requests_of(service: str) -> Indicator:
    selector = f'http_requests_total{{service="{service}"'
    return Indicator(
        kind=IndicatorKind.GOOD_TOTAL,
        good=f'sum(rate({selector},code!~"5.."}}[{{{{.window}}}}]))',
        total=f"sum(rate({selector}}}[30d]))",
    )


def test_live_scraped_requests_are_counted_in_their_buckets(
    prometheus: PrometheusServer, prometheus_exporter: Exporter
) -> None:
    service = random_id("checkout-api")
    ok = prometheus_exporter.requests.labels(service=service, code="200")
    failed = prometheus_exporter.requests.labels(service=service, code="500")
    # Both series must be scraped at 0 before the first increment, or rate() misses it.
    created = prometheus.wait_for_scrape()
    step = timedelta(seconds=2)
    start = floor(created, step)

    served_ok = served_failed = 0
    began = time.monotonic()
    while time.monotonic() - began < LOAD_SECONDS:
        ok.inc()
        served_ok += 1
        if served_ok % 5 == 0:
            failed.inc()
            served_failed += 1
        time.sleep(0.01)
    load_s = time.monotonic() - began
    stopped = datetime.now(UTC)
    scrape = prometheus.scrape_interval
    end = floor(stopped + scrape, step) + 2 * step
    prometheus.wait_for_scrape(after=end + scrape)

    buckets = PrometheusSource(prometheus.url).buckets(
        requests_of(service), start=start, end=end, step=step
    )

    assert [b.start for b in buckets] == [start + i * step for i in range(len(buckets))]
    assert buckets[-1].start == end - step

    # rate() sees the increase between a window's first and last samples and extrapolates it
    # to the window's edges, each within one scrape interval s of a sample. Under steady load
    # that estimate is right to an increment or so per edge; where the load starts or stops
    # it can be off by at most the events of one extrapolated gap, 1.1 * r * s (rate r).
    def tolerance(served: int) -> float:
        rate = served / load_s
        return 2 * 1.1 * rate * scrape.total_seconds() + 2 * len(buckets)

    served = served_ok + served_failed
    assert sum(b.total for b in buckets) == pytest.approx(served, abs=tolerance(served))
    assert sum(b.good for b in buckets) == pytest.approx(served_ok, abs=tolerance(served_ok))
    assert sum(b.bad for b in buckets) == pytest.approx(served_failed, abs=tolerance(served_failed))
    # After the load, windows hold flat counters: nothing is invented.
    quiet = [b for b in buckets if b.start >= stopped + scrape]
    assert quiet
    assert [(b.good, b.total) for b in quiet] == [(0.0, 0.0)] * len(quiet)


# Backfilled history: 3 days at 1-minute resolution, ending now. 200s at 10/s; 500s at 0.5/s
# except in the outage hour, 1-2 hours ago, when they run at 6/s. Counters grow linearly
# between samples, so rate() over whole minutes is exact.
GOOD_PER_S = 10.0
BAD_PER_S = 0.5
OUTAGE_BAD_PER_S = 6.0
SLOW_S = 0.9
FAST_S = 0.1


def outage_of(hour: datetime) -> tuple[datetime, datetime]:
    """The outage of a history backfilled in the hour starting at `hour`."""
    return hour - 2 * HOUR, hour - HOUR


@dataclass(frozen=True)
class History:
    server: PrometheusServer
    hour: datetime
    """The start of the hour the history was written in: data runs up to it and a little past."""

    @property
    def outage(self) -> tuple[datetime, datetime]:
        return outage_of(self.hour)

    def source(self) -> PrometheusSource:
        return PrometheusSource(self.server.url)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    now = datetime.now(UTC)
    hour = floor(now, HOUR)
    first, last = hour - 73 * HOUR, floor(now, MINUTE)
    outage = outage_of(hour)

    def in_outage(sample_at: datetime) -> bool:
        """Whether the minute ending at `sample_at` lies in the outage."""
        return outage[0] < sample_at <= outage[1]

    def bad_rate(at: datetime) -> float:
        return OUTAGE_BAD_PER_S if in_outage(at) else BAD_PER_S

    latency = [
        (at.timestamp(), SLOW_S if in_outage(at) else FAST_S)
        for at in (first + i * MINUTE for i in range((last - first) // MINUTE + 1))
    ]
    workdir = tmp_path_factory.mktemp("prometheus-history")
    backfill(
        workdir / "data",
        {
            'http_requests_total{service="checkout-api",code="200"}': counter_samples(
                first, last, every=MINUTE, rate=lambda _at: GOOD_PER_S
            ),
            'http_requests_total{service="checkout-api",code="500"}': counter_samples(
                first, last, every=MINUTE, rate=bad_rate
            ),
            'http_request_duration_seconds{service="checkout-api"}': latency,
        },
    )
    with running_prometheus(workdir, data_dir=workdir / "data") as server:
        yield History(server, hour)


CHECKOUT = requests_of("checkout-api")


def test_backfilled_five_minute_buckets_are_exact(history: History) -> None:
    start = history.hour - 5 * HOUR
    step = timedelta(minutes=5)
    buckets = history.source().buckets(CHECKOUT, start=start, end=history.hour, step=step)

    assert len(buckets) == 60
    for bucket in buckets:
        bad_per_s = (
            OUTAGE_BAD_PER_S if history.outage[0] <= bucket.start < history.outage[1] else BAD_PER_S
        )
        assert bucket.good == pytest.approx(GOOD_PER_S * 300, rel=1e-9)
        assert bucket.total == pytest.approx((GOOD_PER_S + bad_per_s) * 300, rel=1e-9)
    assert sum(b.bad for b in buckets) == pytest.approx(12 * 1800 + 48 * 150, rel=1e-9)


def test_backfilled_hour_buckets_over_three_days_find_the_outage_hour(history: History) -> None:
    start = history.hour - 72 * HOUR
    bad_total = Indicator(
        kind=IndicatorKind.BAD_TOTAL,
        bad='sum(rate(http_requests_total{service="checkout-api",code=~"5.."}[5m]))',
        total='sum(rate(http_requests_total{service="checkout-api"}[5m]))',
    )
    buckets = history.source().buckets(bad_total, start=start, end=history.hour, step=HOUR)

    assert len(buckets) == 72
    worst = max(buckets, key=lambda b: b.bad)
    assert worst.start == history.outage[0]
    assert (worst.good, worst.total) == pytest.approx((36_000, 57_600), rel=1e-9)
    others = [b for b in buckets if b is not worst]
    assert [(b.good, b.total) for b in others] == [pytest.approx((36_000, 37_800), rel=1e-9)] * 71


def test_a_raw_failure_ratio_reads_one_sample_per_hour(history: History) -> None:
    selector = 'http_requests_total{service="checkout-api"'
    ratio = Indicator(
        kind=IndicatorKind.RAW,
        raw_type="failure",
        raw=f'sum(rate({selector},code="500"}}[{{{{ .window }}}}]))'
        f" / sum(rate({selector}}}[{{{{ .window }}}}]))",
    )
    buckets = history.source().buckets(
        ratio, start=history.hour - 3 * HOUR, end=history.hour, step=HOUR
    )
    assert [(b.good, b.total) for b in buckets] == [
        pytest.approx((1 - 0.5 / 10.5, 1), rel=1e-9),
        pytest.approx((1 - 6 / 16, 1), rel=1e-9),
        pytest.approx((1 - 0.5 / 10.5, 1), rel=1e-9),
    ]


def test_a_threshold_over_two_days_is_read_in_chunks(history: History) -> None:
    step = timedelta(seconds=10)
    start = history.hour - 48 * HOUR
    latency = Indicator(
        kind=IndicatorKind.THRESHOLD,
        threshold='max(http_request_duration_seconds{service="checkout-api"})',
    )
    fast = Objective(name="fast", target=0.99, op="lte", value=0.3)
    buckets = history.source().buckets(
        latency, start=start, end=history.hour, step=step, objective=fast
    )

    assert len(buckets) == 17_280 > MAX_POINTS
    assert all(b.total == 1 for b in buckets)
    # A step reads the latest sample at its end. The slow samples are those of 06:01 … 07:00
    # (for an outage from 06:00), each read by the 6 steps ending in [sample, sample + 1m).
    slow = [b for b in buckets if b.good == 0]
    assert len(slow) == 360
    assert slow[0].start == history.outage[0] + MINUTE - step
    assert slow[-1].start == history.outage[1] + MINUTE - 2 * step


def test_the_range_before_any_data_holds_no_events(history: History) -> None:
    start = history.hour - 100 * HOUR
    buckets = history.source().buckets(CHECKOUT, start=start, end=start + 3 * HOUR, step=HOUR)
    assert [(b.good, b.total) for b in buckets] == [(0.0, 0.0)] * 3


def test_several_series_ask_for_an_aggregation(history: History) -> None:
    per_code = Indicator(
        kind=IndicatorKind.GOOD_TOTAL,
        good='sum(rate(http_requests_total{code="200"}[5m]))',
        total='rate(http_requests_total{service="checkout-api"}[5m])',
    )
    with pytest.raises(UpstreamError, match="returned 2 series") as caught:
        history.source().buckets(per_code, start=history.hour - HOUR, end=history.hour, step=HOUR)
    assert caught.value.hint is not None and "sum(" in caught.value.hint


def test_bad_promql_carries_prometheus_s_message(history: History) -> None:
    broken = Indicator(
        kind=IndicatorKind.GOOD_TOTAL,
        good='sum(rate(http_requests_total{code="200"[5m]))',
        total="sum(rate(http_requests_total[5m]))",
    )
    with pytest.raises(UpstreamError) as caught:
        history.source().buckets(broken, start=history.hour - HOUR, end=history.hour, step=HOUR)
    error = caught.value
    assert error.message.startswith(
        f"Prometheus at {history.server.url} rejected the query "
        """'sum(rate(http_requests_total{code="200"[1h]))': """
    )
    assert "parse error" in error.message
    assert not error.retryable


def test_a_prometheus_that_is_down_is_an_upstream_error_with_a_hint() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    start = datetime.now(UTC) - HOUR
    with pytest.raises(UpstreamError) as caught:
        PrometheusSource(url, timeout_s=2).buckets(
            CHECKOUT, start=start, end=start + HOUR, step=HOUR
        )
    assert f"could not reach Prometheus at {url}" in caught.value.message
    assert caught.value.hint == f"is Prometheus at {url} running and reachable from here?"
    assert caught.value.retryable


def test_the_slo_s_own_data_source_is_read_instead_of_the_default(
    history: History, start_prometheus: StartPrometheus
) -> None:
    hour = history.hour
    elsewhere = start_prometheus(
        history={
            'http_requests_total{service="checkout-api",code="200"}': counter_samples(
                hour - 2 * HOUR, hour, every=MINUTE, rate=lambda _at: 1.0
            )
        }
    )
    own = replace(CHECKOUT, source_url=elsewhere.url)

    source = prometheus_source_for(own, default_url=history.server.url)
    buckets = source.buckets(own, start=hour - HOUR, end=hour, step=HOUR)

    assert source.url == elsewhere.url
    assert [(b.good, b.total) for b in buckets] == [pytest.approx((3600, 3600), rel=1e-9)]
