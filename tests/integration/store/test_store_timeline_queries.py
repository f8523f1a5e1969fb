"""Timeline queries on a real database: time windows, system, kind (exact and prefix), cursors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from launchdeck.errors import UsageError
from launchdeck.store import Database, SqlTimeline
from launchdeck.timeline.model import (
    Event,
    NewEvent,
    TimelineQuery,
    encode_cursor,
)
from launchdeck.timeline.service import TimelineService

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# (minutes after T0, kind, system): index i is the i-th event appended.
_LOG = [
    (0, "system.added", "cms"),
    (1, "system.added", "search"),
    (2, "campaign.added", None),
    (3, "system.changed", "cms"),
    (4, "token.created", None),
    (5, "systems.synced", None),  # a kind that merely starts with the letters "system"
    (6, "system.removed", "search"),
    (7, "campaign.changed", None),
    (8, "workspace.changed", None),
    (9, "system.changed", "cms"),
]


@pytest.fixture
def logged(db: Database) -> list[Event]:
    """The events of _LOG, appended in one unit of work, in order."""
    with db.unit_of_work() as uow:
        timeline = SqlTimeline(uow.session)
        events = [
            timeline.append(
                NewEvent(
                    occurred_at=T0 + timedelta(minutes=minutes),
                    actor="alice",
                    kind=kind,
                    subject=f"{kind.split('.')[0]}/{system or 'x'}",
                    system=system,
                    payload={"n": index, "ratio": 0.5, "ok": True, "tags": ["a", "b"]},
                )
            )
            for index, (minutes, kind, system) in enumerate(_LOG)
        ]
        uow.commit()
    return events


def _indexes(db: Database, logged: list[Event], query: TimelineQuery) -> list[int]:
    """Which _LOG entries (by index) a query returns, in the order it returns them."""
    by_id = {event.id: index for index, event in enumerate(logged)}
    return [by_id[e.id] for e in TimelineService(db).query(query).events]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (TimelineQuery(), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
        (TimelineQuery(since=T0 + timedelta(minutes=3)), [9, 8, 7, 6, 5, 4, 3]),
        (TimelineQuery(until=T0 + timedelta(minutes=3)), [2, 1, 0]),
        (
            TimelineQuery(since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=7)),
            [6, 5, 4, 3],
        ),
        (
            TimelineQuery(since=datetime(2026, 11, 20, 7, 3, tzinfo=ZoneInfo("America/New_York"))),
            [9, 8, 7, 6, 5, 4, 3],
        ),
        (TimelineQuery(system="cms"), [9, 3, 0]),
        (TimelineQuery(system="search"), [6, 1]),
        (TimelineQuery(system="checkout-api"), []),
        (TimelineQuery(kind="system.changed"), [9, 3]),
        (TimelineQuery(kind="system"), [9, 6, 3, 1, 0]),
        (TimelineQuery(kind="campaign"), [7, 2]),
        (TimelineQuery(kind="systems"), [5]),
        (TimelineQuery(kind="system_"), []),
        (TimelineQuery(kind="syst"), []),
        (TimelineQuery(kind="system", since=T0 + timedelta(minutes=2)), [9, 6, 3]),
        (TimelineQuery(kind="system", system="search"), [6, 1]),
    ],
    ids=[
        "everything, newest first",
        "since is inclusive",
        "until is exclusive",
        "a window",
        "since given in another time zone",
        "one system",
        "another system",
        "a system without events",
        "an exact kind",
        "a kind prefix matches every verb of that resource",
        "another kind prefix",
        "a prefix is a whole resource name, not the start of one",
        "an underscore in the kind is not a wildcard",
        "a partial resource name matches nothing",
        "kind and since combined",
        "kind and system combined",
    ],
)
def test_timeline_queries_filter_and_order_newest_first(
    db: Database, logged: list[Event], query: TimelineQuery, expected: list[int]
) -> None:
    assert _indexes(db, logged, query) == expected


def test_events_round_trip_with_aware_instants_and_json_payloads(
    db: Database, logged: list[Event]
) -> None:
    stored = TimelineService(db).query(TimelineQuery(limit=500)).events

    assert sorted(stored, key=lambda e: e.id) == logged
    assert all(e.occurred_at.tzinfo is UTC for e in stored)
    assert stored[-1].payload == {"n": 0, "ratio": 0.5, "ok": True, "tags": ["a", "b"]}


@pytest.mark.parametrize("limit", [1, 3, 5, 9, 10, 11, 500], ids=lambda n: f"limit={n}")
def test_cursor_pagination_walks_every_event_exactly_once_newest_first(
    db: Database, logged: list[Event], limit: int
) -> None:
    service = TimelineService(db)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = service.query(TimelineQuery(limit=limit, cursor=cursor))
        pages += 1
        assert len(page.events) <= limit
        seen += [e.id for e in page.events]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == sorted((e.id for e in logged), reverse=True)
    assert pages == max(1, -(-len(logged) // limit))


def test_cursor_pagination_keeps_the_filters(db: Database, logged: list[Event]) -> None:
    service = TimelineService(db)
    first = service.query(TimelineQuery(kind="system", limit=2))
    assert first.next_cursor is not None
    second = service.query(TimelineQuery(kind="system", limit=2, cursor=first.next_cursor))
    assert second.next_cursor is not None
    third = service.query(TimelineQuery(kind="system", limit=2, cursor=second.next_cursor))

    by_id = {event.id: index for index, event in enumerate(logged)}
    pages = [[by_id[e.id] for e in p.events] for p in (first, second, third)]
    assert pages == [[9, 6], [3, 1], [0]]
    assert third.next_cursor is None


def test_events_appended_after_a_cursor_was_issued_do_not_shift_older_pages(
    db: Database, logged: list[Event]
) -> None:
    service = TimelineService(db)
    first = service.query(TimelineQuery(limit=4))
    with db.unit_of_work() as uow:
        SqlTimeline(uow.session).append(
            NewEvent(occurred_at=T0 + timedelta(hours=1), actor="bob", kind="x.y", subject="x/1")
        )
        uow.commit()

    second = service.query(TimelineQuery(limit=4, cursor=first.next_cursor))

    assert [e.id for e in second.events] == [logged[i].id for i in (5, 4, 3, 2)]


def test_an_empty_timeline_has_one_empty_page(db: Database) -> None:
    page = TimelineService(db).query(TimelineQuery())

    assert (page.events, page.next_cursor) == ((), None)


def _raw_cursor(text: str) -> str:
    """A cursor in the encoding encode_cursor uses, around any text."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "",
        _raw_cursor("v2:10"),
        encode_cursor(10)[:-2] + "!!",
        "💥",
        _raw_cursor("v1:abc"),
        _raw_cursor("v1: 7"),
        _raw_cursor("v1:1_0"),
    ],
    ids=[
        "not base64",
        "empty",
        "another version",
        "a damaged cursor",
        "not ascii",
        "a v1 cursor without a number",
        "a number with a space",
        "a number with an underscore",
    ],
)
def test_a_garbage_cursor_is_a_usage_error(db: Database, logged: list[Event], cursor: str) -> None:
    with pytest.raises(UsageError, match="invalid timeline cursor"):
        TimelineService(db).query(TimelineQuery(cursor=cursor))


def test_a_cursor_at_the_largest_event_id_returns_every_event(
    db: Database, logged: list[Event]
) -> None:
    page = TimelineService(db).query(TimelineQuery(cursor=encode_cursor(2**63 - 1)))

    assert [e.id for e in page.events] == sorted((e.id for e in logged), reverse=True)


@pytest.mark.parametrize(
    "before_id",
    [2**63, 10**40, 0, -5],
    ids=["just past a 64-bit id", "far past a 64-bit id", "zero", "negative"],
)
def test_a_cursor_no_event_id_could_produce_is_a_usage_error(
    db: Database, logged: list[Event], before_id: int
) -> None:
    """Found by this suite: such cursors reached the database (an overflow on SQLite)."""
    with pytest.raises(UsageError, match="invalid timeline cursor"):
        TimelineService(db).query(TimelineQuery(cursor=_raw_cursor(f"v1:{before_id}")))
