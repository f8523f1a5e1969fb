"""Incident use cases: open (by hand or from an alert or a rollback), update, resolve, tasks and
entries, with severity that follows the campaign calendar. Local (`IncidentService`) and HTTP
(`RemoteIncidents`).

Severity is reassessed lazily: whenever an open incident is read or written, every campaign
start or end since its last assessment is replayed (`severity_changes`), so each change lands on
the incident's timeline at the instant the campaign started or ended, not when someone looked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from launchdeck.calendar.model import Occurrence
from launchdeck.client.http import HttpTransport
from launchdeck.errors import Conflict, NotFound, UsageError
from launchdeck.incidents.alerts import AlertmanagerWebhook, open_request
from launchdeck.incidents.changes import describe, suspects, upstream
from launchdeck.incidents.lifecycle import event_kind, plain_changes
from launchdeck.incidents.model import (
    OPEN_STATUSES,
    EntryKind,
    EntryRequest,
    Incident,
    IncidentView,
    OpenRequest,
    Roles,
    Status,
    Task,
    TaskRequest,
    UpdateRequest,
    default_priority,
    view,
)
from launchdeck.incidents.severity import (
    Assessment,
    ImpactInputs,
    IncidentPolicy,
    SeverityChange,
    assess,
    severity_changes,
)
from launchdeck.store import Database, SqlStateStore, SqlTimeline
from launchdeck.store.calendar import SqlCalendarStore
from launchdeck.store.db import is_lock_conflict
from launchdeck.store.incidents import SqlIncidentStore
from launchdeck.timeline.model import MAX_PAGE, Event, NewEvent, TimelineQuery
from launchdeck.workspace.model import Campaign, ResourceKind

__all__ = [
    "ImpactContext",
    "IncidentApi",
    "IncidentService",
    "Outbox",
    "RemoteIncidents",
    "impact_context",
    "impact_inputs",
]

_T = TypeVar("_T")
CALENDAR_ACTOR = "launchdeck"
"""Who a severity change the calendar made is attributed to (not whoever read the incident)."""
_TICK = timedelta(microseconds=1)
"""Campaigns overlapping [start, end + _TICK) include those live at `end` itself."""


class AlertsResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    incidents: list[int]
    """Incidents opened or added to."""
    skipped: list[str]


class IncidentApi(Protocol):
    def open(self, request: OpenRequest) -> IncidentView: ...
    def list_incidents(self, *, all: bool = False, system: str | None = None) -> list[Incident]: ...
    def show(self, incident_id: int) -> IncidentView: ...
    def update(self, incident_id: int, request: UpdateRequest) -> IncidentView: ...
    def add_task(self, incident_id: int, request: TaskRequest) -> Task: ...
    def set_task(self, incident_id: int, task_id: int, *, done: bool) -> Task: ...
    def add_entry(self, incident_id: int, request: EntryRequest) -> IncidentView: ...
    def pin(self, incident_id: int, entry_id: int, *, pinned: bool) -> IncidentView: ...


class Outbox(Protocol):
    """Where incident news goes after the change commits (notifications); never raises."""

    def incident_changed(
        self, kind: str, view: IncidentView, campaigns: Sequence[Campaign]
    ) -> None: ...


class _NoOutbox:
    def incident_changed(
        self, kind: str, view: IncidentView, campaigns: Sequence[Campaign]
    ) -> None:
        return None


@dataclass(frozen=True)
class ImpactContext:
    policy: IncidentPolicy
    depends_on: dict[str, tuple[str, ...]]
    tiers: dict[str, int]
    occurrences: list[Occurrence]


def impact_context(session: Session, *, start: datetime, end: datetime) -> ImpactContext:
    """The policy, graph, tiers and the campaigns overlapping [start, end), in one session:
    every campaign live at some instant in it, which is all `assess` and `severity_changes`
    over that range look at."""
    state = SqlStateStore(session)
    settings = state.settings()
    systems = state.list(ResourceKind.SYSTEM)
    occurrences = SqlCalendarStore(session).occurrences(
        start, end, longest=state.longest_campaign()
    )
    return ImpactContext(
        policy=settings.incidents if settings else IncidentPolicy(),
        depends_on={s.id: tuple(s.depends_on) for s in systems},
        tiers={s.id: s.tier for s in systems},
        occurrences=occurrences,
    )


def impact_inputs(incident: Incident | OpenRequest, ctx: ImpactContext) -> ImpactInputs:
    return ImpactInputs(
        systems=tuple(incident.systems),
        signal=incident.signal,
        traffic_share=incident.traffic_share,
        depends_on=ctx.depends_on,
        system_tiers=ctx.tiers,
    )


def _check_systems(session: Session, systems: Sequence[str]) -> None:
    state = SqlStateStore(session)
    for system in systems:
        state.get(ResourceKind.SYSTEM, system)


def _check_reopen(store: SqlIncidentStore, incident: Incident) -> None:
    """An alert keeps one open incident: reopening another that has its key is a conflict."""
    holder = store.find_open(incident.dedupe_key) if incident.dedupe_key else None
    if holder is not None:
        raise Conflict(
            f"{holder.ref} is open for the same alert ({incident.dedupe_key})",
            hint=f"add to {holder.ref} instead, or resolve it before reopening {incident.ref}",
        )


def _explain(assessment: Assessment) -> str:
    return f"{assessment.severity} because {assessment.rule}. " + "; ".join(assessment.reasons)


def _settled(read: Callable[[], _T]) -> _T:
    """`read`, again if a concurrent reader brought the same incident up to date first: a read
    never fails because two readers replayed the same campaign boundary."""
    try:
        return read()
    except Conflict:
        return read()


class IncidentService:
    def __init__(
        self,
        db: Database,
        *,
        actor: str,
        clock: Callable[[], datetime],
        outbox: Outbox | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock
        self.outbox: Outbox = outbox or _NoOutbox()

    # -- reads -------------------------------------------------------------------------------

    def list_incidents(self, *, all: bool = False, system: str | None = None) -> list[Incident]:
        """Open incidents (or every incident), newest detection first, severity brought up to
        date."""
        found, news = _settled(lambda: self._list(all=all, system=system))
        self._tell(news)
        return found

    def _list(
        self, *, all: bool, system: str | None
    ) -> tuple[list[Incident], list[tuple[str, IncidentView]]]:
        news: list[tuple[str, IncidentView]] = []
        with self.db.unit_of_work() as uow:
            store = SqlIncidentStore(uow.session)
            if system is not None:
                _check_systems(uow.session, [system])
            found = store.find(system=system, limit=500) if all else store.open_incidents()
            if system is not None and not all:
                found = [i for i in found if system in i.systems]
            refreshed = []
            now = self.clock()
            stale = [i.assessed_at for i in found if i.open and i.assessed_at < now]
            # One read of the calendar for every incident behind it, not one each.
            ctx = impact_context(uow.session, start=min(stale), end=now + _TICK) if stale else None
            for each in found:
                incident, changed = self._refresh(uow.session, each, ctx)
                refreshed.append(incident)
                news += changed
            uow.commit()
        return refreshed, news

    def show(self, incident_id: int) -> IncidentView:
        result, news = _settled(lambda: self._show(incident_id))
        self._tell(news)
        return result

    def _show(self, incident_id: int) -> tuple[IncidentView, list[tuple[str, IncidentView]]]:
        with self.db.unit_of_work() as uow:
            store = SqlIncidentStore(uow.session)
            incident, news = self._refresh(uow.session, store.get(incident_id, lock=True))
            result = view(incident, store.entries(incident_id), store.tasks(incident_id))
            uow.commit()
        return result, news

    # -- writes ------------------------------------------------------------------------------

    def open(self, request: OpenRequest) -> IncidentView:
        """Open an incident, or add to the open one with the same dedupe key."""
        now = self.clock()
        detected = request.detected_at or now
        started = request.started_at or detected
        if detected > now or started > detected:
            raise UsageError(
                "an incident starts before (or when) it is detected, and is detected by now",
                hint="check --started and --detected",
            )
        try:
            incident_id, opened = self._open(request, now=now, detected=detected, started=started)
        except (IntegrityError, OperationalError, Conflict) as exc:
            # Two deliveries of one alert at once: the database let one open it (a unique index
            # on open dedupe keys); the other now finds it and adds an entry instead.
            racing = not isinstance(exc, OperationalError) or is_lock_conflict(exc)
            if request.dedupe_key is None or not racing:
                raise
            incident_id, opened = self._open(request, now=now, detected=detected, started=started)
        result = self._view(incident_id)
        if opened:
            self._tell([("incident.opened", result)])
        return result

    def _open(
        self, request: OpenRequest, *, now: datetime, detected: datetime, started: datetime
    ) -> tuple[int, bool]:
        """(the incident's id, whether it is new)."""
        with self.db.unit_of_work() as uow:
            session = uow.session
            store = SqlIncidentStore(session)
            _check_systems(session, request.systems)
            if request.dedupe_key is not None:
                existing = store.find_open(request.dedupe_key)
                if existing is not None:
                    fired = {"source": str(request.source), "dedupe_key": request.dedupe_key}
                    self._note_alert(store, existing, f"fired again: {request.title}", now, fired)
                    uow.commit()
                    return existing.id, False
            ctx = impact_context(session, start=detected, end=now + _TICK)
            first = assess(ctx.policy, impact_inputs(request, ctx), ctx.occurrences, at=detected)
            changes = severity_changes(
                ctx.policy,
                impact_inputs(request, ctx),
                ctx.occurrences,
                current=first,
                since=detected,
                until=now,
            )
            latest = changes[-1].assessment if changes else first
            severity = request.severity or latest.severity
            incident = store.add(
                Incident(
                    id=0,
                    title=request.title,
                    summary=request.summary,
                    type=request.type,
                    systems=request.systems,
                    signal=request.signal,
                    traffic_share=request.traffic_share,
                    severity=severity,
                    severity_manual=request.severity is not None,
                    priority=request.priority or default_priority(severity),
                    priority_manual=request.priority is not None,
                    status=Status.TRIAGE,
                    roles=Roles(commander=request.commander),
                    source=request.source,
                    dedupe_key=request.dedupe_key,
                    started_at=started,
                    detected_at=detected,
                    opened_at=now,
                    opened_by=self.actor,
                    assessment=latest,
                    assessed_at=now,
                )
            )
            self._prefill_changes(session, incident, ctx)
            store.add_entry(
                incident.id,
                at=detected,
                kind=EntryKind.OPENED,
                actor=self.actor,
                text=f"opened ({request.source}): {_explain(first)}",
                pinned=True,
                data={"assessment": first.model_dump(mode="json")},
            )
            for change in changes:
                self._record_change(session, incident, change, manual=request.severity is not None)
            if request.severity is not None and request.severity is not latest.severity:
                store.add_entry(
                    incident.id,
                    at=now,
                    kind=EntryKind.SEVERITY,
                    actor=self.actor,
                    text=f"severity set to {severity} by hand (computed: {latest.severity})",
                )
            self._event(
                session,
                incident,
                "incident.opened",
                now,
                {
                    "severity": str(incident.severity),
                    "title": incident.title,
                    "systems": list(incident.systems),
                    "source": str(incident.source),
                    "campaigns": [c.campaign_id for c in latest.campaigns],
                    "revenue_at_risk_per_hour": dict(latest.revenue_at_risk_per_hour),
                },
            )
            uow.commit()
        return incident.id, True

    def update(self, incident_id: int, request: UpdateRequest) -> IncidentView:
        now = self.clock()
        news: list[tuple[str, IncidentView]] = []
        with self.db.unit_of_work() as uow:
            session = uow.session
            store = SqlIncidentStore(session)
            incident, news = self._refresh(session, store.get(incident_id, lock=True))
            if request.systems is not None:
                _check_systems(session, request.systems)
            before = incident
            changes, notes = plain_changes(incident, request, now)
            texts = [text for _, text in notes]
            kinds = [kind for kind, _ in notes]
            incident = incident.model_copy(update=changes)
            if before.status not in OPEN_STATUSES and incident.open:
                _check_reopen(store, incident)
            if any(k in changes for k in ("signal", "traffic_share", "systems")) or (
                request.auto_severity and incident.severity_manual
            ):
                ctx = impact_context(session, start=now, end=now + _TICK)
                fresh = assess(ctx.policy, impact_inputs(incident, ctx), ctx.occurrences, at=now)
                incident = incident.model_copy(update={"assessment": fresh, "assessed_at": now})
                if request.auto_severity and incident.severity_manual:
                    incident = incident.model_copy(update={"severity_manual": False})
                    texts.append("the severity follows the calendar again")
                    kinds.append(EntryKind.SEVERITY)
                if not incident.severity_manual and fresh.severity is not incident.severity:
                    texts.append(f"{incident.severity} → {_explain(fresh)}")
                    kinds.append(EntryKind.SEVERITY)
                    incident = incident.model_copy(update={"severity": fresh.severity})
            if request.severity is not None and request.severity is not incident.severity:
                texts.append(
                    f"severity: {incident.severity} → {request.severity}, set by hand "
                    f"(computed: {incident.assessment.severity})"
                )
                kinds.append(EntryKind.SEVERITY)
                incident = incident.model_copy(
                    update={"severity": request.severity, "severity_manual": True}
                )
            if incident.severity is not before.severity and not incident.priority_manual:
                incident = incident.model_copy(
                    update={"priority": default_priority(incident.severity)}
                )
            if request.note is None and not texts:
                raise UsageError(
                    "nothing to update",
                    hint="give a new status, severity, role, --note … (see --help)",
                )
            if incident != before:
                incident = store.save(incident)
            for kind, text in zip(kinds, texts, strict=True):
                store.add_entry(incident.id, at=now, kind=kind, actor=self.actor, text=text)
            if request.note is not None:
                store.add_entry(
                    incident.id,
                    at=now,
                    kind=EntryKind.NOTE,
                    actor=self.actor,
                    text=request.note,
                    pinned=request.pinned,
                )
            happened = event_kind(before, incident)
            self._event(
                session,
                incident,
                happened,
                now,
                {
                    "changes": texts,
                    "severity": str(incident.severity),
                    "status": str(incident.status),
                    **({"note": request.note} if request.note else {}),
                },
            )
            uow.commit()
        result = self._view(incident_id)
        if happened != "incident.updated":
            news.append((happened, result))
        if happened != "incident.severity_changed" and incident.severity is not before.severity:
            news.append(("incident.severity_changed", result))
        self._tell(news)
        return result

    def add_task(self, incident_id: int, request: TaskRequest) -> Task:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            store = SqlIncidentStore(uow.session)
            incident = store.get(incident_id, lock=True)
            task = store.add_task(
                incident.id,
                title=request.title,
                kind=request.kind,
                action_type=request.action_type,
                owner=request.owner,
                due_at=request.due_at,
                created_at=now,
            )
            label = "action item" if request.action_type else "task"
            owner = f" → {request.owner}" if request.owner else ""
            store.add_entry(
                incident.id,
                at=now,
                kind=EntryKind.TASK,
                actor=self.actor,
                text=f"{label} #{task.id}: {task.title}{owner}",
                data={"task": task.id},
            )
            self._event(
                uow.session,
                incident,
                "incident.task_added",
                now,
                {
                    "task": task.id,
                    "title": task.title,
                    "owner": task.owner,
                },
            )
            uow.commit()
        return task

    def set_task(self, incident_id: int, task_id: int, *, done: bool) -> Task:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            store = SqlIncidentStore(uow.session)
            store.get(incident_id, lock=True)
            task = store.set_task(incident_id, task_id, done=done, at=now)
            store.add_entry(
                incident_id,
                at=now,
                kind=EntryKind.TASK,
                actor=self.actor,
                text=f"task #{task.id} {'done' if done else 'reopened'}: {task.title}",
                data={"task": task.id},
            )
            self._event(
                uow.session,
                store.get(incident_id),
                "incident.task_done" if done else "incident.task_reopened",
                now,
                {"task": task.id, "title": task.title, "owner": task.owner},
            )
            uow.commit()
        return task

    def add_entry(self, incident_id: int, request: EntryRequest) -> IncidentView:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            store = SqlIncidentStore(uow.session)
            incident = store.get(incident_id, lock=True)
            store.add_entry(
                incident.id,
                at=now,
                kind=request.kind,
                actor=self.actor,
                text=request.text,
                pinned=request.pinned,
                data=dict(request.data),
            )
            if request.kind is EntryKind.RUNBOOK:
                self._event(
                    uow.session,
                    incident,
                    "incident.runbook_step",
                    now,
                    {
                        "text": request.text,
                        **{k: v for k, v in request.data.items() if k != "detail"},
                    },
                )
            uow.commit()
        return self._view(incident_id)

    def pin(self, incident_id: int, entry_id: int, *, pinned: bool) -> IncidentView:
        with self.db.unit_of_work() as uow:
            SqlIncidentStore(uow.session).pin(incident_id, entry_id, pinned=pinned)
            uow.commit()
        return self._view(incident_id)

    def alerts(self, webhook: AlertmanagerWebhook) -> AlertsResult:
        """Open (or add to) an incident for each firing page; note resolved ones."""
        now = self.clock()
        opened: list[int] = []
        skipped: list[str] = []
        for alert in webhook.alerts:
            name = alert.labels.get("alertname", "alert")
            try:
                request = open_request(alert)
            except ValidationError as exc:
                problem = exc.errors()[0]
                skipped.append(f"{name}: {problem['loc'][0]}: {problem['msg']}")
                continue
            if request is None:
                skipped.append(f"{name}: not a page with a system label")
                continue
            if alert.status == "resolved":
                noted = self._alert_resolved(request, now)
                if noted is None:
                    skipped.append(f"{name}: resolved, and no open incident belongs to it")
                else:
                    opened.append(noted)
                continue
            if request.detected_at is not None and request.detected_at > now:
                request = request.model_copy(update={"detected_at": now, "started_at": now})
            try:
                opened.append(self.open(request).incident.id)
            except NotFound as exc:
                skipped.append(f"{name}: {exc.message}")
        return AlertsResult(incidents=sorted(set(opened)), skipped=skipped)

    def _alert_resolved(self, request: OpenRequest, now: datetime) -> int | None:
        """Note a resolved alert on the open incident it belongs to; that incident's id."""
        assert request.dedupe_key is not None
        with self.db.unit_of_work() as uow:
            store = SqlIncidentStore(uow.session)
            incident = store.find_open(request.dedupe_key)
            if incident is not None:
                text = f"alert resolved: {request.title}"
                self._note_alert(store, incident, text, now, {"dedupe_key": request.dedupe_key})
                uow.commit()
                return incident.id
        return None

    # -- internals ---------------------------------------------------------------------------

    def _view(self, incident_id: int) -> IncidentView:
        with self.db.read() as session:
            store = SqlIncidentStore(session)
            return view(
                store.get(incident_id), store.entries(incident_id), store.tasks(incident_id)
            )

    def _tell(self, news: Sequence[tuple[str, IncidentView]]) -> None:
        if not news:
            return
        with self.db.read() as session:
            state = SqlStateStore(session)
            for kind, item in news:
                ids = [c.campaign_id for c in item.incident.assessment.campaigns]
                self.outbox.incident_changed(kind, item, list(state.campaigns(ids)))

    def _refresh(
        self, session: Session, incident: Incident, ctx: ImpactContext | None = None
    ) -> tuple[Incident, list[tuple[str, IncidentView]]]:
        """Replay the campaign starts and ends since the last assessment of an open incident
        (`ctx`, when given, must cover them)."""
        now = self.clock()
        if not incident.open or now <= incident.assessed_at:
            return incident, []
        if ctx is None:
            ctx = impact_context(session, start=incident.assessed_at, end=now + _TICK)
        changes = severity_changes(
            ctx.policy,
            impact_inputs(incident, ctx),
            ctx.occurrences,
            current=incident.assessment,
            since=incident.assessed_at,
            until=now,
        )
        if not changes:
            return incident, []
        before = incident.severity
        for change in changes:
            self._record_change(session, incident, change, manual=incident.severity_manual)
        latest = changes[-1].assessment
        update: dict[str, Any] = {"assessment": latest, "assessed_at": now}
        if not incident.severity_manual:
            update["severity"] = latest.severity
            if not incident.priority_manual:
                update["priority"] = default_priority(latest.severity)
        saved = SqlIncidentStore(session).save(incident.model_copy(update=update))
        if saved.severity is before:
            return saved, []
        return saved, [("incident.severity_changed", view(saved))]

    def _record_change(
        self, session: Session, incident: Incident, change: SeverityChange, *, manual: bool
    ) -> None:
        store = SqlIncidentStore(session)
        moved = f"{change.before} → {change.after}"
        if manual:
            text = f"computed severity {moved} ({change.why}); kept by hand at {incident.severity}"
        else:
            text = f"{moved} as {change.why}: {_explain(change.assessment)}"
        store.add_entry(
            incident.id,
            at=change.at,
            kind=EntryKind.SEVERITY,
            actor=CALENDAR_ACTOR,
            text=text,
            pinned=not manual,
            data={"assessment": change.assessment.model_dump(mode="json")},
        )
        if not manual and change.before is not change.after:
            self._event(
                session,
                incident,
                "incident.severity_changed",
                change.at,
                {
                    "before": str(change.before),
                    "after": str(change.after),
                    "why": change.why,
                    "revenue_at_risk_per_hour": dict(change.assessment.revenue_at_risk_per_hour),
                },
                actor=CALENDAR_ACTOR,
            )

    def _prefill_changes(self, session: Session, incident: Incident, ctx: ImpactContext) -> None:
        """The changes before detection on the affected systems and everything they depend on."""
        since = incident.detected_at - timedelta(hours=ctx.policy.what_changed_hours)
        timeline = SqlTimeline(session)
        query = TimelineQuery(
            since=since, until=incident.detected_at + timedelta(seconds=1), limit=MAX_PAGE
        )
        events: list[Event] = []
        while True:  # every page of the window: the oldest change is often the trigger
            page = timeline.query(query)
            events += page.events
            if page.next_cursor is None:
                break
            query = query.model_copy(update={"cursor": page.next_cursor})
        campaigns = {c.campaign_id for c in incident.assessment.campaigns}
        store = SqlIncidentStore(session)
        for event in suspects(
            events, systems=upstream(ctx.depends_on, incident.systems), campaigns=campaigns
        ):
            store.add_entry(
                incident.id,
                at=event.occurred_at,
                kind=EntryKind.CHANGE,
                actor=event.actor,
                text=describe(event),
                data={"event": event.id, "kind": event.kind, "subject": event.subject},
            )

    def _note_alert(
        self,
        store: SqlIncidentStore,
        incident: Incident,
        text: str,
        now: datetime,
        data: dict[str, Any],
    ) -> None:
        """An alert about an open incident (a re-fire, a resolution): an entry, not a twin."""
        store.add_entry(
            incident.id,
            at=now,
            kind=EntryKind.ALERT,
            actor=self.actor,
            text=text,
            data=data,
        )

    def _event(
        self,
        session: Session,
        incident: Incident,
        kind: str,
        at: datetime,
        payload: dict[str, Any],
        *,
        actor: str | None = None,
    ) -> None:
        SqlTimeline(session).append(
            NewEvent(
                occurred_at=at,
                actor=actor or self.actor,
                kind=kind,
                subject=f"incident/{incident.id}",
                system=incident.systems[0],
                payload={**payload, "incident": incident.id, "systems": list(incident.systems)},
            )
        )


class RemoteIncidents:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def open(self, request: OpenRequest) -> IncidentView:
        body = request.model_dump(mode="json", exclude_none=True)
        return self.http.request("POST", "/api/v1/incidents", IncidentView, json=body)

    def list_incidents(self, *, all: bool = False, system: str | None = None) -> list[Incident]:
        params: dict[str, Any] = {"all": all}
        if system is not None:
            params["system"] = system
        return self.http.request("GET", "/api/v1/incidents", list[Incident], params=params)

    def show(self, incident_id: int) -> IncidentView:
        return self.http.request("GET", f"/api/v1/incidents/{incident_id}", IncidentView)

    def update(self, incident_id: int, request: UpdateRequest) -> IncidentView:
        body = request.model_dump(mode="json", exclude_defaults=True)
        return self.http.request(
            "PATCH", f"/api/v1/incidents/{incident_id}", IncidentView, json=body
        )

    def add_task(self, incident_id: int, request: TaskRequest) -> Task:
        body = request.model_dump(mode="json", exclude_none=True)
        return self.http.request("POST", f"/api/v1/incidents/{incident_id}/tasks", Task, json=body)

    def set_task(self, incident_id: int, task_id: int, *, done: bool) -> Task:
        return self.http.request(
            "PATCH",
            f"/api/v1/incidents/{incident_id}/tasks/{task_id}",
            Task,
            json={"done": done},
        )

    def add_entry(self, incident_id: int, request: EntryRequest) -> IncidentView:
        body = request.model_dump(mode="json")
        return self.http.request(
            "POST", f"/api/v1/incidents/{incident_id}/entries", IncidentView, json=body
        )

    def pin(self, incident_id: int, entry_id: int, *, pinned: bool) -> IncidentView:
        return self.http.request(
            "PATCH",
            f"/api/v1/incidents/{incident_id}/entries/{entry_id}",
            IncidentView,
            json={"pinned": pinned},
        )
