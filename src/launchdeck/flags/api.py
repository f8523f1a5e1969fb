"""/api/v1/flags, /segments, /flag-change-requests, /sdk-keys: flag management. No flag logic here.

Reads need any token; changes need `flags:write`; SDK keys need `admin`. The OFREP endpoints
and the SDK snapshot live in ofrep_api.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from launchdeck.api.deps import Admin, Clock, Db, Reader, RequireScope, Sources
from launchdeck.auth.model import Scope, TokenInfo
from launchdeck.flags.model import KEY_PATTERN, FlagSpec, SegmentSpec
from launchdeck.flags.records import (
    ChangeRequest,
    CreatedSdkKey,
    FlagVersion,
    SdkKeyInfo,
    StoredFlag,
    StoredSegment,
)
from launchdeck.flags.requests import (
    ChangeBody,
    ChangeOutcome,
    EvalRequest,
    EvalResult,
    ScheduleBody,
)
from launchdeck.flags.service import FlagService
from launchdeck.flags.stale import StaleFlag

__all__ = ["router"]

router = APIRouter(tags=["flags"])
Writer = Annotated[TokenInfo, Depends(RequireScope(Scope.FLAGS_WRITE))]
FlagKey = Annotated[str, Path(pattern=KEY_PATTERN)]
CommentQuery = Annotated[str | None, Query(max_length=2000, description="Why (kept in history).")]
RequestId = Annotated[str, Path(pattern=r"^cr-[0-9a-f]{1,32}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RestoreBody(_Body):
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    comment: Annotated[str, Field(max_length=2000)] | None = None


class CommentBody(_Body):
    comment: Annotated[str, Field(max_length=2000)] | None = None


class SdkKeyBody(_Body):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    environment: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


def _service(
    token: TokenInfo, request: Request, db: Db, clock: Clock, sources: Sources
) -> FlagService:
    from launchdeck.checks import installed_checks
    from launchdeck.gate.service import GateService

    gate = GateService(
        db,
        actor=token.name,
        clock=clock,
        checks=installed_checks(db, clock=clock, sources=sources),
        on_block=request.app.state.notifications.gate_blocked,
    )
    cache = getattr(request.app.state, "flag_cache", None)
    return FlagService(
        db,
        actor=token.name,
        clock=clock,
        gate=gate,
        on_change=cache.invalidate if cache is not None else None,
    )


def _reading(
    token: Reader, request: Request, db: Db, clock: Clock, sources: Sources
) -> FlagService:
    return _service(token, request, db, clock, sources)


def _writing(
    token: Writer, request: Request, db: Db, clock: Clock, sources: Sources
) -> FlagService:
    return _service(token, request, db, clock, sources)


def _administering(
    token: Admin, request: Request, db: Db, clock: Clock, sources: Sources
) -> FlagService:
    return _service(token, request, db, clock, sources)


Reading = Annotated[FlagService, Depends(_reading)]
"""The flag service acting as a token with any scope."""
Writing = Annotated[FlagService, Depends(_writing)]
"""… with `flags:write`."""
Administering = Annotated[FlagService, Depends(_administering)]
"""… with `admin` (SDK keys)."""


@router.get("/flags", summary="Every flag (archived ones with ?archived=true)")
def list_flags(flags: Reading, archived: bool = False) -> list[StoredFlag]:
    return flags.list_flags(archived=archived)


@router.post("/flags", status_code=201, summary="Create a flag (flags:write)")
def create_flag(spec: FlagSpec, flags: Writing, comment: CommentQuery = None) -> StoredFlag:
    return flags.create(spec, comment=comment)


@router.post("/flags/evaluate", summary="Evaluate flags for a context, now or as of `at`")
def evaluate(body: EvalRequest, flags: Reading) -> EvalResult:
    return flags.evaluate(body)


@router.get("/stale-flags", summary="Flags fully rolled out or unchanged past their lifetime")
def stale_flags(flags: Reading) -> list[StaleFlag]:
    return flags.stale()


@router.get("/flags/{key}", summary="A flag with its version")
def get_flag(key: FlagKey, flags: Reading) -> StoredFlag:
    return flags.get_flag(key)


@router.put(
    "/flags/{key}",
    summary="Replace a flag's whole definition at its current version (flags:write)",
)
def replace_flag(
    key: FlagKey,
    spec: FlagSpec,
    expected_version: Annotated[int, Query(ge=1, le=2**31 - 1)],
    flags: Writing,
    comment: CommentQuery = None,
) -> ChangeOutcome:
    from launchdeck.errors import UsageError

    if spec.key != key:
        raise UsageError(f"the body's key {spec.key!r} is not the path's {key!r}")
    return flags.replace(spec, expected_version=expected_version, comment=comment)


@router.delete("/flags/{key}", summary="Archive a flag (flags:write)")
def archive_flag(key: FlagKey, flags: Writing, comment: CommentQuery = None) -> StoredFlag:
    return flags.archive(key, comment=comment)


@router.post(
    "/flags/{key}/changes",
    summary="Change a flag in one environment: applied, scheduled or sent for approval "
    "(flags:write)",
)
def change_flag(
    key: FlagKey,
    body: ChangeBody,
    flags: Writing,
) -> ChangeOutcome:
    return flags.change(key, body)


@router.post("/flags/{key}/schedule", summary="Add a scheduled change (flags:write)")
def schedule_flag(
    key: FlagKey,
    body: ScheduleBody,
    flags: Writing,
) -> ChangeOutcome:
    return flags.schedule(key, body.environment, body.change, comment=body.comment)


@router.delete(
    "/flags/{key}/schedule/{environment}/{index}",
    summary="Drop a pending scheduled change (flags:write)",
)
def unschedule_flag(
    key: FlagKey,
    environment: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")],
    index: Annotated[int, Path(ge=0, le=10_000)],
    flags: Writing,
    comment: CommentQuery = None,
) -> ChangeOutcome:
    return flags.unschedule(key, environment, index, comment=comment)


@router.get("/flags/{key}/history", summary="Every version of a flag, oldest first")
def flag_history(key: FlagKey, flags: Reading) -> list[FlagVersion]:
    return flags.history(key)


@router.post("/flags/{key}/restore", summary="Make an old version current again (flags:write)")
def restore_flag(
    key: FlagKey,
    body: RestoreBody,
    flags: Writing,
) -> StoredFlag:
    return flags.restore(key, body.version, comment=body.comment)


@router.get("/segments", summary="Every segment")
def list_segments(flags: Reading) -> list[StoredSegment]:
    return flags.list_segments()


@router.put("/segments/{key}", summary="Create or replace a segment (flags:write)")
def put_segment(
    key: FlagKey,
    spec: SegmentSpec,
    flags: Writing,
) -> StoredSegment:
    from launchdeck.errors import UsageError

    if spec.key != key:
        raise UsageError(f"the body's key {spec.key!r} is not the path's {key!r}")
    return flags.put_segment(spec)


@router.get("/flag-change-requests", summary="Open change requests (all with ?all=true)")
def change_requests(flags: Reading, all: bool = False) -> list[ChangeRequest]:
    return flags.change_requests(all=all)


@router.post("/flag-change-requests/{request_id}/approve", summary="Approve (flags:write)")
def approve(
    request_id: RequestId,
    body: CommentBody,
    flags: Writing,
) -> ChangeRequest:
    return flags.approve(request_id, comment=body.comment)


@router.post("/flag-change-requests/{request_id}/reject", summary="Reject or cancel (flags:write)")
def reject(
    request_id: RequestId,
    body: CommentBody,
    flags: Writing,
) -> ChangeRequest:
    return flags.reject(request_id, comment=body.comment)


@router.post(
    "/flag-change-requests/{request_id}/apply", summary="Apply an approved request (flags:write)"
)
def apply_request(
    request_id: RequestId,
    flags: Writing,
) -> ChangeOutcome:
    return flags.apply_request(request_id)


@router.get("/sdk-keys", summary="SDK keys (admin)")
def list_sdk_keys(flags: Administering) -> list[SdkKeyInfo]:
    return flags.sdk_keys()


@router.post("/sdk-keys", status_code=201, summary="Create an environment's SDK key (admin)")
def create_sdk_key(body: SdkKeyBody, flags: Administering) -> CreatedSdkKey:
    return flags.create_sdk_key(body.name, body.environment)


@router.delete("/sdk-keys/{key_id}", summary="Revoke an SDK key (admin)")
def revoke_sdk_key(
    key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$")],
    flags: Administering,
) -> SdkKeyInfo:
    return flags.revoke_sdk_key(key_id)
