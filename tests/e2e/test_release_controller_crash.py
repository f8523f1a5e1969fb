"""kill -9 `launchdeck controller` mid-step: restarted, it reconciles the site with the stored
release (never a half-switched state, never a forgotten canary) and goes on.

The real CLI in local mode on a workspace of one system (`shop`) served by launchdeck's own
nginx: v1 is deployed (served at once), v2 goes out as a canary at 30 % with a one-second
analysis interval, and `launchdeck controller` takes passes. Once the background analysis has
measurements, the controller is killed with SIGKILL; then the site is left as a crash in the
middle of a promotion would leave it (stable already pointing at v2, the canary's weight already
0). The restarted controller must put it back as the stored release wants it (stable v1, canary
v2 at 30 %) and keep measuring; `launchdeck release promote --full` then ends it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from launchdeck.rollout.targets.base import Served
from launchdeck.rollout.targets.nginx import NginxStatic

pytestmark = pytest.mark.xdist_group("nginx")

BIN = Path(sys.executable).parent
WORKSPACE = """\
version: 1
workspace: {name: crash-suite, timezone: UTC}
environments:
  - {id: production, production_like: true}
systems:
  - id: shop
    tier: 2
    rollout: rollouts/shop.yaml
references:
  rollouts: [rollouts/shop.yaml]
"""
STRATEGY = """\
strategy: canary
steps:
  - set_weight: 30
  - analysis: {metrics: [error_rate], count: 600}
  - set_weight: 60
analysis: {interval: 1s, background: [error_rate]}
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "rollouts").mkdir()
    (tmp_path / "launchdeck.yaml").write_text(WORKSPACE)
    (tmp_path / "rollouts" / "shop.yaml").write_text(STRATEGY)
    for version in ("v1", "v2"):
        (tmp_path / "builds" / version).mkdir(parents=True)
        (tmp_path / "builds" / version / "index.html").write_text(version)
    yield tmp_path
    site_file = tmp_path / ".launchdeck" / "sites" / "shop" / "production" / "site.json"
    if site_file.exists():
        site(tmp_path).stop()


def site(workspace: Path) -> NginxStatic:
    root = workspace / ".launchdeck" / "sites" / "shop" / "production"
    kept = json.loads((root / "site.json").read_text())
    return NginxStatic(root, port=kept["port"], preview_port=kept["preview_port"])


def environment(workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDECK_")}
    env.update(LAUNCHDECK_WORKSPACE=str(workspace), LAUNCHDECK_ACTOR="ci@crash-suite")
    return env


def cli(workspace: Path, *args: str) -> Any:
    done = subprocess.run(
        [str(BIN / "launchdeck"), *args],
        env=environment(workspace),
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout) if "--json" in args else done.stdout


def controller(workspace: Path) -> subprocess.Popen[bytes]:
    with (workspace / "controller.log").open("ab") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [str(BIN / "launchdeck"), "controller", "--interval", "0.2"],
            env=environment(workspace),
            cwd=workspace,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def measurements(workspace: Path) -> int:
    status = cli(workspace, "release", "status", "shop", "--json")
    background = status["background_analysis"]
    return int(background["measurements"]) if background else 0


def test_a_controller_killed_mid_step_reconciles_the_site_when_it_restarts(
    workspace: Path,
) -> None:
    cli(workspace, "apply")
    first = cli(workspace, "deploy", "shop", "--version", "v1", "--artifact", "builds/v1", "--json")
    assert first["phase"] == "promoted"
    canary = cli(
        workspace, "deploy", "shop", "--version", "v2", "--artifact", "builds/v2", "--json"
    )
    assert (canary["phase"], canary["weight"]) == ("progressing", 30)
    wanted = Served(stable="v1", canary="v2", preview=None, weight=30)
    assert site(workspace).served() == wanted

    running = controller(workspace)
    try:
        wait_for("two measurements", lambda: measurements(workspace) >= 2)
    finally:
        os.killpg(running.pid, signal.SIGKILL)
        running.wait(timeout=10)
    before = measurements(workspace)

    half = site(workspace)  # what a crash halfway through a promotion leaves
    half.point("stable", "v2")
    half.set_weight(0, canary=False)
    assert half.served() == Served(stable="v2", canary="v2", preview=None, weight=0)

    restarted = controller(workspace)
    try:
        wait_for("the site reconciled", lambda: site(workspace).served() == wanted)
        wait_for("measuring again", lambda: measurements(workspace) > before + 1)
        status = cli(workspace, "release", "status", "shop", "--json")
        assert (status["phase"], status["step"], status["weight"]) == ("progressing", 1, 30)
    finally:
        os.killpg(restarted.pid, signal.SIGKILL)
        restarted.wait(timeout=10)

    done = cli(workspace, "release", "promote", "shop", "--full", "--json")
    assert done["phase"] == "promoted"
    assert site(workspace).served() == Served(stable="v2", canary=None, preview=None, weight=0)
    listed = cli(workspace, "release", "list", "shop", "--json")
    assert [(r["version"], r["phase"]) for r in listed] == [
        ("v2", "promoted"),
        ("v1", "promoted"),
    ]
