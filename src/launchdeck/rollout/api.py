"""/api/v1/releases: deploy, read and act on releases (scope deploy to change one), and the
judge Argo Rollouts' web metric calls. No release logic here."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from launchdeck.api.deps import Deployer, Reader
from launchdeck.rollout.service import RolloutService
from launchdeck.rollout.views import ActionRequest, DeployRequest, JudgeView, ReleaseView

__all__ = ["router"]

router = APIRouter(tags=["releases"])
_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"
_Id = Annotated[str, Query(pattern=_ID)]
System = Annotated[str, Path(pattern=_ID)]
Environment = Annotated[str, Path(pattern=_ID)]


def _service(request: Request, actor: str) -> RolloutService:
    service: RolloutService = request.app.state.rollouts
    return service.with_actor(actor)


@router.post("/releases", status_code=201, summary="Release a version progressively (scope deploy)")
def deploy(body: DeployRequest, token: Deployer, request: Request) -> ReleaseView:
    return _service(request, token.name).deploy(body)


@router.get("/releases", summary="Releases, newest first")
def releases(
    token: Reader,
    request: Request,
    system: _Id | None = None,
    environment: _Id | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[ReleaseView]:
    return _service(request, token.name).releases(
        system=system, environment=environment, active=active, limit=limit
    )


@router.get("/releases/{system}/{environment}", summary="The active (else newest) release")
def status(
    system: System, environment: Environment, token: Reader, request: Request
) -> ReleaseView:
    return _service(request, token.name).status(system, environment)


@router.get(
    "/releases/{system}/{environment}/judge",
    summary="The judge's verdict now on the active release (Argo Rollouts' web metric)",
)
def judge(
    system: System,
    environment: Environment,
    token: Reader,
    request: Request,
    metrics: Annotated[str, Query(max_length=2000)] = "",
) -> JudgeView:
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    return _service(request, token.name).judge(system, environment, names)


@router.post(
    "/releases/{system}/{environment}/{action}",
    summary="promote, pause, resume, abort or rollback (scope deploy)",
)
def act(
    system: System,
    environment: Environment,
    action: Literal["promote", "pause", "resume", "abort", "rollback"],
    token: Deployer,
    request: Request,
    body: ActionRequest | None = None,
) -> ReleaseView:
    return _service(request, token.name).act(system, environment, action, body or ActionRequest())
