"""make demo, chapter 11: drive the landing-pages release `launchdeck deploy` started.

The release (a canary of v2 at 10 %, on the real nginx launchdeck started for landing-pages)
is in the store. This plays the simulated minutes that follow: 600 synthetic shoppers a minute,
each with their own cookie, browse the site; those who order hit the conversion beacon (v2's
Buy button is broken for most of them: they order at 1 % instead of 6 %). Every simulated minute
the release controller takes its pass, exactly as `launchdeck controller` would (the gate asked,
due measurements judged from the access log, nginx reconciled). It prints a line a minute and,
once the release ends, the revenue it put at risk (the strategy's `revenue:` section).

Usage: demo_rollout.py SYSTEM VERSION MINUTES   (LAUNCHDECK_* from demo.sh: workspace, store,
clock; the shoppers' rates per version in CONVERTS)
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta

import httpx
from rich.console import Console
from rich.table import Table

from launchdeck.client import open_client, utc_now
from launchdeck.rollout.service import RolloutService
from launchdeck.settings import Settings

VISITORS_PER_MINUTE = 600
CONVERTS = {"v1": 0.06, "v2": 0.01, "v3": 0.062}
console = Console(width=110)


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _visit(client: httpx.Client, rng: random.Random, first: int) -> None:
    for i in range(first, first + VISITORS_PER_MINUTE):
        cookie = {"Cookie": f"ld_uid=shopper-{i}"}
        page = client.get("/", headers=cookie).text
        version = next((v for v in CONVERTS if f"<!-- {v} -->" in page), "v1")
        if rng.random() < CONVERTS[version]:
            client.post("/__ld/convert", headers=cookie)


def main() -> None:
    system, version, minutes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    clock = SimulatedClock(utc_now())
    client = open_client(Settings(), clock=clock)
    service = client.rollouts
    assert isinstance(service, RolloutService)
    release = service.status(system, "production")
    if release.version != version or release.url is None:
        raise SystemExit(f"demo: expected {system} {version} in progress, found {release}")
    table = Table(title=f"{system} {version}, a controller pass a simulated minute")
    for column in ("min", "phase", "weight", "canary visitors / orders", "stable", "judge"):
        table.add_column(column, justify="left" if column in ("phase", "judge") else "right")
    rng = random.Random(2026)  # noqa: S311 - synthetic shoppers, not secrets
    start = clock.now
    shown: tuple[str, float, str] = ("", -1.0, "")
    with httpx.Client(base_url=release.url, timeout=10) as http:
        for minute in range(1, minutes + 1):
            _visit(http, rng, first=(minute + 1000 * len(version)) * VISITORS_PER_MINUTE)
            clock.now = start + timedelta(minutes=minute)
            release = service.view(service.take_pass(release.id))
            judged = release.background_analysis or release.step_analysis
            numbers = {}
            verdicts = ""
            if judged is not None and judged.last:
                numbers = next((m.numbers for m in judged.last if m.name == "conversion_rate"), {})
                verdicts = ", ".join(f"{m.name} {m.verdict}" for m in judged.last)
            row = (str(release.phase), release.weight, verdicts)
            ended = release.phase in ("promoted", "rolled_back")
            if row == shown and not ended and minute % 5:
                continue  # a quiet minute: the table keeps the moves and every fifth minute
            shown = row
            table.add_row(
                str(minute),
                str(release.phase).replace("_", " "),
                f"{release.weight:g} %",
                f"{numbers.get('canary_units', 0):.0f} / {numbers.get('canary_events', 0):.0f}",
                f"{numbers.get('baseline_units', 0):.0f} / {numbers.get('baseline_events', 0):.0f}",
                verdicts,
            )
            if release.phase in ("promoted", "rolled_back"):
                break
    console.print(table)
    console.print(
        f"[bold]{system} {version}: {release.phase.replace('_', ' ')}[/] — {release.reason}"
    )
    if release.phase != "rolled_back":
        return
    money = release.revenue or {}
    if money:
        console.print(
            f"Revenue at risk while it ran: {money['per_hour']:,.0f} {money['currency']} an hour; "
            f"{money['lost']:,.0f} {money['currency']} of orders lost (at least "
            f"{money['lost_at_least']:,.0f}, of a {money['budget']:,.0f} budget)"
        )
    client.close()


if __name__ == "__main__":
    main()
