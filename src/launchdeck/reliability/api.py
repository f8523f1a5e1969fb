"""/api/v1/slos: SLOs, their status, generated Prometheus rules, incident impact. No logic here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from launchdeck.api.deps import Clock, Db, Reader, Sources, UtcInstant
from launchdeck.reliability.service import IncidentBudget, SloReport, SloService, SloSummary

__all__ = ["router"]

router = APIRouter(tags=["slos"])
_ID = {"min_length": 1, "max_length": 200}


@router.get("/slos", summary="The workspace's SLOs (of one system)")
def list_slos(
    token: Reader,
    db: Db,
    clock: Clock,
    sources: Sources,
    system: Annotated[str | None, Query(**_ID)] = None,
) -> list[SloSummary]:
    return SloService(db, clock=clock, sources=sources).list_slos(system)


@router.get("/slos/status", summary="Budgets, burn rates and alert tiers, as of now or `at`")
def slo_status(
    token: Reader,
    db: Db,
    clock: Clock,
    sources: Sources,
    system: Annotated[str | None, Query(**_ID)] = None,
    at: UtcInstant | None = None,
    series: bool = False,
) -> SloReport:
    return SloService(db, clock=clock, sources=sources).status(system, at=at, series=series)


@router.get(
    "/slos/rules",
    summary="Prometheus recording and alerting rules (Sloth's metric names)",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}}},
)
def slo_rules(token: Reader, db: Db, clock: Clock, sources: Sources) -> Response:
    body = SloService(db, clock=clock, sources=sources).rules()
    return Response(body, media_type="application/yaml")


@router.get(
    "/slos/openslo",
    summary="The stored SLOs (of one system) as OpenSLO v1 YAML",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}}},
)
def slo_export(
    token: Reader,
    db: Db,
    clock: Clock,
    sources: Sources,
    system: Annotated[str | None, Query(**_ID)] = None,
) -> Response:
    body = SloService(db, clock=clock, sources=sources).export(system)
    return Response(body, media_type="application/yaml")


@router.get(
    "/slos/incident-budget/{system}",
    summary="What a time range cost each SLO of a system, against a four-week budget",
)
def incident_budget(
    token: Reader,
    db: Db,
    clock: Clock,
    sources: Sources,
    system: Annotated[str, Path(**_ID)],
    start: UtcInstant,
    end: UtcInstant,
) -> list[IncidentBudget]:
    return SloService(db, clock=clock, sources=sources).incident_budget(
        system, start=start, end=end
    )
