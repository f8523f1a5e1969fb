"""The gate's data: requests, check results and verdicts. Pure, and the wire format of the API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict, Field

from launchdeck.calendar.model import ChangeType
from launchdeck.durations import PlausibleInstant

__all__ = [
    "AffectedCampaign",
    "Check",
    "CheckOutcome",
    "CheckResult",
    "Decision",
    "GateRequest",
    "Override",
    "Verdict",
    "active_overrides",
    "worst",
]


class CheckOutcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    UNKNOWN = "unknown"
    """The check could not be made (no provider yet, no data). Shown, never a fake pass."""
    WARN = "warn"
    BLOCK = "block"


_RANK: Final = (CheckOutcome.PASS, CheckOutcome.UNKNOWN, CheckOutcome.WARN, CheckOutcome.BLOCK)


def worst(outcomes: Iterable[CheckOutcome]) -> CheckOutcome:
    """The worst outcome (PASS < UNKNOWN < WARN < BLOCK); PASS for none."""
    return max(outcomes, key=_RANK.index, default=CheckOutcome.PASS)


class Decision(StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    BLOCK = "block"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GateRequest(_Frozen):
    """ "May I make this change to this system in this environment at this time?"."""

    system: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    environment: str = Field(default="production", pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    change_type: ChangeType = ChangeType.FEATURE
    at: PlausibleInstant | None = None
    """When the change would land; now when omitted."""


class CheckResult(_Frozen):
    check: str
    """Stable snake_case id: freeze_window, active_release, error_budget, open_incident."""
    outcome: CheckOutcome
    summary: str
    facts: dict[str, float | int | str | None] = Field(default_factory=dict)


class AffectedCampaign(_Frozen):
    campaign_id: str
    name: str
    tier: int
    revenue_per_hour: float
    currency: str
    starts_at: datetime
    ends_at: datetime
    path: tuple[str, ...]
    """From the changed system to the campaign: ("cms", "landing-pages", "Black Friday 2026")."""


class Override(_Frozen):
    """An admin's time-boxed exception: freezes on `system` warn instead of block."""

    id: str
    system: str
    environment: str | None = None
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime


def active_overrides(
    overrides: Iterable[Override], *, system: str, environment: str, at: datetime
) -> tuple[Override, ...]:
    """The overrides that cover a change to `system` in `environment` at `at`, by id."""
    return tuple(
        sorted(
            (
                o
                for o in overrides
                if o.system == system
                and o.environment in (None, environment)
                and o.starts_at <= at < o.ends_at
            ),
            key=lambda o: o.id,
        )
    )


class Verdict(_Frozen):
    decision: Decision
    request: GateRequest
    at: datetime
    checks: tuple[CheckResult, ...]
    affected: tuple[AffectedCampaign, ...] = ()
    revenue_per_hour_at_stake: float = 0.0
    next_allowed_at: datetime | None = None
    next_allowed_note: str | None = None
    overrides: tuple[Override, ...] = ()
    """Overrides that changed this verdict."""


class Check(Protocol):
    """A pluggable gate check (active release, error budget, open incident …)."""

    @property
    def name(self) -> str: ...

    def evaluate(self, request: GateRequest, *, at: datetime) -> CheckResult: ...
