"""While the API server runs, open incidents follow the calendar without anyone reading them:
the refresher replays campaign starts and ends every interval. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from launchdeck.api.app import create_app
from launchdeck.incidents.model import EntryKind, OpenRequest
from launchdeck.incidents.refresher import Refresher
from launchdeck.incidents.service import IncidentService
from launchdeck.incidents.severity import Severity
from launchdeck.settings import Settings
from launchdeck.store import Database
from launchdeck.store.incidents import SqlIncidentStore
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

EVE = datetime(2026, 11, 26, 20, tzinfo=UTC)
BF_START = datetime(2026, 11, 27, 5, tzinfo=UTC)
BF_AFTERNOON = datetime(2026, 11, 27, 15, tzinfo=UTC)


@pytest.fixture
def opened_on_the_eve(db: Database, clock: Any, example_spec: WorkspaceSpec) -> int:
    """A checkout outage opened the evening before Black Friday (SEV3); the clock then moves
    into Black Friday afternoon, and nobody reads the incident."""
    clock.now = datetime(2026, 10, 1, tzinfo=UTC)
    WorkspaceService(db, actor="alice", clock=clock).apply(example_spec)
    clock.now = EVE
    view = IncidentService(db, actor="bob", clock=clock).open(
        OpenRequest(title="Checkout is down", systems=("checkout-api",))
    )
    clock.now = BF_AFTERNOON
    return view.incident.id


def stored(db: Database, incident_id: int) -> tuple[Severity, list[tuple[datetime, str]]]:
    """The incident as stored, read without bringing it up to date."""
    with db.read() as session:
        store = SqlIncidentStore(session)
        severity = store.get(incident_id).severity
        changes = [
            (e.at, e.actor) for e in store.entries(incident_id) if e.kind is EntryKind.SEVERITY
        ]
    return severity, changes


def wait_for_change(db: Database, incident_id: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while stored(db, incident_id)[0] is not Severity.SEV1:
        assert time.monotonic() < deadline, "the severity was not brought up to date"
        time.sleep(0.02)


def test_one_round_brings_every_open_incident_up_to_date(
    db: Database, clock: Any, opened_on_the_eve: int
) -> None:
    before = stored(db, opened_on_the_eve)
    refresher = Refresher(
        lambda: IncidentService(db, actor="launchdeck", clock=clock), interval_s=60
    )

    count = refresher.run_once()

    assert before == (Severity.SEV3, [])
    assert count == 1
    assert stored(db, opened_on_the_eve) == (Severity.SEV1, [(BF_START, "launchdeck")])


def test_the_thread_does_it_every_interval_until_stopped(
    db: Database, clock: Any, opened_on_the_eve: int
) -> None:
    refresher = Refresher(
        lambda: IncidentService(db, actor="launchdeck", clock=clock), interval_s=0.05
    )

    refresher.start()
    try:
        wait_for_change(db, opened_on_the_eve)
    finally:
        refresher.stop()

    assert stored(db, opened_on_the_eve) == (Severity.SEV1, [(BF_START, "launchdeck")])


def test_a_failing_round_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> IncidentService:
        raise RuntimeError("the database went away")

    refresher = Refresher(broken, interval_s=60)

    assert refresher.run_once() == 0
    assert "open incidents could not be brought up to date" in caplog.text


def test_the_api_server_runs_the_refresher_while_it_serves(
    db: Database, clock: Any, opened_on_the_eve: int
) -> None:
    app = create_app(Settings(incident_refresh_s=0.05), db=db, clock=clock)

    async def serve_a_while() -> None:
        async with app.router.lifespan_context(app):
            await asyncio.to_thread(wait_for_change, db, opened_on_the_eve)

    asyncio.run(serve_a_while())

    assert stored(db, opened_on_the_eve) == (Severity.SEV1, [(BF_START, "launchdeck")])


def test_an_interval_of_zero_leaves_incidents_to_their_readers(
    db: Database, clock: Any, opened_on_the_eve: int
) -> None:
    app = create_app(Settings(incident_refresh_s=0), db=db, clock=clock)

    async def serve_a_while() -> None:
        async with app.router.lifespan_context(app):
            await asyncio.sleep(0.3)

    asyncio.run(serve_a_while())

    assert stored(db, opened_on_the_eve) == (Severity.SEV3, [])
