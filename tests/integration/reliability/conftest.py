"""Fixtures of the reliability suite: a real Prometheus scraping an exporter the test drives.

- `prometheus_exporter` (session): /metrics with `http_requests_total{service, code}` and the
  gauge `http_request_duration_seconds{service}`; tests share it, so each uses its own
  `service` label value (`random_id`).
- `prometheus` (session): Prometheus scraping that exporter every 100 ms (see SCRAPE_INTERVAL).
- `start_prometheus` (per test): start another Prometheus with backfilled history, rule files
  or targets of its own; stopped after the test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import timedelta
from itertools import count
from pathlib import Path

import pytest

from prometheus_server import (
    Exporter,
    PrometheusServer,
    Samples,
    StartPrometheus,
    backfill,
    running_prometheus,
)

SCRAPE_INTERVAL = timedelta(milliseconds=100)
"""Short, so that rate() over a bucket of a second or two has a dozen samples to work with."""


@pytest.fixture(scope="session")
def prometheus_exporter() -> Iterator[Exporter]:
    with Exporter() as exporter:
        yield exporter


@pytest.fixture(scope="session")
def prometheus(
    prometheus_exporter: Exporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """A Prometheus that has scraped `prometheus_exporter` at least once."""
    workdir = tmp_path_factory.mktemp("prometheus")
    with running_prometheus(
        workdir, targets=[prometheus_exporter.address], scrape_interval=SCRAPE_INTERVAL
    ) as server:
        yield server


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[StartPrometheus]:
    """start_prometheus(history={series: samples}, targets=[...], rule_files=[...]) -> server.

    `history` is backfilled (see `prometheus_server.backfill`) before the server starts.
    """
    numbers = count()
    with ExitStack() as stack:

        def start(
            *,
            history: Mapping[str, Samples] | None = None,
            targets: Sequence[str] = (),
            rule_files: Sequence[Path] = (),
            scrape_interval: timedelta = SCRAPE_INTERVAL,
        ) -> PrometheusServer:
            workdir = tmp_path / f"prometheus-{next(numbers)}"
            data_dir = workdir / "data"
            if history:
                backfill(data_dir, history)
            return stack.enter_context(
                running_prometheus(
                    workdir,
                    targets=targets,
                    rule_files=rule_files,
                    data_dir=data_dir,
                    scrape_interval=scrape_interval,
                )
            )

        yield start
