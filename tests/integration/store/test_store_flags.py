"""The flag store, SQLite and PostgreSQL: flags versioned whole with their history, archive and
restore, the optimistic locks (nothing is written by a refused write), the flags revision,
segments, change requests, SDK keys, the governance policy, campaign edges, and flag history
that the database itself keeps append-only."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from store_builders import snapshot

from launchdeck.errors import Conflict, LaunchdeckError, NotFound
from launchdeck.flags.model import EnvPatch, FlagSpec, GovernanceSpec, SegmentSpec
from launchdeck.flags.records import (
    Approval,
    ChangeRequest,
    CrStatus,
    FlagVersion,
    ManagedBy,
    SdkKeyInfo,
    StoredFlag,
    StoredSegment,
    VersionAction,
)
from launchdeck.store import Database, SqlStateStore
from launchdeck.store.flags import SqlFlagStore
from launchdeck.store.tables import WorkspaceRow
from launchdeck.workspace.model import ResourceKind
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

R = TypeVar("R")

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
T2 = T0 + timedelta(hours=2)
T3 = T0 + timedelta(hours=3)

CHECKOUT: dict[str, Any] = {
    "key": "new-checkout",
    "name": "New checkout",
    "description": "The one-page checkout",
    "owner": "payments",
    "tags": ["checkout", "q4"],
    "lifetime": "30d",
    "environments": {
        "production": {
            "enabled": True,
            "rules": [
                {
                    "name": "staff",
                    "when": {
                        "attribute": "email",
                        "op": "ends_with",
                        "values": ["@northwind.example"],
                    },
                    "serve": {"variant": "on"},
                },
                {
                    "when": {
                        "all": [
                            {"op": "in_segment", "values": ["beta"]},
                            {"not": {"attribute": "country", "op": "in", "values": ["DE"]}},
                        ]
                    },
                    "serve": {"rollout": {"coverage": "12.345%", "weights": {"on": 50, "off": 50}}},
                },
            ],
            "fallthrough": {"variant": "off"},
            "schedule": [
                {
                    "campaign": "black-friday",
                    "offset": -900,
                    "set": {"enabled": False},
                    "note": "freeze the checkout for Black Friday",
                },
                {"at": "2026-12-01T09:00:00Z", "set": {"fallthrough": {"variant": "on"}}},
            ],
        },
        "staging": {"enabled": True, "fallthrough": {"variant": "on"}},
    },
}
BANNER: dict[str, Any] = {
    "key": "banner",
    "type": "object",
    "variants": {"plain": {"text": "Sale"}, "loud": {"text": "SALE!"}},
    "off_variant": "plain",
    "schema": {"type": "object", "required": ["text"]},
}


def flag(data: dict[str, Any], **changes: Any) -> FlagSpec:
    return FlagSpec.model_validate({**data, **changes})


def write(db: Database, action: Callable[[SqlFlagStore], R]) -> R:
    """`action` in one unit of work that commits."""
    with db.unit_of_work() as uow:
        result = action(SqlFlagStore(uow.session))
        uow.commit()
    return result


def read(db: Database, action: Callable[[SqlFlagStore], R]) -> R:
    with db.read() as session:
        return action(SqlFlagStore(session))


def refused(db: Database, action: Callable[[SqlFlagStore], object]) -> LaunchdeckError:
    """The error `action` raises; like a service, the unit of work then leaves without a commit.
    Every row of every table must be as it was."""
    before = snapshot(db)
    with db.unit_of_work() as uow, pytest.raises(LaunchdeckError) as caught:
        action(SqlFlagStore(uow.session))
    assert snapshot(db) == before
    return caught.value


def create(db: Database, spec: FlagSpec, *, at: datetime = T0) -> StoredFlag:
    return write(
        db,
        lambda store: store.put(
            spec,
            expected_version=None,
            actor="alice",
            now=at,
            managed_by=ManagedBy.API,
            comment="first cut",
            action=VersionAction.CREATED,
        ),
    )


def change(
    db: Database,
    spec: FlagSpec,
    version: int,
    *,
    at: datetime = T1,
    action: VersionAction = VersionAction.CHANGED,
    comment: str | None = None,
) -> StoredFlag:
    return write(
        db,
        lambda store: store.put(
            spec,
            expected_version=version,
            actor="bob",
            now=at,
            managed_by=ManagedBy.API,
            comment=comment,
            action=action,
        ),
    )


def archive(db: Database, key: str, version: int, *, at: datetime = T2) -> StoredFlag:
    return write(
        db,
        lambda store: store.archive(
            key, expected_version=version, actor="carol", now=at, comment="launched"
        ),
    )


def history(db: Database, key: str) -> list[tuple[int, VersionAction, str, datetime]]:
    return [(v.version, v.action, v.actor, v.at) for v in read(db, lambda s: s.versions(key))]


# -- flags -----------------------------------------------------------------------------------


def test_a_created_flag_reads_back_whole_at_version_1_with_its_first_history_entry(
    db: Database,
) -> None:
    spec = flag(CHECKOUT)

    created = create(db, spec)

    stored = read(db, lambda s: s.get("new-checkout"))
    (first,) = read(db, lambda s: s.versions("new-checkout"))
    assert stored == created
    assert stored == StoredFlag(
        spec=spec,
        version=1,
        managed_by=ManagedBy.API,
        created_at=T0,
        created_by="alice",
        updated_at=T0,
        updated_by="alice",
        archived_at=None,
    )
    assert first == FlagVersion(
        key="new-checkout",
        version=1,
        action=VersionAction.CREATED,
        definition=spec.document(),
        actor="alice",
        at=T0,
        comment="first cut",
    )
    assert FlagSpec.model_validate(first.definition) == spec


def test_flags_list_by_key_and_an_unknown_flag_is_none(db: Database) -> None:
    create(db, flag(CHECKOUT))
    create(db, flag(BANNER))

    listed = read(db, lambda s: s.list())
    unknown = read(db, lambda s: s.get("nope"))

    assert [(f.key, f.spec.type) for f in listed] == [
        ("banner", "object"),
        ("new-checkout", "boolean"),
    ]
    assert listed[0].spec == flag(BANNER)
    assert unknown is None
    assert read(db, lambda s: s.versions("nope")) == []


def test_an_update_at_the_current_version_is_the_next_version_and_keeps_who_created_it(
    db: Database,
) -> None:
    create(db, flag(CHECKOUT))
    renamed = flag(CHECKOUT, name="One-page checkout")

    second = change(db, renamed, 1, comment="rename")
    third = change(db, flag(CHECKOUT, tags=["checkout"]), 2, at=T2)

    assert (second.version, second.spec.name) == (2, "One-page checkout")
    assert (third.created_at, third.created_by, third.updated_at, third.updated_by) == (
        T0,
        "alice",
        T2,
        "bob",
    )
    assert read(db, lambda s: s.get("new-checkout")) == third
    assert history(db, "new-checkout") == [
        (1, VersionAction.CREATED, "alice", T0),
        (2, VersionAction.CHANGED, "bob", T1),
        (3, VersionAction.CHANGED, "bob", T2),
    ]
    older = read(db, lambda s: s.version("new-checkout", 2))
    assert older is not None
    assert (older.comment, older.definition) == ("rename", renamed.document())
    assert read(db, lambda s: s.version("new-checkout", 4)) is None


def test_an_update_from_a_stale_version_is_a_conflict_and_writes_nothing(db: Database) -> None:
    create(db, flag(CHECKOUT))
    change(db, flag(CHECKOUT, name="Theirs"), 1)

    error = refused(
        db,
        lambda store: store.put(
            flag(CHECKOUT, name="Mine"),
            expected_version=1,
            actor="dave",
            now=T2,
            managed_by=ManagedBy.API,
            comment=None,
            action=VersionAction.CHANGED,
        ),
    )

    stored = read(db, lambda s: s.get("new-checkout"))
    assert isinstance(error, Conflict)
    assert error.message == (
        "flag 'new-checkout' changed since version 1 was read (it is at version 2 now)"
    )
    assert error.hint is not None
    assert "read it again" in error.hint
    assert stored is not None
    assert (stored.version, stored.spec.name) == (2, "Theirs")
    assert [v for v, *_ in history(db, "new-checkout")] == [1, 2]
    assert read(db, lambda s: s.revision()) == 2


def test_an_update_of_a_flag_that_does_not_exist_is_not_found(db: Database) -> None:
    error = refused(
        db,
        lambda store: store.put(
            flag(CHECKOUT),
            expected_version=3,
            actor="dave",
            now=T0,
            managed_by=ManagedBy.API,
            comment=None,
            action=VersionAction.CHANGED,
        ),
    )

    assert isinstance(error, NotFound)
    assert error.message == "no flag 'new-checkout'"


@pytest.mark.parametrize("expected_version", [None, 0], ids=["none", "zero"])
def test_creating_a_flag_whose_key_exists_is_a_conflict_and_writes_nothing(
    db: Database, expected_version: int | None
) -> None:
    create(db, flag(CHECKOUT))

    error = refused(
        db,
        lambda store: store.put(
            flag(CHECKOUT, name="Another"),
            expected_version=expected_version,
            actor="dave",
            now=T1,
            managed_by=ManagedBy.GIT,
            comment=None,
            action=VersionAction.CREATED,
        ),
    )

    assert isinstance(error, Conflict)
    assert error.message == "flag 'new-checkout' already exists"
    assert history(db, "new-checkout") == [(1, VersionAction.CREATED, "alice", T0)]


def test_an_archived_flag_leaves_reads_keeps_its_key_and_comes_back_only_on_restore(
    db: Database,
) -> None:
    create(db, flag(CHECKOUT))
    create(db, flag(BANNER))

    archived = archive(db, "new-checkout", 1)
    hidden = read(db, lambda s: (s.get("new-checkout"), [f.key for f in s.list()]))
    shown = read(db, lambda s: [f.key for f in s.list(include_archived=True)])
    duplicate = refused(
        db,
        lambda store: store.put(
            flag(CHECKOUT),
            expected_version=None,
            actor="dave",
            now=T3,
            managed_by=ManagedBy.API,
            comment=None,
            action=VersionAction.CREATED,
        ),
    )
    edited = change(db, flag(CHECKOUT, name="Edited while archived"), 2, at=T3)
    restored = change(db, flag(CHECKOUT), 3, at=T3, action=VersionAction.RESTORED)

    assert (archived.version, archived.archived_at, archived.updated_by) == (2, T2, "carol")
    assert archived.spec == flag(CHECKOUT)
    assert hidden == (None, ["banner"])
    assert shown == ["banner", "new-checkout"]
    assert isinstance(duplicate, Conflict)
    assert (edited.version, edited.archived_at) == (3, T2)
    assert (restored.version, restored.archived_at) == (4, None)
    assert read(db, lambda s: s.get("new-checkout")) == restored
    assert history(db, "new-checkout") == [
        (1, VersionAction.CREATED, "alice", T0),
        (2, VersionAction.ARCHIVED, "carol", T2),
        (3, VersionAction.CHANGED, "bob", T3),
        (4, VersionAction.RESTORED, "bob", T3),
    ]
    archived_entry = read(db, lambda s: s.version("new-checkout", 2))
    assert archived_entry is not None
    assert (archived_entry.definition, archived_entry.comment) == (
        flag(CHECKOUT).document(),
        "launched",
    )


def test_archiving_refuses_an_archived_flag_a_stale_version_and_an_unknown_flag(
    db: Database,
) -> None:
    create(db, flag(CHECKOUT))
    create(db, flag(BANNER))
    change(db, flag(BANNER, off_variant="loud"), 1)
    archive(db, "new-checkout", 1)

    def archiving(key: str, version: int) -> Callable[[SqlFlagStore], object]:
        return lambda store: store.archive(
            key, expected_version=version, actor="dave", now=T3, comment=None
        )

    again = refused(db, archiving("new-checkout", 2))
    stale = refused(db, archiving("banner", 1))
    unknown = refused(db, archiving("nope", 1))

    assert isinstance(again, Conflict)
    assert again.message == (
        "flag 'new-checkout' is already archived (since 2026-11-02T11:00:00+00:00)"
    )
    assert isinstance(stale, Conflict)
    assert (
        stale.message == "flag 'banner' changed since version 1 was read (it is at version 2 now)"
    )
    assert isinstance(unknown, NotFound)


def test_putting_an_archived_action_is_refused_as_a_programming_error(db: Database) -> None:
    with db.unit_of_work() as uow, pytest.raises(ValueError, match="archive"):
        SqlFlagStore(uow.session).put(
            flag(CHECKOUT),
            expected_version=None,
            actor="alice",
            now=T0,
            managed_by=ManagedBy.API,
            comment=None,
            action=VersionAction.ARCHIVED,
        )


def test_simultaneous_creates_of_one_key_make_one_flag_and_conflicts_for_the_rest(
    db: Database,
) -> None:
    start = Barrier(4)

    def attempt(n: int) -> str:
        start.wait()
        try:
            create(db, flag(CHECKOUT, name=f"writer {n}"))
        except Conflict as exc:
            return exc.message
        return "created"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(attempt, range(4)))

    assert sorted(outcomes) == ["created"] + ["flag 'new-checkout' already exists"] * 3
    assert [v for v, *_ in history(db, "new-checkout")] == [1]
    assert read(db, lambda s: s.revision()) == 1


def test_simultaneous_updates_from_one_version_let_exactly_one_through(db: Database) -> None:
    create(db, flag(CHECKOUT))
    start = Barrier(4)

    def attempt(n: int) -> str:
        start.wait()
        try:
            change(db, flag(CHECKOUT, name=f"writer {n}"), 1)
        except Conflict:
            return "conflict"
        return f"writer {n}"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(attempt, range(4)))

    winners = [o for o in outcomes if o != "conflict"]
    stored = read(db, lambda s: s.get("new-checkout"))
    assert len(winners) == 1
    assert stored is not None
    assert (stored.version, stored.spec.name) == (2, winners[0])
    assert [v for v, *_ in history(db, "new-checkout")] == [1, 2]
    assert read(db, lambda s: s.revision()) == 2


# -- the flags revision ----------------------------------------------------------------------


def test_every_flag_and_segment_write_adds_one_to_the_revision_and_nothing_else_does(
    db: Database,
) -> None:
    seen = [read(db, lambda s: s.revision())]

    def then(action: Callable[[SqlFlagStore], object]) -> None:
        write(db, action)
        seen.append(read(db, lambda s: s.revision()))

    create(db, flag(CHECKOUT))
    seen.append(read(db, lambda s: s.revision()))
    change(db, flag(CHECKOUT, name="x"), 1)
    seen.append(read(db, lambda s: s.revision()))
    archive(db, "new-checkout", 2)
    seen.append(read(db, lambda s: s.revision()))
    then(lambda s: s.put_segment(beta(), expected_version=None, **BY_ALICE))
    then(lambda s: s.put_segment(beta(("u-9",)), expected_version=1, **BY_ALICE))
    then(lambda s: s.delete_segment("beta", expected_version=2))
    then(lambda s: s.add_change_request(request()))
    then(lambda s: s.add_sdk_key(sdk_key_info(), "0" * 64))
    then(lambda s: s.set_governance(GovernanceSpec(approvals={"production": 1})))
    bumped = write(db, lambda s: s.bump_revision())

    assert seen == [0, 1, 2, 3, 4, 5, 6, 6, 6, 6]
    assert bumped == 7


def test_a_workspace_row_the_session_already_loaded_sees_the_new_revision_and_governance(
    db: Database,
) -> None:
    policy = GovernanceSpec(approvals={"production": 1})
    with db.unit_of_work() as uow:
        loaded = uow.session.get(WorkspaceRow, 1)
        assert loaded is not None
        store = SqlFlagStore(uow.session)

        bumped = store.bump_revision()
        store.set_governance(policy)

        assert (loaded.flags_revision, loaded.flag_governance) == (bumped, policy.model_dump())
        uow.commit()
    assert read(db, lambda s: (s.revision(), s.governance())) == (1, policy)


# -- segments --------------------------------------------------------------------------------

BY_ALICE: dict[str, Any] = {"actor": "alice", "now": T0, "managed_by": ManagedBy.API}


def beta(included: tuple[str, ...] = ("u-1", "u-2")) -> SegmentSpec:
    return SegmentSpec.model_validate(
        {
            "key": "beta",
            "name": "Beta testers",
            "included": list(included),
            "excluded": ["u-666"],
            "rules": [{"attribute": "plan", "op": "in", "values": ["enterprise"]}],
        }
    )


def test_segments_are_created_read_listed_replaced_and_deleted(db: Database) -> None:
    vip = SegmentSpec(key="vip", included=("u-7",))

    created = write(db, lambda s: s.put_segment(beta(), expected_version=None, **BY_ALICE))
    write(db, lambda s: s.put_segment(vip, expected_version=0, **BY_ALICE))
    replaced = write(
        db,
        lambda s: s.put_segment(
            beta(("u-3",)), expected_version=1, actor="bob", now=T1, managed_by=ManagedBy.GIT
        ),
    )
    listed = read(db, lambda s: [(g.key, g.version) for g in s.list_segments()])
    stored = read(db, lambda s: s.get_segment("beta"))
    write(db, lambda s: s.delete_segment("vip", expected_version=1))

    assert created == StoredSegment(
        spec=beta(), version=1, managed_by=ManagedBy.API, updated_at=T0, updated_by="alice"
    )
    assert replaced == StoredSegment(
        spec=beta(("u-3",)), version=2, managed_by=ManagedBy.GIT, updated_at=T1, updated_by="bob"
    )
    assert stored == replaced
    assert listed == [("beta", 2), ("vip", 1)]
    assert read(db, lambda s: (s.get_segment("vip"), s.list_segments())) == (None, [replaced])


def test_segment_writes_refuse_a_taken_key_a_stale_version_and_an_unknown_segment(
    db: Database,
) -> None:
    write(db, lambda s: s.put_segment(beta(), expected_version=None, **BY_ALICE))
    write(db, lambda s: s.put_segment(beta(("u-3",)), expected_version=1, **BY_ALICE))

    taken = refused(db, lambda s: s.put_segment(beta(), expected_version=None, **BY_ALICE))
    stale = refused(db, lambda s: s.put_segment(beta(), expected_version=1, **BY_ALICE))
    stale_delete = refused(db, lambda s: s.delete_segment("beta", expected_version=1))
    unknown = refused(db, lambda s: s.delete_segment("gamma", expected_version=1))
    unknown_put = refused(
        db,
        lambda s: s.put_segment(
            SegmentSpec(key="gamma", included=("x",)), expected_version=4, **BY_ALICE
        ),
    )

    assert isinstance(taken, Conflict)
    assert taken.message == "segment 'beta' already exists"
    for error in (stale, stale_delete):
        assert isinstance(error, Conflict)
        assert error.message == (
            "segment 'beta' changed since version 1 was read (it is at version 2 now)"
        )
    assert isinstance(unknown, NotFound)
    assert isinstance(unknown_put, NotFound)
    assert unknown.message == unknown_put.message == "no segment 'gamma'"


# -- change requests -------------------------------------------------------------------------


def request(
    cr_id: str = "cr-1", *, flag_key: str = "new-checkout", at: datetime = T0, **fields: Any
) -> ChangeRequest:
    patch = EnvPatch.model_validate(
        {
            "enabled": True,
            "rules": CHECKOUT["environments"]["production"]["rules"],
            "fallthrough": {"rollout": {"coverage": 25, "weights": {"on": 100}}},
        }
    )
    return ChangeRequest.model_validate(
        {
            "id": cr_id,
            "flag_key": flag_key,
            "environment": "production",
            "base_version": 3,
            "patch": patch,
            "status": CrStatus.DRAFT,
            "author": "alice",
            "created_at": at,
            "comment": "turn it on for a quarter",
            **fields,
        }
    )


def test_a_change_request_reads_back_whole_and_lists_newest_first_by_flag_and_status(
    db: Database,
) -> None:
    decided = request(
        "cr-2",
        at=T1,
        status=CrStatus.APPLIED,
        approvals=(Approval(actor="bob", at=T1, comment="ok"), Approval(actor="carol", at=T2)),
        apply_at=T3,
        decided_at=T2,
        decided_by="carol",
        applied_version=4,
    )
    write(db, lambda s: s.add_change_request(request()))
    write(db, lambda s: s.add_change_request(decided))
    write(db, lambda s: s.add_change_request(request("cr-3", flag_key="banner", at=T2)))

    def ids(**filters: Any) -> Callable[[SqlFlagStore], list[str]]:
        return lambda s: [cr.id for cr in s.list_change_requests(**filters)]

    assert read(db, lambda s: s.get_change_request("cr-2")) == decided
    assert read(db, lambda s: s.get_change_request("cr-1")) == request()
    assert read(db, lambda s: s.get_change_request("cr-9")) is None
    assert read(db, ids()) == ["cr-3", "cr-2", "cr-1"]
    assert read(db, ids(flag_key="new-checkout")) == ["cr-2", "cr-1"]
    assert read(db, ids(statuses=[CrStatus.DRAFT, CrStatus.APPROVED])) == ["cr-3", "cr-1"]
    assert read(db, ids(flag_key="new-checkout", statuses=[CrStatus.DRAFT])) == ["cr-1"]
    assert read(db, ids(statuses=[])) == []


def test_saving_a_change_request_moves_its_version_and_a_stale_save_is_a_conflict(
    db: Database,
) -> None:
    write(db, lambda s: s.add_change_request(request()))
    approved = request(
        status=CrStatus.APPROVED, approvals=(Approval(actor="bob", at=T1),), version=1
    )

    saved = write(db, lambda s: s.save_change_request(approved, expected_version=1))
    stale = refused(
        db,
        lambda s: s.save_change_request(request(status=CrStatus.CANCELLED), expected_version=1),
    )
    unknown = refused(db, lambda s: s.save_change_request(request("cr-9"), expected_version=1))

    assert saved == approved.model_copy(update={"version": 2})
    assert read(db, lambda s: s.get_change_request("cr-1")) == saved
    assert isinstance(stale, Conflict)
    assert stale.message == (
        "change request 'cr-1' changed since version 1 was read (it is at version 2 now)"
    )
    assert isinstance(unknown, NotFound)


# -- SDK keys --------------------------------------------------------------------------------


def sdk_key_info(key_id: str = "0123456789abcdef", *, at: datetime = T0) -> SdkKeyInfo:
    return SdkKeyInfo(
        id=key_id, name="web", environment="production", created_at=at, created_by="alice"
    )


def test_sdk_keys_are_found_with_their_hash_listed_oldest_first_and_revoked_once(
    db: Database,
) -> None:
    later = sdk_key_info("fedcba9876543210", at=T1)
    write(db, lambda s: s.add_sdk_key(later, "b" * 64))
    write(db, lambda s: s.add_sdk_key(sdk_key_info(), "a" * 64))

    found = read(db, lambda s: s.sdk_key("0123456789abcdef"))
    revoked = write(db, lambda s: s.revoke_sdk_key("0123456789abcdef", T2))
    again = write(db, lambda s: s.revoke_sdk_key("0123456789abcdef", T3))
    unknown = refused(db, lambda s: s.revoke_sdk_key("nope", T3))

    assert found == (sdk_key_info(), "a" * 64)
    assert read(db, lambda s: s.sdk_key("nope")) is None
    assert revoked == again == sdk_key_info().model_copy(update={"revoked_at": T2})
    assert read(db, lambda s: s.list_sdk_keys()) == [revoked, later]
    assert isinstance(unknown, NotFound)
    assert unknown.message == "no SDK key with id 'nope'"


# -- governance and campaigns ----------------------------------------------------------------


def test_governance_reads_as_the_defaults_until_one_is_set(db: Database) -> None:
    policy = GovernanceSpec(approvals={"production": 2, "staging": 0}, self_approval=True)

    default = read(db, lambda s: s.governance())
    write(db, lambda s: s.set_governance(policy))

    assert default == GovernanceSpec()
    assert default.required("production") == 0
    assert read(db, lambda s: s.governance()) == policy


def test_campaign_edges_are_every_stored_campaigns_start_and_end(
    db: Database, service: WorkspaceService, example_spec: WorkspaceSpec
) -> None:
    empty = read(db, lambda s: s.campaign_edges())
    service.apply(example_spec)

    edges = read(db, lambda s: s.campaign_edges())

    with db.read() as session:
        campaigns = SqlStateStore(session).list(ResourceKind.CAMPAIGN)
    assert empty == {}
    assert len(campaigns) >= 5
    assert edges == {c.id: (c.starts_at, c.ends_at) for c in campaigns}
    assert edges["black-friday"] == (
        datetime(2026, 11, 27, 5, tzinfo=UTC),
        datetime(2026, 11, 29, 4, 59, tzinfo=UTC),
    )


# -- append-only history ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE flag_versions SET actor = 'mallory'", "DELETE FROM flag_versions"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_flag_history(
    db: Database, statement: str
) -> None:
    create(db, flag(CHECKOUT))

    with (
        pytest.raises(DBAPIError, match="flag history is append-only"),
        db.engine.begin() as connection,
    ):
        connection.execute(text(statement))

    assert history(db, "new-checkout") == [(1, VersionAction.CREATED, "alice", T0)]
