"""CLI end-to-end fixtures: the real CLI in local mode (embedded store) and remote mode (HTTP).

`mode` runs a test twice: once with LAUNCHDECK_DATABASE_URL (local) and once against a live
API server with LAUNCHDECK_URL + LAUNCHDECK_TOKEN (remote), both on the test's database.
In remote mode LAUNCHDECK_DATABASE_URL points at a decoy file that must never be created.

Both modes read SLIs from `prometheus_url` (LAUNCHDECK_PROMETHEUS_URL in local mode, the
server's in remote mode): a closed port unless a test overrides that fixture.

`file_mode` is the same pair with no store and no server behind it, for the commands that
only read or write files (init, validate): they must work without either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_driver import (
    ADMIN_TOKEN_NAME,
    CLEAN_ENV,
    LOCAL_ACTOR,
    Cli,
    closed_port_url,
    issue_token,
)
from typer.testing import CliRunner

from launchdeck.auth.model import Scope
from launchdeck.cli.main import build_app
from launchdeck.settings import STATE_DIR
from launchdeck.store import Database

MODES = ["local", "remote"]


@pytest.fixture
def cli_in(
    request: pytest.FixtureRequest,
    db: Database,
    db_url: str,
    workspace_dir: Path,
    clock: Any,
    tmp_path: Path,
    prometheus_url: str,
) -> Iterator[Callable[[str], Cli]]:
    """A factory: `cli_in("local")` or `cli_in("remote")`, both on the test's database.

    The API server's clock starts at the wall time, as the local CLI's does, so that
    `timeline --since 1h` means the same in both modes. The admin token exists in both
    modes, so both start from the same timeline.
    """
    clock.now = datetime.now(UTC).replace(microsecond=0)
    admin_token = issue_token(db, ADMIN_TOKEN_NAME, Scope.ADMIN, clock=clock)
    app, runner = build_app(), CliRunner()
    decoy = tmp_path / "remote-mode-must-not-open-this.db"
    base = {
        **CLEAN_ENV,
        "LAUNCHDECK_WORKSPACE": str(workspace_dir),
        "LAUNCHDECK_PROMETHEUS_URL": prometheus_url,
    }

    def make(mode: str) -> Cli:
        if mode == "local":
            env = {**base, "LAUNCHDECK_DATABASE_URL": db_url, "LAUNCHDECK_ACTOR": LOCAL_ACTOR}
        else:
            server = request.getfixturevalue("live_server")
            env = {
                **base,
                "LAUNCHDECK_URL": server.url,
                "LAUNCHDECK_TOKEN": admin_token,
                "LAUNCHDECK_DATABASE_URL": f"sqlite:///{decoy}",
            }
        return Cli(mode=mode, env=env, workspace=workspace_dir, app=app, runner=runner, db=db)

    yield make
    # Remote mode goes through the API only; local mode uses the URL it was given.
    assert not decoy.exists(), "the CLI opened LAUNCHDECK_DATABASE_URL in remote mode"
    assert not (workspace_dir / STATE_DIR).exists(), "the CLI created the embedded store"


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, cli_in: Callable[[str], Cli]) -> Cli:
    """The CLI in local mode, then in remote mode."""
    return cli_in(request.param)


@pytest.fixture(params=MODES)
def file_mode(request: pytest.FixtureRequest, workspace_dir: Path, tmp_path: Path) -> Iterator[Cli]:
    """The CLI in local, then remote mode, with no database and no server behind it."""
    decoy = tmp_path / "file-commands-must-not-open-this.db"
    env = {
        **CLEAN_ENV,
        "LAUNCHDECK_WORKSPACE": str(workspace_dir),
        "LAUNCHDECK_DATABASE_URL": f"sqlite:///{decoy}",
        "LAUNCHDECK_ACTOR": LOCAL_ACTOR,
    }
    if request.param == "remote":
        env |= {"LAUNCHDECK_URL": closed_port_url(), "LAUNCHDECK_TOKEN": "ld_0_unused"}
    yield Cli(
        mode=request.param, env=env, workspace=workspace_dir, app=build_app(), runner=CliRunner()
    )
    assert not decoy.exists(), "a file-only command opened the database"
    assert not (workspace_dir / STATE_DIR).exists(), "a file-only command created the store"
