"""The bodies and answers of flag use cases, shared by the service, the API and the CLI. Pure."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from launchdeck.durations import PlausibleInstant
from launchdeck.flags.model import EnvPatch, ScheduledChange, Snapshot
from launchdeck.flags.records import ChangeRequest, StoredFlag

__all__ = [
    "ChangeBody",
    "ChangeOutcome",
    "EvalRequest",
    "EvalResult",
    "ScheduleBody",
]

Text = Annotated[str, Field(max_length=2000)]
EnvName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChangeBody(_Body):
    """Change a flag in one environment now (or at `apply_at` through a change request)."""

    environment: EnvName
    patch: EnvPatch
    comment: Text | None = None
    expected_version: Annotated[int, Field(ge=1)] | None = None
    """The version the change was made against; a newer stored version is a 409."""
    apply_at: PlausibleInstant | None = None
    """Take effect later: the change becomes a scheduled change of the flag."""


class ScheduleBody(_Body):
    environment: EnvName
    change: ScheduledChange
    comment: Text | None = None


class ChangeOutcome(_Body):
    """What a change did: applied (a new version), scheduled, or waiting for approvals."""

    flag: StoredFlag
    change_request: ChangeRequest | None = None
    outcome: str
    """`applied`, `scheduled` or `approval_required`."""
    gate: str
    """What the gate said, or why it was not asked (a kill switch is remediation)."""
    warnings: tuple[str, ...] = ()


class EvalRequest(_Body):
    environment: EnvName = "production"
    context: dict[str, JsonValue] = Field(default_factory=dict)
    flags: tuple[str, ...] = ()
    """Empty: every flag."""
    at: PlausibleInstant | None = None
    """Evaluate as of this instant (scheduled changes and campaign-tied ones included)."""


class EvalResult(_Body):
    environment: str
    at: str
    results: dict[str, dict[str, Any]]
    """Flag key → value, variant, reason, error_code, metadata, code_default."""
    snapshot_etag: str = ""


class SnapshotAnswer(_Body):
    snapshot: Snapshot
    not_modified: bool = False


__all__ += ["SnapshotAnswer"]
