"""Switching releases under load on a real nginx (the nginx-static target): requests served and
failed during blue-green swaps and canary weight changes, and how long a rollback takes.

A site with two releases is started on free loopback ports. A bounded load generator (asyncio,
httpx, `--connections` keep-alive connections, one visitor cookie each; at most `--requests`
requests and `--time-limit` seconds) asks for the home page while the main thread:
1. does nothing for `--quiet-s` seconds (the baseline rate);
2. swaps the stable link between the two releases `--swaps` times and changes the canary
   weight `--weights` times (each a rewrite of split.conf, `nginx -t` and a graceful reload).
A request on a keep-alive connection that a reload closed is sent again once on a new one, as
browsers do; only a request that fails again, or any non-200 answer, counts as failed.

Then rollback latency, `--rollbacks` times each: from the decision to the moment a visitor who
was on the canary is served stable — the canary at 50 % set to 0 (reload), a blue-green switch
put back (symlink), and the whole path a person or the controller takes (`release abort`
through the release service: the store read and saved with its timeline events, then the site
reconciled), in milliseconds.

Figures: requests served and failed (and retried) during the switching, the served rate against
the quiet rate (ratio), and rollback latencies (median, max). Target (issue 6): zero failed
requests during 100 swaps and 20 weight changes.
Run: make bench  (or .venv/bin/python bench/switch_under_load.py)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from launchdeck.rollout.targets.nginx import NginxStatic

console = Console(width=None if sys.stdout.isatty() else 120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Load:
    """The bounded load: counts by outcome, and the times of the answers."""

    def __init__(self, url: str, *, connections: int, requests: int, time_limit_s: float) -> None:
        self.url = url
        self.connections = connections
        self.budget = requests
        self.time_limit_s = time_limit_s
        self.outcomes: Counter[str] = Counter()
        self.stop = threading.Event()
        self.done = threading.Event()

    async def _visitor(self, client: httpx.AsyncClient, uid: str) -> None:
        while self.budget > 0 and not self.stop.is_set():
            self.budget -= 1
            for attempt in (1, 2):
                try:
                    response = await client.get("/", headers={"Cookie": f"ld_uid={uid}"})
                except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError):
                    if attempt == 1:
                        self.outcomes["retried"] += 1
                        continue
                    self.outcomes["failed"] += 1
                    break
                self.outcomes["served" if response.status_code == 200 else "failed"] += 1
                break

    async def _run(self) -> None:
        limits = httpx.Limits(
            max_connections=self.connections, max_keepalive_connections=self.connections
        )
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=10) as client:
            visitors = [self._visitor(client, f"visitor-{i}") for i in range(self.connections)]
            with contextlib.suppress(TimeoutError):  # bounded: the time limit ends it too
                await asyncio.wait_for(asyncio.gather(*visitors), self.time_limit_s)
        self.done.set()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=asyncio.run, args=(self._run(),), daemon=True)
        thread.start()
        return thread


def _until_stable(client: httpx.Client, cookie: dict[str, str]) -> int:
    """Ask as the canary visitor until stable answers; how many asks it took."""
    asks = 1
    while client.get("/", headers=cookie).text != "blue":
        asks += 1
    return asks


def rollback_latencies(site: NginxStatic, rollbacks: int) -> tuple[list[float], list[float]]:
    """(canary 50 % → 0, blue-green switch back) latencies in ms, a canary visitor checked."""
    canary_ms: list[float] = []
    switch_ms: list[float] = []
    site.set_weight(50)
    with httpx.Client(base_url=site.url, timeout=10) as client:
        on_canary = next(  # a visitor the 50 % split puts on the canary
            f"probe-{i}"
            for i in range(10_000)
            if client.get("/", headers={"Cookie": f"ld_uid=probe-{i}"}).text == "green"
        )
        cookie = {"Cookie": f"ld_uid={on_canary}"}
        for _ in range(rollbacks):
            site.set_weight(50)
            started = time.perf_counter()
            site.set_weight(0)
            _until_stable(client, cookie)
            canary_ms.append((time.perf_counter() - started) * 1000)

            site.point("stable", "green")
            started = time.perf_counter()
            site.point("stable", "blue")
            _until_stable(client, cookie)
            switch_ms.append((time.perf_counter() - started) * 1000)
    return canary_ms, switch_ms


def service_rollback_latencies(root: Path, rollbacks: int) -> list[float]:
    """`launchdeck release abort` through the release service (the store read and saved with
    its timeline events, the site reconciled): from the call to a canary visitor served stable,
    in ms. Each round deploys a fresh canary at 50 % first."""
    from datetime import UTC, datetime

    from launchdeck.checks import installed_checks
    from launchdeck.gate.service import GateService
    from launchdeck.reliability.service import prometheus_sources
    from launchdeck.rollout.service import RolloutService
    from launchdeck.rollout.strategy import parse_strategy
    from launchdeck.rollout.views import ActionRequest, DeployRequest
    from launchdeck.store import Database
    from launchdeck.workspace.service import WorkspaceService
    from launchdeck.workspace.spec import WorkspaceSpec

    def clock() -> datetime:
        return datetime.now(UTC)

    db = Database(f"sqlite:///{root / 'state.db'}")
    site_root = root / "service-site"
    WorkspaceService(db, actor="bench", clock=clock).apply(
        WorkspaceSpec.model_validate(
            {
                "version": 1,
                "workspace": {"name": "bench"},
                "environments": [{"id": "production", "production_like": True}],
                "systems": [
                    {
                        "id": "shop",
                        "environments": {"production": {"target": {"root": str(site_root)}}},
                    }
                ],
            }
        )
    )
    sources = prometheus_sources("http://127.0.0.1:9", timeout_s=1)
    gate = GateService(
        db, actor="bench", clock=clock, checks=installed_checks(db, clock=clock, sources=sources)
    )
    service = RolloutService(db, actor="bench", clock=clock, gate=gate, sites_dir=root)
    strategy = parse_strategy(
        "strategy: canary\nsteps: [{set_weight: 50}, {pause: {}}]\nanalysis: {background: []}\n",
        source="bench.yaml",
    )
    latencies: list[float] = []
    try:
        for round_ in range(rollbacks + 1):
            version = "blue" if round_ == 0 else f"green-{round_}"
            service.deploy(
                DeployRequest(
                    system="shop", version=version, artifact=str(root / version), strategy=strategy
                )
            )
            if round_ == 0:
                continue
            site = service.status("shop", "production").url
            assert site is not None
            with httpx.Client(base_url=site, timeout=10) as client:
                on_canary = next(
                    f"probe-{i}"
                    for i in range(10_000)
                    if client.get("/", headers={"Cookie": f"ld_uid=probe-{i}"}).text != "blue"
                )
                cookie = {"Cookie": f"ld_uid={on_canary}"}
                started = time.perf_counter()
                service.act("shop", "production", "abort", ActionRequest(reason="bench"))
                _until_stable(client, cookie)
                latencies.append((time.perf_counter() - started) * 1000)
    finally:
        service.close()
        kept = root / "service-site" / "site.json"
        if kept.exists():
            import json

            ports = json.loads(kept.read_text())
            NginxStatic(site_root, port=ports["port"], preview_port=ports["preview_port"]).stop()
        db.dispose()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--swaps", type=int, default=100)
    parser.add_argument("--weights", type=int, default=20)
    parser.add_argument("--rollbacks", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--quiet-s", type=float, default=3.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="launchdeck-bench-") as directory:
        root = Path(directory)
        site = NginxStatic(
            root / "site", port=_free_port(), preview_port=_free_port(), min_reload_interval_s=0
        )
        for version in ("blue", "green"):
            (root / version).mkdir()
            (root / version / "index.html").write_text(version)
            site.install(version, root / version)
        for round_ in range(1, args.rollbacks + 1):  # the release service's canaries
            (root / f"green-{round_}").mkdir()
            (root / f"green-{round_}" / "index.html").write_text(f"green {round_}")
        site.point("stable", "blue")
        site.point("canary", "green")
        site.start()
        try:
            load = Load(
                site.url,
                connections=args.connections,
                requests=args.requests,
                time_limit_s=args.time_limit,
            )
            thread = load.start()
            while load.outcomes["served"] < 100:
                time.sleep(0.01)
            quiet_from = load.outcomes["served"]
            time.sleep(args.quiet_s)
            quiet_rate = (load.outcomes["served"] - quiet_from) / args.quiet_s

            before = Counter(load.outcomes)
            started = time.perf_counter()
            every = max(1, args.swaps // max(args.weights, 1))
            weights = 0
            for i in range(args.swaps):
                site.point("stable", "green" if i % 2 == 0 else "blue")
                if i % every == 0 and weights < args.weights:
                    site.set_weight((weights % 4 + 1) * 20.0)
                    weights += 1
            switching_s = time.perf_counter() - started
            during = Counter(load.outcomes)
            during.subtract(before)
            load.stop.set()
            thread.join(args.time_limit + 10)
            site.point("stable", "blue")
            canary_ms, switch_ms = rollback_latencies(site, args.rollbacks)
        finally:
            site.stop()
        service_ms = service_rollback_latencies(root, args.rollbacks)

    report(args, weights, switching_s, during, quiet_rate, canary_ms, switch_ms, service_ms)


def report(
    args: argparse.Namespace,
    weights: int,
    switching_s: float,
    during: Counter[str],
    quiet_rate: float,
    canary_ms: list[float],
    switch_ms: list[float],
    service_ms: list[float],
) -> None:
    rate = during["served"] / switching_s
    table = Table(title=f"Switching on a real nginx under load ({args.connections} connections)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("blue-green swaps / weight changes (reloads)", f"{args.swaps} / {weights}")
    table.add_row("switching took", f"{switching_s:.2f} s")
    table.add_row("requests served during the switching", f"{during['served']:,}")
    table.add_row("requests failed (a browser would show an error)", f"{during['failed']:,}")
    table.add_row("requests re-sent once (keep-alive closed by a reload)", f"{during['retried']:,}")
    table.add_row(
        "served/s while switching vs quiet",
        f"{rate:,.0f} vs {quiet_rate:,.0f} ({rate / quiet_rate:.2f}×)",
    )
    table.add_row(
        "rollback: canary 50 % → 0 (reload), median / max",
        f"{statistics.median(canary_ms):.1f} / {max(canary_ms):.1f} ms",
    )
    table.add_row(
        "rollback: blue-green switch back (symlink), median / max",
        f"{statistics.median(switch_ms):.2f} / {max(switch_ms):.2f} ms",
    )
    table.add_row(
        "rollback: 'release abort' through the store (canary at 50 %), median / max",
        f"{statistics.median(service_ms):.1f} / {max(service_ms):.1f} ms",
    )
    console.print(table)
    ok = during["failed"] == 0
    console.print(
        f"Target: zero failed requests during {args.swaps} swaps and {weights} weight changes: "
        f"{'PASS' if ok else 'MISS'}"
    )


if __name__ == "__main__":
    main()
