"""Incidents: what they are, the states they move through, their entries and tasks. Pure, and the
wire format of the API.

Severity is the *impact* (how much marketing harm: SEV1 worst), priority the *urgency* (how soon
someone must act: P1 first). They usually agree, and may not: a tier-3 page broken for a campaign
that starts in an hour is low severity now and high priority.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from launchdeck.durations import PlausibleInstant
from launchdeck.incidents.severity import Assessment, Severity, Signal

__all__ = [
    "ACTION_TYPES",
    "OPEN_STATUSES",
    "Durations",
    "Entry",
    "EntryKind",
    "EntryRequest",
    "Incident",
    "IncidentSource",
    "IncidentView",
    "OpenRequest",
    "Priority",
    "Roles",
    "Status",
    "Task",
    "TaskKind",
    "TaskRequest",
    "TaskStatus",
    "UpdateRequest",
    "can_move",
    "default_priority",
    "view",
]


class Status(StrEnum):
    TRIAGE = "triage"
    ACTIVE = "active"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    POSTMORTEM_DONE = "postmortem_done"


_ORDER: Final = tuple(Status)

OPEN_STATUSES: Final = frozenset({Status.TRIAGE, Status.ACTIVE, Status.MITIGATED})
"""An incident in these is still going on: its severity follows the calendar, the gate sees it."""


def can_move(current: Status, new: Status) -> bool:
    """Forward one or more steps; a mitigated or resolved incident may also reopen (→ active)."""
    if new is Status.ACTIVE and current in (Status.MITIGATED, Status.RESOLVED):
        return True
    return _ORDER.index(new) > _ORDER.index(current)


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


def default_priority(severity: Severity) -> Priority:
    """P1 for SEV1 … P4 for SEV4, until a person says otherwise."""
    return Priority(f"P{severity.value[-1]}")


class IncidentSource(StrEnum):
    MANUAL = "manual"
    BURN_ALERT = "burn_alert"
    """A page-tier SLO burn-rate alert (Alertmanager's webhook, or `slo status`)."""
    ROLLBACK = "rollback"
    """An automated rollback of a release."""


class EntryKind(StrEnum):
    """Typed entries of an incident's own timeline."""

    OPENED = "opened"
    NOTE = "note"
    STATUS = "status"
    SEVERITY = "severity"
    PRIORITY = "priority"
    ROLE = "role"
    TASK = "task"
    CHANGE = "change"
    """Something launchdeck's timeline recorded before detection ("what changed?")."""
    ALERT = "alert"
    RUNBOOK = "runbook"
    NOTIFICATION = "notification"


class TaskKind(StrEnum):
    TASK = "task"
    """Work during the incident."""
    ACTION_ITEM = "action_item"
    """A postmortem follow-up: mitigate, prevent or process."""


ACTION_TYPES: Final = ("mitigate", "prevent", "process")


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Person = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class Roles(_Frozen):
    """Who does what (the incident command roles of Google SRE and PagerDuty)."""

    commander: Person | None = None
    scribe: Person | None = None
    liaison: Person | None = None
    """Talks to marketing and the campaign owners."""
    participants: tuple[Person, ...] = ()


class Entry(_Frozen):
    id: int
    incident_id: int
    at: datetime
    kind: EntryKind
    actor: str
    text: str
    pinned: bool = False
    data: dict[str, JsonValue] = Field(default_factory=dict)


class Task(_Frozen):
    id: int
    incident_id: int
    title: str
    kind: TaskKind = TaskKind.TASK
    action_type: str | None = None
    """mitigate | prevent | process, for action items."""
    owner: str | None = None
    due_at: datetime | None = None
    status: TaskStatus = TaskStatus.OPEN
    created_at: datetime
    done_at: datetime | None = None


class Incident(_Frozen):
    id: int
    title: str
    summary: str | None = None
    type: str | None = None
    """What kind of incident (outage, data-delay, third-party …): runbooks attach to types."""
    systems: tuple[str, ...]
    signal: Signal
    traffic_share: float | None = None
    """Share of the campaigns' traffic affected, 0..1; None: the policy's default for the signal."""
    severity: Severity
    severity_manual: bool = False
    """A person set the severity: the calendar no longer moves it (changes are still noted)."""
    priority: Priority
    priority_manual: bool = False
    status: Status
    roles: Roles = Roles()
    source: IncidentSource = IncidentSource.MANUAL
    dedupe_key: str | None = None
    started_at: datetime
    """When the impact began (defaults to detection)."""
    detected_at: datetime
    opened_at: datetime
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    postmortem_at: datetime | None = None
    opened_by: str
    assessment: Assessment
    """The latest computed severity with its reasons and the revenue at risk."""
    assessed_at: datetime
    version: int = 1

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def time_to_detect(self) -> timedelta:
        return self.detected_at - self.started_at

    @property
    def time_to_mitigate(self) -> timedelta | None:
        end = self.mitigated_at or self.resolved_at
        return end - self.started_at if end else None

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self.resolved_at - self.started_at if self.resolved_at else None

    @property
    def ref(self) -> str:
        return f"INC-{self.id}"


_Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
_Title = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
_Share = Annotated[float, Field(gt=0, le=1)]


class OpenRequest(_Frozen):
    """What a person (or an alert) knows when opening an incident."""

    title: _Title
    systems: Annotated[tuple[_Id, ...], Field(min_length=1)]
    signal: Signal = Signal.OUTAGE
    type: _Id | None = None
    summary: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    traffic_share: _Share | None = None
    started_at: PlausibleInstant | None = None
    detected_at: PlausibleInstant | None = None
    severity: Severity | None = None
    """Set by a person: the calendar no longer moves it."""
    priority: Priority | None = None
    commander: Person | None = None
    source: IncidentSource = IncidentSource.MANUAL
    dedupe_key: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    """An open incident with the same key gets an entry instead of a twin (alerts re-fire)."""


class UpdateRequest(_Frozen):
    """Fields to change; None leaves a field as it is."""

    title: _Title | None = None
    summary: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    type: _Id | None = None
    status: Status | None = None
    severity: Severity | None = None
    auto_severity: bool = False
    """Give the severity back to the calendar (undo a manual severity)."""
    priority: Priority | None = None
    signal: Signal | None = None
    traffic_share: _Share | None = None
    systems: Annotated[tuple[_Id, ...], Field(min_length=1)] | None = None
    commander: Person | None = None
    scribe: Person | None = None
    liaison: Person | None = None
    add_participants: tuple[Person, ...] = ()
    started_at: PlausibleInstant | None = None
    note: Annotated[str, StringConstraints(min_length=1, max_length=10_000)] | None = None
    """Added as a note entry (with the reason for the other changes, if any)."""
    pinned: bool = False


class TaskRequest(_Frozen):
    title: _Title
    kind: TaskKind = TaskKind.TASK
    action_type: Literal["mitigate", "prevent", "process"] | None = None
    owner: Person | None = None
    due_at: PlausibleInstant | None = None


class EntryRequest(_Frozen):
    """An entry added from outside the incident service (a runbook step, a note)."""

    kind: Literal[EntryKind.NOTE, EntryKind.RUNBOOK] = EntryKind.NOTE
    text: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    pinned: bool = False
    data: dict[str, JsonValue] = Field(default_factory=dict)


class Durations(_Frozen):
    """Seconds from the start of impact; None until the moment happens."""

    time_to_detect_s: float
    time_to_mitigate_s: float | None
    time_to_resolve_s: float | None


class IncidentView(_Frozen):
    incident: Incident
    entries: tuple[Entry, ...] = ()
    tasks: tuple[Task, ...] = ()
    durations: Durations


def view(
    incident: Incident, entries: Sequence[Entry] = (), tasks: Sequence[Task] = ()
) -> IncidentView:
    mitigate, resolve = incident.time_to_mitigate, incident.time_to_resolve
    return IncidentView(
        incident=incident,
        entries=tuple(entries),
        tasks=tuple(tasks),
        durations=Durations(
            time_to_detect_s=incident.time_to_detect.total_seconds(),
            time_to_mitigate_s=mitigate.total_seconds() if mitigate is not None else None,
            time_to_resolve_s=resolve.total_seconds() if resolve is not None else None,
        ),
    )
