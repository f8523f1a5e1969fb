"""Change-request decisions, pure: who may approve, when a request is approved, closing it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from launchdeck.errors import Conflict
from launchdeck.flags.governance import (
    approve,
    close,
    is_kill_switch,
    needs_request,
    only_turns_off,
    touched_environments,
    unapproved,
    unscheduling_is_remediation,
)
from launchdeck.flags.model import EnvConfig, EnvPatch, FlagSpec, GovernanceSpec, ScheduledChange
from launchdeck.flags.records import ChangeRequest, CrStatus

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)
TWO = GovernanceSpec(approvals={"production": 2})


def request(**fields: object) -> ChangeRequest:
    base: dict[str, object] = {
        "id": "cr-1",
        "flag_key": "new-checkout",
        "environment": "production",
        "base_version": 3,
        "patch": EnvPatch(enabled=True),
        "status": CrStatus.DRAFT,
        "author": "alice",
        "created_at": AT,
    }
    return ChangeRequest.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("patch", "kill"),
    [
        (EnvPatch(enabled=False), True),
        (EnvPatch(enabled=True), False),
        (EnvPatch(enabled=False, rules=()), False),
        (EnvPatch(fallthrough={"variant": "off"}), False),  # type: ignore[arg-type]
    ],
)
def test_only_turning_a_flag_off_and_nothing_else_is_a_kill_switch(
    patch: EnvPatch, kill: bool
) -> None:
    assert is_kill_switch(patch) is kill
    assert needs_request(TWO, "production", patch) is not kill
    assert needs_request(TWO, "staging", patch) is False


def test_a_request_is_approved_once_it_has_the_approvals_its_environment_needs() -> None:
    first = approve(request(), actor="bob", at=AT, policy=TWO, comment="looks right")

    assert first.status is CrStatus.DRAFT
    assert [(a.actor, a.comment) for a in first.approvals] == [("bob", "looks right")]
    assert isinstance(unapproved(first, TWO), Conflict)
    assert "1 of 2 approvals" in str(unapproved(first, TWO))

    second = approve(first, actor="carol", at=AT, policy=TWO)

    assert second.status is CrStatus.APPROVED
    assert unapproved(second, TWO) is None


def test_the_author_cannot_approve_unless_self_approval_is_on_and_nobody_approves_twice() -> None:
    with pytest.raises(Conflict, match="alice wrote change request cr-1 and cannot approve it"):
        approve(request(), actor="alice", at=AT, policy=TWO)
    mine = approve(
        request(), actor="alice", at=AT, policy=TWO.model_copy(update={"self_approval": True})
    )
    assert [a.actor for a in mine.approvals] == ["alice"]

    once = approve(request(), actor="bob", at=AT, policy=TWO)
    with pytest.raises(Conflict, match="bob already approved cr-1"):
        approve(once, actor="bob", at=AT, policy=TWO)


def test_closing_is_a_cancel_by_the_author_and_a_rejection_by_anyone_else() -> None:
    assert close(request(), actor="alice", at=AT).status is CrStatus.CANCELLED
    rejected = close(request(), actor="bob", at=AT)
    assert (rejected.status, rejected.decided_by, rejected.decided_at) == (
        CrStatus.REJECTED,
        "bob",
        AT,
    )


def flag(**fields: object) -> FlagSpec:
    base: dict[str, object] = {
        "key": "new-checkout",
        "environments": {
            "staging": {"enabled": True, "fallthrough": {"variant": "on"}},
            "production": {"enabled": False, "fallthrough": {"variant": "on"}},
        },
    }
    return FlagSpec.model_validate({**base, **fields})


def test_an_edit_touches_the_environments_it_changes_and_where_shared_fields_are_served() -> None:
    before = flag()

    assert touched_environments(before, flag(description="copy only")) == []
    swapped = flag(variants={"on": False, "off": True})
    assert touched_environments(before, swapped) == ["staging"]  # on there, off in production
    production_on = before.with_environment(
        "production", before.environment("production").model_copy(update={"enabled": True})
    )
    assert touched_environments(before, production_on) == ["production"]


def test_only_switching_an_environment_off_is_a_kill_switch() -> None:
    on = EnvConfig(enabled=True, fallthrough={"variant": "on"})  # type: ignore[arg-type]

    assert only_turns_off(on, on.model_copy(update={"enabled": False})) is True
    assert only_turns_off(on, EnvConfig(enabled=False)) is False  # the fallthrough changed too
    assert only_turns_off(EnvConfig(enabled=False), EnvConfig(enabled=False)) is False


def test_dropping_a_scheduled_turn_on_is_remediation_and_nothing_else_is() -> None:
    def change(**patch: object) -> ScheduledChange:
        return ScheduledChange(at=AT, set=EnvPatch.model_validate(patch))

    assert unscheduling_is_remediation(change(enabled=True)) is True
    assert unscheduling_is_remediation(change(enabled=False)) is False
    assert unscheduling_is_remediation(change(fallthrough={"variant": "on"})) is False
