"""Migration 0005 (feature flags), SQLite and PostgreSQL: a database at 0004 that already holds
a campaign and a configured workspace upgrades to head with empty flag tables, flags revision 0
and the default flag governance, and flag history append-only from the start; downgrading to
0004 drops them again (triggers included) and keeps the data that was there before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from store_builders import column_names, downgrade, table_names

from launchdeck.flags.model import FlagSpec, GovernanceSpec
from launchdeck.flags.records import ManagedBy, VersionAction
from launchdeck.store import HEAD_REVISION, Database, SqlStateStore, upgrade
from launchdeck.store.db import current_revision
from launchdeck.store.flags import SqlFlagStore
from launchdeck.store.tables import Json, UtcDateTime
from launchdeck.workspace.model import ResourceKind

FLAG_TABLES = {"flags", "flag_versions", "segments", "flag_change_requests", "sdk_keys"}
FLAG_COLUMNS = {"flags_revision", "flag_governance"}
WRITTEN = datetime(2026, 11, 1, tzinfo=UTC)
BF_START, BF_END = datetime(2026, 11, 27, 5, tzinfo=UTC), datetime(2026, 11, 29, 4, 59, tzinfo=UTC)

CAMPAIGNS_AT_0004 = sa.Table(
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
    sa.Column("owners", Json),
    sa.Column("updated_at", UtcDateTime()),
)
"""The campaigns table as revision 0004 left it (0005 does not change it)."""

WORKSPACE_AT_0004 = sa.Table(
    "workspace",
    sa.MetaData(),
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("revision", sa.Integer()),
    sa.Column("name", sa.String(120)),
    sa.Column("timezone", sa.String(64)),
    sa.Column("references", Json),
    sa.Column("reliability", Json),
    sa.Column("incidents", Json),
    sa.Column("notifications", Json),
    sa.Column("updated_at", UtcDateTime()),
)
"""The columns of the workspace row that 0004's code wrote (a subset): no flag columns yet."""


def _create_flag(database: Database) -> None:
    with database.unit_of_work() as uow:
        SqlFlagStore(uow.session).put(
            FlagSpec(key="new-checkout"),
            expected_version=None,
            actor="alice",
            now=WRITTEN,
            managed_by=ManagedBy.API,
            comment=None,
            action=VersionAction.CREATED,
        )
        uow.commit()


@pytest.fixture
def at_0004(db_url: str) -> Iterator[Database]:
    """A database migrated to 0004 only, holding a configured workspace and one campaign, as
    0004's code would have written them."""
    database = Database(db_url, migrate=False)
    upgrade(database.engine, "0004")
    with database.engine.begin() as connection:
        connection.execute(
            WORKSPACE_AT_0004.update()
            .where(WORKSPACE_AT_0004.c.id == 1)
            .values(
                revision=4,
                name="northwind-martech",
                timezone="America/New_York",
                references={},
                reliability=None,
                incidents=None,
                notifications=None,
                updated_at=WRITTEN,
            )
        )
        connection.execute(
            CAMPAIGNS_AT_0004.insert(),
            [
                {
                    "id": "black-friday",
                    "name": "Black Friday 2026",
                    "starts_at": BF_START,
                    "ends_at": BF_END,
                    "timezone": "America/New_York",
                    "tier": 1,
                    "revenue_per_hour": 185000.0,
                    "currency": "USD",
                    "channels": ["email", "onsite"],
                    "systems": ["checkout-api"],
                    "description": None,
                    "source": None,
                    "slo_objectives": {},
                    "owners": ["dana@northwind.example"],
                    "updated_at": WRITTEN,
                }
            ],
        )
    yield database
    database.dispose()


def test_migration_0005_adds_empty_flag_tables_revision_0_and_default_governance(
    at_0004: Database,
) -> None:
    assert FLAG_TABLES.isdisjoint(table_names(at_0004))

    before = upgrade(at_0004.engine)

    with at_0004.engine.connect() as connection:
        revision = current_revision(connection)
        counts = {
            table: connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(table))
            ).scalar()
            for table in sorted(FLAG_TABLES)
        }
        workspace = connection.execute(
            sa.text("SELECT revision, flags_revision, flag_governance FROM workspace WHERE id = 1")
        ).one()
    with at_0004.read() as session:
        flags = SqlFlagStore(session)
        flags_revision, governance, edges = (
            flags.revision(),
            flags.governance(),
            flags.campaign_edges(),
        )
        state = SqlStateStore(session)
        settings = state.settings()
        (campaign,) = state.list(ResourceKind.CAMPAIGN)

    assert (before, revision) == ("0004", HEAD_REVISION)
    assert counts == dict.fromkeys(sorted(FLAG_TABLES), 0)
    assert tuple(workspace) == (4, 0, None)
    assert (flags_revision, governance) == (0, GovernanceSpec())
    assert edges == {"black-friday": (BF_START, BF_END)}
    assert settings is not None
    assert (settings.name, settings.timezone) == ("northwind-martech", "America/New_York")
    assert (campaign.id, campaign.owners) == ("black-friday", ("dana@northwind.example",))


def test_flag_history_is_append_only_right_after_migration_0005(at_0004: Database) -> None:
    upgrade(at_0004.engine)
    _create_flag(at_0004)

    with (
        pytest.raises(DBAPIError, match="flag history is append-only"),
        at_0004.engine.begin() as connection,
    ):
        connection.execute(sa.text("DELETE FROM flag_versions"))

    with at_0004.read() as session:
        assert [v.version for v in SqlFlagStore(session).versions("new-checkout")] == [1]


def test_downgrading_0005_to_0004_drops_the_flag_tables_and_columns_and_keeps_the_rest(
    at_0004: Database,
) -> None:
    upgrade(at_0004.engine)
    _create_flag(at_0004)

    downgrade(at_0004.engine, "0004")

    with at_0004.engine.connect() as connection:
        revision = current_revision(connection)
        campaigns = connection.execute(sa.text("SELECT id, name FROM campaigns")).all()
        name = connection.execute(sa.text("SELECT name FROM workspace WHERE id = 1")).scalar()
    assert revision == "0004"
    assert FLAG_TABLES.isdisjoint(table_names(at_0004))
    assert FLAG_COLUMNS.isdisjoint(column_names(at_0004, "workspace"))
    assert {"incidents", "notifications"} <= column_names(at_0004, "workspace")
    assert [tuple(row) for row in campaigns] == [("black-friday", "Black Friday 2026")]
    assert name == "northwind-martech"


def test_a_database_downgraded_to_0004_upgrades_to_head_again_with_its_triggers(
    at_0004: Database,
) -> None:
    upgrade(at_0004.engine)
    _create_flag(at_0004)
    downgrade(at_0004.engine, "0004")

    before = upgrade(at_0004.engine)
    _create_flag(at_0004)

    with at_0004.read() as session:
        flags = SqlFlagStore(session)
        history, flags_revision = flags.versions("new-checkout"), flags.revision()
    assert before == "0004"
    assert table_names(at_0004) >= FLAG_TABLES
    assert ([v.version for v in history], flags_revision) == ([1], 1)
    with (
        pytest.raises(DBAPIError, match="flag history is append-only"),
        at_0004.engine.begin() as connection,
    ):
        connection.execute(sa.text("UPDATE flag_versions SET actor = 'mallory'"))
