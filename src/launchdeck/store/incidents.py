"""Incident rows: incidents, their entries and tasks. Rows <-> the pure incident model."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from launchdeck.errors import Conflict, NotFound
from launchdeck.incidents.model import (
    OPEN_STATUSES,
    Entry,
    EntryKind,
    Incident,
    IncidentSource,
    Priority,
    Roles,
    Status,
    Task,
    TaskKind,
    TaskStatus,
)
from launchdeck.incidents.severity import Assessment, Severity, Signal
from launchdeck.store.tables import IncidentEntryRow, IncidentRow, IncidentTaskRow

__all__ = ["SqlIncidentStore"]


def _incident(row: IncidentRow) -> Incident:
    return Incident(
        id=row.id,
        title=row.title,
        summary=row.summary,
        type=row.type,
        systems=tuple(row.systems),
        signal=Signal(row.signal),
        traffic_share=row.traffic_share,
        severity=Severity(row.severity),
        severity_manual=row.severity_manual,
        priority=Priority(row.priority),
        priority_manual=row.priority_manual,
        status=Status(row.status),
        roles=Roles.model_validate(row.roles),
        source=IncidentSource(row.source),
        dedupe_key=row.dedupe_key,
        started_at=row.started_at,
        detected_at=row.detected_at,
        opened_at=row.opened_at,
        mitigated_at=row.mitigated_at,
        resolved_at=row.resolved_at,
        postmortem_at=row.postmortem_at,
        opened_by=row.opened_by,
        assessment=Assessment.model_validate(row.assessment),
        assessed_at=row.assessed_at,
        version=row.version,
    )


def _entry(row: IncidentEntryRow) -> Entry:
    return Entry(
        id=row.id,
        incident_id=row.incident_id,
        at=row.at,
        kind=EntryKind(row.kind),
        actor=row.actor,
        text=row.text,
        pinned=row.pinned,
        data=row.data,
    )


def _task(row: IncidentTaskRow) -> Task:
    return Task(
        id=row.id,
        incident_id=row.incident_id,
        title=row.title,
        kind=TaskKind(row.kind),
        action_type=row.action_type,
        owner=row.owner,
        due_at=row.due_at,
        status=TaskStatus(row.status),
        created_at=row.created_at,
        done_at=row.done_at,
    )


def _columns(incident: Incident) -> dict[str, Any]:
    data = incident.model_dump(mode="python", exclude={"id", "version"})
    data["systems"] = list(incident.systems)
    data["roles"] = incident.roles.model_dump(mode="json")
    data["assessment"] = incident.assessment.model_dump(mode="json")
    for key in ("signal", "severity", "priority", "status", "source"):
        data[key] = str(data[key])
    return data


class SqlIncidentStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, incident_id: int, *, lock: bool = False) -> IncidentRow:
        query = select(IncidentRow).where(IncidentRow.id == incident_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalars(query).one_or_none()
        if row is None:
            raise NotFound(
                f"no incident INC-{incident_id}", hint="list them with 'launchdeck incident list'"
            )
        return row

    def add(self, incident: Incident) -> Incident:
        """Insert `incident` (its id is ignored: the database numbers incidents)."""
        row = IncidentRow(**_columns(incident), version=1)
        self.session.add(row)
        self.session.flush()
        return _incident(row)

    def get(self, incident_id: int, *, lock: bool = False) -> Incident:
        return _incident(self._row(incident_id, lock=lock))

    def save(self, incident: Incident) -> Incident:
        """Write `incident` over its row if nobody changed the row since it was read."""
        row = self._row(incident.id, lock=True)
        if row.version != incident.version:
            raise Conflict(
                f"INC-{incident.id} changed while this update was prepared",
                hint="show it again and retry",
            )
        for key, value in _columns(incident).items():
            setattr(row, key, value)
        row.version = incident.version + 1
        self.session.flush()
        return _incident(row)

    def find(
        self,
        *,
        statuses: Iterable[Status] | None = None,
        system: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[Incident]:
        """Newest detection first."""
        query = select(IncidentRow).order_by(IncidentRow.detected_at.desc(), IncidentRow.id.desc())
        if statuses is not None:
            query = query.where(IncidentRow.status.in_([str(s) for s in statuses]))
        if since is not None:
            query = query.where(IncidentRow.detected_at >= since)
        rows = self.session.scalars(query)
        found = [_incident(r) for r in rows if system is None or system in r.systems]
        return found[:limit]

    def open_incidents(self) -> list[Incident]:
        return self.find(statuses=OPEN_STATUSES, limit=10_000)

    def find_open(self, dedupe_key: str) -> Incident | None:
        row = self.session.scalars(
            select(IncidentRow)
            .where(
                IncidentRow.dedupe_key == dedupe_key,
                IncidentRow.status.in_([str(s) for s in OPEN_STATUSES]),
            )
            .order_by(IncidentRow.id.desc())
            .limit(1)
        ).one_or_none()
        return _incident(row) if row is not None else None

    def add_entry(
        self,
        incident_id: int,
        *,
        at: datetime,
        kind: EntryKind,
        actor: str,
        text: str,
        pinned: bool = False,
        data: dict[str, Any] | None = None,
    ) -> Entry:
        row = IncidentEntryRow(
            incident_id=incident_id,
            at=at,
            kind=str(kind),
            actor=actor,
            text=text,
            pinned=pinned,
            data=data or {},
        )
        self.session.add(row)
        self.session.flush()
        return _entry(row)

    def entries(self, incident_id: int) -> list[Entry]:
        """In time order (ties by insertion)."""
        rows = self.session.scalars(
            select(IncidentEntryRow)
            .where(IncidentEntryRow.incident_id == incident_id)
            .order_by(IncidentEntryRow.at, IncidentEntryRow.id)
        )
        return [_entry(r) for r in rows]

    def pin(self, incident_id: int, entry_id: int, *, pinned: bool) -> Entry:
        row = self.session.get(IncidentEntryRow, entry_id)
        if row is None or row.incident_id != incident_id:
            raise NotFound(f"INC-{incident_id} has no entry {entry_id}")
        row.pinned = pinned
        self.session.flush()
        return _entry(row)

    def add_task(
        self,
        incident_id: int,
        *,
        title: str,
        kind: TaskKind,
        action_type: str | None,
        owner: str | None,
        due_at: datetime | None,
        created_at: datetime,
    ) -> Task:
        row = IncidentTaskRow(
            incident_id=incident_id,
            title=title,
            kind=str(kind),
            action_type=action_type,
            owner=owner,
            due_at=due_at,
            status=str(TaskStatus.OPEN),
            created_at=created_at,
        )
        self.session.add(row)
        self.session.flush()
        return _task(row)

    def tasks(self, incident_id: int) -> list[Task]:
        rows = self.session.scalars(
            select(IncidentTaskRow)
            .where(IncidentTaskRow.incident_id == incident_id)
            .order_by(IncidentTaskRow.id)
        )
        return [_task(r) for r in rows]

    def set_task(self, incident_id: int, task_id: int, *, done: bool, at: datetime) -> Task:
        row = self.session.get(IncidentTaskRow, task_id)
        if row is None or row.incident_id != incident_id:
            raise NotFound(f"INC-{incident_id} has no task {task_id}")
        row.status = str(TaskStatus.DONE if done else TaskStatus.OPEN)
        row.done_at = at if done else None
        self.session.flush()
        return _task(row)
