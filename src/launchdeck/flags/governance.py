"""Change-request decisions: who may approve, when a request is approved, what closing it means.
Pure: the service reads the request and the policy, calls these, and stores what they return.

A request is a draft until it has the approvals its environment needs (`flag_governance`), from
people other than its author unless `self_approval` is set; each person approves once. Its
author closing it cancels it; anyone else closing it rejects it. Turning a flag off is never a
request: a kill switch is remediation.
"""

from __future__ import annotations

from datetime import datetime

from launchdeck.errors import Conflict
from launchdeck.flags.model import EnvConfig, EnvPatch, FlagSpec, GovernanceSpec, ScheduledChange
from launchdeck.flags.records import Approval, ChangeRequest, CrStatus

__all__ = [
    "approve",
    "close",
    "is_kill_switch",
    "needs_request",
    "only_turns_off",
    "touched_environments",
    "unapproved",
    "unscheduling_is_remediation",
]


def is_kill_switch(patch: EnvPatch) -> bool:
    """Turning a flag off and nothing else: remediation, which nothing may hold up."""
    return patch.enabled is False and patch.rules is None and patch.fallthrough is None


def only_turns_off(before: EnvConfig, after: EnvConfig) -> bool:
    """Whether `after` is `before` switched off and otherwise the same: a kill switch."""
    return (
        before.enabled
        and not after.enabled
        and before.model_copy(update={"enabled": False}) == after
    )


def unscheduling_is_remediation(change: ScheduledChange) -> bool:
    """Dropping a scheduled turn-on only keeps a flag off: remediation, like a kill switch."""
    return change.set.enabled is True


_SERVED = ("type", "variants", "off_variant", "prerequisites", "schema_", "system")
"""Fields whose change alters what every environment where the flag is on serves."""


def touched_environments(before: FlagSpec, after: FlagSpec) -> list[str]:
    """The environments whose behaviour `after` changes: their own configuration, or, where the
    flag is on, a field every environment serves from."""
    names = sorted(set(before.environments) | set(after.environments))
    shared = any(getattr(before, f) != getattr(after, f) for f in _SERVED)
    return [
        env
        for env in names
        if before.environment(env) != after.environment(env)
        or (shared and (before.environment(env).enabled or after.environment(env).enabled))
    ]


def needs_request(policy: GovernanceSpec, environment: str, patch: EnvPatch) -> bool:
    """Whether a change must go through a change request rather than apply directly."""
    return bool(policy.required(environment)) and not is_kill_switch(patch)


def approve(
    request: ChangeRequest,
    *,
    actor: str,
    at: datetime,
    policy: GovernanceSpec,
    comment: str | None = None,
) -> ChangeRequest:
    """`request` with `actor`'s approval, approved once it has enough; Conflict if `actor` may
    not approve it (its author, without self-approval) or already did."""
    if request.author == actor and not policy.self_approval:
        raise Conflict(
            f"{actor} wrote change request {request.id} and cannot approve it",
            hint="another person approves it (flag_governance.self_approval is false)",
        )
    if any(a.actor == actor for a in request.approvals):
        raise Conflict(f"{actor} already approved {request.id}")
    approvals = (*request.approvals, Approval(actor=actor, at=at, comment=comment))
    enough = len(approvals) >= policy.required(request.environment)
    return request.model_copy(
        update={"approvals": approvals, "status": CrStatus.APPROVED if enough else CrStatus.DRAFT}
    )


def close(request: ChangeRequest, *, actor: str, at: datetime) -> ChangeRequest:
    """`request` cancelled by its author, or rejected by anyone else."""
    status = CrStatus.CANCELLED if request.author == actor else CrStatus.REJECTED
    return request.model_copy(update={"status": status, "decided_at": at, "decided_by": actor})


def unapproved(request: ChangeRequest, policy: GovernanceSpec) -> Conflict | None:
    """Why `request` cannot be applied yet, or None when it has its approvals."""
    required = policy.required(request.environment)
    if len(request.approvals) >= required:
        return None
    return Conflict(
        f"change request {request.id} has {len(request.approvals)} of {required} approvals",
        hint=f"'launchdeck flags approve {request.id}' by another person",
    )
