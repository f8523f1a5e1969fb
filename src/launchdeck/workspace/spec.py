"""The schema of launchdeck.yaml (Pydantic v2). Pure: parsing and field checks only.

Cross-references (unknown systems, cycles, duplicates) are checked in `validate.py`,
where every problem at once can be reported with its place in the file.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

__all__ = [
    "CampaignSpec",
    "EnvironmentSpec",
    "References",
    "SystemEnvironmentSpec",
    "SystemSpec",
    "WorkspaceMeta",
    "WorkspaceSpec",
    "check_timezone",
]

Id = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$"),
]
"""A stable identifier: lowercase letters, digits and dashes (like a DNS label)."""

ConfigValue = str | int | float | bool
Tier = Annotated[int, Field(ge=1, le=3)]
_EMAIL_OR_HANDLE = re.compile(r"^(@[\w.-]+|[\w.+-]+@[\w-]+(\.[\w-]+)+|[\w.-]+)$")


def check_timezone(name: str) -> str:
    """Return `name` if it is an IANA time zone; raise ValueError naming the problem otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as 'America/New_York' or 'UTC'"
        ) from exc
    return name


def _check_owner(owner: str) -> str:
    if not _EMAIL_OR_HANDLE.match(owner):
        raise ValueError(f"owner {owner!r} is not an e-mail address, a @handle or a team name")
    return owner


Owner = Annotated[str, AfterValidator(_check_owner)]
"""Checked one by one, so an error names the item (and its line), not the whole list."""


def _refuse_nul(value: object) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain a NUL character (\\0)")
    elif isinstance(value, tuple | list):
        for item in value:
            _refuse_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # YAML ("\0") and JSON ("\u0000") can spell NUL, but PostgreSQL text cannot hold it:
        # refuse it here, with its place in the file, rather than fail in the middle of apply.
        _refuse_nul(value)
        return value


Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
FilePath = Annotated[str, StringConstraints(min_length=1, max_length=500)]
_EARLIEST, _LATEST = 1970, 2999


class WorkspaceMeta(_Spec):
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    timezone: str = "UTC"
    description: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)


class EnvironmentSpec(_Spec):
    id: Id
    name: Name | None = None
    production_like: bool = False
    description: str | None = None


class SystemEnvironmentSpec(_Spec):
    """How a system runs in one environment."""

    url: str | None = None
    config: dict[str, ConfigValue] = Field(default_factory=dict)


class SystemSpec(_Spec):
    id: Id
    name: Name | None = None
    tier: Tier = 2
    owners: tuple[Owner, ...] = ()
    depends_on: tuple[Id, ...] = ()
    description: str | None = None
    environments: dict[str, SystemEnvironmentSpec] = Field(default_factory=dict)
    rollout: FilePath | None = None
    """Name of a rollout strategy file in `references.rollouts` (read by the rollout capability)."""
    slos: tuple[FilePath, ...] = ()
    """SLO files (in `references.slos`) that belong to this system."""


class CampaignSpec(_Spec):
    id: Id
    name: Name
    start: datetime
    end: datetime
    timezone: str | None = None
    """Zone of naive start/end times; the workspace time zone when omitted."""
    tier: Tier = 2
    revenue_per_hour: Annotated[float, Field(ge=0)] = 0.0
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    channels: tuple[str, ...] = ()
    systems: tuple[Id, ...] = ()
    description: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return check_timezone(value) if value is not None else None

    @field_validator("start", "end")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        if not _EARLIEST <= value.year <= _LATEST:
            raise ValueError(f"the year must be between {_EARLIEST} and {_LATEST}")
        return value


class References(_Spec):
    """Files later capabilities read. Stored as opaque paths now, checked for existence."""

    calendars: tuple[FilePath, ...] = ()
    slos: tuple[FilePath, ...] = ()
    rollouts: tuple[FilePath, ...] = ()


class WorkspaceSpec(_Spec):
    """A whole launchdeck.yaml."""

    version: Literal[1] = 1
    workspace: WorkspaceMeta
    environments: tuple[EnvironmentSpec, ...] = ()
    systems: tuple[SystemSpec, ...] = ()
    campaigns: tuple[CampaignSpec, ...] = ()
    references: References = References()
