"""What the store keeps about flags: versions, change requests, SDK keys. Pure.

A flag is versioned as a whole: every write stores the full definition as a new version with
its author and comment, so history is a list of documents and a restore is a write of an old
one. Change requests, SDK keys and the governance policy live beside them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from launchdeck.flags.model import EnvPatch, FlagSpec, SegmentSpec

__all__ = [
    "Approval",
    "ChangeRequest",
    "CrStatus",
    "FlagVersion",
    "ManagedBy",
    "SdkKeyInfo",
    "StoredFlag",
    "StoredSegment",
    "VersionAction",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ManagedBy(StrEnum):
    API = "api"
    """Created and changed through the API or the CLI."""
    GIT = "git"
    """Declared in launchdeck.yaml: changed by plan/apply only, read-only in the API."""


class VersionAction(StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    ARCHIVED = "archived"
    RESTORED = "restored"


class StoredFlag(_Frozen):
    spec: FlagSpec
    version: int
    managed_by: ManagedBy
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    archived_at: datetime | None = None

    @property
    def key(self) -> str:
        return self.spec.key


class FlagVersion(_Frozen):
    key: str
    version: int
    action: VersionAction
    definition: dict[str, Any]
    actor: str
    at: datetime
    comment: str | None = None


class StoredSegment(_Frozen):
    spec: SegmentSpec
    version: int
    managed_by: ManagedBy
    updated_at: datetime
    updated_by: str

    @property
    def key(self) -> str:
        return self.spec.key


class CrStatus(StrEnum):
    DRAFT = "draft"
    """Waiting for approvals."""
    APPROVED = "approved"
    APPLIED = "applied"
    SCHEDULED = "scheduled"
    """Applied as a scheduled change of the flag: it takes effect at `apply_at`."""
    REJECTED = "rejected"
    CANCELLED = "cancelled"


OPEN_CR_STATUSES = frozenset({CrStatus.DRAFT, CrStatus.APPROVED})


class Approval(_Frozen):
    actor: str
    at: datetime
    comment: str | None = None


class ChangeRequest(_Frozen):
    """A proposed change to one flag in one environment, against the version it was made on."""

    id: str
    flag_key: str
    environment: str
    base_version: int
    patch: EnvPatch
    status: CrStatus
    author: str
    created_at: datetime
    comment: str | None = None
    approvals: tuple[Approval, ...] = ()
    apply_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    applied_version: int | None = None
    version: int = 1
    """The optimistic lock of the request itself."""


class SdkKeyInfo(_Frozen):
    """An environment-scoped key for SDKs and OFREP: it reads one environment's flags, nothing
    else. Only the hash of its secret is stored."""

    id: str
    name: str
    environment: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None


class CreatedSdkKey(_Frozen):
    key: str
    """Shown once: `lds_<id>_<secret>`."""
    info: SdkKeyInfo


__all__ += ["OPEN_CR_STATUSES", "CreatedSdkKey"]
