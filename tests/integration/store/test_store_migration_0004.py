"""Migration 0004 (incidents), SQLite and PostgreSQL: a database at 0003 that already holds a
campaign and a configured workspace upgrades to head with no campaign owners, empty incident
tables and the default incident policy and notifications; downgrading to 0003 drops them again
and keeps the data that was there before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from store_builders import column_names, downgrade, table_names

from launchdeck.incidents.severity import IncidentPolicy
from launchdeck.notify.spec import NotificationsSpec
from launchdeck.store import HEAD_REVISION, Database, SqlStateStore, upgrade
from launchdeck.store.db import current_revision
from launchdeck.store.tables import Json, UtcDateTime
from launchdeck.workspace.model import ResourceKind

INCIDENT_TABLES = {"incidents", "incident_entries", "incident_tasks"}
WRITTEN = datetime(2026, 11, 1, tzinfo=UTC)

CAMPAIGNS_AT_0003 = sa.Table(
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
    sa.Column("slo_objectives", Json),
    sa.Column("updated_at", UtcDateTime()),
)
"""The campaigns table as revision 0003 left it: no owners yet."""

WORKSPACE_AT_0003 = sa.Table(
    "workspace",
    sa.MetaData(),
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("revision", sa.Integer()),
    sa.Column("name", sa.String(120)),
    sa.Column("timezone", sa.String(64)),
    sa.Column("references", Json),
    sa.Column("reliability", Json),
    sa.Column("updated_at", UtcDateTime()),
)
"""The columns of the workspace row that 0003's code wrote (a subset)."""


def _json(value: Any) -> Any:
    """A JSON column as read with plain SQL: parsed on PostgreSQL, text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value


@pytest.fixture
def at_0003(db_url: str) -> Iterator[Database]:
    """A database migrated to 0003 only, holding a configured workspace and one campaign, as
    0003's code would have written them."""
    database = Database(db_url, migrate=False)
    upgrade(database.engine, "0003")
    with database.engine.begin() as connection:
        connection.execute(
            WORKSPACE_AT_0003.update()
            .where(WORKSPACE_AT_0003.c.id == 1)
            .values(
                revision=3,
                name="northwind-martech",
                timezone="America/New_York",
                references={},
                reliability=None,
                updated_at=WRITTEN,
            )
        )
        connection.execute(
            CAMPAIGNS_AT_0003.insert(),
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
                    "slo_objectives": {"checkout-api-availability": 99.95},
                    "updated_at": WRITTEN,
                }
            ],
        )
    yield database
    database.dispose()


def test_migration_0004_gives_existing_campaigns_no_owners_and_adds_empty_incidenttable_names(
    at_0003: Database,
) -> None:
    assert INCIDENT_TABLES.isdisjoint(table_names(at_0003))

    before = upgrade(at_0003.engine)

    with at_0003.engine.connect() as connection:
        revision = current_revision(connection)
        owners = connection.execute(sa.text("SELECT id, owners FROM campaigns")).all()
        counts = {
            table: connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(table))
            ).scalar()
            for table in sorted(INCIDENT_TABLES)
        }
        workspace = connection.execute(
            sa.text("SELECT incidents, notifications FROM workspace WHERE id = 1")
        ).one()
    with at_0003.read() as session:
        state = SqlStateStore(session)
        (campaign,) = state.list(ResourceKind.CAMPAIGN)
        settings = state.settings()

    assert (before, revision) == ("0003", HEAD_REVISION)
    assert [(row[0], _json(row[1])) for row in owners] == [("black-friday", [])]
    assert (campaign.id, campaign.name, campaign.owners) == (
        "black-friday",
        "Black Friday 2026",
        (),
    )
    assert campaign.slo_objectives == {"checkout-api-availability": 99.95}
    assert counts == {"incident_entries": 0, "incident_tasks": 0, "incidents": 0}
    assert tuple(workspace) == (None, None)
    assert settings is not None
    assert (settings.name, settings.timezone) == ("northwind-martech", "America/New_York")
    assert settings.incidents == IncidentPolicy()
    assert settings.notifications == NotificationsSpec()


def test_downgrading_0004_to_0003_drops_the_incident_tables_and_columns_and_keeps_the_rest(
    at_0003: Database,
) -> None:
    upgrade(at_0003.engine)

    downgrade(at_0003.engine, "0003")

    with at_0003.engine.connect() as connection:
        revision = current_revision(connection)
        campaigns = connection.execute(
            sa.text("SELECT id, name, slo_objectives FROM campaigns")
        ).all()
        name = connection.execute(sa.text("SELECT name FROM workspace WHERE id = 1")).scalar()
    assert revision == "0003"
    assert INCIDENT_TABLES.isdisjoint(table_names(at_0003))
    assert "owners" not in column_names(at_0003, "campaigns")
    assert {"incidents", "notifications"}.isdisjoint(column_names(at_0003, "workspace"))
    assert {"reliability", "freezes"} <= column_names(at_0003, "workspace")
    assert [(row[0], row[1], _json(row[2])) for row in campaigns] == [
        ("black-friday", "Black Friday 2026", {"checkout-api-availability": 99.95})
    ]
    assert name == "northwind-martech"


def test_a_database_downgraded_to_0003_upgrades_to_head_again(at_0003: Database) -> None:
    upgrade(at_0003.engine)
    downgrade(at_0003.engine, "0003")

    before = upgrade(at_0003.engine)

    with at_0003.read() as session:
        (campaign,) = SqlStateStore(session).list(ResourceKind.CAMPAIGN)
    assert before == "0003"
    assert table_names(at_0003) >= INCIDENT_TABLES
    assert campaign.owners == ()
