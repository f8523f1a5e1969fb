"""Fixtures of the flag-service suite: a small workspace applied on SQLite and PostgreSQL, the
real gate, and flag services acting as different people on one pinned clock.

The workspace: `staging` (not production-like) and `production` (production-like); checkout-api
(tier 1) and cms (tier 2); one tier-1 campaign `launch` on checkout-api, 2026-11-25 00:00Z to
11-26 00:00Z. The default freeze policy freezes tier-1 campaigns from 24 h before to 48 h after
(rollbacks and hotfixes only), so checkout-api is frozen in production from 11-24 00:00Z to
11-28 00:00Z. The clock starts on 2026-11-20 12:00Z: no freeze.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from launchdeck.checks import installed_checks
from launchdeck.flags.service import FlagService
from launchdeck.gate.service import GateService
from launchdeck.reliability.service import prometheus_sources
from launchdeck.store import Database
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

WORKSPACE: dict[str, Any] = {
    "version": 1,
    "workspace": {"name": "flags-suite", "timezone": "UTC"},
    "environments": [
        {"id": "staging"},
        {"id": "production", "production_like": True},
    ],
    "systems": [
        {"id": "checkout-api", "tier": 1},
        {"id": "cms", "tier": 2},
    ],
    "campaigns": [
        {
            "id": "launch",
            "name": "Launch",
            "start": "2026-11-25T00:00:00",
            "end": "2026-11-26T00:00:00",
            "tier": 1,
            "systems": ["checkout-api"],
        }
    ],
}


def workspace(**sections: Any) -> WorkspaceSpec:
    """The suite's workspace with `sections` replaced or added (flags, flag_governance …)."""
    return WorkspaceSpec.model_validate({**copy.deepcopy(WORKSPACE), **sections})


@pytest.fixture
def workspace_service(db: Database, clock: Any) -> WorkspaceService:
    return WorkspaceService(db, actor="gitops", clock=clock)


@pytest.fixture
def applied(workspace_service: WorkspaceService) -> WorkspaceSpec:
    spec = workspace()
    workspace_service.apply(spec)
    return spec


@pytest.fixture
def as_actor(
    db: Database, clock: Any, prometheus_url: str, applied: WorkspaceSpec
) -> Callable[[str], FlagService]:
    """A factory: the flag service acting as `name`, with the real gate (installed checks)."""
    sources = prometheus_sources(prometheus_url, timeout_s=1)

    def make(name: str) -> FlagService:
        gate = GateService(
            db,
            actor=name,
            clock=clock,
            checks=installed_checks(db, clock=clock, sources=sources),
        )
        return FlagService(db, actor=name, clock=clock, gate=gate)

    return make


@pytest.fixture
def flags(as_actor: Callable[[str], FlagService]) -> FlagService:
    """The flag service acting as alice."""
    return as_actor("alice")
