"""SLOs in the store, SQLite and PostgreSQL: the example's OpenSLO file goes through load, plan and
apply like any resource, campaigns keep their protected windows, and migration 0003 adds both
to a database that already holds campaigns."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from launchdeck.reliability.service import SloService, prometheus_sources
from launchdeck.store import HEAD_REVISION, Database, SqlStateStore, upgrade
from launchdeck.store.db import current_revision
from launchdeck.store.slos import SqlSloStore
from launchdeck.store.tables import Json, UtcDateTime
from launchdeck.timeline.model import TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.model import ResourceKind, Slo
from launchdeck.workspace.plan import Action, FieldChange
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

SLO = "checkout-api-availability"
SLO_FILE = "slos/checkout-api.yaml"


def loaded(workspace_dir: Path, clock: Any) -> WorkspaceSpec:
    return load_workspace(workspace_dir / "launchdeck.yaml", now=clock.now).spec


def stored_slos(db: Database) -> list[Slo]:
    with db.read() as session:
        return SqlSloStore(session).slos()


def events(db: Database, kind: str) -> list[Any]:
    return list(TimelineService(db).query(TimelineQuery(kind=kind, limit=100)).events)


def test_the_example_s_slo_is_applied_and_read_back_whole(
    db: Database, clock: Any, service: WorkspaceService, workspace_dir: Path
) -> None:
    spec = loaded(workspace_dir, clock)

    result = service.apply(spec)

    added = [c for c in result.plan.changes if c.kind is ResourceKind.SLO]
    assert [(c.id, c.action) for c in added] == [(SLO, Action.ADD)]
    (slo,) = stored_slos(db)
    assert (slo.id, slo.system, slo.file, slo.datasource) == (SLO, "checkout-api", SLO_FILE, None)
    assert slo.document == spec.slos[0].document
    assert slo.document["spec"]["objectives"] == [{"displayName": "Available", "target": 0.999}]
    listed = SloService(db, clock=clock, sources=prometheus_sources("http://127.0.0.1:9"))
    (summary,) = listed.list_slos("checkout-api")
    assert (summary.slo, summary.display_name, summary.window, summary.rolling) == (
        SLO,
        "Checkout API availability",
        "28d",
        True,
    )
    assert [(o.name, o.target) for o in summary.objectives] == [("Available", 0.999)]
    assert summary.protected_by == ("Black Friday 2026", "Cyber Monday 2026")
    assert listed.list_slos("cms") == []
    assert [e.subject for e in events(db, "slo.added")] == [f"slo/{SLO}"]


def test_nothing_is_left_to_plan_after_an_apply(
    db: Database, clock: Any, service: WorkspaceService, workspace_dir: Path
) -> None:
    service.apply(loaded(workspace_dir, clock))

    plan = service.plan(loaded(workspace_dir, clock))

    assert plan.changes == ()


def test_a_new_target_in_the_slo_file_is_a_field_change_and_a_timeline_event(
    db: Database, clock: Any, service: WorkspaceService, workspace_dir: Path
) -> None:
    first = service.apply(loaded(workspace_dir, clock))
    slo_path = workspace_dir / SLO_FILE
    text = slo_path.read_text(encoding="utf-8")
    assert text.count("target: 0.999\n") == 1
    slo_path.write_text(text.replace("target: 0.999\n", "target: 0.9995\n"), encoding="utf-8")

    # The campaigns' protected windows (99.95 %) must stay stricter than the SLO itself.
    def stricter_windows(data: dict[str, Any]) -> None:
        for campaign in data["campaigns"]:
            if "slo_objectives" in campaign:
                campaign["slo_objectives"] = {SLO: 99.99}

    edit_yaml(workspace_dir / "launchdeck.yaml", stricter_windows)
    spec = loaded(workspace_dir, clock)

    plan = service.plan(spec)
    result = service.apply(spec)

    slo_changes = [c for c in plan.changes if c.kind is ResourceKind.SLO]
    assert [(c.id, c.action) for c in slo_changes] == [(SLO, Action.CHANGE)]
    assert slo_changes[0].fields == (
        FieldChange(
            field="document.spec.objectives",
            before=[{"displayName": "Available", "target": 0.999}],
            after=[{"displayName": "Available", "target": 0.9995}],
        ),
    )
    (changed,) = events(db, "slo.changed")
    assert changed.subject == f"slo/{SLO}"
    assert changed.actor == "alice"
    assert changed.payload["fields"] == ["document.spec.objectives"]
    assert changed.payload["revision"] == result.revision == first.revision + 1
    (slo,) = stored_slos(db)
    assert slo.document["spec"]["objectives"][0]["target"] == 0.9995


def test_dropping_the_slo_file_from_the_workspace_removes_the_slo(
    db: Database, clock: Any, service: WorkspaceService, workspace_dir: Path
) -> None:
    service.apply(loaded(workspace_dir, clock))

    def drop(data: dict[str, Any]) -> None:
        data["references"]["slos"] = []
        for system in data["systems"]:
            system.pop("slos", None)
        for campaign in data["campaigns"]:
            campaign.pop("slo_objectives", None)

    edit_yaml(workspace_dir / "launchdeck.yaml", drop)
    spec = loaded(workspace_dir, clock)
    plan = service.plan(spec)
    service.apply(spec)

    assert [(c.id, c.action) for c in plan.changes if c.kind is ResourceKind.SLO] == [
        (SLO, Action.REMOVE)
    ]
    assert stored_slos(db) == []
    assert [e.subject for e in events(db, "slo.removed")] == [f"slo/{SLO}"]
    assert service.campaign("black-friday").slo_objectives == {}
    assert service.plan(loaded(workspace_dir, clock)).changes == ()


def test_protected_windows_round_trip_on_the_campaigns(
    db: Database, clock: Any, service: WorkspaceService, workspace_dir: Path
) -> None:
    service.apply(loaded(workspace_dir, clock))

    with db.read() as session:
        protecting = SqlSloStore(session).protecting_campaigns(
            datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)
        )
        later = SqlSloStore(session).protecting_campaigns(
            datetime(2026, 12, 2, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)
        )

    assert service.campaign("black-friday").slo_objectives == {SLO: 99.95}
    assert service.campaign("cyber-monday").slo_objectives == {SLO: 99.95}
    assert service.campaign("early-access").slo_objectives == {}
    assert [(c.id, c.slo_objectives) for c in protecting] == [
        ("black-friday", {SLO: 99.95}),
        ("cyber-monday", {SLO: 99.95}),
    ]
    assert later == []


def edit_yaml(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# --- migration 0003 -------------------------------------------------------------------------------

CAMPAIGNS_AT_0002 = sa.Table(
    "campaigns",
    sa.MetaData(),
    sa.Column("id", sa.String(63), primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("starts_at", UtcDateTime()),
    sa.Column("ends_at", UtcDateTime()),
    sa.Column("timezone", sa.String(64)),
    sa.Column("tier", sa.Integer()),
    sa.Column("revenue_per_hour", sa.Float()),
    sa.Column("currency", sa.String(3)),
    sa.Column("channels", Json),
    sa.Column("systems", Json),
    sa.Column("description", sa.Text()),
    sa.Column("source", sa.String(500)),
    sa.Column("updated_at", UtcDateTime()),
)
"""The campaigns table as revision 0002 left it: no slo_objectives yet."""


@pytest.fixture
def at_0002(db_url: str) -> Iterator[Database]:
    """A database migrated to 0002 only, holding two campaigns written as 0002's code would."""
    database = Database(db_url, migrate=False)
    upgrade(database.engine, "0002")
    written = datetime(2026, 11, 1, tzinfo=UTC)
    with database.engine.begin() as connection:
        connection.execute(
            CAMPAIGNS_AT_0002.insert(),
            [
                {
                    "id": "black-friday",
                    "name": "Black Friday 2026",
                    "starts_at": datetime(2026, 11, 27, 5, tzinfo=UTC),
                    "ends_at": datetime(2026, 11, 29, 4, 59, tzinfo=UTC),
                    "timezone": "America/New_York",
                    "tier": 1,
                    "revenue_per_hour": 185000.0,
                    "currency": "USD",
                    "channels": ["email", "onsite"],
                    "systems": ["checkout-api"],
                    "description": None,
                    "source": None,
                    "updated_at": written,
                },
                {
                    "id": "holiday-feed",
                    "name": "Holiday feed",
                    "starts_at": datetime(2026, 12, 24, tzinfo=UTC),
                    "ends_at": datetime(2026, 12, 26, tzinfo=UTC),
                    "timezone": "UTC",
                    "tier": 3,
                    "revenue_per_hour": 0.0,
                    "currency": "EUR",
                    "channels": [],
                    "systems": [],
                    "description": "from a calendar feed",
                    "source": "calendars/retail-holidays-2026.ics",
                    "updated_at": written,
                },
            ],
        )
    yield database
    database.dispose()


def test_migration_0003_keeps_the_campaigns_with_no_protected_windows(at_0002: Database) -> None:
    before = upgrade(at_0002.engine)

    with at_0002.engine.connect() as connection:
        revision = current_revision(connection)
        raw = connection.execute(
            sa.text("SELECT id, slo_objectives FROM campaigns ORDER BY id")
        ).all()
    with at_0002.read() as session:
        campaigns = SqlStateStore(session).list(ResourceKind.CAMPAIGN)
        slos = SqlSloStore(session).slos()

    assert (before, revision) == ("0002", HEAD_REVISION)
    assert [
        (row[0], row[1] if isinstance(row[1], dict) else json.loads(row[1])) for row in raw
    ] == [
        ("black-friday", {}),
        ("holiday-feed", {}),
    ]
    assert [(c.id, c.name, c.currency, c.source, c.slo_objectives) for c in campaigns] == [
        ("black-friday", "Black Friday 2026", "USD", None, {}),
        ("holiday-feed", "Holiday feed", "EUR", "calendars/retail-holidays-2026.ics", {}),
    ]
    assert slos == []
