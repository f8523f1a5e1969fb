"""The timeline table: append and query. There is deliberately no update or delete here."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from launchdeck.store.tables import EventRow
from launchdeck.timeline.model import (
    Event,
    NewEvent,
    TimelinePage,
    TimelineQuery,
    decode_cursor,
    encode_cursor,
)

__all__ = ["SqlTimeline"]


def _to_event(row: EventRow) -> Event:
    return Event(
        id=row.id,
        occurred_at=row.occurred_at,
        actor=row.actor,
        kind=row.kind,
        subject=row.subject,
        system=row.system,
        environment=row.environment,
        payload=row.payload,
    )


class SqlTimeline:
    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, event: NewEvent) -> Event:
        """Add `event` to the session's transaction; it commits or rolls back with the change."""
        row = EventRow(**event.model_dump(mode="python"))
        self.session.add(row)
        self.session.flush()
        return _to_event(row)

    def query(self, query: TimelineQuery) -> TimelinePage:
        """One page of events, newest first."""
        stmt = select(EventRow)
        if query.since is not None:
            stmt = stmt.where(EventRow.occurred_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(EventRow.occurred_at < query.until)
        if query.system is not None:
            stmt = stmt.where(EventRow.system == query.system)
        if query.kind is not None:
            stmt = stmt.where(
                or_(
                    EventRow.kind == query.kind,
                    EventRow.kind.startswith(f"{query.kind}.", autoescape=True),
                )
            )
        if query.cursor is not None:
            stmt = stmt.where(EventRow.id < decode_cursor(query.cursor))
        rows = list(self.session.scalars(stmt.order_by(EventRow.id.desc()).limit(query.limit + 1)))
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        return TimelinePage(
            events=tuple(_to_event(r) for r in rows),
            next_cursor=encode_cursor(rows[-1].id) if more else None,
        )
