"""Change-request decisions, pure: who may approve, when a request is approved, closing it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from launchdeck.errors import Conflict
from launchdeck.flags.governance import approve, close, is_kill_switch, needs_request, unapproved
from launchdeck.flags.model import EnvPatch, GovernanceSpec
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
