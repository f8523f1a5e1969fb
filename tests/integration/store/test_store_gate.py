"""The calendar and the gate on the store, SQLite and PostgreSQL: campaign occurrences by time,
ad-hoc freezes, overrides, freeze policies, and what a gate check writes (a block, nothing else).

The example's Black Friday runs 2026-11-27 05:00Z to 11-29 04:59Z; the early access before it
ends 11-27 04:59Z; the Small Business Saturday gift guide runs 11-28 13:00Z to 11-29 01:00Z.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from store_builders import Data, edited, snapshot

from launchdeck.calendar.model import ChangeType, FreezeKind, FreezeWindow
from launchdeck.calendar.service import CalendarService
from launchdeck.errors import LaunchdeckError, NotFound, UsageError
from launchdeck.gate.model import Decision, GateRequest
from launchdeck.gate.service import GateService
from launchdeck.store import Database, SqlStateStore
from launchdeck.store.calendar import SqlCalendarStore
from launchdeck.timeline.model import TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""Refusals are checked on SQLite; the transaction rules are proven on both engines elsewhere."""
BLACK_FRIDAY_AFTERNOON = _utc(2026, 11, 27, 15)
BF_START, BF_END = _utc(2026, 11, 27, 5), _utc(2026, 11, 29, 4, 59)


@pytest.fixture
def applied(service: WorkspaceService, example_spec: WorkspaceSpec) -> WorkspaceSpec:
    service.apply(example_spec)
    return example_spec


@pytest.fixture
def gate(db: Database, clock: Any, applied: WorkspaceSpec) -> GateService:
    return GateService(db, actor="ci", clock=clock)


@pytest.fixture
def calendar(db: Database, clock: Any, applied: WorkspaceSpec) -> CalendarService:
    return CalendarService(db, actor="ops", clock=clock)


def _events(db: Database, kind: str) -> list[Any]:
    return list(TimelineService(db).query(TimelineQuery(kind=kind, limit=100)).events)


RANGES = {
    "a campaign ending at the start is out": (BF_END, _utc(2026, 11, 30)),
    "a campaign starting at the end is out": (_utc(2026, 11, 26), BF_START),
    "one second of black friday": (BF_START, BF_START + timedelta(seconds=1)),
    "two campaigns at once, by start": (_utc(2026, 11, 28, 12), _utc(2026, 11, 28, 14)),
    "a year": (_utc(2026, 1, 1), _utc(2027, 1, 1)),
}


def test_occurrences_are_the_campaigns_overlapping_a_half_open_range(
    db: Database, applied: WorkspaceSpec
) -> None:
    with db.read() as session:
        store, longest = SqlCalendarStore(session), SqlStateStore(session).longest_campaign()
        scanned = {name: store.occurrences(*span) for name, span in RANGES.items()}
        bounded = {name: store.occurrences(*span, longest=longest) for name, span in RANGES.items()}

    assert {name: [o.campaign_id for o in found] for name, found in scanned.items()} == {
        "a campaign ending at the start is out": [],
        "a campaign starting at the end is out": ["early-access"],
        "one second of black friday": ["black-friday"],
        "two campaigns at once, by start": ["black-friday", "small-business-saturday"],
        "a year": [
            "early-access",
            "black-friday",
            "small-business-saturday",
            "cyber-monday",
            "cyber-week-emails",
        ],
    }
    # Bounding the index range by the longest campaign finds exactly the same occurrences.
    assert bounded == scanned
    bf = scanned["one second of black friday"][0]
    assert (bf.starts_at, bf.ends_at, bf.tier, bf.revenue_per_hour, bf.currency) == (
        BF_START,
        BF_END,
        1,
        185000.0,
        "USD",
    )
    assert bf.systems == (
        "landing-pages",
        "checkout-api",
        "tracking-pixel",
        "recommendations",
        "search",
    )
    for occurrence in scanned["a year"]:
        assert occurrence.starts_at.utcoffset() == timedelta(0)
        assert occurrence.ends_at.utcoffset() == timedelta(0)


def test_the_longest_campaign_is_recorded_by_apply(db: Database, applied: WorkspaceSpec) -> None:
    with db.read() as session:
        longest = SqlStateStore(session).longest_campaign()

    # The Cyber Week e-mails: 2026-12-01 09:00 to 12-06 21:00 New York time.
    assert longest == timedelta(days=5, hours=12)


def test_freezes_in_force_exclude_lifted_and_ended_ones(
    db: Database, calendar: CalendarService, clock: Any
) -> None:
    clock.now = _utc(2026, 10, 6, 9)
    early = calendar.add_freeze(
        reason="early", start=_utc(2026, 10, 6, 10), until=_utc(2026, 10, 6, 12)
    )
    lifted = calendar.add_freeze(
        reason="lifted", start=_utc(2026, 10, 6, 11), until=_utc(2026, 10, 6, 13)
    )
    late = calendar.add_freeze(
        reason="late",
        start=_utc(2026, 10, 6, 14),
        until=_utc(2026, 10, 6, 15),
        system="cms",
        environment="staging",
        allow=[ChangeType.CONFIG],
    )
    calendar.lift_freeze(lifted.id)

    with db.read() as session:
        store = SqlCalendarStore(session)
        between = store.freezes(_utc(2026, 10, 6, 12), _utc(2026, 10, 6, 14))
        around = store.freezes(_utc(2026, 10, 6, 11, 59), _utc(2026, 10, 6, 14, 1))

    assert between == []
    assert around == [early, late]
    assert late == FreezeWindow(
        id=late.id,
        kind=FreezeKind.ADHOC,
        name="late",
        starts_at=_utc(2026, 10, 6, 14),
        ends_at=_utc(2026, 10, 6, 15),
        allow=frozenset({ChangeType.CONFIG}),
        systems=frozenset({"cms"}),
        environments=frozenset({"staging"}),
        reason="added by ops",
    )
    assert early.allow == frozenset({ChangeType.ROLLBACK, ChangeType.HOTFIX})
    assert [f.id for f in calendar.freezes()] == [early.id, late.id]


def test_a_freeze_is_lifted_once_by_its_shown_or_bare_id(
    db: Database, calendar: CalendarService, clock: Any
) -> None:
    added = calendar.add_freeze(reason="incident", until=clock.now + timedelta(hours=4))
    clock.advance(timedelta(minutes=5))

    lifted = calendar.lift_freeze(added.id)
    with pytest.raises(NotFound) as again:
        calendar.lift_freeze(added.id.removeprefix("adhoc:"))

    assert lifted == added
    assert again.value.message == f"no active freeze {added.id.removeprefix('adhoc:')!r}"
    assert calendar.freezes() == []
    events = _events(db, "freeze")
    assert [(e.kind, e.actor, e.occurred_at) for e in events] == [
        ("freeze.lifted", "ops", clock.now),
        ("freeze.added", "ops", clock.now - timedelta(minutes=5)),
    ]


def test_a_blocked_check_writes_one_event_and_an_allowed_one_writes_nothing(
    db: Database, gate: GateService, clock: Any
) -> None:
    before = snapshot(db)

    allowed = gate.check(GateRequest(system="crm-sync", at=BLACK_FRIDAY_AFTERNOON))
    after_allow = snapshot(db)
    blocked = gate.check(GateRequest(system="cms", at=BLACK_FRIDAY_AFTERNOON))

    assert allowed.decision is Decision.ALLOW
    assert after_allow == before
    assert blocked.decision is Decision.BLOCK
    events = _events(db, "gate.blocked")
    assert [(e.actor, e.subject, e.occurred_at) for e in events] == [
        ("ci", "system/cms", clock.now)
    ]
    assert events[0].payload["next_allowed_at"] == "2026-12-07T02:00:00+00:00"
    grown = {t for t, rows in snapshot(db).items() if rows != before[t]}
    assert grown == {"events"}


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        (GateRequest(system="nope"), NotFound, "no system 'nope'"),
        (GateRequest(system="cms", environment="qa"), NotFound, "no environment 'qa'"),
    ],
    ids=["unknown system", "unknown environment"],
)
def test_a_check_that_cannot_be_made_raises_and_writes_nothing(
    db: Database,
    gate: GateService,
    request_: GateRequest,
    error: type[LaunchdeckError],
    message: str,
) -> None:
    before = snapshot(db)

    with pytest.raises(error) as raised:
        gate.check(request_)

    assert raised.value.message == message
    assert snapshot(db) == before


def test_an_override_is_listed_until_it_ends_and_turns_blocks_into_warnings(
    db: Database, gate: GateService, clock: Any
) -> None:
    clock.now = _utc(2026, 11, 27, 14)
    override = gate.add_override("cms", until=_utc(2026, 11, 27, 16), reason=" copy fix ")

    during = gate.check(GateRequest(system="cms", at=_utc(2026, 11, 27, 15)))
    at_its_end = gate.check(GateRequest(system="cms", at=_utc(2026, 11, 27, 16)))
    listed = gate.overrides()
    clock.advance(timedelta(hours=2))
    listed_later = gate.overrides()

    assert (override.starts_at, override.ends_at, override.reason, override.created_by) == (
        _utc(2026, 11, 27, 14),
        _utc(2026, 11, 27, 16),
        "copy fix",
        "ci",
    )
    assert (during.decision, during.overrides) == (Decision.WARN, (override,))
    assert (at_its_end.decision, at_its_end.overrides) == (Decision.BLOCK, ())
    assert listed == [override]
    assert listed_later == []
    added = _events(db, "gate.override_added")
    assert [(e.subject, e.system, e.actor) for e in added] == [
        (f"override/{override.id}", "cms", "ci")
    ]
    assert len(_events(db, "gate.blocked")) == 1


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("attempt", "error", "message"),
    [
        (
            lambda g, c, now: g.add_override("nope", until=now + timedelta(hours=1), reason="r"),
            NotFound,
            "no system 'nope'",
        ),
        (
            lambda g, c, now: g.add_override(
                "cms", until=now + timedelta(hours=1), reason="r", environment="qa"
            ),
            NotFound,
            "no environment 'qa'",
        ),
        (
            lambda g, c, now: g.add_override("cms", until=now, reason="r"),
            UsageError,
            "an override must end in the future",
        ),
        (
            lambda g, c, now: g.add_override("cms", until=now + timedelta(hours=1), reason=" "),
            UsageError,
            "an override needs a reason",
        ),
        (
            lambda g, c, now: c.add_freeze(
                reason="r", until=now + timedelta(hours=1), environment="qa"
            ),
            NotFound,
            "no environment 'qa'",
        ),
        (
            lambda g, c, now: c.add_freeze(reason="r", until=now, start=now + timedelta(hours=1)),
            UsageError,
            "a freeze must end after it starts",
        ),
    ],
    ids=[
        "override of an unknown system",
        "override for an unknown environment",
        "override ending now",
        "override without a reason",
        "freeze of an unknown environment",
        "freeze ending before it starts",
    ],
)
def test_a_refused_override_or_freeze_writes_nothing(
    db: Database,
    gate: GateService,
    calendar: CalendarService,
    clock: Any,
    attempt: Callable[[GateService, CalendarService, datetime], object],
    error: type[LaunchdeckError],
    message: str,
) -> None:
    before = snapshot(db)

    with pytest.raises(error) as raised:
        attempt(gate, calendar, clock.now)

    assert raised.value.message == message
    assert snapshot(db) == before


def _custom_freezes(data: Data) -> None:
    data["freezes"] = {
        "campaigns": [
            {
                "tier": 1,
                "before": "12h",
                "after": "90m",
                "allow": ["rollback"],
                "environments": ["production"],
            }
        ],
        "recurring": [
            {
                "id": "weekend",
                "rrule": "FREQ=WEEKLY;BYDAY=FR;BYHOUR=15",
                "start": "2026-01-02T15:00:00",
                "duration": "66h",
                "timezone": "America/New_York",
                "systems": ["checkout-api"],
                "reason": "nobody on call",
            }
        ],
    }


def test_freeze_policies_round_trip_and_drive_the_gate(
    db: Database, service: WorkspaceService, clock: Any
) -> None:
    spec = edited(_custom_freezes)
    service.apply(spec)
    gate = GateService(db, actor="ci", clock=clock)

    with db.read() as session:
        settings = SqlStateStore(session).settings()
    # 12 h before Black Friday it is frozen, 13 h before it is not; a hotfix is not allowed.
    frozen = gate.check(GateRequest(system="cms", at=BF_START - timedelta(hours=12)))
    open_ = gate.check(GateRequest(system="cms", at=BF_START - timedelta(hours=13)))
    hotfix = gate.check(
        GateRequest(system="search", change_type=ChangeType.HOTFIX, at=BLACK_FRIDAY_AFTERNOON)
    )
    weekend = gate.check(GateRequest(system="checkout-api", at=_utc(2026, 10, 10, 12)))
    weekend_elsewhere = gate.check(GateRequest(system="cms", at=_utc(2026, 10, 10, 12)))

    assert settings is not None
    assert settings.freezes == spec.freezes
    assert (frozen.decision, open_.decision, hotfix.decision) == (
        Decision.BLOCK,
        Decision.ALLOW,
        Decision.BLOCK,
    )
    assert frozen.next_allowed_at == BF_END + timedelta(minutes=90)
    assert weekend.decision is Decision.BLOCK
    assert weekend.checks[0].summary == (
        "recurring freeze 'weekend' (nobody on call) on checkout-api until 2026-10-12 13:00 UTC; "
        "allows hotfix, rollback"
    )
    assert weekend_elsewhere.decision is Decision.ALLOW
