"""One client interface with two implementations: the embedded store, or a launchdeck API.

Every CLI command talks to a `Client`. `open_client(settings)` picks local mode (the
database, the default) or remote mode (LAUNCHDECK_URL + LAUNCHDECK_TOKEN). A capability
adds its service pair (local + remote) here and gets remote mode for every command.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from launchdeck.auth.service import TokenApi
    from launchdeck.calendar.service import CalendarApi
    from launchdeck.client.http import HttpTransport
    from launchdeck.experiments.service import ExperimentApi
    from launchdeck.experiments.store import EventStore
    from launchdeck.flags.service import FlagApi
    from launchdeck.gate.service import GateApi, GateService
    from launchdeck.incidents.service import IncidentApi
    from launchdeck.notify.outbox import Notifications
    from launchdeck.reliability.service import SloApi
    from launchdeck.rollout.remote import RolloutApi
    from launchdeck.rollout.service import RolloutService
    from launchdeck.settings import Settings
    from launchdeck.store import Database
    from launchdeck.timeline.service import TimelineApi
    from launchdeck.workspace.service import WorkspaceApi

__all__ = ["Client", "open_client", "utc_now"]


def utc_now() -> datetime:
    """The wall clock, as an aware UTC instant; or the instant LAUNCHDECK_NOW pins, so that a
    demo or a replay of a past day records what it does at that time. Only composition roots
    and option parsing call it."""
    pinned = os.environ.get("LAUNCHDECK_NOW")
    return _pinned(pinned) if pinned else datetime.now(UTC)


@functools.cache
def _pinned(text: str) -> datetime:
    from launchdeck.errors import UsageError

    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise UsageError(
            f"LAUNCHDECK_NOW={text!r} is not an ISO 8601 instant with a zone",
            hint="e.g. LAUNCHDECK_NOW=2026-11-27T15:12:00Z, or unset it for the wall clock",
        )
    return value.astimezone(UTC)


@dataclass
class Client:
    mode: str
    """'local' or 'remote'."""
    target: str
    """Where the state lives: a database URL (password masked) or an API URL."""
    workspace: WorkspaceApi
    timeline: TimelineApi
    tokens: TokenApi
    calendar: CalendarApi
    gate: GateApi
    slos: SloApi
    incidents: IncidentApi
    flags: FlagApi
    experiments: ExperimentApi
    _rollouts: Callable[[], RolloutApi] = field(repr=False)
    """Made on first use: the release service imports the judge's statistics (a second)."""
    _close: Callable[[], None] = field(default=lambda: None, repr=False)
    _made: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def rollouts(self) -> RolloutApi:
        if "rollouts" not in self._made:
            self._made["rollouts"] = self._rollouts()
        made = self._made["rollouts"]
        return made  # type: ignore[return-value]

    def close(self) -> None:
        rollouts = self._made.get("rollouts")
        close = getattr(rollouts, "close", None)
        if callable(close):
            close()
        self._close()


def open_client(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Client:
    """A client for the mode `settings` select."""
    if settings.remote:
        return _remote(settings)
    from launchdeck.auth.service import TokenService
    from launchdeck.calendar.service import CalendarService
    from launchdeck.checks import installed_checks
    from launchdeck.experiments.service import ExperimentService, LazyEventStore
    from launchdeck.flags.service import FlagService
    from launchdeck.gate.service import GateService
    from launchdeck.incidents.service import IncidentService
    from launchdeck.notify.outbox import Notifications
    from launchdeck.reliability.service import SloService, prometheus_sources
    from launchdeck.store import Database, safe_url
    from launchdeck.timeline.service import TimelineService
    from launchdeck.workspace.service import WorkspaceService

    db = Database(settings.resolved_database_url)
    sources = prometheus_sources(settings.prometheus_url, timeout_s=settings.prometheus_timeout_s)
    notifications = Notifications(
        db, clock=clock, timeout_s=settings.notify_timeout_s, attempts=settings.notify_attempts
    )
    gate = GateService(
        db,
        actor=settings.actor,
        clock=clock,
        checks=installed_checks(db, clock=clock, sources=sources),
        on_block=notifications.gate_blocked,
    )
    events = LazyEventStore(settings.resolved_events_path)

    def close() -> None:
        events.close()
        db.dispose()

    return Client(
        mode="local",
        target=safe_url(db.url),
        workspace=WorkspaceService(db, actor=settings.actor, clock=clock),
        timeline=TimelineService(
            db, actor=settings.actor, clock=clock, on_record=notifications.change_recorded
        ),
        tokens=TokenService(db, actor=settings.actor, clock=clock),
        calendar=CalendarService(db, actor=settings.actor, clock=clock),
        gate=gate,
        slos=SloService(db, clock=clock, sources=sources),
        incidents=IncidentService(db, actor=settings.actor, clock=clock, outbox=notifications),
        flags=FlagService(db, actor=settings.actor, clock=clock, gate=gate),
        experiments=ExperimentService(db, clock=clock, events=events),
        _rollouts=lambda: rollout_service(
            db, settings, clock=clock, gate=gate, notifications=notifications, events=events
        ),
        _close=close,
    )


def rollout_service(
    db: Database,
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    gate: GateService,
    notifications: Notifications,
    events: Callable[[], EventStore] | None = None,
) -> RolloutService:
    """The release service of a local process (the CLI, `launchdeck controller`, the API)."""
    from launchdeck.incidents.service import IncidentService
    from launchdeck.rollout.service import RolloutService

    return RolloutService(
        db,
        actor=settings.actor,
        clock=clock,
        gate=gate,
        sites_dir=settings.resolved_sites_dir,
        incidents=IncidentService(db, actor=settings.actor, clock=clock, outbox=notifications),
        notify=notifications.change_recorded,
        prometheus_url=settings.prometheus_url,
        workspace_dir=settings.workspace_dir,
        events=events,
    )


def _remote(settings: Settings) -> Client:
    from launchdeck.auth.service import RemoteTokens
    from launchdeck.calendar.service import RemoteCalendar
    from launchdeck.client.http import HttpTransport
    from launchdeck.experiments.remote import RemoteExperiments
    from launchdeck.flags.remote import RemoteFlags
    from launchdeck.gate.service import RemoteGate
    from launchdeck.incidents.service import RemoteIncidents
    from launchdeck.reliability.service import RemoteSlos
    from launchdeck.timeline.service import RemoteTimeline
    from launchdeck.workspace.remote import RemoteWorkspace

    assert settings.url is not None
    token = settings.token.get_secret_value() if settings.token else None
    http = HttpTransport(settings.url, token, timeout_s=settings.http_timeout_s)
    return Client(
        mode="remote",
        target=settings.url,
        workspace=RemoteWorkspace(http),
        timeline=RemoteTimeline(http),
        tokens=RemoteTokens(http),
        calendar=RemoteCalendar(http),
        gate=RemoteGate(http),
        slos=RemoteSlos(http),
        incidents=RemoteIncidents(http),
        flags=RemoteFlags(http),
        experiments=RemoteExperiments(http),
        _rollouts=lambda: _remote_rollouts(http),
        _close=http.close,
    )


def _remote_rollouts(http: HttpTransport) -> RolloutApi:
    from launchdeck.rollout.remote import RemoteRollouts

    return RemoteRollouts(http)
