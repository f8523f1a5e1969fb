"""Drives the launchdeck CLI in-process (Typer's CliRunner), in local or remote mode."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from launchdeck.auth.model import Scope
from launchdeck.auth.service import TokenService
from launchdeck.store import Database, safe_url

__all__ = [
    "ADMIN_TOKEN_NAME",
    "CLEAN_ENV",
    "LOCAL_ACTOR",
    "SETUP_ACTOR",
    "SQLITE_ONLY",
    "TOKEN_PATTERN",
    "Cli",
    "closed_port_url",
    "hero_workspace",
    "issue_token",
    "table_rows",
]

ADMIN_TOKEN_NAME = "e2e-admin"
"""The name of the admin token remote mode uses: the actor of remote changes."""
LOCAL_ACTOR = "e2e@local"
"""LAUNCHDECK_ACTOR in local mode: the actor of local changes."""
SETUP_ACTOR = "e2e-setup"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""Run on SQLite only: PostgreSQL runs are kept to the tests where the engine matters."""
TOKEN_PATTERN = re.compile(r"^ld_[0-9a-f]{16}_[A-Za-z0-9_-]{20,}$")

CLEAN_ENV: Mapping[str, str | None] = {
    # Every setting the CLI reads, cleared so the developer's own environment cannot leak in.
    "LAUNCHDECK_WORKSPACE": None,
    "LAUNCHDECK_DATABASE_URL": None,
    "LAUNCHDECK_URL": None,
    "LAUNCHDECK_TOKEN": None,
    "LAUNCHDECK_ACTOR": None,
    "LAUNCHDECK_HTTP_TIMEOUT_S": None,
    "LAUNCHDECK_PROMETHEUS_URL": None,
    "LAUNCHDECK_PROMETHEUS_TIMEOUT_S": None,
    "LAUNCHDECK_LOG_LEVEL": None,
    "LAUNCHDECK_NOW": None,
    "LAUNCHDECK_EVENTS_PATH": None,
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "COLUMNS": "300",  # Rich wraps at 80 columns otherwise; lines and cells are asserted whole
}


@dataclass(frozen=True)
class Cli:
    """The launchdeck CLI in one mode: call it with arguments, get the Result."""

    mode: str
    env: Mapping[str, str | None]
    workspace: Path
    app: typer.Typer
    runner: CliRunner
    db: Database | None = None
    """The store behind this CLI; None when there is none (file-only commands)."""

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(self.app, list(args), env=dict(self.env), catch_exceptions=False)

    def json(self, *args: str) -> Any:
        """Run with --json appended and return the parsed stdout; the command must succeed."""
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def with_env(self, **overrides: str | None) -> Cli:
        return replace(self, env={**self.env, **overrides})

    @property
    def actor(self) -> str:
        """Who this CLI's changes are attributed to on the timeline."""
        return LOCAL_ACTOR if self.mode == "local" else ADMIN_TOKEN_NAME

    @property
    def target(self) -> str:
        """Where this CLI says the state lives (printed by plan and status)."""
        if self.mode == "local":
            assert self.db is not None
            return safe_url(self.db.url)
        url = self.env["LAUNCHDECK_URL"]
        assert url is not None
        return url

    @property
    def workspace_file(self) -> Path:
        return self.workspace / "launchdeck.yaml"

    def edit_workspace(self, old: str, new: str) -> None:
        """Replace the one occurrence of `old` in launchdeck.yaml with `new`."""
        text = self.workspace_file.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        self.workspace_file.write_text(text.replace(old, new), encoding="utf-8")


def issue_token(
    db: Database,
    name: str,
    *scopes: Scope,
    clock: Callable[[], datetime],
    expires_at: datetime | None = None,
) -> str:
    """A fresh token with `scopes`, created directly on the database."""
    service = TokenService(db, actor=SETUP_ACTOR, clock=clock)
    return service.create(name, scopes, expires_at=expires_at).token


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def table_rows(output: str) -> list[list[str]]:
    """The body rows of the Rich tables in `output`, as lists of stripped cell texts."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def hero_workspace(name: str) -> dict[str, Any]:
    """A one-experiment workspace: flag `hero` in production carrying experiment `hero-test`
    (control / urgency, 50/50), primary metric `purchase`."""
    return {
        "workspace": {"name": name},
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
