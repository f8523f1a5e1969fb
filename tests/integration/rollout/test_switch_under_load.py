"""Switching under load on a real nginx: blue-green swaps and weight changes while visitors keep
requesting pages, and not one request fails as a browser would show it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from nginx_sites import new_site

pytestmark = pytest.mark.xdist_group("nginx")

REQUESTS = 20_000
"""The load is bounded: this many requests at most, `TIME_LIMIT_S`, and it stops when the
switching is over."""
TIME_LIMIT_S = 60.0
CONNECTIONS = 8


async def _visitor(
    client: httpx.AsyncClient,
    uid: str,
    outcomes: Counter[str],
    budget: list[int],
    stop: threading.Event,
) -> None:
    while budget[0] > 0 and not stop.is_set():
        budget[0] -= 1
        for attempt in (1, 2):
            try:
                response = await client.get("/", headers={"Cookie": f"ld_uid={uid}"})
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError):
                # A reload closes idle keep-alive connections; a browser sends the request
                # again on a new one, and so does this visitor, once.
                if attempt == 1:
                    outcomes["retried"] += 1
                    continue
                outcomes["failed"] += 1
                break
            outcomes["ok" if response.status_code == 200 else f"status {response.status_code}"] += 1
            outcomes[response.text] += 1
            break


async def _load(
    url: str, outcomes: Counter[str], stop: threading.Event, done: threading.Event
) -> None:
    budget = [REQUESTS]
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        visitors = [
            _visitor(client, f"visitor-{i}", outcomes, budget, stop) for i in range(CONNECTIONS)
        ]
        await asyncio.wait_for(asyncio.gather(*visitors), TIME_LIMIT_S)
    done.set()


def test_no_request_fails_during_100_swaps_and_20_weight_changes(tmp_path: Path) -> None:
    site = new_site(tmp_path, {v: {"index.html": v} for v in ("blue", "green")}, stable="blue")
    site.point("canary", "green")
    outcomes: Counter[str] = Counter()
    stop, done = threading.Event(), threading.Event()
    load = threading.Thread(target=asyncio.run, args=(_load(site.url, outcomes, stop, done),))
    try:
        load.start()
        while sum(outcomes[v] for v in ("blue", "green")) < 200:  # the load is on
            time.sleep(0.01)
        swaps = weights = 0
        for i in range(100):
            site.point("stable", "green" if i % 2 == 0 else "blue")
            swaps += 1
            if i % 5 == 0:
                site.set_weight((i // 5 % 4 + 1) * 20.0)
                weights += 1
            time.sleep(0.01)
        during = outcomes["ok"]
        stop.set()
        load.join(TIME_LIMIT_S + 10)
    finally:
        site.stop()

    assert done.is_set(), "the load did not finish in time"
    assert (swaps, weights) == (100, 20)
    assert outcomes["failed"] == 0
    assert during >= 1000  # the switching happened under load
    answered = outcomes["ok"]
    assert sum(n for key, n in outcomes.items() if key.startswith("status")) == 0
    assert outcomes["blue"] + outcomes["green"] == answered  # every answer was a whole release
    assert outcomes["blue"] > 0 and outcomes["green"] > 0
