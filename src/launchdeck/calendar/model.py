"""Calendar data the gate reasons over: change types, occurrences, freeze windows. Pure."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import PlainSerializer

__all__ = [
    "EMERGENCY_CHANGES",
    "ChangeType",
    "FreezeKind",
    "FreezeWindow",
    "Occurrence",
    "SortedSet",
]

T = TypeVar("T", bound=str)


def _sorted(values: frozenset[str]) -> list[str]:
    return sorted(values)


SortedSet = Annotated[frozenset[T], PlainSerializer(_sorted, return_type=list[str])]
"""A set that is written out sorted, so the same state gives the same JSON in every process."""


class ChangeType(StrEnum):
    """What kind of change asks the gate; freeze policies list the ones they still allow."""

    ROLLBACK = "rollback"
    HOTFIX = "hotfix"
    CONTENT = "content"
    CONFIG = "config"
    FLAG = "flag"
    FEATURE = "feature"
    RELIABILITY = "reliability"
    """Work that restores reliability; an exhausted error budget still allows it."""


EMERGENCY_CHANGES: tuple[ChangeType, ...] = (ChangeType.ROLLBACK, ChangeType.HOTFIX)
"""What a freeze allows unless its policy says otherwise: undoing harm, never adding risk."""


class FreezeKind(StrEnum):
    CAMPAIGN = "campaign"
    """Around a campaign, by its tier."""
    RECURRING = "recurring"
    """An RRULE window from launchdeck.yaml (weekends, month-end close …)."""
    ADHOC = "adhoc"
    """Added by a person from the CLI or API, with a reason and an end."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One campaign occurrence in time (a recurring ICS event gives one per instance)."""

    campaign_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    tier: int
    revenue_per_hour: float
    currency: str
    systems: tuple[str, ...]
    timezone: str = "UTC"
    source: str | None = None


@dataclass(frozen=True, slots=True)
class FreezeWindow:
    """A span of time in which only `allow`ed change types may reach the named systems.

    `systems` / `environments` empty means every system / every production-like environment.
    """

    id: str
    kind: FreezeKind
    name: str
    starts_at: datetime
    ends_at: datetime
    allow: SortedSet[ChangeType]
    systems: SortedSet[str] = frozenset()
    environments: SortedSet[str] = frozenset()
    reason: str | None = None
    campaign_id: str | None = None

    def reaches(self, radius: Container[str]) -> bool:
        """Whether a change whose blast radius is `radius` touches this window's systems."""
        return not self.systems or any(s in radius for s in self.systems)

    def covers(self, at: datetime) -> bool:
        """Whether `at` lies in [starts_at, ends_at)."""
        return self.starts_at <= at < self.ends_at
