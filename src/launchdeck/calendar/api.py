"""/api/v1/calendar, /api/v1/calendar.ics and /api/v1/freezes. No calendar logic here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from launchdeck.api.deps import Admin, Clock, Db, Deployer, Reader, UtcInstant
from launchdeck.calendar.model import ChangeType, FreezeWindow
from launchdeck.calendar.service import DEFAULT_ALLOW, CalendarService, CalendarView

__all__ = ["router"]

router = APIRouter(tags=["calendar"])
# Any id up to 200 characters: one that cannot exist is a 404, as in local mode.
_ID = {"min_length": 1, "max_length": 200}


class FreezeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    until: UtcInstant
    start: UtcInstant | None = None
    system: Annotated[str | None, Field(**_ID)] = None
    environment: Annotated[str | None, Field(**_ID)] = None
    allow: tuple[ChangeType, ...] = DEFAULT_ALLOW


@router.get("/calendar", summary="Campaigns and freeze windows in a time range")
def calendar(
    token: Reader,
    db: Db,
    clock: Clock,
    start: Annotated[UtcInstant, Query(alias="from")],
    end: Annotated[UtcInstant, Query(alias="to")],
    system: Annotated[str | None, Query(**_ID)] = None,
) -> CalendarView:
    service = CalendarService(db, actor=token.name, clock=clock)
    return service.view(start=start, end=end, system=system)


@router.get(
    "/calendar.ics",
    summary="Campaigns and deploy freezes as a subscribable iCalendar feed",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
def calendar_ics(token: Reader, db: Db, clock: Clock) -> Response:
    body = CalendarService(db, actor=token.name, clock=clock).export_ics()
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.post("/freezes", status_code=201, summary="Add an ad-hoc freeze (deploy)")
def add_freeze(body: FreezeRequest, token: Deployer, db: Db, clock: Clock) -> FreezeWindow:
    return CalendarService(db, actor=token.name, clock=clock).add_freeze(
        reason=body.reason,
        until=body.until,
        start=body.start,
        system=body.system,
        environment=body.environment,
        allow=body.allow,
    )


@router.get("/freezes", summary="Ad-hoc freezes not yet over")
def list_freezes(token: Reader, db: Db, clock: Clock) -> list[FreezeWindow]:
    return CalendarService(db, actor=token.name, clock=clock).freezes()


@router.delete("/freezes/{freeze_id}", summary="Lift an ad-hoc freeze (admin)")
def lift_freeze(
    freeze_id: Annotated[str, Path(min_length=1, max_length=64)], token: Admin, db: Db, clock: Clock
) -> FreezeWindow:
    return CalendarService(db, actor=token.name, clock=clock).lift_freeze(freeze_id)
