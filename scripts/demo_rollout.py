"""make demo, chapter 11: a landing-page canary on a real nginx, judged and rolled back.

landing-pages v1 serves Black Friday; v2, a hotfix of the hero copy (the freeze allows
hotfixes), goes out as a canary with the workspace's strategy
(examples/black-friday/rollouts/landing-pages-canary.yaml). Its "Buy" button is broken for most
visitors: they order at 1 % instead of 6 %. Synthetic visitors (600 a simulated minute, each
with their own cookie) browse the real nginx launchdeck starts; the ones who order hit the
conversion beacon. Every simulated minute the controller takes its pass: the gate is asked
(`launchdeck gate check` semantics, through the same client the CLI uses), due measurements are
judged from the access log, and the site is reconciled. When the judge establishes the drop, the
release rolls back by itself; the evidence and the revenue at risk are printed and an incident
is opened (source: rollback) on the workspace's store.

Usage: demo_rollout.py SCRATCH_DIR   (LAUNCHDECK_* from demo.sh: workspace, database, clock)
"""

from __future__ import annotations

import random
import socket
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from launchdeck.calendar.model import ChangeType
from launchdeck.client import open_client, utc_now
from launchdeck.gate.model import Decision, GateRequest
from launchdeck.incidents.model import IncidentSource, OpenRequest
from launchdeck.incidents.severity import Signal
from launchdeck.rollout.access_log import AccessLog
from launchdeck.rollout.controller import tick
from launchdeck.rollout.judge import revenue_at_risk
from launchdeck.rollout.release import GateView, Phase, Release, desired
from launchdeck.rollout.strategy import parse_strategy
from launchdeck.rollout.targets.nginx import NginxStatic
from launchdeck.settings import Settings

STRATEGY_FILE = Path("examples/black-friday/rollouts/landing-pages-canary.yaml")
VISITORS_PER_MINUTE = 600
CONVERTS = {"v1": 0.06, "v2": 0.01}
ORDER_VALUE = 82.0
MINUTES = 45
console = Console(width=110)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _builds(scratch: Path) -> dict[str, Path]:
    builds = {}
    for version, button in (("v1", "Buy now"), ("v2", "Buy now (broken)")):
        build = scratch / "builds" / version
        build.mkdir(parents=True, exist_ok=True)
        (build / "index.html").write_text(
            f"<h1>Black Friday: 40 % off</h1><button>{button}</button><!-- {version} -->"
        )
        builds[version] = build
    return builds


def _visit(client: httpx.Client, rng: random.Random, first: int) -> None:
    for i in range(first, first + VISITORS_PER_MINUTE):
        cookie = {"Cookie": f"ld_uid=shopper-{i}"}
        version = "v2" if "v2" in client.get("/", headers=cookie).text else "v1"
        if rng.random() < CONVERTS[version]:
            client.post("/__ld/convert", headers=cookie)


def main() -> None:
    scratch = Path(sys.argv[1])
    settings = Settings()
    client = open_client(settings)
    strategy = parse_strategy(STRATEGY_FILE.read_text(), source=str(STRATEGY_FILE))
    site = NginxStatic(
        scratch / "landing-pages",
        port=_free_port(),
        preview_port=_free_port(),
        min_reload_interval_s=0,
    )
    builds = _builds(scratch)
    for version, build in builds.items():
        site.install(version, build)
    site.point("stable", "v1")
    site.start()
    console.print(
        f"nginx (launchdeck's own, {site.url}) serves landing-pages v1; v2 goes out as a canary."
    )
    log = AccessLog(site.layout.access_log)
    release = Release("landing-pages", "production", "v2", "v1", strategy)
    rng = random.Random(2026)  # noqa: S311 - synthetic shoppers, not secrets
    start = utc_now()
    table = Table(title="landing-pages v2 canary, a pass a simulated minute", show_lines=False)
    for column in (
        "min",
        "phase",
        "weight",
        "canary visitors",
        "orders",
        "stable visitors",
        "orders",
        "judge",
    ):
        table.add_column(column, justify="right" if column not in ("phase", "judge") else "left")
    try:
        with httpx.Client(base_url=site.url, timeout=10) as http:
            for minute in range(MINUTES):
                now = start + timedelta(minutes=minute)
                verdict = client.gate.check(  # a hotfix: the Black Friday freeze allows it
                    GateRequest(
                        system="landing-pages",
                        environment="production",
                        change_type=ChangeType.HOTFIX,
                        at=now,
                    )
                )
                gate = GateView(
                    verdict.decision is not Decision.BLOCK,
                    "; ".join(c.summary for c in verdict.checks if c.outcome == "block"),
                )
                release = tick(release, site=site, log=log, now=now, gate=gate)
                traffic = log.read()
                canary, stable = traffic.get("canary"), traffic.get("stable")
                last = release.background_run or release.step_run
                judged = ""
                if last is not None and last.measurements:
                    worst = [
                        r for r in last.measurements[-1].results if r.name == "conversion_rate"
                    ]
                    judged = f"{worst[0].verdict}" if worst else ""
                if release.phase is Phase.ROLLED_BACK:
                    judged = "ROLLED BACK"
                table.add_row(
                    str(minute),
                    str(release.phase),
                    f"{desired(release).weight:g} %",
                    str(canary.conversions().units if canary else 0),
                    str(canary.conversions().events if canary else 0),
                    str(stable.conversions().units if stable else 0),
                    str(stable.conversions().events if stable else 0),
                    judged,
                )
                if release.phase.over:
                    break
                _visit(http, rng, first=minute * VISITORS_PER_MINUTE)
        console.print(table)
        served = site.served()
        console.print(
            f"nginx now serves: stable {served.stable}, canary {served.canary}, "
            f"weight {served.weight:g} %"
        )
        if release.phase is not Phase.ROLLED_BACK:
            raise SystemExit(
                f"demo: expected the broken canary to roll back, it is {release.phase}"
            )
        canary, stable = log.variants["canary"], log.variants["stable"]
        lost = revenue_at_risk(
            visitors_per_hour=VISITORS_PER_MINUTE * 60,
            canary_weight=release.weight / 100,
            baseline_conversion=stable.conversions().rate,
            canary_conversion=canary.conversions().rate,
            order_value=ORDER_VALUE,
        )
        console.print(f"[bold]Rolled back automatically[/]: {release.reason}")
        console.print(
            f"Revenue at risk while it ran: {lost:,.0f} USD an hour at {release.weight:g} % "
            f"(conversion {canary.conversions().rate:.2%} vs {stable.conversions().rate:.2%}, "
            f"{ORDER_VALUE:.0f} USD an order)"
        )
        opened = client.incidents.open(
            OpenRequest(
                title="landing-pages v2 canary rolled back: conversion dropped",
                systems=("landing-pages",),
                signal=Signal.DEGRADATION,
                traffic_share=release.weight / 100,
                summary=release.reason[:9000],
                source=IncidentSource.ROLLBACK,
                dedupe_key="rollback:landing-pages:production:v2",
            )
        )
        incident = opened.incident
        console.print(
            f"Incident INC-{incident.id} opened (source rollback), severity {incident.severity}: "
            f"{incident.title}"
        )
    finally:
        site.stop()


if __name__ == "__main__":
    main()
