"""A real Prometheus for the tests: the /usr/bin/prometheus binary on a free port, its own data.

    with Exporter() as exporter, running_prometheus(tmp_path, targets=[exporter.address]) as prom:
        exporter.requests.labels(service="checkout-api", code="200").inc()
        prom.wait_for_scrape()

History that would take days to scrape is written as TSDB blocks before the server starts:

    backfill(tmp_path / "data", {'http_requests_total{code="200"}': counter_samples(...)})
    with running_prometheus(tmp_path, data_dir=tmp_path / "data") as prom: ...

Missing binaries fail the test with the command that installs them; they never skip it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from process_server import free_port, log_tail, running

__all__ = [
    "Exporter",
    "PrometheusServer",
    "Samples",
    "StartPrometheus",
    "backfill",
    "counter_samples",
    "free_port",
    "prometheus_binaries",
    "running_prometheus",
]

Samples = Sequence[tuple[float, float]]
"""(unix seconds, value) pairs, oldest first."""

StartPrometheus = Callable[..., "PrometheusServer"]
"""The `start_prometheus` fixture: (history=, targets=, rule_files=, scrape_interval=) -> server."""

_SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?$")


def prometheus_binaries() -> tuple[str, str]:
    """Paths of `prometheus` and `promtool`; fails the test (never skips) when one is missing."""
    found = [shutil.which(name) or f"/usr/bin/{name}" for name in ("prometheus", "promtool")]
    missing = [path for path in found if not Path(path).is_file()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: these tests run a real Prometheus. "
            "Run 'make test', or 'bash scripts/ensure-services.sh', which installs it"
        )
    return found[0], found[1]


class Exporter:
    """A /metrics endpoint on a free loopback port, serving counters the test increments.

    `requests` is `http_requests_total{service, code}`, `latency` a gauge
    `http_request_duration_seconds{service}`. Create a label set (`.labels(...)`) before the
    scrape that should see it at 0, or rate() cannot count its first increments.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "Requests served, by service and status code.",
            ["service", "code"],
            registry=self.registry,
        )
        self.latency = Gauge(
            "http_request_duration_seconds",
            "Latest request latency, by service.",
            ["service"],
            registry=self.registry,
        )
        self._server, self._thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.address = f"127.0.0.1:{self._server.server_port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Exporter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass
class PrometheusServer:
    """A running Prometheus: its base `url`, files, and waits the tests need."""

    url: str
    workdir: Path
    data_dir: Path
    config_file: Path
    log_file: Path
    scrape_interval: timedelta

    def query(self, promql: str, *, at: datetime | None = None) -> list[dict[str, Any]]:
        """The instant query's `data.result` (fails the test on an error answer)."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        response = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            pytest.fail(f"Prometheus query {promql!r} failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for_scrape(
        self, *, after: datetime | None = None, timeout_s: float = 15.0
    ) -> datetime:
        """Wait until every target has been scraped at or after `after` (default: now).

        Returns the time of the oldest target's latest scrape: data up to then is queryable.
        A new server first scrapes about 5 s after it starts (Prometheus hands discovered
        targets to the scraper every 5 s), so share servers that scrape where you can.
        """
        after = after or datetime.now(UTC)
        deadline = time.monotonic() + timeout_s
        while True:
            targets = httpx.get(f"{self.url}/api/v1/targets", timeout=10).json()["data"]
            active = targets["activeTargets"]
            scraped = [
                datetime.fromisoformat(t["lastScrape"].replace("Z", "+00:00"))
                for t in active
                if t["health"] == "up"
            ]
            if active and len(scraped) == len(active) and min(scraped) >= after:
                return min(scraped)
            if time.monotonic() > deadline:
                pytest.fail(f"Prometheus did not scrape {active} after {after}:\n{self.log_tail()}")
            time.sleep(0.05)

    def reload(self) -> None:
        """Re-read the config and rule files (POST /-/reload); fails the test on a refusal."""
        response = httpx.post(f"{self.url}/-/reload", timeout=10)
        if response.status_code != 200:
            pytest.fail(f"Prometheus refused to reload: {response.text}\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        return log_tail(self.log_file, lines)


@contextmanager
def running_prometheus(
    workdir: Path,
    *,
    targets: Sequence[str] = (),
    rule_files: Sequence[Path] = (),
    data_dir: Path | None = None,
    scrape_interval: timedelta = timedelta(seconds=1),
    alertmanagers: Sequence[str] = (),
) -> Iterator[PrometheusServer]:
    """Start Prometheus in `workdir`, scraping `targets` (host:port) and loading `rule_files`.

    `data_dir` may hold blocks written by `backfill`; it is the TSDB path (default workdir/data).
    Firing alerts go to `alertmanagers` (host:port), if any.
    Stops the server (terminate, then kill) on exit.
    """
    prometheus, _ = prometheus_binaries()
    workdir.mkdir(parents=True, exist_ok=True)
    data_dir = data_dir or workdir / "data"
    interval = f"{int(scrape_interval.total_seconds() * 1000)}ms"
    config_file = workdir / "prometheus.yml"
    config_file.write_text(_config(targets, rule_files, interval, alertmanagers))
    log_file = workdir / "prometheus.log"
    argv = [
        prometheus,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={data_dir}",
        # Backfilled history must outlive the default 15 days.
        "--storage.tsdb.retention.time=10y",
        "--web.enable-lifecycle",
    ]

    def server(port: int) -> PrometheusServer:
        return PrometheusServer(
            url=f"http://127.0.0.1:{port}",
            workdir=workdir,
            data_dir=data_dir,
            config_file=config_file,
            log_file=log_file,
            scrape_interval=scrape_interval,
        )

    with running("Prometheus", argv, workdir=workdir, log_file=log_file, server=server) as started:
        if targets:
            started.wait_for_scrape(after=datetime.fromtimestamp(0, UTC))
        yield started


def backfill(data_dir: Path, series: Mapping[str, Samples]) -> None:
    """Write `series` as TSDB blocks in `data_dir` with `promtool tsdb create-blocks-from`.

    Keys are series as PromQL writes them (`http_requests_total{code="500"}`); a name ending in
    `_total` is a counter, any other a gauge. Call it before the server on `data_dir` starts:
    Prometheus loads blocks at startup, and its empty head then begins after the newest sample.
    """
    _, promtool = prometheus_binaries()
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / f"{data_dir.name}-backfill.om"
    source.write_text(_openmetrics(series))
    result = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"promtool could not backfill {source}:\n{result.stdout}\n{result.stderr}")


def counter_samples(
    start: datetime, end: datetime, *, every: timedelta, rate: Callable[[datetime], float]
) -> list[tuple[float, float]]:
    """A counter sampled every `every` in [start, end], from 0 at `start`.

    `rate(t)` is the events per second during (t - every, t]: the counter grows linearly
    between samples, which is what lets rate() count each interval exactly.
    """
    samples = [(start.timestamp(), 0.0)]
    value = 0.0
    at = start + every
    while at <= end:
        value += rate(at) * every.total_seconds()
        samples.append((at.timestamp(), value))
        at += every
    return samples


@contextmanager
def checkout_traffic(
    workdir: Path,
    *,
    start: datetime,
    end: datetime,
    good_per_s: float,
    bad_per_s: Callable[[datetime], float],
    bad_code: str = "500",
) -> Iterator[PrometheusServer]:
    """A Prometheus serving checkout-api's `http_requests_total` (the example SLO's queries):
    200s at `good_per_s` and `bad_code`s at `bad_per_s(t)`, a sample a minute over [start, end]."""
    backfill(
        workdir / "data",
        {
            'http_requests_total{service="checkout-api",code="200"}': counter_samples(
                start, end, every=timedelta(minutes=1), rate=lambda _at: good_per_s
            ),
            f'http_requests_total{{service="checkout-api",code="{bad_code}"}}': counter_samples(
                start, end, every=timedelta(minutes=1), rate=bad_per_s
            ),
        },
    )
    with running_prometheus(workdir, data_dir=workdir / "data") as server:
        yield server


def _openmetrics(series: Mapping[str, Samples]) -> str:
    families: dict[str, list[str]] = {}
    for key, samples in series.items():
        match = _SERIES.match(key)
        if match is None:
            raise ValueError(f"not a series: {key!r}")
        name = match.group(1)
        family = name.removesuffix("_total")
        kind = "counter" if family != name else "gauge"
        lines = families.setdefault(family, [f"# TYPE {family} {kind}"])
        lines.extend(f"{key} {value!r} {ts:.3f}" for ts, value in samples)
    return "\n".join(line for lines in families.values() for line in lines) + "\n# EOF\n"


def _config(
    targets: Sequence[str],
    rule_files: Sequence[Path],
    interval: str,
    alertmanagers: Sequence[str] = (),
) -> str:
    lines = [
        "global:",
        f"  scrape_interval: {interval}",
        f"  scrape_timeout: {interval}",
        f"  evaluation_interval: {interval}",
    ]
    if rule_files:
        lines.append("rule_files:")
        lines.extend(f"  - {str(path)!r}" for path in rule_files)
    if targets:
        lines += ["scrape_configs:", "  - job_name: exporter", "    static_configs:"]
        lines.append(f"      - targets: [{', '.join(repr(t) for t in targets)}]")
    if alertmanagers:
        lines += ["alerting:", "  alertmanagers:", "    - static_configs:"]
        lines.append(f"        - targets: [{', '.join(repr(t) for t in alertmanagers)}]")
    return "\n".join(lines) + "\n"
