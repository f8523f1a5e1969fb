"""Schema migrations: the head is known, the migrated schema is the metadata, reruns do nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from store_builders import snapshot

from launchdeck.store import HEAD_REVISION, Database, upgrade
from launchdeck.store.db import current_revision
from launchdeck.store.tables import Base
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec


@pytest.fixture
def fresh(db_url: str) -> Iterator[Database]:
    """A database nothing has migrated yet."""
    database = Database(db_url, migrate=False)
    yield database
    database.dispose()


def _schema(database: Database) -> dict[str, object]:
    """Tables, their columns and indexes, as the database reports them."""
    with database.engine.connect() as connection:
        inspector = inspect(connection)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            )
            for table in sorted(inspector.get_table_names())
        }


def test_head_revision_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", "launchdeck.store:migrations")

    heads = ScriptDirectory.from_config(config).get_heads()

    assert heads == [HEAD_REVISION]


def test_a_fresh_database_migrates_to_exactly_the_metadata(fresh: Database) -> None:
    fresh_revision = _revision(fresh)

    upgrade(fresh.engine)

    with fresh.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert fresh_revision is None
    assert differences == []
    assert _revision(fresh) == HEAD_REVISION


def test_the_initial_migration_creates_the_single_workspace_row(fresh: Database) -> None:
    upgrade(fresh.engine)

    rows = snapshot(fresh)

    assert [(r[0], r[1], r[2], r[3]) for r in rows["workspace"]] == [(1, 0, None, "UTC")]
    assert {name: rows[name] for name in rows if name != "workspace"} == {
        "api_tokens": [],
        "campaigns": [],
        "environments": [],
        "events": [],
        "experiments": [],
        "flag_change_requests": [],
        "flag_versions": [],
        "flags": [],
        "freezes": [],
        "gate_overrides": [],
        "incident_entries": [],
        "incident_tasks": [],
        "incidents": [],
        "metrics": [],
        "releases": [],
        "sdk_keys": [],
        "segments": [],
        "slos": [],
        "systems": [],
    }


def test_upgrading_twice_is_a_no_op(
    fresh: Database, clock: Any, example_spec: WorkspaceSpec
) -> None:
    first = upgrade(fresh.engine)
    schema = _schema(fresh)
    WorkspaceService(fresh, actor="alice", clock=clock).apply(example_spec)
    rows = snapshot(fresh)

    second = upgrade(fresh.engine)
    forced = upgrade(fresh.engine, HEAD_REVISION)  # runs Alembic itself at head

    assert (first, second, forced) == (None, HEAD_REVISION, HEAD_REVISION)
    assert _schema(fresh) == schema
    assert snapshot(fresh) == rows
    assert _revision(fresh) == HEAD_REVISION


def test_the_append_only_triggers_survive_a_second_upgrade(fresh: Database) -> None:
    upgrade(fresh.engine)
    upgrade(fresh.engine, HEAD_REVISION)
    with fresh.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO events (occurred_at, actor, kind, subject, payload) "
                "VALUES (:at, 'alice', 'x.y', 'x/1', '{}')"
            ),
            {"at": "2026-11-20 12:00:00"},
        )

    with pytest.raises(DBAPIError, match="append-only"), fresh.engine.begin() as connection:
        connection.execute(text("DELETE FROM events"))


def test_first_use_migrates_an_empty_database(db_url: str) -> None:
    database = Database(db_url)
    try:
        database.ensure_schema()
        with database.read() as session:
            revision = session.execute(text("SELECT revision FROM workspace")).scalar_one()
    finally:
        database.dispose()

    assert revision == 0


_START = """
import sys
from launchdeck.store import Database
database = Database(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
database.ensure_schema()
"""


def test_processes_starting_at_once_on_a_fresh_database_all_succeed(
    db_url: str, fresh: Database
) -> None:
    """Found by this suite on SQLite: each process created the tables, all but one failed."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _START, db_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    # Start them together once each has done the slow part (importing).
    assert [p.stdout.readline() if p.stdout else "" for p in processes] == ["ready\n"] * 3
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outcomes = [process.communicate(timeout=60) for process in processes]

    assert [(p.returncode, err) for p, (_out, err) in zip(processes, outcomes, strict=True)] == [
        (0, ""),
        (0, ""),
        (0, ""),
    ]
    assert _revision(fresh) == HEAD_REVISION
    assert len(snapshot(fresh)["workspace"]) == 1


def _revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return current_revision(connection)
