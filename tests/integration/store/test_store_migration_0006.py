"""Migration 0006 (experiments), SQLite and PostgreSQL: a database at 0005 that already holds a
configured workspace and a campaign upgrades to head with empty `metrics` and `experiments`
tables and a NULL `workspace.events` (read as the default `events:` section); experiments then
apply and read back; downgrading to 0005 drops the tables and the column and keeps the rest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from store_builders import column_names, downgrade, example_data, spec_of, table_names

from launchdeck.experiments.model import EventsSpec
from launchdeck.store import HEAD_REVISION, Database, SqlStateStore, upgrade
from launchdeck.store.db import current_revision
from launchdeck.store.tables import Json
from launchdeck.workspace.model import ResourceKind
from launchdeck.workspace.service import WorkspaceService

NEW_TABLES = {"metrics", "experiments"}
WRITTEN = datetime(2026, 11, 1, tzinfo=UTC)
BF_START, BF_END = datetime(2026, 11, 27, 5, tzinfo=UTC), datetime(2026, 11, 29, 4, 59, tzinfo=UTC)


@pytest.fixture
def at_0005(db_url: str) -> Iterator[Database]:
    """A database migrated to 0005 only, holding a configured workspace and one campaign, as
    0005's code would have written them (plain SQL: today's ORM rows have 0006's columns)."""
    database = Database(db_url, migrate=False)
    upgrade(database.engine, "0005")
    with database.engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE workspace SET revision = 5, name = 'northwind-martech', "
                "timezone = 'America/New_York', updated_at = :at WHERE id = 1"
            ),
            {"at": WRITTEN.replace(tzinfo=None)},
        )
        connection.execute(
            sa.text(
                "INSERT INTO campaigns (id, name, starts_at, ends_at, timezone, tier, "
                "revenue_per_hour, currency, channels, systems, slo_objectives, owners, "
                "updated_at) VALUES ('black-friday', 'Black Friday 2026', :start, :end, "
                "'America/New_York', 1, 185000, 'USD', '[]', '[]', '{}', '[]', :at)"
            ),
            {
                "start": BF_START.replace(tzinfo=None),
                "end": BF_END.replace(tzinfo=None),
                "at": WRITTEN.replace(tzinfo=None),
            },
        )
    yield database
    database.dispose()


def _counts(database: Database) -> dict[str, int]:
    with database.engine.connect() as connection:
        return {
            table: int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(sa.table(table))
                ).scalar_one()
            )
            for table in sorted(NEW_TABLES)
        }


def _apply_example(database: Database) -> None:
    WorkspaceService(database, actor="alice", clock=lambda: WRITTEN).apply(spec_of(example_data()))


def test_migration_0006_adds_empty_experiment_tables_and_a_null_events_column(
    at_0005: Database,
) -> None:
    assert NEW_TABLES.isdisjoint(table_names(at_0005))
    assert "events" not in column_names(at_0005, "workspace")

    before = upgrade(at_0005.engine)

    with at_0005.engine.connect() as connection:
        revision = current_revision(connection)
        events = connection.execute(sa.text("SELECT events FROM workspace WHERE id = 1")).one()
    with at_0005.read() as session:
        state = SqlStateStore(session)
        settings = state.settings()
        (campaign,) = state.list(ResourceKind.CAMPAIGN)
        experiments = state.list(ResourceKind.EXPERIMENT)
    assert (before, revision) == ("0005", HEAD_REVISION)
    assert table_names(at_0005) >= NEW_TABLES
    assert {"id", "flag", "environment", "document", "updated_at"} == column_names(
        at_0005, "experiments"
    )
    assert {"id", "document", "updated_at"} == column_names(at_0005, "metrics")
    assert _counts(at_0005) == {"experiments": 0, "metrics": 0}
    assert tuple(events) == (None,)
    assert settings is not None
    assert (settings.name, settings.events) == ("northwind-martech", EventsSpec())
    assert (campaign.id, campaign.starts_at, campaign.ends_at) == (
        "black-friday",
        BF_START,
        BF_END,
    )
    assert experiments == []


def test_after_0006_the_example_experiments_apply_and_read_back(at_0005: Database) -> None:
    upgrade(at_0005.engine)

    _apply_example(at_0005)

    with at_0005.read() as session:
        state = SqlStateStore(session)
        experiments = {e.id: e for e in state.list(ResourceKind.EXPERIMENT)}
        metrics = {m.id for m in state.list(ResourceKind.METRIC)}
        settings = state.settings()
    with at_0005.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, flag, environment FROM experiments ORDER BY id")
        ).all()
        events = connection.execute(
            sa.select(sa.column("events", Json)).select_from(sa.table("workspace"))
        ).scalar()
    assert [tuple(r) for r in rows] == [
        ("bf-free-shipping", "bf-free-shipping", "production"),
        ("bf-hero-copy", "bf-hero-copy", "production"),
    ]
    assert metrics == {"purchase", "add-to-cart", "revenue", "aov"}
    hero = experiments["bf-hero-copy"].spec
    assert (hero.start, hero.end, hero.primary_metric) == (BF_START, BF_END, "purchase")
    assert settings is not None
    assert settings.events == EventsSpec()
    assert events == EventsSpec().model_dump(mode="json")  # apply writes the section


def test_downgrading_0006_to_0005_drops_the_tables_and_column_and_keeps_the_rest(
    at_0005: Database,
) -> None:
    upgrade(at_0005.engine)
    _apply_example(at_0005)

    downgrade(at_0005.engine, "0005")

    with at_0005.engine.connect() as connection:
        revision = current_revision(connection)
        campaigns = connection.execute(sa.text("SELECT id FROM campaigns ORDER BY id")).all()
        flags = connection.execute(sa.text("SELECT key FROM flags ORDER BY key")).all()
        name = connection.execute(sa.text("SELECT name FROM workspace WHERE id = 1")).scalar()
    assert revision == "0005"
    assert NEW_TABLES.isdisjoint(table_names(at_0005))
    assert "events" not in column_names(at_0005, "workspace")
    assert {"flags_revision", "flag_governance"} <= column_names(at_0005, "workspace")
    assert ("black-friday",) in [tuple(r) for r in campaigns]
    assert [tuple(r) for r in flags] == [("bf-free-shipping",), ("bf-hero-copy",)]
    assert name == "northwind-martech"


def test_a_database_downgraded_to_0005_upgrades_to_head_again(at_0005: Database) -> None:
    upgrade(at_0005.engine)
    _apply_example(at_0005)
    downgrade(at_0005.engine, "0005")

    before = upgrade(at_0005.engine)

    assert before == "0005"
    assert _counts(at_0005) == {"experiments": 0, "metrics": 0}
    _apply_example(at_0005)  # the plan adds the experiments and metrics again
    assert _counts(at_0005) == {"experiments": 2, "metrics": 4}
