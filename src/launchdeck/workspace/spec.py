"""The schema of launchdeck.yaml (Pydantic v2). Pure: parsing and field checks only.

Cross-references (unknown systems, cycles, duplicates) are checked in `validate.py`,
where every problem at once can be reported with its place in the file.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from launchdeck.calendar.model import EMERGENCY_CHANGES, ChangeType
from launchdeck.durations import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    coerce_duration,
    in_plausible_years,
)
from launchdeck.experiments.model import EventsSpec, ExperimentSpec, MetricSpec
from launchdeck.flags.model import FlagSpec, GovernanceSpec, SegmentSpec
from launchdeck.incidents.severity import IncidentPolicy
from launchdeck.notify.spec import NotificationsSpec
from launchdeck.reliability.spec import ReliabilitySpec

__all__ = [
    "CalendarFeedSpec",
    "CampaignFreezeSpec",
    "CampaignSpec",
    "EnvironmentSpec",
    "FreezesSpec",
    "RecurringFreezeSpec",
    "References",
    "SloSpec",
    "SystemEnvironmentSpec",
    "SystemSpec",
    "TargetSpec",
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
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
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


class TargetSpec(_Spec):
    """Where `launchdeck deploy` releases a system in one environment (the rollout capability).

    `nginx-static` (the default): launchdeck's own nginx serving immutable release directories
    from `root` (default .launchdeck/sites/<system>/<environment>) on `port`, the idle colour or
    canary on `preview_port` (both chosen once and kept when absent). `command`: user scripts per
    operation (`commands`), see docs/rollout.md.
    """

    kind: Literal["nginx-static", "command"] = "nginx-static"
    root: FilePath | None = None
    host: Annotated[str, StringConstraints(min_length=1, max_length=253)] = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    preview_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    paid_parameters: (
        tuple[Annotated[str, StringConstraints(min_length=1, max_length=100)], ...] | None
    ) = None
    """Query parameters (`gclid`, or `utm_medium=cpc`) whose visitors stay on stable."""
    commands: dict[str, tuple[Annotated[str, StringConstraints(min_length=1)], ...]] | None = None
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 300.0

    @model_validator(mode="after")
    def _commands_for_command(self) -> TargetSpec:
        if self.kind == "command" and not self.commands:
            raise ValueError("a command target needs commands: (deploy, set-weight, promote …)")
        if self.kind == "nginx-static" and self.commands:
            raise ValueError("commands: are for kind: command; nginx-static runs its own nginx")
        return self


class SystemEnvironmentSpec(_Spec):
    """How a system runs in one environment."""

    url: str | None = None
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    target: TargetSpec | None = None


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
    source: FilePath | None = None
    """Where the campaign came from when not launchdeck.yaml (an ICS feed); set by the loader."""
    slo_objectives: dict[str, Annotated[float, Field(gt=0, lt=100)]] = Field(default_factory=dict)
    """A protected window: SLO name -> the stricter targetPercent it is held to meanwhile."""
    owners: tuple[Owner, ...] = ()
    """The marketers who run it: told in plain language when an incident reaches it."""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return check_timezone(value) if value is not None else None

    @field_validator("start", "end")
    @classmethod
    def _plausible(cls, value: datetime) -> datetime:
        if not in_plausible_years(value):
            raise ValueError(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
        return value


class CalendarFeedSpec(_Spec):
    """An iCalendar (RFC 5545) file whose events become campaigns.

    Per event, a campaign field comes from (first found): an `X-LAUNCHDECK-<FIELD>` property,
    a `field: value` line in DESCRIPTION, a CATEGORIES entry (`tier-1`, `system:cms`), this
    feed's default. See docs/calendar.md.
    """

    path: FilePath
    timezone: str | None = None
    """Zone of floating times and all-day events; the workspace time zone when omitted."""
    tier: Tier = 2
    revenue_per_hour: Annotated[float, Field(ge=0)] = 0.0
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "USD"
    systems: tuple[Id, ...] = ()
    channels: tuple[str, ...] = ()
    horizon_days: Annotated[int, Field(ge=1, le=3660)] = 400
    """How far ahead recurring events are expanded."""
    since: AwareDatetime | None = None
    """Import occurrences ending after this instant; 30 days before now when omitted."""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return check_timezone(value) if value is not None else None


Duration = Annotated[timedelta, BeforeValidator(coerce_duration), Field(ge=timedelta(0))]
_ALL_BUT_FEATURES = (
    ChangeType.ROLLBACK,
    ChangeType.HOTFIX,
    ChangeType.CONTENT,
    ChangeType.CONFIG,
    ChangeType.FLAG,
    ChangeType.RELIABILITY,
)


class CampaignFreezeSpec(_Spec):
    """A freeze around every campaign of a tier: from `before` its start to `after` its end."""

    tier: Tier
    before: Duration = timedelta(0)
    after: Duration = timedelta(0)
    allow: tuple[ChangeType, ...] = EMERGENCY_CHANGES
    environments: tuple[Id, ...] = ()
    """Empty: every production-like environment."""


class RecurringFreezeSpec(_Spec):
    """A repeating window: RRULE local start times, each lasting `duration` of wall clock."""

    id: Id
    name: Name | None = None
    rrule: Annotated[str, StringConstraints(min_length=5, max_length=500)]
    """RFC 5545 RRULE value, e.g. FREQ=WEEKLY;BYDAY=FR (without the 'RRULE:' prefix)."""
    start: datetime
    """First window's local start (DTSTART), e.g. 2026-01-02T15:00."""
    duration: Duration
    timezone: str | None = None
    systems: tuple[Id, ...] = ()
    """Empty: every system."""
    environments: tuple[Id, ...] = ()
    allow: tuple[ChangeType, ...] = EMERGENCY_CHANGES
    reason: str | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return check_timezone(value) if value is not None else None

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, value: str) -> str:
        from dateutil.rrule import rrulestr

        value = value.removeprefix("RRULE:")
        try:
            rrulestr(value, dtstart=datetime(2026, 1, 1))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a valid RRULE: {exc}") from None
        return value


DEFAULT_CAMPAIGN_FREEZES = (
    CampaignFreezeSpec(tier=1, before=timedelta(hours=24), after=timedelta(hours=48)),
    CampaignFreezeSpec(tier=2, allow=_ALL_BUT_FEATURES),
)


class FreezesSpec(_Spec):
    """Freeze policies. Omitted: tier 1 from 24 h before to 48 h after (rollback, hotfix);
    tier 2 during the campaign (everything but features); tier 3 never frozen."""

    campaigns: tuple[CampaignFreezeSpec, ...] = DEFAULT_CAMPAIGN_FREEZES
    recurring: tuple[RecurringFreezeSpec, ...] = ()


class References(_Spec):
    """Files other capabilities read, relative to launchdeck.yaml; checked for existence."""

    calendars: tuple[FilePath | CalendarFeedSpec, ...] = ()
    slos: tuple[FilePath, ...] = ()
    rollouts: tuple[FilePath, ...] = ()
    runbooks: tuple[FilePath, ...] = ()
    """Runbook files (Markdown with front matter, or YAML), or directories of them."""


class SloSpec(_Spec):
    """An SLO read from a file in `references.slos`; filled in by the loader, not written in
    launchdeck.yaml. `document` is the OpenSLO SLO with its indicator and alert policies
    inlined, `datasource` the DataSource it reads from, if it names one."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    system: Id
    file: FilePath
    document: dict[str, Any]
    datasource: dict[str, Any] | None = None


class WorkspaceSpec(_Spec):
    """A whole launchdeck.yaml."""

    version: Literal[1] = 1
    workspace: WorkspaceMeta
    environments: tuple[EnvironmentSpec, ...] = ()
    systems: tuple[SystemSpec, ...] = ()
    campaigns: tuple[CampaignSpec, ...] = ()
    freezes: FreezesSpec = FreezesSpec()
    reliability: ReliabilitySpec = ReliabilitySpec()
    incidents: IncidentPolicy = IncidentPolicy()
    notifications: NotificationsSpec = NotificationsSpec()
    references: References = References()
    slos: tuple[SloSpec, ...] = ()
    """Loaded from `references.slos`; launchdeck.yaml itself cannot hold SLO documents."""
    flags: tuple[FlagSpec, ...] = ()
    """Flags managed in Git: plan/apply change them, and the API cannot."""
    segments: tuple[SegmentSpec, ...] = ()
    flag_governance: GovernanceSpec = GovernanceSpec()
    metrics: tuple[MetricSpec, ...] = ()
    experiments: tuple[ExperimentSpec, ...] = ()
    """Each on a flag of `flags:`: its split becomes that flag's fallthrough (see
    `launchdeck.experiments.model.compile_into`)."""
    events: EventsSpec = EventsSpec()
