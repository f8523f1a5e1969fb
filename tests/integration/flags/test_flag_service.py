"""The flag service on the store, SQLite and PostgreSQL: what every use case stores (versions,
history, the timeline event with its field diff), what it refuses and that a refusal writes
nothing, the gate on production changes and the kill switch that bypasses it, schedules tied to
a campaign, change requests, restore and archive, GitOps-managed flags, and SDK keys.

The workspace and the clock are described in conftest.py: the clock starts on 2026-11-20 12:00Z,
campaign `launch` (tier 1, on checkout-api) runs 11-25 00:00Z to 11-26 00:00Z and freezes
checkout-api in production from 11-24 00:00Z to 11-28 00:00Z.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier
from typing import Any

import pytest
from sqlalchemy import select

from launchdeck.auth.model import secret_matches
from launchdeck.errors import (
    Blocked,
    Conflict,
    LaunchdeckError,
    NotFound,
    UsageError,
    ValidationFailed,
)
from launchdeck.flags.model import EnvPatch, FlagSpec, ScheduledChange
from launchdeck.flags.records import CrStatus, ManagedBy, VersionAction
from launchdeck.flags.requests import ChangeBody, EvalRequest
from launchdeck.flags.service import FlagService, GateAsker
from launchdeck.flags.stale import StaleReason
from launchdeck.gate.model import GateRequest
from launchdeck.store import Database
from launchdeck.store.flags import SqlFlagStore
from launchdeck.store.tables import Base
from launchdeck.timeline.model import Event, TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

from .conftest import WORKSPACE, workspace

Actor = Callable[[str], FlagService]


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


START = _utc(2026, 11, 25)
END = _utc(2026, 11, 26)
DURING_THE_FREEZE = _utc(2026, 11, 25, 12)

CHECKOUT: dict[str, Any] = {
    "key": "new-checkout",
    "name": "New checkout",
    "system": "checkout-api",
    "owner": "@payments",
    "environments": {
        "staging": {"enabled": False, "fallthrough": {"variant": "on"}},
        "production": {"enabled": False, "fallthrough": {"variant": "on"}},
    },
}


def spec(data: dict[str, Any] = CHECKOUT, **changes: Any) -> FlagSpec:
    return FlagSpec.model_validate({**data, **changes})


def body(environment: str, **patch: Any) -> ChangeBody:
    return ChangeBody(environment=environment, patch=EnvPatch.model_validate(patch))


def rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every launchdeck table, straight from the database."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            found = connection.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(row) for row in found]
    return out


def refused(db: Database, call: Callable[[], object]) -> LaunchdeckError:
    """The error `call` raises; every row of every table must be as it was."""
    before = rows(db)
    with pytest.raises(LaunchdeckError) as caught:
        call()
    assert rows(db) == before
    return caught.value


def events(db: Database, prefix: str = "") -> list[Event]:
    """The timeline, oldest first, of the kinds starting with `prefix`."""
    page = TimelineService(db).query(TimelineQuery(limit=500))
    return sorted((e for e in page.events if e.kind.startswith(prefix)), key=lambda e: e.id)


def kinds(db: Database, prefix: str = "flag.") -> list[str]:
    return [e.kind for e in events(db, prefix)]


def history(flags: FlagService, key: str) -> list[tuple[int, VersionAction, str]]:
    return [(v.version, v.action, v.actor) for v in flags.history(key)]


def evaluate(flags: FlagService, at: datetime, environment: str = "staging") -> tuple[Any, ...]:
    """(value, variant, reason) of new-checkout for user-1 as of `at`."""
    result = flags.evaluate(
        EvalRequest(
            environment=environment,
            context={"targetingKey": "user-1"},
            flags=("new-checkout",),
            at=at,
        )
    ).results["new-checkout"]
    return result.get("value"), result.get("variant"), result.get("reason")


ON = (True, "on", "STATIC")
OFF = (False, "off", "DISABLED")


# -- create ----------------------------------------------------------------------------------


def test_a_created_flag_is_version_1_with_its_history_row_and_a_flag_added_event(
    db: Database, flags: FlagService, clock: Any
) -> None:
    created = flags.create(spec(), comment="first cut")

    assert (created.version, created.managed_by, created.created_by, created.created_at) == (
        1,
        ManagedBy.API,
        "alice",
        clock.now,
    )
    assert created.spec == spec()
    assert flags.get_flag("new-checkout") == created
    [version] = flags.history("new-checkout")
    assert (version.version, version.action, version.actor, version.at, version.comment) == (
        1,
        VersionAction.CREATED,
        "alice",
        clock.now,
        "first cut",
    )
    assert version.definition == spec().document()
    [event] = events(db, "flag.")
    assert (event.kind, event.subject, event.actor, event.system) == (
        "flag.added",
        "flag/new-checkout",
        "alice",
        "checkout-api",
    )
    assert event.payload["version"] == 1
    assert event.payload["comment"] == "first cut"
    fields = {f["field"]: f["after"] for f in event.payload["changes"]}  # type: ignore[index,union-attr]
    assert fields["key"] == "new-checkout"
    assert fields["system"] == "checkout-api"
    assert fields["environments"]["production"]["enabled"] is False


def test_creating_a_key_that_exists_even_archived_is_a_conflict_and_writes_nothing(
    db: Database, flags: FlagService
) -> None:
    flags.create(spec())
    flags.create(spec(key="old-banner", system=None, environments={}))
    flags.archive("old-banner")

    taken = refused(db, lambda: flags.create(spec(name="again")))
    archived = refused(db, lambda: flags.create(spec(key="old-banner")))

    assert isinstance(taken, Conflict)
    assert taken.message == "flag 'new-checkout' already exists"
    assert taken.hint is not None and "restore it if archived" in taken.hint
    assert isinstance(archived, Conflict)
    assert archived.message == "flag 'old-banner' already exists"


def test_a_change_in_an_unknown_environment_is_not_found_and_names_the_known_ones(
    db: Database, flags: FlagService
) -> None:
    flags.create(spec())

    error = refused(db, lambda: flags.change("new-checkout", body("prod", enabled=True)))

    assert isinstance(error, NotFound)
    assert error.message == "no environment 'prod'"
    assert error.hint == "use one of: production, staging"


def test_changing_an_unknown_flag_is_not_found(db: Database, flags: FlagService) -> None:
    error = refused(db, lambda: flags.change("nope", body("staging", enabled=True)))

    assert isinstance(error, NotFound)
    assert (error.message, error.hint) == (
        "no flag 'nope'",
        "'launchdeck flags list' shows the flags",
    )


def _rule(when: dict[str, Any]) -> dict[str, Any]:
    return {"staging": {"rules": [{"when": when, "serve": {"variant": "on"}}]}}


INVALID: dict[str, tuple[dict[str, Any], str, str]] = {
    "an unknown prerequisite": (
        {"prerequisites": [{"flag": "new-chekout"}]},
        "prerequisites[0].flag",
        "unknown prerequisite flag 'new-chekout'",
    ),
    "a prerequisite variant the prerequisite does not have": (
        {"prerequisites": [{"flag": "new-checkout", "variants": ["maybe"]}]},
        "prerequisites[0].variants[0]",
        "'new-checkout' has no variant 'maybe'",
    ),
    "a prerequisite cycle": (
        {"prerequisites": [{"flag": "banner"}]},
        "prerequisites",
        "prerequisite cycle: banner → banner",
    ),
    "an unknown segment": (
        {"environments": _rule({"op": "in_segment", "values": ["vips"]})},
        "environments.staging.rules[0].when.values[0]",
        "unknown segment 'vips'",
    ),
    "a regex RE2 cannot run": (
        {"environments": _rule({"attribute": "email", "op": "matches", "values": ["(a)\\1"]})},
        "environments.staging.rules[0].when.values[0]",
        "is not valid RE2",
    ),
    "an unknown environment": (
        {"environments": {"qa": {"enabled": True}}},
        "environments.qa",
        "unknown environment 'qa'",
    ),
    "an unknown campaign": (
        {
            "environments": {
                "staging": {"schedule": [{"campaign": "lunch", "set": {"enabled": True}}]}
            }
        },
        "environments.staging.schedule[0].campaign",
        "unknown campaign 'lunch'",
    ),
}


def test_an_invalid_definition_is_refused_naming_the_field_and_nothing_is_stored(
    db: Database, flags: FlagService
) -> None:
    flags.create(spec())

    for case, (data, field, message) in INVALID.items():
        error = refused(db, lambda data=data: flags.create(spec(key="banner", system=None, **data)))

        assert isinstance(error, ValidationFailed), case
        assert [p.field for p in error.problems] == [field], case
        assert message in error.problems[0].message, case
        # The path is the flag's own: nothing of the store's list of flags leaks into it.
        assert "flags[" not in error.problems[0].message, case
    assert [f.key for f in flags.list_flags()] == ["new-checkout"]


# -- change and the gate ---------------------------------------------------------------------


def test_a_change_in_staging_applies_without_asking_the_gate(
    db: Database, flags: FlagService
) -> None:
    flags.create(spec())

    outcome = flags.change("new-checkout", body("staging", enabled=True))

    assert (outcome.outcome, outcome.gate) == (
        "applied",
        "not asked: staging is not production-like",
    )
    assert outcome.flag.version == 2
    assert outcome.flag.spec.environment("staging").enabled is True
    assert outcome.flag.spec.environment("production").enabled is False
    assert flags.get_flag("new-checkout") == outcome.flag
    assert history(flags, "new-checkout") == [
        (1, VersionAction.CREATED, "alice"),
        (2, VersionAction.CHANGED, "alice"),
    ]
    changed = events(db, "flag.changed")
    assert [(e.environment, e.payload["version"], e.payload["changes"]) for e in changed] == [
        (
            "staging",
            2,
            [{"field": "environments.staging.enabled", "before": False, "after": True}],
        )
    ]
    assert changed[0].payload["fields"] == ["environments.staging.enabled"]
    assert events(db, "gate.") == []


def test_a_production_change_to_a_flag_without_a_system_is_a_usage_error(
    db: Database, flags: FlagService
) -> None:
    flags.create(spec(system=None))

    error = refused(db, lambda: flags.change("new-checkout", body("production", enabled=True)))

    assert isinstance(error, UsageError)
    assert error.message == (
        "flag 'new-checkout' names no system, so the gate cannot judge a change to production"
    )
    assert error.hint == "set `system:` on the flag (the system its code runs in)"


def test_a_production_change_asks_the_gate_and_applies_what_it_allows(
    flags: FlagService,
) -> None:
    flags.create(spec())

    outcome = flags.change("new-checkout", body("production", enabled=True))

    assert outcome.outcome == "applied"
    assert outcome.gate.startswith("allow: no freeze window applies")
    assert (outcome.flag.version, outcome.flag.spec.environment("production").enabled) == (2, True)


def test_a_freeze_blocks_a_production_change_but_turning_the_flag_off_is_remediation(
    db: Database, flags: FlagService, clock: Any
) -> None:
    flags.create(spec())
    flags.change("new-checkout", body("production", enabled=True))
    clock.now = DURING_THE_FREEZE
    before = rows(db)

    with pytest.raises(Blocked) as blocked:
        flags.change("new-checkout", body("production", fallthrough={"variant": "off"}))

    assert blocked.value.message.startswith(
        "the gate blocks this change to flag 'new-checkout' in production: "
        "campaign freeze 'Launch' (tier 1, 24 h before to 48 h after) on checkout-api"
    )
    assert blocked.value.hint is not None
    assert blocked.value.hint.startswith("turning the flag off is always allowed")
    after = rows(db)
    assert {t: r for t, r in after.items() if t != "events"} == {
        t: r for t, r in before.items() if t != "events"
    }
    [block] = events(db, "gate.")
    assert (block.kind, block.system, block.environment, block.actor) == (
        "gate.blocked",
        "checkout-api",
        "production",
        "alice",
    )
    assert block.payload["change_type"] == "flag"
    assert flags.get_flag("new-checkout").version == 2

    off = flags.change("new-checkout", body("production", enabled=False))

    assert (off.outcome, off.gate) == (
        "applied",
        "not asked: turning a flag off is remediation, always allowed",
    )
    assert (off.flag.version, off.flag.spec.environment("production").enabled) == (3, False)
    assert len(events(db, "gate.")) == 1
    # Turning it back on is a change like any other: still frozen.
    with pytest.raises(Blocked, match="the gate blocks this change"):
        flags.change("new-checkout", body("production", enabled=True))
    assert flags.get_flag("new-checkout").version == 3


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(
    db: Database, flags: FlagService
) -> None:
    flags.create(spec())
    flags.change("new-checkout", body("staging", enabled=True))
    stale = ChangeBody(environment="staging", patch=EnvPatch(enabled=False), expected_version=1)

    error = refused(db, lambda: flags.change("new-checkout", stale))

    assert isinstance(error, Conflict)
    assert error.message == (
        "flag 'new-checkout' is at version 2, not 1: someone changed it meanwhile"
    )
    assert (
        flags.change("new-checkout", stale.model_copy(update={"expected_version": 2})).flag.version
        == 3
    )


class _Meeting:
    """A gate that lets a change through only when the other writer has read the flag too: both
    then write against the version they read."""

    def __init__(self, gate: GateAsker, barrier: Barrier) -> None:
        self.gate, self.barrier = gate, barrier

    def check(self, request: GateRequest) -> Any:
        self.barrier.wait(timeout=20)
        return self.gate.check(request)


def test_two_writers_from_the_same_version_one_wins_and_the_other_gets_a_conflict(
    db: Database, as_actor: Actor
) -> None:
    as_actor("alice").create(spec())
    barrier = Barrier(2)
    writers = {}
    for name in ("alice", "bob"):
        service = as_actor(name)
        assert service.gate is not None
        service.gate = _Meeting(service.gate, barrier)
        writers[name] = service
    patches = {
        "alice": body("production", fallthrough={"variant": "off"}),
        "bob": body("production", enabled=True),
    }

    def attempt(name: str) -> str:
        try:
            writers[name].change("new-checkout", patches[name])
        except Conflict as exc:
            return exc.message
        return "applied"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = dict(zip(writers, pool.map(attempt, writers), strict=True))

    [winner] = [name for name, outcome in outcomes.items() if outcome == "applied"]
    [loser] = [name for name in outcomes if name != winner]
    assert outcomes[loser] == (
        "flag 'new-checkout' changed since version 1 was read (it is at version 2 now)"
    )
    stored = flags_of(as_actor).get_flag("new-checkout")
    expected = spec().environment("production").patched(patches[winner].patch)
    assert (stored.version, stored.updated_by) == (2, winner)
    assert stored.spec.environment("production") == expected
    assert [v for v, *_ in history(flags_of(as_actor), "new-checkout")] == [1, 2]
    assert [e.actor for e in events(db, "flag.changed")] == [winner]


def flags_of(as_actor: Actor) -> FlagService:
    return as_actor("reader")


# -- schedules tied to a campaign --------------------------------------------------------------


def _tied_to_launch(flags: FlagService) -> None:
    flags.create(spec())
    flags.schedule(
        "new-checkout",
        "staging",
        ScheduledChange(campaign="launch", set=EnvPatch(enabled=True), note="launch day"),
    )
    flags.schedule(
        "new-checkout",
        "staging",
        ScheduledChange(campaign="launch", edge="end", set=EnvPatch(enabled=False)),
    )


def test_a_change_tied_to_a_campaign_takes_effect_at_its_start_and_moves_with_it(
    db: Database, flags: FlagService, workspace_service: WorkspaceService
) -> None:
    _tied_to_launch(flags)

    assert evaluate(flags, START - timedelta(seconds=1)) == OFF
    assert evaluate(flags, START) == ON
    assert evaluate(flags, END - timedelta(seconds=1)) == ON
    assert evaluate(flags, END) == OFF
    assert kinds(db) == ["flag.added", "flag.scheduled", "flag.scheduled"]

    moved = [{**WORKSPACE["campaigns"][0], "start": "2026-11-25T06:00:00"}]
    workspace_service.apply(workspace(campaigns=moved))

    assert evaluate(flags, _utc(2026, 11, 25, 5, 59)) == OFF
    assert evaluate(flags, _utc(2026, 11, 25, 6)) == ON
    assert evaluate(flags, END) == OFF
    # Moving the campaign changed no flag: the schedule names the campaign, not an instant.
    assert flags.get_flag("new-checkout").version == 3


def test_a_kill_switch_after_the_campaign_start_stays_off_and_the_end_change_still_fires(
    flags: FlagService, clock: Any
) -> None:
    _tied_to_launch(flags)
    clock.now = START + timedelta(hours=12)

    killed = flags.change("new-checkout", body("staging", enabled=False))

    schedule = killed.flag.spec.environment("staging").schedule
    assert [c.done_at for c in schedule] == [clock.now, None]
    assert evaluate(flags, clock.now) == OFF
    assert evaluate(flags, END - timedelta(seconds=1)) == OFF

    clock.now += timedelta(hours=2)
    flags.change("new-checkout", body("staging", enabled=True))

    assert evaluate(flags, clock.now) == ON
    assert evaluate(flags, END - timedelta(seconds=1)) == ON
    assert evaluate(flags, END) == OFF


def test_a_scheduled_change_that_fires_is_put_on_the_timeline_once_at_its_instant(
    db: Database, flags: FlagService, clock: Any
) -> None:
    _tied_to_launch(flags)
    clock.now = START - timedelta(minutes=1)

    assert flags.record_fired() == 0
    clock.now = START + timedelta(hours=1)
    assert flags.record_fired() == 1
    assert flags.record_fired() == 0

    (fired,) = events(db, "flag.schedule_fired")
    assert (fired.occurred_at, fired.actor, fired.subject) == (
        START,
        "launchdeck",
        "flag/new-checkout",
    )
    assert (fired.system, fired.environment) == ("checkout-api", "staging")
    assert fired.payload["set"] == {"enabled": True}
    assert (fired.payload["campaign"], fired.payload["edge"]) == ("launch", "start")


def test_a_kill_switch_records_the_change_it_folds_before_making_its_own(
    db: Database, flags: FlagService, clock: Any
) -> None:
    _tied_to_launch(flags)
    clock.now = START + timedelta(hours=12)

    flags.change("new-checkout", body("staging", enabled=False))
    clock.now = END + timedelta(hours=1)
    flags.record_fired()

    fired = [(e.occurred_at, e.payload["set"]) for e in events(db, "flag.schedule_fired")]
    assert fired == [(START, {"enabled": True}), (END, {"enabled": False})]
    assert kinds(db)[-3:] == ["flag.schedule_fired", "flag.changed", "flag.schedule_fired"]


def test_scheduling_against_an_unknown_campaign_is_not_found(
    db: Database, flags: FlagService
) -> None:
    flags.create(spec())

    error = refused(
        db,
        lambda: flags.schedule(
            "new-checkout",
            "staging",
            ScheduledChange(campaign="lunch", set=EnvPatch(enabled=True)),
        ),
    )

    assert isinstance(error, NotFound)
    assert error.message == "no campaign 'lunch'"


# -- change requests -------------------------------------------------------------------------


@pytest.fixture
def governed(workspace_service: WorkspaceService, applied: WorkspaceSpec) -> None:
    workspace_service.apply(workspace(flag_governance={"approvals": {"production": 1}}))


@pytest.mark.usefixtures("governed")
def test_a_governed_change_waits_for_another_persons_approval_then_applies(
    db: Database, as_actor: Actor
) -> None:
    alice, bob = as_actor("alice"), as_actor("bob")
    alice.create(spec())

    waiting = alice.change("new-checkout", body("production", enabled=True))

    request = waiting.change_request
    assert request is not None
    assert (waiting.outcome, request.status, request.author, request.base_version) == (
        "approval_required",
        CrStatus.DRAFT,
        "alice",
        1,
    )
    assert waiting.gate == "not asked yet: the change request asks it when it is applied"
    assert alice.get_flag("new-checkout").version == 1
    assert [r.id for r in bob.change_requests()] == [request.id]

    own = refused(db, lambda: alice.approve(request.id))
    assert isinstance(own, Conflict)
    assert own.message == f"alice wrote change request {request.id} and cannot approve it"
    early = refused(db, lambda: alice.apply_request(request.id))
    assert isinstance(early, Conflict)
    assert early.message == f"change request {request.id} has 0 of 1 approvals"

    approved = bob.approve(request.id, comment="looks right")
    assert (approved.status, [a.actor for a in approved.approvals]) == (CrStatus.APPROVED, ["bob"])

    applied = alice.apply_request(request.id)

    assert applied.outcome == "applied"
    assert applied.gate.startswith("allow:")
    assert (applied.flag.version, applied.flag.spec.environment("production").enabled) == (2, True)
    done = applied.change_request
    assert done is not None
    assert (done.status, done.applied_version, done.decided_by) == (CrStatus.APPLIED, 2, "alice")
    assert alice.change_requests() == []
    assert [r.status for r in alice.change_requests(all=True)] == [CrStatus.APPLIED]
    assert kinds(db) == [
        "flag.added",
        "flag.change_requested",
        "flag.change_approved",
        "flag.changed",
        "flag.change_applied",
    ]
    assert {e.payload.get("change_request") for e in events(db, "flag.change_")} == {request.id}
    again = refused(db, lambda: alice.apply_request(request.id))
    assert isinstance(again, Conflict)
    assert again.message == f"change request {request.id} is already applied"


@pytest.mark.usefixtures("governed")
def test_a_request_whose_environment_changed_since_its_base_cannot_be_applied(
    db: Database, as_actor: Actor
) -> None:
    alice, bob = as_actor("alice"), as_actor("bob")
    alice.create(spec())
    first = alice.change("new-checkout", body("production", enabled=True)).change_request
    second = alice.change(
        "new-checkout", body("production", fallthrough={"variant": "off"})
    ).change_request
    assert first is not None and second is not None
    bob.approve(first.id)
    bob.approve(second.id)
    # A change in staging (no approvals there) leaves production as the requests saw it.
    bob.change("new-checkout", body("staging", enabled=True))
    assert alice.apply_request(first.id).flag.version == 3

    error = refused(db, lambda: alice.apply_request(second.id))

    assert isinstance(error, Conflict)
    assert error.message == (
        f"flag 'new-checkout' changed in production since change request {second.id} "
        "was made (version 1 → 3)"
    )
    assert error.hint == "reject it and make a new request against the current version"


@pytest.mark.usefixtures("governed")
def test_a_request_rejected_by_another_is_rejected_and_by_its_author_cancelled(
    db: Database, as_actor: Actor
) -> None:
    alice, bob = as_actor("alice"), as_actor("bob")
    alice.create(spec())
    one = alice.change("new-checkout", body("production", enabled=True)).change_request
    two = alice.change("new-checkout", body("production", enabled=True)).change_request
    assert one is not None and two is not None

    rejected = bob.reject(one.id, comment="not during the launch")
    cancelled = alice.reject(two.id)

    assert (rejected.status, rejected.decided_by) == (CrStatus.REJECTED, "bob")
    assert (cancelled.status, cancelled.decided_by) == (CrStatus.CANCELLED, "alice")
    assert alice.change_requests() == []
    assert alice.get_flag("new-checkout").version == 1
    assert kinds(db, "flag.change_")[-2:] == ["flag.change_rejected", "flag.change_cancelled"]
    late = refused(db, lambda: bob.approve(one.id))
    assert isinstance(late, Conflict)
    assert late.message == f"change request {one.id} is already rejected"


@pytest.mark.usefixtures("governed")
def test_a_kill_switch_bypasses_the_approvals(db: Database, as_actor: Actor, clock: Any) -> None:
    alice, bob = as_actor("alice"), as_actor("bob")
    alice.create(spec())
    requested = alice.change("new-checkout", body("production", enabled=True)).change_request
    assert requested is not None
    bob.approve(requested.id)
    alice.apply_request(requested.id)
    clock.now = DURING_THE_FREEZE

    outcome = alice.change("new-checkout", body("production", enabled=False))

    assert (outcome.outcome, outcome.change_request) == ("applied", None)
    assert outcome.flag.spec.environment("production").enabled is False
    assert [r.id for r in alice.change_requests(all=True)] == [requested.id]
    assert events(db, "gate.") == []


@pytest.mark.usefixtures("governed")
def test_a_flag_cannot_be_born_on_where_changes_need_approval(
    db: Database, as_actor: Actor
) -> None:
    alice = as_actor("alice")
    before = rows(db)

    with pytest.raises(Conflict, match="production needs approved change requests") as refused:
        alice.create(spec(environments={"production": {"enabled": True}}))

    assert "launchdeck flags on new-checkout --env production" in (refused.value.hint or "")
    assert rows(db) == before


# -- history, restore, archive, stale ------------------------------------------------------------


def test_restore_makes_an_old_definition_current_as_a_new_version(
    db: Database, flags: FlagService, clock: Any
) -> None:
    flags.create(spec())
    flags.change("new-checkout", body("staging", enabled=True))
    flags.change("new-checkout", body("staging", fallthrough={"variant": "off"}))
    clock.advance(timedelta(hours=1))

    restored = flags.restore("new-checkout", 1, comment="back to the start")

    assert restored.version == 4
    assert restored.spec == spec()
    assert (restored.updated_at, restored.updated_by) == (clock.now, "alice")
    versions = flags.history("new-checkout")
    assert [(v.version, v.action) for v in versions] == [
        (1, VersionAction.CREATED),
        (2, VersionAction.CHANGED),
        (3, VersionAction.CHANGED),
        (4, VersionAction.RESTORED),
    ]
    assert versions[3].definition == versions[0].definition
    assert versions[3].comment == "back to the start"
    [event] = events(db, "flag.restored")
    assert (event.payload["version"], event.payload["restored_version"]) == (4, 1)
    assert set(event.payload["fields"]) == {  # type: ignore[arg-type]
        "environments.staging.enabled",
        "environments.staging.fallthrough.variant",
    }
    missing = refused(db, lambda: flags.restore("new-checkout", 9))
    assert isinstance(missing, NotFound)
    assert missing.message == "flag 'new-checkout' has no version 9"


def test_archiving_a_prerequisite_of_another_flag_is_a_conflict(
    db: Database, flags: FlagService
) -> None:
    flags.create(spec())
    flags.create(spec(key="express-pay", system=None, prerequisites=[{"flag": "new-checkout"}]))

    error = refused(db, lambda: flags.archive("new-checkout"))

    assert isinstance(error, Conflict)
    assert error.message == "flag 'new-checkout' is a prerequisite of express-pay"
    assert error.hint == "remove it from their prerequisites first"

    flags.archive("express-pay", comment="launched")
    archived = flags.archive("new-checkout")

    assert archived.archived_at is not None
    assert archived.version == 2
    assert flags.list_flags() == []
    assert [f.key for f in flags.list_flags(archived=True)] == ["express-pay", "new-checkout"]
    assert kinds(db, "flag.removed") == ["flag.removed", "flag.removed"]
    result = flags.evaluate(EvalRequest(environment="staging", flags=("new-checkout",)))
    assert result.results["new-checkout"]["error_code"] == "FLAG_NOT_FOUND"
    # Restoring brings it back, as a new version.
    assert flags.restore("new-checkout", 1).archived_at is None


def test_the_stale_report_names_flags_past_their_lifetime_and_fully_rolled_out(
    flags: FlagService, clock: Any
) -> None:
    flags.create(spec())
    flags.create(spec(key="kill-recs", kind="ops", system=None))
    flags.create(spec(key="done", system="cms"))
    flags.change("done", body("staging", enabled=True))
    flags.change("done", body("production", enabled=True))
    clock.advance(timedelta(days=8))

    soon = flags.stale()

    assert [(s.key, s.reason, s.variant) for s in soon] == [
        ("done", StaleReason.FULLY_ROLLED_OUT, "on")
    ]

    clock.advance(timedelta(days=40))
    later = {s.key: s for s in flags.stale()}

    assert set(later) == {"done", "new-checkout"}
    assert later["new-checkout"].reason is StaleReason.OFF_EVERYWHERE
    assert later["new-checkout"].unchanged_for == timedelta(days=48)


# -- GitOps ----------------------------------------------------------------------------------

YAML_FLAG: dict[str, Any] = {
    "key": "checkout-v2",
    "system": "checkout-api",
    "environments": {"production": {"enabled": True, "fallthrough": {"variant": "on"}}},
}


def test_a_flag_declared_in_the_workspace_is_read_only_to_the_api_but_the_kill_switch(
    db: Database, flags: FlagService, workspace_service: WorkspaceService, clock: Any
) -> None:
    workspace_service.apply(workspace(flags=[YAML_FLAG]))
    declared = flags.get_flag("checkout-v2")
    assert (declared.managed_by, declared.version, declared.created_by) == (
        ManagedBy.GIT,
        1,
        "gitops",
    )

    attempts: dict[str, Callable[[], object]] = {
        "change": lambda: flags.change("checkout-v2", body("staging", enabled=True)),
        "schedule": lambda: flags.schedule(
            "checkout-v2", "staging", ScheduledChange(at=clock.now, set=EnvPatch(enabled=True))
        ),
        "archive": lambda: flags.archive("checkout-v2"),
        "restore": lambda: flags.restore("checkout-v2", 1),
    }
    for name, attempt in attempts.items():
        error = refused(db, attempt)
        assert isinstance(error, Conflict), name
        assert error.message == (
            "flag 'checkout-v2' is managed in launchdeck.yaml: the API cannot change it"
        )
        assert error.hint == (
            "change it in launchdeck.yaml and run 'launchdeck apply' (GitOps); "
            "'launchdeck flags off' still works as a kill switch"
        )

    killed = flags.change("checkout-v2", body("production", enabled=False))

    assert killed.outcome == "applied"
    assert (killed.flag.version, killed.flag.managed_by) == (2, ManagedBy.GIT)
    assert killed.flag.spec.environment("production").enabled is False
    [warning] = killed.warnings
    assert warning.startswith("launchdeck.yaml still declares this flag")
    # The next apply of the unchanged file restores the file's configuration.
    workspace_service.apply(workspace(flags=[YAML_FLAG]))
    assert flags.get_flag("checkout-v2").spec.environment("production").enabled is True


def test_removing_a_flag_from_the_workspace_archives_it(
    flags: FlagService, workspace_service: WorkspaceService
) -> None:
    workspace_service.apply(workspace(flags=[YAML_FLAG]))

    workspace_service.apply(workspace())

    assert flags.list_flags() == []
    gone = flags.get_flag("checkout-v2")
    assert gone.archived_at is not None
    [*_, last] = flags.history("checkout-v2")
    assert (last.version, last.action, last.comment) == (
        2,
        VersionAction.ARCHIVED,
        "removed from launchdeck.yaml",
    )


def test_a_workspace_flag_or_segment_an_api_flag_still_needs_cannot_be_removed(
    db: Database, flags: FlagService, workspace_service: WorkspaceService
) -> None:
    segment = {"key": "vips", "included": ["u-1"]}
    workspace_service.apply(workspace(flags=[YAML_FLAG], segments=[segment]))
    flags.create(spec(prerequisites=[{"flag": "checkout-v2"}]))
    flags.create(
        spec(
            key="vip-banner",
            environments={
                "staging": {
                    "enabled": True,
                    "rules": [
                        {
                            "when": {"op": "in_segment", "values": ["vips"]},
                            "serve": {"variant": "on"},
                        }
                    ],
                }
            },
        )
    )
    before = rows(db)

    with pytest.raises(
        Conflict, match=r"'checkout-v2' is removed from launchdeck\.yaml but new-checkout"
    ):
        workspace_service.apply(workspace(segments=[segment]))
    with pytest.raises(
        Conflict, match=r"segment 'vips' is removed from launchdeck\.yaml but vip-banner"
    ):
        workspace_service.apply(workspace(flags=[YAML_FLAG]))

    assert rows(db) == before


def test_a_workspace_flag_with_the_key_of_an_api_flag_adopts_it(
    flags: FlagService, workspace_service: WorkspaceService
) -> None:
    flags.create(spec(key="checkout-v2", environments={}))

    workspace_service.apply(workspace(flags=[YAML_FLAG]))

    adopted = flags.get_flag("checkout-v2")
    assert (adopted.managed_by, adopted.version) == (ManagedBy.GIT, 2)
    assert adopted.spec == FlagSpec.model_validate(YAML_FLAG)
    assert history(flags, "checkout-v2") == [
        (1, VersionAction.CREATED, "alice"),
        (2, VersionAction.CHANGED, "gitops"),
    ]
    with pytest.raises(Conflict, match=r"managed in launchdeck\.yaml"):
        flags.change("checkout-v2", body("staging", enabled=True))


# -- SDK keys --------------------------------------------------------------------------------


def test_an_sdk_key_is_shown_once_and_only_its_hash_is_stored(
    db: Database, flags: FlagService, clock: Any
) -> None:
    created = flags.create_sdk_key("web-shop", "production")

    match = re.fullmatch(r"lds_([0-9a-f]{12})_([A-Za-z0-9_-]{40,})", created.key)
    assert match is not None, created.key
    key_id, secret = match.groups()
    assert created.info.id == key_id
    assert (created.info.name, created.info.environment, created.info.created_by) == (
        "web-shop",
        "production",
        "alice",
    )
    stored = rows(db)
    assert secret not in repr(stored)
    assert all(secret not in repr(e.payload) for e in events(db))
    with db.read() as session:
        found = SqlFlagStore(session).sdk_key(key_id)
    assert found is not None
    assert secret_matches(secret, found[1])
    assert flags.sdk_keys() == [created.info]
    [event] = events(db, "sdk_key.")
    assert (event.kind, event.subject, event.environment) == (
        "sdk_key.created",
        f"sdk_key/{key_id}",
        "production",
    )

    clock.advance(timedelta(minutes=5))
    revoked = flags.revoke_sdk_key(key_id)

    assert revoked.revoked_at == clock.now
    assert flags.sdk_keys() == [revoked]
    assert kinds(db, "sdk_key.") == ["sdk_key.created", "sdk_key.revoked"]


def test_an_sdk_key_for_an_unknown_environment_or_an_unknown_id_is_not_found(
    db: Database, flags: FlagService
) -> None:
    unknown_env = refused(db, lambda: flags.create_sdk_key("web", "prod"))
    unknown_id = refused(db, lambda: flags.revoke_sdk_key("0123456789ab"))

    assert isinstance(unknown_env, NotFound)
    assert unknown_env.hint == "use one of: production, staging"
    assert isinstance(unknown_id, NotFound)
    assert unknown_id.message == "no SDK key with id '0123456789ab'"


# -- replacing the whole definition -------------------------------------------------------------


def test_a_whole_definition_edit_asks_the_gate_for_each_production_environment_it_changes(
    db: Database, flags: FlagService, clock: Any
) -> None:
    flags.create(spec())
    flags.change("new-checkout", body("production", enabled=True))
    clock.now = DURING_THE_FREEZE
    before = rows(db)
    current = flags.get_flag("new-checkout").spec
    edited = current.model_copy(update={"description": "v2"})
    staging_only = edited.with_environment(
        "staging", edited.environment("staging").model_copy(update={"enabled": True})
    )

    outcome = flags.replace(staging_only, expected_version=2, comment="staging on, copy edits")

    assert outcome.flag.version == 3
    assert outcome.gate == "not asked: staging is not production-like"
    production_off = staging_only.with_environment(
        "production", staging_only.environment("production").model_copy(update={"enabled": False})
    )
    assert "remediation" in flags.replace(production_off, expected_version=3).gate
    swapped = staging_only.model_copy(update={"variants": {"on": False, "off": True}})
    with pytest.raises(Blocked, match="in production"):
        flags.replace(swapped, expected_version=4)  # swaps what production serves, in the freeze
    assert flags.get_flag("new-checkout").version == 4
    assert len(rows(db)["flag_versions"]) == len(before["flag_versions"]) + 2


@pytest.mark.usefixtures("governed")
def test_a_whole_definition_edit_needs_the_current_version_and_respects_approvals(
    flags: FlagService,
) -> None:
    flags.create(spec())

    with pytest.raises(Conflict, match="at version 1, not 7"):
        flags.replace(spec(description="stale"), expected_version=7)
    production_on = spec(environments={**CHECKOUT["environments"], "production": {"enabled": True}})
    with pytest.raises(Conflict, match="production needs approved change requests"):
        flags.replace(production_on, expected_version=1)
    assert flags.replace(spec(description="copy only"), expected_version=1).flag.version == 2


# -- dropping a scheduled change -----------------------------------------------------------------


def test_dropping_a_scheduled_turn_on_is_remediation_even_in_the_freeze(
    db: Database, flags: FlagService, clock: Any
) -> None:
    flags.create(spec())
    flags.schedule(
        "new-checkout",
        "production",
        ScheduledChange(at=END + timedelta(days=1), set=EnvPatch(enabled=True)),
    )
    flags.schedule(
        "new-checkout",
        "production",
        ScheduledChange(at=END + timedelta(days=2), set=EnvPatch(fallthrough={"variant": "off"})),  # type: ignore[arg-type]
    )
    clock.now = DURING_THE_FREEZE

    dropped = flags.unschedule("new-checkout", "production", 0, comment="launch postponed")

    assert dropped.gate == "not asked: dropping a scheduled turn-on is remediation, always allowed"
    remaining = dropped.flag.spec.environment("production").schedule
    assert [c.set.fallthrough is not None for c in remaining] == [True]
    (event,) = events(db, "flag.unscheduled")
    assert (event.environment, event.payload["comment"]) == ("production", "launch postponed")
    with pytest.raises(Blocked, match="in production"):
        flags.unschedule("new-checkout", "production", 0)


def test_dropping_a_scheduled_change_that_is_not_pending_names_the_pending_ones(
    db: Database, flags: FlagService
) -> None:
    _tied_to_launch(flags)
    before = rows(db)

    with pytest.raises(NotFound, match="no pending scheduled change 5 in staging") as missing:
        flags.unschedule("new-checkout", "staging", 5)

    assert missing.value.hint == "pending: 0, 1 ('launchdeck flags show new-checkout' numbers them)"
    assert rows(db) == before
