"""Calendar use cases: the campaign + freeze view, the ICS export, ad-hoc freezes.
Local (`CalendarService`) and HTTP (`RemoteCalendar`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from launchdeck.calendar.freeze import campaign_windows, recurring_windows
from launchdeck.calendar.graph import blast_radius, touches
from launchdeck.calendar.model import EMERGENCY_CHANGES, ChangeType, FreezeWindow, Occurrence
from launchdeck.client.http import HttpTransport, segment
from launchdeck.durations import EARLIEST_YEAR, LATEST_YEAR, in_plausible_years
from launchdeck.errors import UsageError
from launchdeck.store import Database, SqlStateStore, SqlTimeline
from launchdeck.store.calendar import SqlCalendarStore
from launchdeck.store.tables import FreezeRow
from launchdeck.timeline.model import NewEvent
from launchdeck.workspace.model import ResourceKind
from launchdeck.workspace.spec import FreezesSpec

__all__ = ["CalendarApi", "CalendarService", "CalendarView", "RemoteCalendar", "read_freezes"]

EXPORT_PAST = timedelta(days=30)
EXPORT_AHEAD = timedelta(days=400)
DEFAULT_ALLOW = EMERGENCY_CHANGES


class CalendarView(BaseModel):
    """Campaign occurrences and freeze windows overlapping [start, end)."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    timezone: str
    campaigns: tuple[Occurrence, ...]
    freezes: tuple[FreezeWindow, ...]


class CalendarApi(Protocol):
    def view(
        self, *, start: datetime, end: datetime, system: str | None = None
    ) -> CalendarView: ...
    def export_ics(self) -> bytes: ...
    def add_freeze(
        self,
        *,
        reason: str,
        until: datetime,
        start: datetime | None = None,
        system: str | None = None,
        environment: str | None = None,
        allow: Iterable[ChangeType] = DEFAULT_ALLOW,
    ) -> FreezeWindow: ...
    def freezes(self) -> list[FreezeWindow]: ...
    def lift_freeze(self, freeze_id: str) -> FreezeWindow: ...


def read_freezes(
    session: Session, *, start: datetime, end: datetime
) -> tuple[list[Occurrence], list[FreezeWindow], str]:
    """Campaigns near [start, end) (with their freeze margins), the freeze windows of every
    kind that the policies give for that range, and the workspace time zone."""
    state, calendar = SqlStateStore(session), SqlCalendarStore(session)
    settings = state.settings()
    freezes = settings.freezes if settings else FreezesSpec()
    tz = settings.timezone if settings else "UTC"
    # A campaign's freeze starts `before` ahead of it and ends `after` it: read those too.
    before = max((p.before for p in freezes.campaigns), default=timedelta(0))
    after = max((p.after for p in freezes.campaigns), default=timedelta(0))
    nearby = calendar.occurrences(start - after, end + before, longest=state.longest_campaign())
    windows = campaign_windows(nearby, freezes.campaigns)
    for policy in freezes.recurring:
        windows += recurring_windows(policy, default_tz=tz, start=start, end=end)
    windows += calendar.freezes(start, end)
    return nearby, windows, tz


def _view(session: Session, *, start: datetime, end: datetime, system: str | None) -> CalendarView:
    state = SqlStateStore(session)
    nearby, windows, tz = read_freezes(session, start=start, end=end)
    occurrences = [o for o in nearby if o.ends_at > start and o.starts_at < end]
    windows = [w for w in windows if w.ends_at > start and w.starts_at < end]
    if system is not None:
        state.get(ResourceKind.SYSTEM, system)
        graph = {s.id: s.depends_on for s in state.list(ResourceKind.SYSTEM)}
        radius = blast_radius(graph, system)
        occurrences = [o for o in occurrences if touches(radius, o.systems)]
        windows = [w for w in windows if w.reaches(radius)]
    return CalendarView(
        start=start,
        end=end,
        timezone=tz,
        campaigns=tuple(occurrences),
        freezes=tuple(sorted(windows, key=lambda w: (w.starts_at, w.id))),
    )


class CalendarService:
    def __init__(self, db: Database, *, actor: str, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock

    def view(self, *, start: datetime, end: datetime, system: str | None = None) -> CalendarView:
        """Campaigns and freezes between `start` and `end`, for `system`'s blast radius if given."""
        if end <= start:
            raise UsageError("--to must be after --from")
        if not (in_plausible_years(start) and in_plausible_years(end)):
            raise UsageError(
                f"--from and --to must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}"
            )
        with self.db.read() as session:
            return _view(session, start=start, end=end, system=system)

    def export_ics(self) -> bytes:
        """Campaigns and freeze windows from 30 days ago to 400 days ahead, as iCalendar."""
        from launchdeck.calendar.ics_export import export_calendar

        now = self.clock()
        with self.db.read() as session:
            view = _view(session, start=now - EXPORT_PAST, end=now + EXPORT_AHEAD, system=None)
            state = SqlStateStore(session)
            settings = state.settings()
            # Only the campaigns in the exported range, read through the time index.
            campaigns = state.campaigns(o.campaign_id for o in view.campaigns)
        name = settings.name if settings else "launchdeck"
        return export_calendar(
            campaigns,
            view.freezes,
            calendar_name=f"{name}: campaigns and deploy freezes",
            generated_at=now,
        )

    def add_freeze(
        self,
        *,
        reason: str,
        until: datetime,
        start: datetime | None = None,
        system: str | None = None,
        environment: str | None = None,
        allow: Iterable[ChangeType] = DEFAULT_ALLOW,
    ) -> FreezeWindow:
        """An ad-hoc freeze from `start` (now) to `until`, on the timeline."""
        now = self.clock()
        begins = start or now
        if until <= begins:
            raise UsageError("a freeze must end after it starts", hint="e.g. --until 4h")
        if not reason.strip():
            raise UsageError("a freeze needs a reason", hint="--reason 'payment provider incident'")
        with self.db.unit_of_work() as uow:
            state = SqlStateStore(uow.session)
            if system is not None:
                state.get(ResourceKind.SYSTEM, system)
            if environment is not None:
                state.get(ResourceKind.ENVIRONMENT, environment)
            window = SqlCalendarStore(uow.session).add_freeze(
                FreezeRow(
                    id=secrets.token_hex(6),
                    system=system,
                    environment=environment,
                    starts_at=begins,
                    ends_at=until,
                    reason=reason.strip(),
                    allow=sorted(str(a) for a in set(allow)),
                    created_by=self.actor,
                    created_at=now,
                )
            )
            SqlTimeline(uow.session).append(_freeze_event("freeze.added", window, self.actor, now))
            uow.commit()
        return window

    def freezes(self) -> list[FreezeWindow]:
        """Ad-hoc freezes not yet over and not lifted."""
        now = self.clock()
        with self.db.read() as session:
            return SqlCalendarStore(session).freezes(now, now + EXPORT_AHEAD * 10)

    def lift_freeze(self, freeze_id: str) -> FreezeWindow:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            window = SqlCalendarStore(uow.session).lift_freeze(freeze_id, now=now)
            SqlTimeline(uow.session).append(_freeze_event("freeze.lifted", window, self.actor, now))
            uow.commit()
        return window


def _freeze_event(kind: str, window: FreezeWindow, actor: str, now: datetime) -> NewEvent:
    system = next(iter(window.systems), None)
    return NewEvent(
        occurred_at=now,
        actor=actor,
        kind=kind,
        subject=f"freeze/{window.id.removeprefix('adhoc:')}",
        system=system,
        environment=next(iter(window.environments), None),
        payload={
            "reason": window.name,
            "starts_at": window.starts_at.isoformat(),
            "ends_at": window.ends_at.isoformat(),
            "allow": sorted(window.allow),
        },
    )


class RemoteCalendar:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def view(self, *, start: datetime, end: datetime, system: str | None = None) -> CalendarView:
        params = {"from": start.isoformat(), "to": end.isoformat(), "system": system}
        return self.http.request("GET", "/api/v1/calendar", CalendarView, params=params)

    def export_ics(self) -> bytes:
        return self.http.raw("GET", "/api/v1/calendar.ics")

    def add_freeze(
        self,
        *,
        reason: str,
        until: datetime,
        start: datetime | None = None,
        system: str | None = None,
        environment: str | None = None,
        allow: Iterable[ChangeType] = DEFAULT_ALLOW,
    ) -> FreezeWindow:
        body = {
            "reason": reason,
            "until": until.isoformat(),
            "start": start.isoformat() if start else None,
            "system": system,
            "environment": environment,
            "allow": sorted(str(a) for a in allow),
        }
        return self.http.request("POST", "/api/v1/freezes", FreezeWindow, json=body)

    def freezes(self) -> list[FreezeWindow]:
        return self.http.request("GET", "/api/v1/freezes", list[FreezeWindow])

    def lift_freeze(self, freeze_id: str) -> FreezeWindow:
        # An id like "../tokens/x" must not reach another route once the path is resolved.
        return self.http.request("DELETE", f"/api/v1/freezes/{segment(freeze_id)}", FreezeWindow)
