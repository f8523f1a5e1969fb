"""/api/v1/experiments: plan, analyse, validate, and the SQL for a warehouse. Any token reads.

Experiments are defined in launchdeck.yaml (`apply`), so there is nothing to write here; events
arrive through /api/v1/events (events_api.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from launchdeck.api.deps import Clock, Db, Reader
from launchdeck.experiments.checks import Validation
from launchdeck.experiments.design import Design
from launchdeck.experiments.records import ExperimentInfo, Report, SqlText
from launchdeck.experiments.service import DIALECTS, ExperimentService
from launchdeck.flags.model import KEY_PATTERN

__all__ = ["router"]

router = APIRouter(tags=["experiments"])
ExperimentKey = Annotated[str, Path(pattern=KEY_PATTERN)]


def _reading(token: Reader, request: Request, db: Db, clock: Clock) -> ExperimentService:
    ingest = request.app.state.events  # the server's one event store, shared with ingest
    return ExperimentService(db, clock=clock, events=lambda: ingest.writer().store)


Reading = Annotated[ExperimentService, Depends(_reading)]


@router.get("/experiments", summary="Every experiment with its phase")
def list_experiments(experiments: Reading) -> list[ExperimentInfo]:
    return experiments.list_experiments()


@router.get("/experiments/{key}", summary="An experiment and its metrics")
def get_experiment(key: ExperimentKey, experiments: Reading) -> ExperimentInfo:
    return experiments.get(key)


@router.get(
    "/experiments/{key}/plan",
    summary="Sample size, days needed at the traffic, and whether the deadline allows it",
)
def plan_experiment(
    key: ExperimentKey,
    experiments: Reading,
    daily_units: Annotated[float | None, Query(gt=0, le=1e12)] = None,
    baseline: Annotated[float | None, Query(gt=0, lt=1)] = None,
    mde: Annotated[float | None, Query(gt=0, le=10)] = None,
) -> Design:
    return experiments.plan(key, daily_units=daily_units, baseline=baseline, mde=mde)


@router.get("/experiments/{key}/analysis", summary="Every metric × variant against control")
def analyse_experiment(
    key: ExperimentKey,
    experiments: Reading,
    daily: Annotated[
        bool, Query(description="Also count new exposed units per day (for a chart).")
    ] = True,
) -> Report:
    return experiments.analyse(key, daily=daily)


@router.get(
    "/experiments/{key}/validation",
    summary="Sample ratio, assignment, tracking and readiness checks (pass / warn / fail)",
)
def validate_experiment(key: ExperimentKey, experiments: Reading) -> Validation:
    return experiments.validate(key)


@router.get("/experiments/{key}/sql", summary="The aggregation SQL in a warehouse's dialect")
def experiment_sql(
    key: ExperimentKey,
    experiments: Reading,
    dialect: Annotated[str, Query(pattern="^(" + "|".join(DIALECTS) + ")$")] = "postgres",
) -> list[SqlText]:
    return experiments.sql(key, dialect=dialect)
