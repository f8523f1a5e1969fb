"""What an update does to an incident: the fields it changes, the entries that explain them, the
status timestamps and the event it is. Pure; `IncidentService.update` reads, calls, writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from launchdeck.errors import UsageError
from launchdeck.incidents.model import (
    EntryKind,
    Incident,
    Status,
    UpdateRequest,
    can_move,
)

__all__ = ["event_kind", "plain_changes", "status_fields"]


def plain_changes(
    incident: Incident, request: UpdateRequest, now: datetime
) -> tuple[dict[str, Any], list[tuple[EntryKind, str]]]:
    """The fields `request` changes other than severity, with an entry for each."""
    changes: dict[str, Any] = {}
    texts: list[str] = []
    kinds: list[EntryKind] = []
    for name in ("title", "summary", "type", "signal", "traffic_share", "systems"):
        value = getattr(request, name)
        if value is not None and value != getattr(incident, name):
            changes[name] = value
            was = getattr(incident, name)
            texts.append(f"{name}: {'-' if was is None else was} → {value}")
            kinds.append(EntryKind.NOTE)
    if request.started_at is not None and request.started_at != incident.started_at:
        if request.started_at > incident.detected_at:
            raise UsageError(
                "the impact cannot start after the incident was detected",
                hint=f"give a time before {incident.detected_at.isoformat()}",
            )
        changes["started_at"] = request.started_at
        texts.append(f"impact started at {request.started_at.isoformat()}")
        kinds.append(EntryKind.NOTE)
    roles = incident.roles
    for role in ("commander", "scribe", "liaison"):
        person = getattr(request, role)
        if person is not None and person != getattr(roles, role):
            roles = roles.model_copy(update={role: person})
            texts.append(f"{role}: {person}")
            kinds.append(EntryKind.ROLE)
    new_people = [p for p in request.add_participants if p not in roles.participants]
    if new_people:
        roles = roles.model_copy(update={"participants": (*roles.participants, *new_people)})
        texts.append(f"joined: {', '.join(new_people)}")
        kinds.append(EntryKind.ROLE)
    if roles != incident.roles:
        changes["roles"] = roles
    if request.status is not None and request.status is not incident.status:
        changes.update(status_fields(incident, request.status, now))
        texts.append(f"status: {incident.status} → {request.status}")
        kinds.append(EntryKind.STATUS)
    if request.priority is not None and request.priority is not incident.priority:
        changes.update(priority=request.priority, priority_manual=True)
        texts.append(f"priority: {incident.priority} → {request.priority}")
        kinds.append(EntryKind.PRIORITY)
    return changes, list(zip(kinds, texts, strict=True))


def status_fields(incident: Incident, status: Status, now: datetime) -> dict[str, Any]:
    """The fields a move to `status` at `now` sets; a UsageError for a move backwards."""
    if not can_move(incident.status, status):
        raise UsageError(
            f"{incident.ref} cannot go from {incident.status} to {status}",
            hint="statuses move forward: triage → active → mitigated → resolved → "
            "postmortem_done; a mitigated or resolved incident can reopen as active",
        )
    fields: dict[str, Any] = {"status": status}
    if status is Status.ACTIVE:
        fields.update(mitigated_at=None, resolved_at=None, postmortem_at=None)
    if status is Status.MITIGATED:
        fields["mitigated_at"] = now
    if status is Status.RESOLVED:
        fields["resolved_at"] = now
        fields["mitigated_at"] = incident.mitigated_at or now
    if status is Status.POSTMORTEM_DONE:
        fields["postmortem_at"] = now
        fields["resolved_at"] = incident.resolved_at or now
        fields["mitigated_at"] = incident.mitigated_at or now
    return fields


def event_kind(before: Incident, after: Incident) -> str:
    """The timeline event an update is: the status it reached, else its severity change."""
    if after.status is not before.status:
        if after.status is Status.RESOLVED:
            return "incident.resolved"
        if after.status is Status.MITIGATED:
            return "incident.mitigated"
        return "incident.status_changed"
    if after.severity is not before.severity:
        return "incident.severity_changed"
    return "incident.updated"
