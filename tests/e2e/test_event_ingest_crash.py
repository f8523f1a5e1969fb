"""kill -9 `launchdeck serve` while clients post batched events with retries: afterwards the
store holds exactly the distinct events sent, none lost and none doubled.

`launchdeck serve` runs as a real process on a free loopback port. Three `EventClient`s (one
thread each, batches of 250, retrying with backoff) send exposures and purchases; once a
quarter of the load is acknowledged the server is killed with SIGKILL (no shutdown, no flush)
while batches are in flight, and restarted on the same port (DuckDB replays its write-ahead
log). The clients retry everything that was not acknowledged, including batches that were
committed but whose answer was lost, which the store must count as duplicates, not store
again.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
from cli_driver import hero_workspace

from launchdeck.client import utc_now
from launchdeck.experiments.track import EventClient
from launchdeck.flags.service import FlagService
from launchdeck.store import Database
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

BIN = Path(sys.executable).parent
CLIENTS = 3
EVENTS_PER_CLIENT = 5_000
START_TIMEOUT_S = 60.0
WORKSPACE = hero_workspace("crash")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`launchdeck serve` on a fixed port, started and killed at will."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "serve.log"

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [str(BIN / "launchdeck"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"launchdeck serve exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        pytest.fail(f"launchdeck serve did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, str, Path]]:
    """(the server, not started; an SDK key; the event store file)."""
    db_url = f"sqlite:///{tmp_path / 'state.db'}"
    db = Database(db_url)
    db.ensure_schema()
    WorkspaceService(db, actor="setup", clock=utc_now).apply(
        WorkspaceSpec.model_validate(WORKSPACE)
    )
    sdk_key = FlagService(db, actor="setup", clock=utc_now).create_sdk_key("web", "production")
    db.dispose()
    events_path = tmp_path / "events.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDECK_")}
    env.update(
        LAUNCHDECK_WORKSPACE=str(tmp_path),
        LAUNCHDECK_DATABASE_URL=db_url,
        LAUNCHDECK_EVENTS_PATH=str(events_path),
        LAUNCHDECK_OFREP_RATE_LIMIT="0",
        LAUNCHDECK_LOG_LEVEL="warning",
        LAUNCHDECK_INCIDENT_REFRESH_S="0",
        LAUNCHDECK_PROMETHEUS_URL=f"http://127.0.0.1:{_free_port()}",
    )
    server = Server(tmp_path, env)
    try:
        yield server, sdk_key.key, events_path
    finally:
        server.stop()


def _units(number: int) -> list[str]:
    return [f"c{number}-user-{i}" for i in range(EVENTS_PER_CLIENT // 2)]


def _produce(client: EventClient, number: int) -> None:
    """Queue this client's events, an exposure and a purchase per unit, a little at a time
    (so the load spans the kills)."""
    for i, unit in enumerate(_units(number)):
        client.expose(flag="hero", variant="urgency" if i % 2 else "control", unit=unit)
        client.track("purchase", unit, value=float(i % 50), attributes={"channel": "email"})
        if i % 500 == 499:
            time.sleep(0.02)


def _acknowledged(clients: list[EventClient]) -> int:
    return sum(c.stats().accepted + c.stats().duplicates for c in clients)


def _wait_for(clients: list[EventClient], at_least: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _acknowledged(clients) < at_least:
        assert time.monotonic() < deadline, f"only {_acknowledged(clients)} acknowledged"
        time.sleep(0.005)


def test_killing_the_server_under_load_loses_and_doubles_nothing(
    served: tuple[Server, str, Path],
) -> None:
    server, sdk_key, events_path = served
    total = CLIENTS * EVENTS_PER_CLIENT
    server.start()
    clients = [
        EventClient(
            server.url,
            sdk_key,
            batch_size=250,
            flush_interval_s=0.05,
            timeout_s=5,
            backoff_base_s=0.05,
            backoff_max_s=0.5,
        )
        for _ in range(CLIENTS)
    ]
    producers = [
        threading.Thread(target=_produce, args=(client, n)) for n, client in enumerate(clients)
    ]
    for producer in producers:
        producer.start()
    try:
        _wait_for(clients, total // 4)
        server.kill()
        killed_at = _acknowledged(clients)
        server.start()
        for producer in producers:
            producer.join(timeout=60)
        assert all(c.flush(timeout_s=90) for c in clients), "events left unacknowledged"
        stats = [c.stats() for c in clients]
    finally:
        for client in clients:
            client.close(timeout_s=5)
        server.stop()

    assert 0 < killed_at < total
    assert sum(s.failed + s.dropped + s.rejected for s in stats) == 0
    assert sum(s.retries for s in stats) > 0
    assert sum(s.accepted for s in stats) + sum(s.duplicates for s in stats) >= total
    units = sorted(u for n in range(CLIENTS) for u in _units(n))
    con = duckdb.connect(str(events_path), read_only=True)
    try:
        stored = {
            table: sorted(r[0] for r in con.execute(f"SELECT unit FROM {table}").fetchall())  # noqa: S608
            for table in ("exposures", "metric_events")
        }
        ids = con.execute(
            "SELECT count(DISTINCT id) FROM (SELECT id FROM exposures UNION ALL "
            "SELECT id FROM metric_events)"
        ).fetchall()[0][0]
        counted = dict(
            con.execute(
                "SELECT outcome, sum(count)::BIGINT FROM ingest_counts GROUP BY outcome"
            ).fetchall()
        )
    finally:
        con.close()
    # Each unit was sent one exposure and one purchase, each with its own id: the store holds
    # exactly one of each (none lost, none doubled).
    assert stored == {"exposures": units, "metric_events": units}
    assert ids == total
    assert counted["accepted"] == total
    assert counted.get("duplicate", 0) == sum(s.duplicates for s in stats)
