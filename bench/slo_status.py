"""SLO status latency on a real Prometheus, against the bare Prometheus queries it needs.

A Prometheus (Debian package, started here on its own port and data) serves the demo's four
weeks of checkout-api traffic (scripts/demo_traffic.py). Measured in the same run:

- baseline: the two `query_range` calls an Occurrences SLO over a rolling 28 days needs (good
  and total, 8,064 five-minute steps each), made with httpx and decoded, nothing else;
- launchdeck: `PrometheusSource.buckets` + `objective_status` (budget, six burn windows, four
  alert tiers, time to exhaustion) for the same SLO and instant: what `slo status` and the
  gate's error_budget check do per objective.

The ratio is launchdeck's overhead over reading the data at all. No target is set by the issue;
the figure says whether the gate can afford a live budget read per check (it can if the ratio
is small and the absolute time well under a second).
Run: make bench  (or .venv/bin/python bench/slo_status.py [--runs N])
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from launchdeck.reliability.budget import TargetSpan
from launchdeck.reliability.burn import DEFAULT_TIERS
from launchdeck.reliability.model import (
    BudgetingMethod,
    Indicator,
    IndicatorKind,
    Objective,
    SloDefinition,
    TimeWindow,
)
from launchdeck.reliability.promql import with_window
from launchdeck.reliability.sources import PrometheusSource
from launchdeck.reliability.status import objective_status
from launchdeck.reliability.windows import period_bounds

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
GOOD = 'sum(rate(http_requests_total{service="checkout-api",code!~"5.."}[5m]))'
TOTAL = 'sum(rate(http_requests_total{service="checkout-api"}[5m]))'
DEFINITION = SloDefinition(
    name="checkout-api-availability",
    system="checkout-api",
    service="checkout-api",
    display_name="Checkout API availability",
    indicator=Indicator(IndicatorKind.GOOD_TOTAL, good=GOOD, total=TOTAL),
    window=TimeWindow("28d"),
    method=BudgetingMethod.OCCURRENCES,
    objectives=(Objective("Available", 0.999),),
)
SPAN = TargetSpan(
    datetime(2026, 11, 27, 5, tzinfo=UTC), datetime(2026, 11, 29, 5, tzinfo=UTC), 0.9995, "BF"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_prometheus(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: run scripts/ensure-prometheus.sh (make test does)")
    traffic = workdir / "traffic.om"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo_traffic.py"), AT.isoformat(), str(traffic)],
        check=True,
    )
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--quiet",
         "--max-block-duration=744h", str(traffic), str(workdir / "data")],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    (workdir / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\n")
    port = _free_port()
    process = subprocess.Popen(
        ["prometheus", f"--config.file={workdir / 'prometheus.yml'}",
         f"--storage.tsdb.path={workdir / 'data'}", "--storage.tsdb.retention.time=100y",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    sys.exit("Prometheus did not become ready within 30 s")


def _baseline(client: httpx.Client, url: str, start: datetime) -> int:
    points = 0
    for query in (GOOD, TOTAL):
        response = client.get(
            f"{url}/api/v1/query_range",
            params={
                "query": with_window(query, STEP),
                "start": (start + STEP).timestamp(),
                "end": AT.timestamp(),
                "step": STEP.total_seconds(),
            },
        )
        response.raise_for_status()
        points += len(response.json()["data"]["result"][0]["values"])
    return points


def _launchdeck(source: PrometheusSource, start: datetime) -> float | None:
    buckets = source.buckets(DEFINITION.indicator, start=start, end=AT, step=STEP)
    status = objective_status(
        DEFINITION,
        DEFINITION.objectives[0],
        buckets,
        at=AT,
        period=(start, AT),
        spans=[SPAN],
        tiers=DEFAULT_TIERS,
        min_events=100,
    )
    return status.remaining


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    console = Console()
    start, _ = period_bounds(DEFINITION.window, AT)
    with tempfile.TemporaryDirectory() as tmp:
        process, url = _start_prometheus(Path(tmp))
        try:
            with httpx.Client(timeout=30) as client:
                source = PrometheusSource(url, client=client)
                points = _baseline(client, url, start)  # warm both paths once
                remaining = _launchdeck(source, start)
                timings: dict[str, list[float]] = {"baseline": [], "launchdeck": []}
                with Progress(console=console, transient=True) as progress:
                    task = progress.add_task("measuring", total=args.runs * 2)
                    for _ in range(args.runs):  # interleaved: both see the same machine load
                        t = time.perf_counter()
                        _baseline(client, url, start)
                        timings["baseline"].append(time.perf_counter() - t)
                        progress.advance(task)
                        t = time.perf_counter()
                        _launchdeck(source, start)
                        timings["launchdeck"].append(time.perf_counter() - t)
                        progress.advance(task)
        finally:
            process.terminate()
            process.wait(timeout=10)
    p50 = {k: statistics.median(v) for k, v in timings.items()}
    table = Table(title=f"SLO status over 28 days of 5-minute steps ({points:,} points read)")
    for column in ("path", "p50 ms", "min ms", "max ms"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for name, values in timings.items():
        table.add_row(
            name,
            f"{p50[name] * 1000:.1f}",
            f"{min(values) * 1000:.1f}",
            f"{max(values) * 1000:.1f}",
        )
    console.print(table)
    console.print(f"budget left as of {AT:%Y-%m-%d %H:%M} UTC: {remaining:.4f}")
    console.print(
        f"ratio launchdeck / bare query_range (p50): {p50['launchdeck'] / p50['baseline']:.2f}x"
    )


if __name__ == "__main__":
    main()
