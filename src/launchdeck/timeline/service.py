"""Reading the timeline, locally or over HTTP. Writing happens only inside other use cases."""

from __future__ import annotations

from typing import Protocol

from launchdeck.client.http import HttpTransport
from launchdeck.store import Database, SqlTimeline
from launchdeck.timeline.model import TimelinePage, TimelineQuery

__all__ = ["RemoteTimeline", "TimelineApi", "TimelineService"]


class TimelineApi(Protocol):
    def query(self, query: TimelineQuery) -> TimelinePage: ...


class TimelineService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def query(self, query: TimelineQuery) -> TimelinePage:
        with self.db.read() as session:
            return SqlTimeline(session).query(query)


class RemoteTimeline:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def query(self, query: TimelineQuery) -> TimelinePage:
        params = query.model_dump(mode="json", exclude_none=True)
        return self.http.request("GET", "/api/v1/timeline", TimelinePage, params=params)
