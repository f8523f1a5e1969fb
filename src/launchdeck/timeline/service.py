"""Reading the timeline, locally or over HTTP, and recording changes made outside launchdeck.
Every other write happens inside the use case that makes the change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from launchdeck.client.http import HttpTransport
from launchdeck.errors import UsageError
from launchdeck.store import Database, SqlStateStore, SqlTimeline
from launchdeck.timeline.model import Event, NewEvent, RecordRequest, TimelinePage, TimelineQuery
from launchdeck.workspace.model import ResourceKind

_SKEW = timedelta(minutes=5)
"""How far ahead of our clock a recorded change may claim to be (clocks differ a little)."""

__all__ = ["RemoteTimeline", "TimelineApi", "TimelineService"]


class TimelineApi(Protocol):
    def query(self, query: TimelineQuery) -> TimelinePage: ...
    def record(self, request: RecordRequest) -> Event: ...


class TimelineService:
    def __init__(
        self,
        db: Database,
        *,
        actor: str = "local",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_record: Callable[[Event], None] | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock
        self.on_record = on_record

    def query(self, query: TimelineQuery) -> TimelinePage:
        with self.db.read() as session:
            return SqlTimeline(session).query(query)

    def record(self, request: RecordRequest) -> Event:
        """Append `<kind>.recorded` for a change made elsewhere (its system must exist)."""
        now = self.clock()
        at = request.at or now
        if at > now + _SKEW:
            raise UsageError(
                f"a recorded change cannot be in the future ({at.isoformat()})",
                hint="record it once it has happened; omit --at for now",
            )
        with self.db.unit_of_work() as uow:
            state = SqlStateStore(uow.session)
            state.get(ResourceKind.SYSTEM, request.system)
            if request.environment is not None:
                state.get(ResourceKind.ENVIRONMENT, request.environment)
            payload = request.model_dump(
                mode="json", exclude={"kind", "system", "environment", "at"}, exclude_none=True
            )
            event = SqlTimeline(uow.session).append(
                NewEvent(
                    occurred_at=at,
                    actor=self.actor,
                    kind=f"{request.kind}.recorded",
                    subject=f"system/{request.system}",
                    system=request.system,
                    environment=request.environment,
                    payload=payload,
                )
            )
            uow.commit()
        if self.on_record is not None:
            self.on_record(event)
        return event


class RemoteTimeline:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def query(self, query: TimelineQuery) -> TimelinePage:
        params = query.model_dump(mode="json", exclude_none=True)
        return self.http.request("GET", "/api/v1/timeline", TimelinePage, params=params)

    def record(self, request: RecordRequest) -> Event:
        body = request.model_dump(mode="json", exclude_none=True)
        return self.http.request("POST", "/api/v1/timeline", Event, json=body)
