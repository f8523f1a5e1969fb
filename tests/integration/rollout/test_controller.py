"""The controller's pass on a real nginx with synthetic visitors: a canary whose "Buy" button is
broken is rolled back by itself, a healthy one is promoted, and a freeze holds progression."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from nginx_sites import new_site

from launchdeck.rollout.access_log import AccessLog
from launchdeck.rollout.controller import tick
from launchdeck.rollout.release import GateView, Phase, Release
from launchdeck.rollout.strategy import parse_strategy
from launchdeck.rollout.targets.base import Served
from launchdeck.rollout.targets.nginx import NginxStatic

pytestmark = pytest.mark.xdist_group("nginx")

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OPEN = GateView(True)
STRATEGY = parse_strategy(
    "strategy: canary\n"
    "steps:\n"
    "  - set_weight: 50\n"
    "  - analysis: {metrics: [error_rate, conversion_rate], count: 4}\n"
    "  - set_weight: 100\n"
    "analysis: {interval: 1m, background: [error_rate, conversion_rate]}\n"
    "metrics:\n"
    "  - {name: conversion_rate, kind: conversion_rate, min_sample: 300}\n",
    source="landing.yaml",
)
CONVERTS = {"v1": 0.06, "v2": 0.01, "v3": 0.06}
"""How often a visitor of each version orders (v2's Buy button is broken)."""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[NginxStatic]:
    target = new_site(tmp_path, {v: {"index.html": v} for v in CONVERTS}, stable="v1")
    yield target
    target.stop()


def visitors(site: NginxStatic, rng: random.Random, first: int, count: int) -> None:
    """`count` new visitors: each sees the home page and orders at its version's rate."""
    with httpx.Client(base_url=site.url, timeout=10) as client:
        for i in range(first, first + count):
            cookie = {"Cookie": f"ld_uid=visitor-{i}"}
            page = client.get("/", headers=cookie).text
            if rng.random() < CONVERTS[page]:
                client.post("/__ld/convert", headers=cookie)


def run(site: NginxStatic, version: str, ticks: int, gate: GateView = OPEN) -> Release:
    release = Release("landing-pages", "production", version, "v1", STRATEGY)
    log = AccessLog(site.layout.access_log)
    rng = random.Random(7)
    for minute in range(ticks):
        release = tick(release, site=site, log=log, now=T0 + timedelta(minutes=minute), gate=gate)
        if release.phase.over:
            break
        visitors(site, rng, first=minute * 600, count=600)
    return release


def test_a_canary_with_a_broken_buy_button_rolls_itself_back(site: NginxStatic) -> None:
    release = run(site, "v2", ticks=12)

    assert release.phase is Phase.ROLLED_BACK
    assert "conversion_rate" in release.reason
    assert "lower than the baseline's" in release.reason
    assert site.served() == Served(stable="v1", canary=None, preview=None, weight=0.0)
    with httpx.Client(base_url=site.url, timeout=10) as client:
        pages = {client.get("/", headers={"Cookie": f"ld_uid=x{i}"}).text for i in range(50)}
    assert pages == {"v1"}


def test_a_healthy_canary_is_promoted(site: NginxStatic) -> None:
    release = run(site, "v3", ticks=12)

    assert release.phase is Phase.PROMOTED, release.reason
    assert site.served() == Served(stable="v3", canary=None, preview=None, weight=0.0)


def test_a_freeze_keeps_the_canary_where_it_is(site: NginxStatic) -> None:
    frozen = GateView(False, "freeze 'black-friday-weekend'")

    release = run(site, "v3", ticks=2, gate=frozen)

    assert release.phase is Phase.PENDING
    assert release.reason == "the gate refuses: freeze 'black-friday-weekend'"
    assert site.served() == Served(stable="v1", canary=None, preview=None, weight=0.0)
