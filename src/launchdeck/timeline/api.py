"""/api/v1/timeline: change events, newest first, with cursor pagination; POST records a
change made outside launchdeck (scope deploy)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from launchdeck.api.deps import Clock, Db, Deployer, Notifications, Reader, UtcInstant
from launchdeck.timeline.model import (
    KIND_PATTERN,
    MAX_PAGE,
    SYSTEM_PATTERN,
    Event,
    RecordRequest,
    TimelinePage,
    TimelineQuery,
)
from launchdeck.timeline.service import TimelineService

__all__ = ["router"]

router = APIRouter(tags=["timeline"])


@router.get("/timeline", summary="Change events, newest first")
def timeline(
    _token: Reader,
    db: Db,
    since: UtcInstant | None = None,
    until: UtcInstant | None = None,
    system: Annotated[str | None, Query(pattern=SYSTEM_PATTERN)] = None,
    kind: Annotated[str | None, Query(pattern=KIND_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TimelinePage:
    query = TimelineQuery(
        since=since, until=until, system=system, kind=kind, limit=limit, cursor=cursor
    )
    return TimelineService(db).query(query)


@router.post(
    "/timeline",
    status_code=201,
    summary="Record a change made outside launchdeck: a CI deploy, a config change (deploy)",
)
def record(
    body: RecordRequest, token: Deployer, db: Db, clock: Clock, notifications: Notifications
) -> Event:
    service = TimelineService(
        db, actor=token.name, clock=clock, on_record=notifications.change_recorded
    )
    return service.record(body)
