"""Plan/apply round-trip on real databases: after apply(x), plan(x) has nothing left to do.

One database per engine serves every generated workspace in turn, so each apply also moves
the store from the previous example's state to the next: adds, changes and removes all occur.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given

from launchdeck.store import Database
from launchdeck.workspace.plan import Action
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec
from strategies import property_settings, workspace_specs

POSTGRES_URL = os.environ.get(
    "LAUNCHDECK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _service(db: Database) -> WorkspaceService:
    return WorkspaceService(db, actor="property-test", clock=lambda: NOW)


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("roundtrip") / "state.db"
    db = Database(f"sqlite:///{path}")
    db.ensure_schema()
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def postgres_db() -> Iterator[Database]:
    """A migrated database in a fresh PostgreSQL schema, dropped afterwards.

    The same steps as tests/conftest.py's `_postgres_schema_url`, which is a generator
    meant for a function-scoped fixture; this module needs one schema for a whole property.
    """
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is needed for this test ({type(exc).__name__}); "
            "run 'make test', which starts it, or set LAUNCHDECK_TEST_POSTGRES_URL"
        )
    sep = "&" if "?" in POSTGRES_URL else "?"
    db = Database(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        db.ensure_schema()
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def check_round_trip(service: WorkspaceService, spec: WorkspaceSpec) -> None:
    """apply(plan(x)) then plan(x) again: nothing left to change, and the revision says so."""
    planned = service.plan(spec)
    result = service.apply(spec, expected_revision=planned.base_revision)
    assert result.plan.changes == planned.changes
    expected_revision = planned.base_revision + (1 if planned.has_changes else 0)
    assert result.revision == expected_revision
    assert len(result.event_ids) == len(planned.changes)

    again = service.plan(spec)
    assert again.changes == (), [(c.kind, c.id, c.action, c.fields) for c in again.changes]
    assert again.base_revision == expected_revision

    # A second apply of the same spec is a no-op: no revision, no events.
    repeat = service.apply(spec, expected_revision=again.base_revision)
    assert (repeat.revision, repeat.event_ids) == (expected_revision, ())


@property_settings(max_examples=40)
@given(spec=workspace_specs())
def test_after_apply_the_plan_on_sqlite_is_empty(sqlite_db: Database, spec: WorkspaceSpec) -> None:
    check_round_trip(_service(sqlite_db), spec)


@pytest.mark.postgres
@property_settings(max_examples=15)
@given(spec=workspace_specs())
def test_after_apply_the_plan_on_postgres_is_empty(
    postgres_db: Database, spec: WorkspaceSpec
) -> None:
    check_round_trip(_service(postgres_db), spec)


def test_an_apply_moves_the_store_from_one_workspace_to_another(sqlite_db: Database) -> None:
    """The property's examples chain applies; this pins that a chain removes what is gone."""
    service = _service(sqlite_db)
    first = WorkspaceSpec.model_validate(
        {
            "workspace": {"name": "first"},
            "systems": [{"id": "web"}, {"id": "cms", "tier": 1}],
        }
    )
    second = WorkspaceSpec.model_validate(
        {"workspace": {"name": "second"}, "systems": [{"id": "cms", "tier": 3}]}
    )
    check_round_trip(service, first)
    plan = service.plan(second)
    assert {(c.kind.value, c.id): c.action for c in plan.changes} == {
        ("workspace", "workspace"): Action.CHANGE,
        ("system", "cms"): Action.CHANGE,
        ("system", "web"): Action.REMOVE,
    }
    check_round_trip(service, second)
    assert [s.id for s in service.systems()] == ["cms"]
