"""A persisted release: the release machine's value and what surrounds it. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from launchdeck.rollout.release import Release

__all__ = ["ReleaseRecord"]


@dataclass(frozen=True, slots=True)
class ReleaseRecord:
    id: int
    release: Release
    target: dict[str, Any]
    """The target's settings as resolved when the release was created (kind, root, ports …)."""
    artifact: str
    change_type: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    controller: dict[str, Any] = field(default_factory=dict)
    """What the controller keeps between passes: the access-log offsets of its windows."""
    finished_at: datetime | None = None
    passed_at: datetime | None = None
    """The controller's last pass over it."""
    revision: int = 0

    @property
    def ref(self) -> str:
        return f"#{self.id}"
