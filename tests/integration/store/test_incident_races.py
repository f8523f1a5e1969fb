"""Races on incidents, SQLite and PostgreSQL. Readers of one incident at the same time each
replay the campaign boundaries they missed: exactly one writes the change, and no read fails for
it. Deliveries of one alert at the same time (an HA Alertmanager pair) open one incident."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from threading import Barrier
from typing import Any

from launchdeck.incidents.model import EntryKind, OpenRequest
from launchdeck.incidents.service import IncidentService
from launchdeck.incidents.severity import Severity
from launchdeck.store import Database
from launchdeck.timeline.model import TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

EVE = datetime(2026, 11, 26, 20, tzinfo=UTC)
BF_START = datetime(2026, 11, 27, 5, tzinfo=UTC)
BF_AFTERNOON = datetime(2026, 11, 27, 15, tzinfo=UTC)


def test_concurrent_readers_record_a_campaign_start_once_and_all_see_it(
    db: Database, clock: Any, example_spec: WorkspaceSpec
) -> None:
    clock.now = datetime(2026, 10, 1, tzinfo=UTC)
    WorkspaceService(db, actor="alice", clock=clock).apply(example_spec)
    clock.now = EVE
    service = IncidentService(db, actor="bob", clock=clock)
    opened = service.open(OpenRequest(title="Checkout is down", systems=("checkout-api",)))
    clock.now = BF_AFTERNOON

    def read(_: int) -> Severity:
        return service.show(opened.incident.id).incident.severity

    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = list(pool.map(read, range(8)))

    entries = service.show(opened.incident.id).entries
    changes = [e for e in entries if e.kind is EntryKind.SEVERITY]
    events = TimelineService(db).query(TimelineQuery(kind="incident.severity_changed")).events
    assert opened.incident.severity is Severity.SEV3
    assert seen == [Severity.SEV1] * 8
    assert [(e.at, e.text.split(" as ")[0]) for e in changes] == [(BF_START, "SEV3 → SEV1")]
    assert [e.occurred_at for e in events] == [BF_START]


def test_simultaneous_deliveries_of_one_alert_open_one_incident(
    db: Database, clock: Any, example_spec: WorkspaceSpec
) -> None:
    clock.now = datetime(2026, 10, 1, tzinfo=UTC)
    WorkspaceService(db, actor="alice", clock=clock).apply(example_spec)
    clock.now = BF_AFTERNOON
    service = IncidentService(db, actor="alertmanager", clock=clock)
    request = OpenRequest(
        title="Checkout burning its budget",
        systems=("checkout-api",),
        dedupe_key="alert:checkout-api:checkout-api-availability",
    )
    start = Barrier(6)

    def deliver(_: int) -> int:
        start.wait()
        return service.open(request).incident.id

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(pool.map(deliver, range(6)))

    everything = service.list_incidents(all=True)
    (only,) = everything
    alerts = [e for e in service.show(only.id).entries if e.kind is EntryKind.ALERT]
    assert ids == [only.id] * 6
    assert len(alerts) == 5
