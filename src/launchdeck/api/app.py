"""The FastAPI application factory: the one composition root of the API process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from launchdeck import __version__
from launchdeck.api.deps import Db, Reader
from launchdeck.api.metrics import install_metrics
from launchdeck.api.problems import install_problem_handlers
from launchdeck.client import utc_now
from launchdeck.settings import Settings
from launchdeck.store import Database

if TYPE_CHECKING:
    from launchdeck.experiments.model import Catalog, EventsSpec
    from launchdeck.reliability.service import SourceFactory

__all__ = ["create_app"]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """While the server runs, open incidents follow the calendar (see incidents/refresher.py),
    and scheduled flag changes that come due are put on the timeline."""
    from launchdeck.flags.service import FlagService
    from launchdeck.incidents.refresher import Refresher
    from launchdeck.incidents.service import IncidentService

    interval = app.state.incident_refresh_s
    refresher = Refresher(
        lambda: IncidentService(
            app.state.db,
            actor="launchdeck",
            clock=app.state.clock,
            outbox=app.state.notifications,
        ),
        interval_s=interval,
        also=[
            lambda: FlagService(
                app.state.db, actor="launchdeck", clock=app.state.clock
            ).record_fired()
        ],
    )
    if interval > 0:
        refresher.start()
    from launchdeck.rollout.runner import ControllerThread

    controller = ControllerThread(app.state.rollouts, interval_s=app.state.controller_interval_s)
    if app.state.controller_interval_s > 0:
        controller.start()
    try:
        yield
    finally:
        controller.stop()
        refresher.stop()
        app.state.events.close()  # commits the event batches still queued
        if app.state.notify_executor is not None:  # what is on its way still goes out
            app.state.notify_executor.shutdown(wait=True)


def _event_catalog(db: Database) -> Catalog:
    """The experiments ingested exposures are checked against: the applied ones."""
    from launchdeck.experiments.service import load_catalog

    return load_catalog(db)


def _event_limits(db: Database) -> EventsSpec:
    """The workspace's `events:` section: how far ahead or back an event may be stamped."""
    from launchdeck.experiments.model import EventsSpec
    from launchdeck.store.state import SqlStateStore

    with db.read() as session:
        settings = SqlStateStore(session).settings()
    return settings.events if settings is not None else EventsSpec()


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = utc_now,
    sources: SourceFactory | None = None,
    catalog: Callable[[], Catalog] | None = None,
) -> FastAPI:
    """An app serving the workspace in `db` (or the database `settings` name); `catalog`
    overrides the experiments ingested events are checked against."""
    from launchdeck.auth.api import router as tokens_router
    from launchdeck.calendar.api import router as calendar_router
    from launchdeck.experiments.api import router as experiments_router
    from launchdeck.experiments.events_api import EventIngest
    from launchdeck.experiments.events_api import router as events_router
    from launchdeck.flags.api import router as flags_router
    from launchdeck.flags.ofrep_api import router as ofrep_router
    from launchdeck.flags.serving import FlagCache, RateLimiter
    from launchdeck.gate.api import router as gate_router
    from launchdeck.incidents.api import router as incidents_router
    from launchdeck.reliability.api import router as slo_router
    from launchdeck.reliability.service import prometheus_sources
    from launchdeck.rollout.api import router as rollout_router
    from launchdeck.timeline.api import router as timeline_router
    from launchdeck.workspace.api import router as workspace_router

    settings = settings or Settings()
    if db is None:
        db = Database(settings.resolved_database_url)
    app = FastAPI(
        lifespan=_lifespan,
        title="launchdeck",
        version=__version__,
        summary="Release safety for marketing technology teams.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.db = db
    app.state.clock = clock
    app.state.incident_refresh_s = settings.incident_refresh_s
    app.state.sources = sources or prometheus_sources(
        settings.prometheus_url, timeout_s=settings.prometheus_timeout_s
    )
    from launchdeck.notify.outbox import Notifications

    app.state.notify_executor = (
        ThreadPoolExecutor(max_workers=4, thread_name_prefix="launchdeck-notify")
        if settings.notify_in_background
        else None
    )
    app.state.notifications = Notifications(
        db,
        clock=clock,
        timeout_s=settings.notify_timeout_s,
        attempts=settings.notify_attempts,
        executor=app.state.notify_executor,
    )
    app.state.flag_cache = FlagCache(db, clock, settings.flag_check_interval_s)
    app.state.ofrep_limiter = RateLimiter(settings.ofrep_rate_limit)
    app.state.sse_max_stream_s = settings.sse_max_stream_s
    app.state.events = EventIngest(
        settings.resolved_events_path,
        catalog=catalog or (lambda: _event_catalog(db)),
        limits=lambda: _event_limits(db),
        clock=clock,
    )
    app.state.ofrep_exposures = app.state.events.on_ofrep
    from launchdeck.checks import installed_checks
    from launchdeck.client import rollout_service
    from launchdeck.gate.service import GateService

    app.state.controller_interval_s = settings.controller_interval_s
    app.state.rollouts = rollout_service(
        db,
        settings.model_copy(update={"actor": "launchdeck"}),
        clock=clock,
        gate=GateService(
            db,
            actor="launchdeck",
            clock=clock,
            checks=installed_checks(db, clock=clock, sources=app.state.sources),
            on_block=app.state.notifications.gate_blocked,
        ),
        notifications=app.state.notifications,
        events=lambda: app.state.events.writer().store,  # the server's one event store
    )
    install_problem_handlers(app)
    registry = install_metrics(app)

    @app.get("/healthz", tags=["health"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="The database answers")
    def readyz(database: Db) -> dict[str, str]:
        database.ensure_schema()
        database.ping()
        return {"status": "ready"}

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics (text format)")
    def metrics(_token: Reader) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # /ofrep/v1/… where OpenFeature providers look for it, and matched first: it is the hot path
    app.include_router(ofrep_router)
    for router in (
        workspace_router,
        timeline_router,
        tokens_router,
        calendar_router,
        gate_router,
        slo_router,
        incidents_router,
        flags_router,
        events_router,
        experiments_router,
        rollout_router,
    ):
        app.include_router(router, prefix="/api/v1")
    return app
