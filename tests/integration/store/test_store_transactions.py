"""The transaction rules of apply: all or nothing, one winner of a race, an append-only log."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from store_builders import Data, edited, item, snapshot

from launchdeck.errors import Conflict
from launchdeck.store import Database
from launchdeck.timeline.model import TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.plan import Action
from launchdeck.workspace.service import ApplyResult, WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

_POISON = "poisoned by the test"


def _add_poison_trigger(db: Database, *, table: str, condition: str) -> None:
    """A real database error: inserting the row matching `condition` into `table` fails."""
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql "
                    f"AS $$ BEGIN RAISE EXCEPTION '{_POISON}'; END $$"
                )
            )
            connection.execute(
                text(
                    f"CREATE TRIGGER test_poison BEFORE INSERT ON {table} FOR EACH ROW "
                    f"WHEN ({condition}) EXECUTE FUNCTION test_poison()"
                )
            )
        else:
            connection.execute(
                text(
                    f"CREATE TRIGGER test_poison BEFORE INSERT ON {table} WHEN {condition} "
                    f"BEGIN SELECT RAISE(ABORT, '{_POISON}'); END"
                )
            )


def _poisoned_edit(data: Data) -> None:
    # Changes in plan order: system a-first (added), system poison (added), a campaign changed.
    data["systems"].append({"id": "a-first", "name": "Written before the failure"})
    data["systems"].append({"id": "poison", "name": "The failing one"})
    item(data, "campaigns", "black-friday").update(revenue_per_hour=1.0)


@pytest.mark.parametrize(
    ("table", "condition"),
    [
        ("systems", "NEW.id = 'poison'"),
        ("events", "NEW.subject = 'system/poison'"),
    ],
    ids=["the state row fails to insert", "the timeline event fails to insert"],
)
def test_failing_apply_leaves_state_and_timeline_untouched(
    service: WorkspaceService,
    example_spec: WorkspaceSpec,
    db: Database,
    table: str,
    condition: str,
) -> None:
    service.apply(example_spec)
    _add_poison_trigger(db, table=table, condition=condition)
    spec = edited(_poisoned_edit)
    before = snapshot(db)
    planned = service.plan(spec)

    with pytest.raises(DBAPIError, match=_POISON):
        service.apply(spec)

    assert snapshot(db) == before
    assert service.info().revision == 1
    assert service.plan(spec) == planned
    assert [(c.id, c.action) for c in planned.changes] == [
        ("a-first", Action.ADD),
        ("poison", Action.ADD),
        ("black-friday", Action.CHANGE),
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET actor = 'mallory'",
        "UPDATE events SET payload = '{}' WHERE kind = 'system.added'",
        "DELETE FROM events",
        "DELETE FROM events WHERE kind = 'campaign.added'",
    ],
    ids=["update every event", "rewrite some payloads", "delete every event", "delete some"],
)
def test_the_database_refuses_to_update_or_delete_events(
    service: WorkspaceService, example_spec: WorkspaceSpec, db: Database, statement: str
) -> None:
    service.apply(example_spec)
    before = snapshot(db)

    with pytest.raises(DBAPIError, match="the timeline is append-only"), db.engine.begin() as c:
        c.execute(text(statement))

    assert snapshot(db) == before
    assert len(before["events"]) == 24  # 16 resources + 2 flags, 4 metrics and 2 experiments


def test_expected_revision_mismatch_is_a_conflict_and_writes_nothing(
    service: WorkspaceService, example_spec: WorkspaceSpec, db: Database
) -> None:
    service.apply(example_spec)
    spec = edited(lambda d: item(d, "campaigns", "cyber-monday").update(tier=2))
    before = snapshot(db)

    with pytest.raises(Conflict, match="made against revision 0, the store is at 1"):
        service.apply(spec, expected_revision=0)

    assert snapshot(db) == before


def test_expected_revision_matching_the_store_applies(
    service: WorkspaceService, example_spec: WorkspaceSpec
) -> None:
    service.apply(example_spec, expected_revision=0)
    spec = edited(lambda d: item(d, "campaigns", "cyber-monday").update(tier=2))

    result = service.apply(spec, expected_revision=1)

    assert result.revision == 2
    assert service.campaign("cyber-monday").tier == 2


@pytest.fixture
def racers(db: Database) -> Iterator[tuple[Database, Database]]:
    """Two engines on the test database (two API replicas), paused before claiming a revision.

    Both have read the state and planned before either claims the revision, so the race
    happens on every run instead of by luck.
    """
    barrier = threading.Barrier(2, timeout=20)
    engines = (Database(db.url), Database(db.url))

    def pause_before_claim(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE workspace SET revision"):
            barrier.wait()

    for racer in engines:
        event.listen(racer.engine, "before_cursor_execute", pause_before_claim)
    yield engines
    for racer in engines:
        racer.dispose()


def _race(
    apply_a: Callable[[], ApplyResult], apply_b: Callable[[], ApplyResult]
) -> list[ApplyResult | Exception]:
    outcomes: list[ApplyResult | Exception] = [RuntimeError("did not finish")] * 2

    def run(index: int, apply: Callable[[], ApplyResult]) -> None:
        try:
            outcomes[index] = apply()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate((apply_a, apply_b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return outcomes


def test_two_concurrent_applies_from_the_same_revision_give_one_conflict(
    service: WorkspaceService,
    example_spec: WorkspaceSpec,
    db: Database,
    racers: tuple[Database, Database],
    clock: Callable[[], datetime],
) -> None:
    service.apply(example_spec)
    spec_a = edited(lambda d: item(d, "campaigns", "black-friday").update(revenue_per_hour=1))
    spec_b = edited(lambda d: item(d, "campaigns", "black-friday").update(revenue_per_hour=2))
    alice = WorkspaceService(racers[0], actor="alice", clock=clock)
    bob = WorkspaceService(racers[1], actor="bob", clock=clock)
    events_before = len(snapshot(db)["events"])

    outcomes = _race(lambda: alice.apply(spec_a), lambda: bob.apply(spec_b))

    results = [o for o in outcomes if isinstance(o, ApplyResult)]
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert (len(results), len(conflicts)) == (1, 1), outcomes
    winner = "alice" if isinstance(outcomes[0], ApplyResult) else "bob"
    assert results[0].revision == 2
    assert service.info().revision == 2
    assert len(snapshot(db)["events"]) == events_before + 1
    newest = TimelineService(db).query(TimelineQuery(limit=1)).events[0]
    assert (newest.actor, newest.kind, newest.payload["revision"]) == (
        winner,
        "campaign.changed",
        2,
    )
    stored = service.campaign("black-friday").revenue_per_hour
    assert stored == pytest.approx(1.0 if winner == "alice" else 2.0)
