"""/api/v1/incidents: open, list, show, update, tasks, entries, and Alertmanager's webhook.

Reads need `read`; every change needs `incidents` (or `admin`). No incident logic here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict

from launchdeck.api.deps import Clock, Db, Notifications, Reader, RequireScope
from launchdeck.auth.model import Scope, TokenInfo
from launchdeck.incidents.alerts import AlertmanagerWebhook
from launchdeck.incidents.model import (
    EntryRequest,
    Incident,
    IncidentView,
    OpenRequest,
    Task,
    TaskRequest,
    UpdateRequest,
)
from launchdeck.incidents.service import AlertsResult, IncidentService, Outbox

__all__ = ["router"]

router = APIRouter(tags=["incidents"])

Responder = Annotated[TokenInfo, Depends(RequireScope(Scope.INCIDENTS))]
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_ID = {"min_length": 1, "max_length": 200}


def _service(token: TokenInfo, db: Db, clock: Clock, outbox: Outbox | None) -> IncidentService:
    return IncidentService(db, actor=token.name, clock=clock, outbox=outbox)


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    done: bool


class EntryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pinned: bool


@router.post("/incidents", status_code=201, summary="Open an incident (incidents)")
def open_incident(
    body: OpenRequest, token: Responder, db: Db, clock: Clock, outbox: Notifications
) -> IncidentView:
    return _service(token, db, clock, outbox).open(body)


@router.get("/incidents", summary="Open incidents (or all), newest first")
def list_incidents(
    token: Reader,
    db: Db,
    clock: Clock,
    outbox: Notifications,
    all: bool = False,
    system: Annotated[str | None, Query(**_ID)] = None,
) -> list[Incident]:
    return _service(token, db, clock, outbox).list_incidents(all=all, system=system)


@router.get("/incidents/{incident_id}", summary="An incident with its timeline and tasks")
def show_incident(
    incident_id: IncidentId, token: Reader, db: Db, clock: Clock, outbox: Notifications
) -> IncidentView:
    return _service(token, db, clock, outbox).show(incident_id)


@router.patch("/incidents/{incident_id}", summary="Update an incident (incidents)")
def update_incident(
    incident_id: IncidentId,
    body: UpdateRequest,
    token: Responder,
    db: Db,
    clock: Clock,
    outbox: Notifications,
) -> IncidentView:
    return _service(token, db, clock, outbox).update(incident_id, body)


@router.post("/incidents/{incident_id}/tasks", status_code=201, summary="Add a task (incidents)")
def add_task(
    incident_id: IncidentId, body: TaskRequest, token: Responder, db: Db, clock: Clock
) -> Task:
    return _service(token, db, clock, None).add_task(incident_id, body)


@router.patch("/incidents/{incident_id}/tasks/{task_id}", summary="Mark a task done (incidents)")
def set_task(
    incident_id: IncidentId,
    task_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: TaskUpdate,
    token: Responder,
    db: Db,
    clock: Clock,
) -> Task:
    return _service(token, db, clock, None).set_task(incident_id, task_id, done=body.done)


@router.post(
    "/incidents/{incident_id}/entries",
    status_code=201,
    summary="Add a note or a runbook step to the incident's timeline (incidents)",
)
def add_entry(
    incident_id: IncidentId, body: EntryRequest, token: Responder, db: Db, clock: Clock
) -> IncidentView:
    return _service(token, db, clock, None).add_entry(incident_id, body)


@router.patch(
    "/incidents/{incident_id}/entries/{entry_id}", summary="Pin or unpin an entry (incidents)"
)
def pin_entry(
    incident_id: IncidentId,
    entry_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: EntryUpdate,
    token: Responder,
    db: Db,
    clock: Clock,
) -> IncidentView:
    return _service(token, db, clock, None).pin(incident_id, entry_id, pinned=body.pinned)


@router.post(
    "/incidents/alerts",
    summary="Alertmanager's webhook: a firing page-tier burn alert opens an incident (incidents)",
)
def alertmanager(
    body: AlertmanagerWebhook, token: Responder, db: Db, clock: Clock, outbox: Notifications
) -> AlertsResult:
    return _service(token, db, clock, outbox).alerts(body)
