"""HTTP faces of the workspace: plan, apply and the resources. No workspace logic here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from launchdeck.api.deps import Admin, Clock, Db, Reader
from launchdeck.workspace.model import Campaign, Environment, System
from launchdeck.workspace.plan import Plan
from launchdeck.workspace.service import ApplyResult, WorkspaceInfo, WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

__all__ = ["router"]

router = APIRouter(tags=["workspace"])
# Any id up to 200 characters: one that cannot exist is a 404, as in local mode.
IdPath = Annotated[str, Path(min_length=1, max_length=200)]


def _reader_service(token: Reader, db: Db, clock: Clock) -> WorkspaceService:
    return WorkspaceService(db, actor=token.name, clock=clock)


ReadService = Annotated[WorkspaceService, Depends(_reader_service)]


@router.get("/workspace", summary="Workspace settings, revision and resource counts")
def get_workspace(service: ReadService) -> WorkspaceInfo:
    return service.info()


@router.post("/workspace/plan", summary="What applying this workspace would change")
def plan(spec: WorkspaceSpec, service: ReadService) -> Plan:
    return service.plan(spec)


@router.post("/workspace/apply", summary="Apply a workspace in one transaction (scope admin)")
def apply(
    spec: WorkspaceSpec,
    token: Admin,
    db: Db,
    clock: Clock,
    expected_revision: Annotated[int | None, Query(ge=0)] = None,
) -> ApplyResult:
    service = WorkspaceService(db, actor=token.name, clock=clock)
    return service.apply(spec, expected_revision=expected_revision)


@router.get("/systems", summary="Systems, by id")
def list_systems(service: ReadService) -> list[System]:
    return service.systems()


@router.get("/systems/{system_id}", summary="One system")
def get_system(system_id: IdPath, service: ReadService) -> System:
    return service.system(system_id)


@router.get("/environments", summary="Environments, by id")
def list_environments(service: ReadService) -> list[Environment]:
    return service.environments()


@router.get("/environments/{environment_id}", summary="One environment")
def get_environment(environment_id: IdPath, service: ReadService) -> Environment:
    return service.environment(environment_id)


@router.get("/campaigns", summary="Campaigns, by id")
def list_campaigns(service: ReadService) -> list[Campaign]:
    return service.campaigns()


@router.get("/campaigns/{campaign_id}", summary="One campaign")
def get_campaign(campaign_id: IdPath, service: ReadService) -> Campaign:
    return service.campaign(campaign_id)
