"""Migration 0007 (releases), SQLite and PostgreSQL: a database at 0006 that already holds the
Black Friday workspace upgrades to head with an empty `releases` table and every other row as it
was; the partial unique index keeps one active release per system and environment (any number
of finished ones); the store names the active release when it refuses a second and refuses a
stale save; downgrading to 0006 drops the table and keeps the rest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from store_builders import column_names, downgrade, example_data, spec_of, table_names

from launchdeck.errors import Conflict
from launchdeck.rollout.record import ReleaseRecord
from launchdeck.rollout.release import Phase, Release
from launchdeck.rollout.strategy import default_strategy
from launchdeck.store import HEAD_REVISION, Database, SqlStateStore, upgrade
from launchdeck.store.db import current_revision
from launchdeck.store.releases import SqlReleaseStore
from launchdeck.store.tables import ReleaseRow
from launchdeck.workspace.model import ResourceKind
from launchdeck.workspace.service import WorkspaceService

WRITTEN = datetime(2026, 11, 1, tzinfo=UTC)
CREATED = datetime(2026, 11, 20, 12, tzinfo=UTC)
CANARY = default_strategy("canary")
RELEASE_COLUMNS = {
    "id",
    "system",
    "environment",
    "version",
    "previous",
    "strategy",
    "phase",
    "active",
    "state",
    "target",
    "controller",
    "artifact",
    "change_type",
    "created_by",
    "created_at",
    "updated_at",
    "finished_at",
    "passed_at",
    "revision",
}

Snapshot = dict[str, list[tuple[Any, ...]]]


@pytest.fixture
def at_0006(db_url: str) -> Iterator[Database]:
    """A database migrated to 0006 only, holding the applied Black Friday workspace. 0007 only
    adds a table, so today's apply writes the rows 0006's code wrote."""
    database = Database(db_url, migrate=False)
    upgrade(database.engine, "0006")
    WorkspaceService(database, actor="alice", clock=lambda: WRITTEN).apply(spec_of(example_data()))
    yield database
    database.dispose()


def _snapshot(database: Database) -> Snapshot:
    """Every row of every table but alembic's and `releases`, read by reflection (so it reads
    the schema as it is, not as today's ORM declares it)."""
    metadata = sa.MetaData()
    with database.engine.connect() as connection:
        metadata.reflect(connection)
        return {
            name: sorted((tuple(row) for row in connection.execute(sa.select(table))), key=repr)
            for name, table in metadata.tables.items()
            if name not in {"alembic_version", "releases"}
        }


def a_record(
    version: str,
    *,
    phase: Phase = Phase.PROGRESSING,
    system: str = "landing-pages",
    environment: str = "production",
    previous: str | None = "v1",
) -> ReleaseRecord:
    """A release of `version` as the release service would store it, in `phase`."""
    release = Release(
        system,
        environment,
        version,
        previous,
        CANARY,
        phase=phase,
        weight=10.0 if phase is Phase.PROGRESSING else 0.0,
        reason="started" if phase is Phase.PROGRESSING else f"{phase} by hand",
        history=((CREATED, phase, "started"),),
    )
    return ReleaseRecord(
        id=0,
        release=release,
        target={"kind": "nginx-static", "root": "/srv/sites/landing-pages", "port": 8081},
        artifact=f"/builds/{version}",
        change_type="feature",
        created_by="ci",
        created_at=CREATED,
        updated_at=CREATED,
        finished_at=CREATED if phase.over else None,
    )


def _add(database: Database, record: ReleaseRecord) -> ReleaseRecord:
    with database.unit_of_work() as uow:
        added = SqlReleaseStore(uow.session).add(record)
        uow.commit()
    return added


def _insert_row(database: Database, version: str, *, active: bool) -> None:
    """A release row written straight to the table: the index alone decides."""
    record = a_record(version, phase=Phase.PROGRESSING if active else Phase.ROLLED_BACK)
    with database.engine.begin() as connection:
        connection.execute(
            sa.insert(ReleaseRow).values(
                system="landing-pages",
                environment="production",
                version=version,
                previous="v1",
                strategy="canary",
                phase=str(record.release.phase),
                active=active,
                state={},
                target=record.target,
                controller={},
                artifact=record.artifact,
                change_type="feature",
                created_by="ci",
                created_at=CREATED,
                updated_at=CREATED,
                revision=1,
            )
        )


def _count_releases(database: Database) -> int:
    with database.engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM releases")).scalar_one()
    return int(count)


def test_migration_0007_adds_an_empty_releases_table_and_keeps_every_row(
    at_0006: Database,
) -> None:
    assert "releases" not in table_names(at_0006)
    rows_before = _snapshot(at_0006)

    before = upgrade(at_0006.engine)

    with at_0006.engine.connect() as connection:
        revision = current_revision(connection)
    with at_0006.read() as session:
        state = SqlStateStore(session)
        settings = state.settings()
        campaigns = {c.id for c in state.list(ResourceKind.CAMPAIGN)}
        experiments = {e.id for e in state.list(ResourceKind.EXPERIMENT)}
        releases = SqlReleaseStore(session).list()
    assert (before, revision) == ("0006", HEAD_REVISION)
    assert column_names(at_0006, "releases") == RELEASE_COLUMNS
    assert _count_releases(at_0006) == 0
    assert releases == []
    assert _snapshot(at_0006) == rows_before
    assert rows_before["campaigns"] != []  # the snapshot compared real data
    assert rows_before["events"] != []
    assert settings is not None
    assert settings.name == example_data()["workspace"]["name"]
    assert "black-friday" in campaigns
    assert experiments == {"bf-free-shipping", "bf-hero-copy"}


def test_one_active_release_per_system_and_environment_and_any_number_of_finished_ones(
    at_0006: Database,
) -> None:
    upgrade(at_0006.engine)
    finished = [
        _add(at_0006, a_record("v2", phase=Phase.ROLLED_BACK)),
        _add(at_0006, a_record("v3", phase=Phase.PROMOTED)),
        _add(at_0006, a_record("v4", phase=Phase.ROLLED_BACK, previous="v3")),
    ]
    running = _add(at_0006, a_record("v5", previous="v3"))

    with pytest.raises(Conflict) as refused:
        _add(at_0006, a_record("v6", previous="v3"))

    assert [r.release.version for r in finished] == ["v2", "v3", "v4"]
    assert len({r.id for r in [*finished, running]}) == 4
    assert (running.revision, running.release.phase) == (1, Phase.PROGRESSING)
    message = str(refused.value)
    assert message.startswith(
        f"landing-pages already has an active release in production: #{running.id} v5 "
    )
    assert "(progressing: started)" in message
    assert "launchdeck release abort landing-pages" in (refused.value.hint or "")
    with at_0006.read() as session:
        store = SqlReleaseStore(session)
        active = store.active("landing-pages", "production")
        listed = store.list(system="landing-pages")
    assert active is not None
    assert (active.id, active.release.version) == (running.id, "v5")
    assert [r.release.version for r in listed] == ["v5", "v4", "v3", "v2"]
    # other systems and environments have their own slot
    _add(at_0006, a_record("v5", environment="staging", previous="v3"))
    _add(at_0006, a_record("v1", system="checkout-web", previous=None))
    assert _count_releases(at_0006) == 6


def test_the_partial_unique_index_itself_refuses_a_second_active_row(at_0006: Database) -> None:
    upgrade(at_0006.engine)
    _insert_row(at_0006, "v2", active=True)

    with pytest.raises(IntegrityError):
        _insert_row(at_0006, "v3", active=True)
    _insert_row(at_0006, "v4", active=False)  # finished rows are outside the index
    _insert_row(at_0006, "v5", active=False)

    with at_0006.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT version, active FROM releases ORDER BY id")).all()
    assert [(version, bool(active)) for version, active in rows] == [
        ("v2", True),
        ("v4", False),
        ("v5", False),
    ]


class _Blind(SqlReleaseStore):
    """A store that saw no active release (another process inserted one after it looked)."""

    looked = 0

    def active(self, system: str, environment: str) -> ReleaseRecord | None:
        self.looked += 1
        if self.looked == 1:
            return None
        return super().active(system, environment)


def test_a_release_inserted_meanwhile_is_a_conflict_naming_it_not_an_integrity_error(
    at_0006: Database,
) -> None:
    upgrade(at_0006.engine)
    theirs = _add(at_0006, a_record("v2"))

    with at_0006.unit_of_work() as uow:
        store = _Blind(uow.session)
        with pytest.raises(Conflict, match=f"#{theirs.id} v2 "):
            store.add(a_record("v3"))
        still = store.active("landing-pages", "production")  # the session is usable still

    assert still is not None
    assert still.id == theirs.id
    assert _count_releases(at_0006) == 1


def test_a_save_under_a_stale_revision_is_a_conflict_and_changes_nothing(
    at_0006: Database,
) -> None:
    upgrade(at_0006.engine)
    added = _add(at_0006, a_record("v2"))
    later = CREATED + timedelta(minutes=5)
    paused = replace(
        added,
        release=replace(added.release, phase=Phase.PAUSED, reason="paused by alice"),
        updated_at=later,
    )
    with at_0006.unit_of_work() as uow:
        saved = SqlReleaseStore(uow.session).save(paused)
        uow.commit()
    aborted = replace(added, release=replace(added.release, phase=Phase.ROLLED_BACK))

    with at_0006.unit_of_work() as uow, pytest.raises(Conflict) as refused:
        SqlReleaseStore(uow.session).save(aborted)  # read at revision 1, saved meanwhile

    assert saved.revision == 2
    assert str(refused.value) == (f"release #{added.id} changed meanwhile (revision 2, not 1)")
    with at_0006.read() as session:
        stored = SqlReleaseStore(session).get(added.id)
    assert (stored.revision, stored.release.phase) == (2, Phase.PAUSED)
    assert (stored.release.reason, stored.updated_at) == ("paused by alice", later)


def test_saving_a_release_finished_frees_the_slot_for_the_next_one(at_0006: Database) -> None:
    upgrade(at_0006.engine)
    added = _add(at_0006, a_record("v2"))
    finished = replace(
        added,
        release=replace(added.release, phase=Phase.ROLLED_BACK, weight=0.0),
        finished_at=CREATED,
    )
    with at_0006.unit_of_work() as uow:
        SqlReleaseStore(uow.session).save(finished)
        uow.commit()

    following = _add(at_0006, a_record("v3"))

    with at_0006.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT version, phase, active, revision FROM releases ORDER BY id")
        ).all()
    assert following.release.version == "v3"
    assert [(v, p, bool(a), r) for v, p, a, r in rows] == [
        ("v2", "rolled_back", False, 2),
        ("v3", "progressing", True, 1),
    ]


def test_downgrading_0007_to_0006_drops_the_releases_table_and_keeps_the_rest(
    at_0006: Database,
) -> None:
    rows_before = _snapshot(at_0006)
    upgrade(at_0006.engine)
    _add(at_0006, a_record("v2"))

    downgrade(at_0006.engine, "0006")

    with at_0006.engine.connect() as connection:
        revision = current_revision(connection)
        indexes = {
            index["name"]
            for table in sa.inspect(connection).get_table_names()
            for index in sa.inspect(connection).get_indexes(table)
        }
    assert revision == "0006"
    assert "releases" not in table_names(at_0006)
    assert {"ux_releases_active", "ix_releases_system_environment"}.isdisjoint(indexes)
    assert _snapshot(at_0006) == rows_before


def test_a_database_downgraded_to_0006_upgrades_to_head_again_with_no_releases(
    at_0006: Database,
) -> None:
    upgrade(at_0006.engine)
    _add(at_0006, a_record("v2"))
    downgrade(at_0006.engine, "0006")

    before = upgrade(at_0006.engine)

    assert before == "0006"
    assert _count_releases(at_0006) == 0
    _add(at_0006, a_record("v3"))
    with pytest.raises(Conflict, match=r"#\d+ v3 "):
        _add(at_0006, a_record("v4"))
