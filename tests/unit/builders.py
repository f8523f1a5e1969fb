"""Small builders of hand-made workspace data for unit tests: `a_spec(systems=[a_system("cms")])`.

Each builder returns the smallest valid piece, and keyword arguments override any field.
Documents are plain dicts (what YAML gives the loader); `a_spec` validates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from launchdeck.workspace.model import (
    Campaign,
    DesiredState,
    Environment,
    System,
    WorkspaceSettings,
)
from launchdeck.workspace.spec import WorkspaceSpec

__all__ = [
    "a_campaign",
    "a_campaign_model",
    "a_spec",
    "a_state",
    "a_system",
    "a_system_model",
    "an_environment",
    "an_environment_model",
]


def an_environment(env_id: str = "production", **fields: Any) -> dict[str, Any]:
    return {"id": env_id, **fields}


def a_system(system_id: str = "web", **fields: Any) -> dict[str, Any]:
    return {"id": system_id, **fields}


def a_campaign(campaign_id: str = "sale", **fields: Any) -> dict[str, Any]:
    return {
        "id": campaign_id,
        "name": campaign_id.title(),
        "start": "2026-11-27T00:00:00",
        "end": "2026-11-28T00:00:00",
        **fields,
    }


def a_spec(
    *,
    systems: Sequence[dict[str, Any]] = (),
    environments: Sequence[dict[str, Any]] = (),
    campaigns: Sequence[dict[str, Any]] = (),
    timezone: str = "UTC",
    references: dict[str, Any] | None = None,
) -> WorkspaceSpec:
    return WorkspaceSpec.model_validate(
        {
            "workspace": {"name": "test-workspace", "timezone": timezone},
            "environments": list(environments),
            "systems": list(systems),
            "campaigns": list(campaigns),
            "references": references or {},
        }
    )


def an_environment_model(env_id: str = "production", **fields: Any) -> Environment:
    return Environment(**{"id": env_id, "name": env_id, **fields})


def a_system_model(system_id: str = "web", **fields: Any) -> System:
    return System(**{"id": system_id, "name": system_id, **fields})


def a_campaign_model(campaign_id: str = "sale", **fields: Any) -> Campaign:
    return Campaign(
        **{
            "id": campaign_id,
            "name": campaign_id,
            "starts_at": datetime(2026, 11, 27, 5, tzinfo=UTC),
            "ends_at": datetime(2026, 11, 28, 5, tzinfo=UTC),
            "timezone": "America/New_York",
            **fields,
        }
    )


def a_state(
    *,
    workspace: WorkspaceSettings | None = None,
    environments: Sequence[Environment] = (),
    systems: Sequence[System] = (),
    campaigns: Sequence[Campaign] = (),
) -> DesiredState:
    return DesiredState(
        workspace=workspace,
        environments=tuple(environments),
        systems=tuple(systems),
        campaigns=tuple(campaigns),
    )
