"""/api/v1/gate: the deploy decision and overrides. No gate logic here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from launchdeck.api.deps import Admin, Clock, Db, Notifications, Reader, Sources, UtcInstant
from launchdeck.gate.model import GateRequest, Override, Verdict
from launchdeck.gate.service import GateService

__all__ = ["router"]

router = APIRouter(tags=["gate"])


class OverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Any id up to 200 characters: one that cannot exist is a 404, as in local mode.
    system: Annotated[str, Field(min_length=1, max_length=200)]
    environment: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    until: UtcInstant
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


@router.post("/gate/check", summary="May this change go to this system now? (any scope)")
def check(
    request: GateRequest,
    token: Reader,
    db: Db,
    clock: Clock,
    sources: Sources,
    notifications: Notifications,
) -> Verdict:
    from launchdeck.checks import installed_checks

    checks = installed_checks(db, clock=clock, sources=sources)
    service = GateService(
        db, actor=token.name, clock=clock, checks=checks, on_block=notifications.gate_blocked
    )
    return service.check(request)


@router.post(
    "/gate/overrides",
    status_code=201,
    summary="Except one system from freezes and error-budget blocks (admin)",
)
def add_override(body: OverrideRequest, token: Admin, db: Db, clock: Clock) -> Override:
    service = GateService(db, actor=token.name, clock=clock)
    return service.add_override(
        body.system, until=body.until, reason=body.reason, environment=body.environment
    )


@router.get("/gate/overrides", summary="Overrides that have not ended")
def list_overrides(token: Reader, db: Db, clock: Clock) -> list[Override]:
    return GateService(db, actor=token.name, clock=clock).overrides()
