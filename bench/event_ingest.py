"""Event ingest through `launchdeck serve`: events/s accepted over loopback HTTP in batches of
500, with the no-loss check (stored == distinct events sent, nothing doubled).

A temporary SQLite workspace holds one experiment (on flag `hero`) and an SDK key.
`launchdeck serve` runs on it as a real process: uvicorn, one worker, a free loopback port, its
DuckDB event store in the temporary directory (bodies decoded by its worker processes, one per
CPU; their CPU time is counted with the server's), LAUNCHDECK_OFREP_RATE_LIMIT=0 (the per-credential
rate limit would answer 429 in place of the server) and log level warning.

The load: `--batches` request bodies of `--batch` events each (a third exposures naming the
flag, two thirds purchases with a value; every event with its own UUID, a timestamp of the last
hour and two attributes), built before the clock starts. `--resend` of the batches (5 % by
default) are sent a second time later on, as a client retrying after a lost answer would: the
server must count their events as duplicates and store nothing twice. `--connections`
keep-alive connections (an asyncio load generator on raw HTTP/1.1 in this process) post them
as fast as the server answers; a batch answered 429/503 is sent again after Retry-After.
A short warm-up (10 batches, not counted) opens the store first.

Figures: accepted events/s (new events stored ÷ wall time of the measured run), requests/s,
latency per batch (p50, p99), and for information the pure-Python validation rate of one core.
The check: after a graceful stop, the DuckDB file holds exactly the distinct events sent, the
answers' `accepted` add up to them and their `duplicates` to the re-sent events, and
`ingest_counts` agrees.

Target (issue 5): >= 50,000 events/s accepted on this 2-core machine, nothing lost or doubled.
Run: make bench  (or .venv/bin/python bench/event_ingest.py [--batches N] [--connections C])
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
from rich.console import Console
from rich.table import Table

BIN = Path(sys.executable).parent
TARGET_EVENTS_PER_S = 50_000
WARM_UP_BATCHES = 10
START_TIMEOUT_S = 60.0

console = Console(width=None if sys.stdout.isatty() else 120)

WORKSPACE: dict[str, Any] = {
    "workspace": {"name": "event-bench"},
    "environments": [{"id": "production"}],
    "systems": [{"id": "web", "tier": 1}],
    "flags": [
        {
            "key": "hero",
            "kind": "experiment",
            "type": "string",
            "system": "web",
            "variants": {"off": "a", "control": "b", "urgency": "c"},
            "environments": {"production": {"enabled": True}},
        }
    ],
    "metrics": [{"key": "purchase", "event": "purchase"}],
    "experiments": [
        {
            "key": "hero-test",
            "flag": "hero",
            "control": "control",
            "variants": {"control": 50, "urgency": 50},
            "primary_metric": "purchase",
        }
    ],
}


# ---------------------------------------------------------------- the workspace and the server


def build_workspace(directory: Path) -> tuple[str, str]:
    """(database URL, SDK key) of a workspace running experiment hero-test."""
    from launchdeck.client import utc_now
    from launchdeck.flags.service import FlagService
    from launchdeck.store import Database
    from launchdeck.workspace.service import WorkspaceService
    from launchdeck.workspace.spec import WorkspaceSpec

    url = f"sqlite:///{directory / 'state.db'}"
    db = Database(url)
    try:
        db.ensure_schema()
        WorkspaceService(db, actor="bench", clock=utc_now).apply(
            WorkspaceSpec.model_validate(WORKSPACE)
        )
        key = FlagService(db, actor="bench", clock=utc_now).create_sdk_key("bench", "production")
    finally:
        db.dispose()
    return url, key.key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # graceful: the lifespan closes the writer and the store
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def serving(directory: Path, db_url: str, events_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDECK_")}
    env.update(
        LAUNCHDECK_WORKSPACE=str(directory),
        LAUNCHDECK_DATABASE_URL=db_url,
        LAUNCHDECK_EVENTS_PATH=str(events_path),
        LAUNCHDECK_OFREP_RATE_LIMIT="0",
        LAUNCHDECK_LOG_LEVEL="warning",
        LAUNCHDECK_INCIDENT_REFRESH_S="0",
        LAUNCHDECK_PROMETHEUS_URL=f"http://127.0.0.1:{_free_port()}",
    )
    log = directory / "serve.log"
    for attempt in range(3):
        port = _free_port()
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(BIN / "launchdeck"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=directory,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, port, log)
        if _ready(server):
            break
        if attempt == 2 or "address already in use" not in server.log_tail():
            raise SystemExit(f"launchdeck serve did not start:\n{server.log_tail()}")
    try:
        yield server
    finally:
        _stop(server.process)


def _ready(server: Server) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return True
        time.sleep(0.05)
    _stop(server.process)
    raise SystemExit(f"launchdeck serve was not up within {START_TIMEOUT_S:.0f} s")


# ---------------------------------------------------------------- the load


@dataclass
class Load:
    """The request bodies to send, and what the no-loss check expects of them."""

    requests: list[bytes]
    distinct: int
    """Distinct events among them (re-sent batches counted once)."""
    resent: int
    """Events sent a second time."""
    ids: set[str] = field(default_factory=set)


def _event(rng: random.Random, n: int, now: float) -> dict[str, Any]:
    unit = f"user-{rng.randrange(1_000_000)}"
    timestamp = round(now - rng.uniform(0, 3600), 3)
    attributes = {"browser": rng.choice(("chrome", "safari", "firefox")), "country": "FR"}
    if n % 3 == 0:
        variant = rng.choice(("control", "urgency"))
        return {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "type": "exposure",
            "flag": "hero",
            "variant": variant,
            "unit": unit,
            "timestamp": timestamp,
            "attributes": attributes,
        }
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": "metric",
        "event": "purchase",
        "value": round(rng.uniform(5, 300), 2),
        "unit": unit,
        "timestamp": timestamp,
        "attributes": attributes,
    }


def build_load(
    port: int, key: str, *, batches: int, batch: int, resend: float, rng: random.Random
) -> Load:
    """`batches` bodies of `batch` events, plus a `resend` share of them again, later on."""
    now = time.time()
    head = (
        f"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
    )
    bodies: list[bytes] = []
    ids: set[str] = set()
    for b in range(batches):
        events = [_event(rng, b * batch + i, now) for i in range(batch)]
        ids.update(e["id"] for e in events)
        bodies.append(json.dumps({"events": events}, separators=(",", ":")).encode())
    requests = [(head + f"Content-Length: {len(b)}\r\n\r\n").encode() + b for b in bodies]
    again = rng.sample(range(batches), round(batches * resend))
    for index in again:  # re-sent somewhere after the original
        requests.insert(rng.randrange(index + 1, len(requests) + 1), requests[index])
    return Load(requests, len(ids), len(again) * batch, ids)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and of its descendants alive now (the
    server's event-decoding workers and their fork server), from Linux /proc; NaN elsewhere."""
    stats: dict[int, str] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):  # a process that ended meanwhile
            stats[int(entry.parent.name)] = entry.read_text()
    children: dict[int, list[int]] = {}
    fields: dict[int, list[str]] = {}
    for child, text in stats.items():
        fields[child] = text.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[child][1]), []).append(child)
    if pid not in fields:
        return float("nan")
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += int(fields[current][11]) + int(fields[current][12])
        todo.extend(children.get(current, ()))
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    seconds: float
    requests: int
    accepted: int
    duplicates: int
    rejected: int
    retried: int
    latencies: list[float]
    server_cpu_s: float = float("nan")
    client_cpu_s: float = float("nan")


async def _connection(
    port: int, queue: list[bytes], run: Run, answers: list[dict[str, Any]]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue:
            request = queue.pop()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if length is None:
                raise SystemExit(f"an answer without Content-Length: {head!r}")
            body = await reader.readexactly(int(length.group(1)))
            status = int(head[9:12])
            if status in {429, 503}:  # retry after the server's Retry-After
                wait = re.search(rb"(?i)\r\nretry-after: *(\d+)", head)
                await asyncio.sleep(int(wait.group(1)) if wait else 1)
                queue.insert(0, request)
                run.retried += 1
                continue
            if status != 200:
                raise SystemExit(f"the server answered {status}: {body[:500]!r}")
            run.latencies.append(time.perf_counter() - started)
            answers.append(json.loads(body))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _send(port: int, requests: list[bytes], connections: int) -> Run:
    queue = list(reversed(requests))  # pop() takes them in order
    run = Run(0.0, len(requests), 0, 0, 0, 0, [])
    answers: list[dict[str, Any]] = []
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, queue, run, answers) for _ in range(connections)))
    run.seconds = time.perf_counter() - started
    run.accepted = sum(a["accepted"] for a in answers)
    run.duplicates = sum(a["duplicates"] for a in answers)
    run.rejected = sum(a["rejected"] for a in answers)
    return run


def validation_rate(rng: random.Random) -> float:
    """Events/s `validate_batch` checks on one core (the best of 3 runs of 20,000)."""
    from launchdeck.experiments.events import validate_batch
    from launchdeck.experiments.model import Catalog

    catalog = Catalog(
        experiments={"hero-test": frozenset({"control", "urgency"})}, by_flag={"hero": "hero-test"}
    )
    now = time.time()
    items = json.loads(json.dumps([_event(rng, n, now) for n in range(20_000)]))
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        validate_batch(
            items,
            catalog=catalog,
            now=datetime.now(UTC),
            max_skew=timedelta(minutes=5),
            max_age=timedelta(days=90),
        )
        best = min(best, time.perf_counter() - started)
    return len(items) / best


# ---------------------------------------------------------------- the check and the report


@dataclass
class Stored:
    rows: int
    distinct_ids: int
    missing: int
    counts: dict[str, int]


def read_store(path: Path, ids: set[str]) -> Stored:
    con = duckdb.connect(str(path), read_only=True)
    try:
        stored = [
            r[0]
            for r in con.execute(
                "SELECT id FROM exposures UNION ALL SELECT id FROM metric_events"
            ).fetchall()
        ]
        counts = dict(
            con.execute(
                "SELECT outcome, sum(count)::BIGINT FROM ingest_counts GROUP BY outcome"
            ).fetchall()
        )
    finally:
        con.close()
    return Stored(len(stored), len(set(stored)), len(ids - set(stored)), counts)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def verdict(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red bold]MISS[/red bold]"


def report(load: Load, run: Run, stored: Stored, batch: int, connections: int, rate: float) -> bool:
    """Print the figures and the checks; True unless an event was lost or doubled (a missed
    speed target is reported, not a failure: the machine may be busy)."""
    events_per_s = run.accepted / run.seconds
    table = Table(
        title=f"POST /api/v1/events through launchdeck serve (uvicorn, 1 worker): {connections} "
        f"keep-alive connections, batches of {batch}",
        caption="accepted events/s: new events stored ÷ wall time of the measured run",
    )
    for column in ("figure", "value"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    rows = [
        ("requests (re-sent batches included)", f"{run.requests:,}"),
        ("events sent / distinct", f"{run.requests * batch:,} / {load.distinct:,}"),
        ("wall time", f"{run.seconds:.2f} s"),
        ("accepted events/s", f"{events_per_s:,.0f}"),
        ("events/s incl. duplicates", f"{(run.accepted + run.duplicates) / run.seconds:,.0f}"),
        ("requests/s", f"{run.requests / run.seconds:,.0f}"),
        (
            "latency per batch p50 / p99",
            f"{_percentile(run.latencies, 0.5) * 1000:.1f} / "
            f"{_percentile(run.latencies, 0.99) * 1000:.1f} ms",
        ),
        ("answers 429/503 retried", f"{run.retried:,}"),
        (
            "server CPU (cores busy; µs per event)",
            f"{run.server_cpu_s / run.seconds:.2f}; "
            f"{run.server_cpu_s / (run.accepted + run.duplicates) * 1e6:.1f} µs",
        ),
        ("load generator CPU (cores busy)", f"{run.client_cpu_s / run.seconds:.2f}"),
        ("validation alone (1 core, in process)", f"{rate:,.0f} events/s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    checks = {
        "answers: accepted == distinct events sent": run.accepted == load.distinct,
        "answers: duplicates == events re-sent": run.duplicates == load.resent,
        "answers: nothing rejected": run.rejected == 0,
        "store: rows == distinct events sent (none doubled)": stored.rows == load.distinct,
        "store: every event sent is there (none lost)": stored.missing == 0,
        "ingest_counts: accepted / duplicate agree": stored.counts.get("accepted") == load.distinct
        and stored.counts.get("duplicate", 0) == load.resent,
    }
    check = Table(title="No-loss check", show_header=False)
    check.add_column("check")
    check.add_column("result")
    for name, ok in checks.items():
        check.add_row(name, verdict(ok))
    console.print(check)
    console.print(
        f"Stored {stored.rows:,} rows ({stored.distinct_ids:,} distinct ids, {stored.missing:,} "
        f"missing); ingest_counts {stored.counts}"
    )
    fast = events_per_s >= TARGET_EVENTS_PER_S
    console.print(
        f"Target: >= {TARGET_EVENTS_PER_S:,} events/s accepted with batches of {batch} on "
        f"{os.cpu_count()} CPUs, nothing lost or doubled: {events_per_s:,.0f} events/s "
        f"{verdict(fast)}, no-loss {verdict(all(checks.values()))}"
    )
    return all(checks.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=800, help="distinct batches to send")
    parser.add_argument("--batch", type=int, default=500, help="events per batch")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--resend", type=float, default=0.05, help="share of batches re-sent")
    args = parser.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        events_path = directory / "events.duckdb"
        console.print("[dim]a workspace with one experiment; building the load …[/dim]")
        db_url, key = build_workspace(directory)
        rate = validation_rate(rng)
        with serving(directory, db_url, events_path) as server:
            warm = build_load(
                server.port, key, batches=WARM_UP_BATCHES, batch=args.batch, resend=0, rng=rng
            )
            load = build_load(
                server.port,
                key,
                batches=args.batches,
                batch=args.batch,
                resend=args.resend,
                rng=rng,
            )
            console.print(
                f"[dim]launchdeck serve on {server.url}; {len(load.requests):,} requests of "
                f"~{len(load.requests[0]) // 1024} KiB; {os.cpu_count()} CPUs, load average "
                f"{os.getloadavg()[0]:.1f} before the run (other processes share the CPUs)[/dim]"
            )
            asyncio.run(_send(server.port, warm.requests, args.connections))
            cpu = cpu_seconds(server.process.pid), time.process_time()
            run = asyncio.run(_send(server.port, load.requests, args.connections))
            run.server_cpu_s = cpu_seconds(server.process.pid) - cpu[0]
            run.client_cpu_s = time.process_time() - cpu[1]
        # The server stopped gracefully (its writer drained): read the file it wrote.
        stored = read_store(events_path, load.ids | warm.ids)
        stored.rows -= warm.distinct
        stored.counts["accepted"] = stored.counts.get("accepted", 0) - warm.distinct
    ok = report(load, run, stored, args.batch, args.connections, rate)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
