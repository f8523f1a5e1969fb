"""Gate check latency against calendars of 1,000, 10,000 and 100,000 campaign occurrences.

Each calendar: 200 systems in a dependency DAG, and recurring weekly campaigns (50 occurrences a
series, series starting across the years) at a constant density of about 10 occurrences starting per
day, so larger calendars cover more years (100 days, 2.7 years, 27 years). A check at a time in the
middle must read only the occurrences near it: the cost of a scan grows 100x from 1k to 100k, an
index over time stays flat. Each check runs the whole local path: SQLite reads, freeze windows,
blast radius, the pure decision, and (for blocks) the timeline write.

Target (issue 3): 100k/1k ratio under 3, and a 10k check fast enough for every pipeline step.
Run: make bench  (or .venv/bin/python bench/gate_check.py [--checks N])
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import insert, update

from launchdeck.calendar.model import ChangeType
from launchdeck.gate.model import GateRequest
from launchdeck.gate.service import GateService
from launchdeck.store import Database
from launchdeck.store.tables import CampaignRow, WorkspaceRow
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

SIZES = (1_000, 10_000, 100_000)
SYSTEMS = 200
PER_SERIES = 50
PER_DAY = 10
T0 = datetime(2020, 1, 1, tzinfo=UTC)
TARGET_RATIO = 3.0


def _workspace(rng: random.Random) -> WorkspaceSpec:
    systems = []
    for i in range(SYSTEMS):
        deps = sorted({f"sys-{rng.randrange(i)}" for _ in range(rng.randint(0, 2))}) if i else []
        systems.append({"id": f"sys-{i}", "tier": rng.randint(1, 3), "depends_on": deps})
    return WorkspaceSpec.model_validate(
        {
            "workspace": {"name": "bench", "timezone": "America/New_York"},
            "environments": [{"id": "production", "production_like": True}],
            "systems": systems,
        }
    )


def _build(path: Path, size: int, rng: random.Random, progress: Progress) -> tuple[Database, int]:
    db = Database(f"sqlite:///{path}")
    clock = lambda: T0  # noqa: E731
    WorkspaceService(db, actor="bench", clock=clock).apply(_workspace(rng))
    span_days = size // PER_DAY
    per_series = min(PER_SERIES, span_days // 7)  # a series fits in the calendar's span
    task = progress.add_task(f"{size:,} occurrences", total=size)
    rows = []
    for series in range(size // per_series):
        first = T0 + timedelta(days=rng.uniform(0, span_days - per_series * 7))
        duration = timedelta(hours=rng.choice((12, 24, 48, 72)))
        systems = sorted({f"sys-{rng.randrange(SYSTEMS)}" for _ in range(rng.randint(1, 3))})
        tier = rng.randint(1, 3)
        for k in range(per_series):
            start = first + timedelta(weeks=k)
            rows.append(
                {
                    "id": f"promo-{series}-{k}",
                    "name": f"Weekly promo {series}",
                    "starts_at": start,
                    "ends_at": start + duration,
                    "timezone": "America/New_York",
                    "tier": tier,
                    "revenue_per_hour": float(rng.randrange(1_000, 200_000)),
                    "currency": "USD",
                    "channels": ["email"],
                    "systems": systems,
                    "description": None,
                    "source": None,
                    "updated_at": T0,
                }
            )
    with db.engine.begin() as conn:
        for i in range(0, len(rows), 5_000):
            conn.execute(insert(CampaignRow), rows[i : i + 5_000])
            progress.advance(task, len(rows[i : i + 5_000]))
        conn.execute(update(WorkspaceRow).values(longest_campaign_s=72 * 3600))
    return db, span_days


def _time_checks(db: Database, span_days: int, checks: int, rng: random.Random) -> list[float]:
    middle = T0 + timedelta(days=span_days / 2)
    service = GateService(db, actor="bench", clock=lambda: middle)
    timings = []
    for _ in range(checks):
        request = GateRequest(
            system=f"sys-{rng.randrange(SYSTEMS)}",
            change_type=rng.choice(list(ChangeType)),
            at=middle + timedelta(hours=rng.uniform(-24, 24)),
        )
        started = time.perf_counter()
        service.check(request)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=40, help="timed checks per size")
    args = parser.parse_args()
    medians: dict[int, float] = {}
    p95s: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp, Progress(transient=True) as progress:
        for size in SIZES:
            rng = random.Random(size)
            db, span_days = _build(Path(tmp) / f"gate-{size}.db", size, rng, progress)
            _time_checks(db, span_days, 5, rng)  # warm caches and the schema check
            timings = _time_checks(db, span_days, args.checks, rng)
            medians[size] = statistics.median(timings)
            p95s[size] = statistics.quantiles(timings, n=20)[-1]
            db.dispose()
    table = Table(title=f"Gate check, {SYSTEMS} systems, median of {args.checks} checks")
    for column in ("occurrences", "years covered", "median ms", "p95 ms", "ratio to 1k"):
        table.add_column(column, justify="right")
    base = medians[SIZES[0]]
    for size in SIZES:
        table.add_row(
            f"{size:,}",
            f"{size / PER_DAY / 365:.1f}",
            f"{medians[size] * 1000:.1f}",
            f"{p95s[size] * 1000:.1f}",
            f"{medians[size] / base:.2f}x",
        )
    console = Console()
    console.print(table)
    ratio = medians[SIZES[-1]] / base
    verdict = "meets" if ratio < TARGET_RATIO else "MISSES"
    console.print(f"100k/1k: {ratio:.2f}x ({verdict} the < {TARGET_RATIO:.0f}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
