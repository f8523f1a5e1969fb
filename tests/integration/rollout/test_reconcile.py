"""A release's desired states applied to a real nginx, and a controller killed with SIGKILL
between two operations: the site serves a valid state meanwhile, and the next reconcile does
only what is left."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from nginx_sites import new_site

from launchdeck.rollout.reconcile import reconcile
from launchdeck.rollout.release import Desired, GateView, Release, abort, desired, start
from launchdeck.rollout.strategy import parse_strategy
from launchdeck.rollout.targets.base import Served
from launchdeck.rollout.targets.nginx import NginxStatic

pytestmark = pytest.mark.xdist_group("nginx")

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
STRATEGY = parse_strategy(
    "strategy: canary\nsteps: [{set_weight: 20}, {pause: {duration: 10m}}]\n", source="s.yaml"
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[NginxStatic]:
    target = new_site(tmp_path, {v: {"index.html": v} for v in ("v1", "v2")}, stable="v1")
    yield target
    target.stop()


def shares(site: NginxStatic, visitors: int = 600) -> dict[str, float]:
    seen: dict[str, int] = {}
    with httpx.Client(base_url=site.url, timeout=10) as client:
        for i in range(visitors):
            page = client.get("/", headers={"Cookie": f"ld_uid=visitor-{i}"}).text
            seen[page] = seen.get(page, 0) + 1
    return {page: n / visitors for page, n in seen.items()}


def test_a_release_walked_and_rolled_back_is_what_nginx_serves(site: NginxStatic) -> None:
    release = start(Release("web", "production", "v2", "v1", STRATEGY), T0, gate=GateView(True))

    first = reconcile(site, desired(release))
    again = reconcile(site, desired(release))
    split = shares(site)
    rolled = abort(release, T0 + timedelta(minutes=3), "error rate up")
    back = reconcile(site, desired(rolled))

    assert first == ["canary → v2", "weight 20"]
    assert again == []  # idempotent
    assert abs(split["v2"] - 0.20) <= 0.05
    assert back == ["weight 0", "canary removed"]
    assert site.served() == Served(stable="v1", canary=None, preview=None, weight=0.0)
    assert shares(site, 200) == {"v1": 1.0}
    assert reconcile(site, Desired(stable="v2")) == ["stable → v2"]  # a promotion
    assert shares(site, 50) == {"v2": 1.0}


def test_a_controller_killed_between_two_operations_is_finished_by_the_next(
    site: NginxStatic, tmp_path: Path
) -> None:
    # The first controller points the canary, then dies (SIGKILL) before setting its weight.
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from launchdeck.rollout.reconcile import reconcile
        from launchdeck.rollout.release import Desired
        from launchdeck.rollout.targets.nginx import NginxStatic

        site = NginxStatic(Path({str(site.layout.root)!r}), port={site.port},
                           preview_port={site.preview_port})
        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        site.set_weight = die
        reconcile(site, Desired(stable="v1", canary="v2", weight=20))
    """)
    killed = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, timeout=60
    )

    assert killed.returncode == -9, killed.stderr.decode()
    assert site.served() == Served(stable="v1", canary="v2", preview=None, weight=0.0)
    assert shares(site, 200) == {"v1": 1.0}  # a valid state: nobody on the canary yet
    assert reconcile(site, Desired(stable="v1", canary="v2", weight=20)) == ["weight 20"]
    assert 0.1 <= shares(site).get("v2", 0.0) <= 0.3
