"""The error-budget policy, as code, and the gate's error_budget check it decides. Pure.

A policy is a list of thresholds on the budget left. Crossing one can require an approval for
some change types (an admin's time-boxed gate override is the approval, on the timeline with
its reason) or allow only some change types until the SLO is back within its objective.
The default, after the SRE Workbook's example policy:

- below 25 % left: `feature` changes need an approval;
- exhausted: only `rollback`, `hotfix` and `reliability` changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from launchdeck.calendar.model import ChangeType
from launchdeck.gate.model import CheckOutcome, CheckResult, Override
from launchdeck.reliability.spec import ErrorBudgetPolicy

__all__ = [
    "POSTMORTEM_BUDGET_SHARE",
    "Approval",
    "ObjectiveState",
    "evaluate_policy",
    "requires_postmortem",
]

CHECK = "error_budget"


@dataclass(frozen=True, slots=True)
class Approval:
    """What approves a policy block: an admin's gate override, as the verdict names it."""

    id: str
    description: str

    @classmethod
    def of(cls, override: Override) -> Approval:
        return cls(
            override.id,
            f"{override.created_by}'s override until {override.ends_at:%Y-%m-%d %H:%M UTC} "
            f"({override.reason})",
        )


@dataclass(frozen=True, slots=True)
class ObjectiveState:
    """One SLO objective's budget as the gate sees it."""

    slo: str
    objective: str
    target: float
    remaining: float | None
    """None when the SLI has no data for the period."""
    burn_rate: float | None
    """The current burn (the last hour)."""
    protected_by: str | None = None
    """The campaign whose stricter objective is in force, if any."""
    error: str | None = None
    """Why the budget could not be read (the SLI source was unreachable …)."""


def _describe(state: ObjectiveState) -> str:
    if state.remaining is None:
        left = "no SLI data"
    elif state.remaining <= 0:
        left = f"spent its error budget ({state.remaining * 100:.1f}% left)"
    else:
        left = f"{state.remaining * 100:.1f}% of its error budget left"
    burn = f", burning {state.burn_rate:.1f}x" if state.burn_rate is not None else ""
    target = f"objective {state.target * 100:.4g}%"
    if state.protected_by:
        target += f" during {state.protected_by}"
    return f"{state.slo} ({state.objective}) has {left}{burn} ({target})"


def _facts(state: ObjectiveState) -> dict[str, float | int | str | None]:
    return {
        "slo": state.slo,
        "objective": state.objective,
        "target": state.target,
        "remaining": state.remaining,
        "burn_rate": state.burn_rate,
        "protected_by": state.protected_by,
    }


def evaluate_policy(
    policy: ErrorBudgetPolicy,
    states: Sequence[ObjectiveState],
    change_type: ChangeType,
    *,
    system: str,
    environment: str = "production",
    production_like: bool = True,
    approval: Approval | None = None,
) -> CheckResult:
    """The error_budget check for a `change_type` change to `system` with these SLO states.

    Budgets are production's: outside a production-like environment the check passes. The
    objective with the least budget left decides. `approval` (an active gate override for the
    system) turns a policy block into a warning that names it, with its id in the facts.
    """
    if not production_like:
        return CheckResult(
            check=CHECK,
            outcome=CheckOutcome.PASS,
            summary=f"error budgets are production's; {environment} is not production-like",
        )
    if not states:
        return CheckResult(check=CHECK, outcome=CheckOutcome.PASS, summary=f"no SLO on {system}")
    known = [s for s in states if s.remaining is not None]
    if not known:
        why = next((s.error for s in states if s.error), "no SLI data for the period")
        return CheckResult(
            check=CHECK,
            outcome=CheckOutcome.UNKNOWN,
            summary=f"unknown: {why}",
            facts={"slos": len(states)},
        )
    worst = min(known, key=lambda s: (s.remaining, s.slo, s.objective))
    assert worst.remaining is not None
    facts = _facts(worst)
    crossed = [t for t in policy.thresholds if t.applies(worst.remaining)]
    for threshold in sorted(crossed, key=lambda t: t.remaining_below):
        blocked_only = threshold.allow_only is not None and change_type not in threshold.allow_only
        needs_approval = change_type in threshold.require_approval
        if not (blocked_only or needs_approval):
            continue
        if blocked_only:
            allowed = ", ".join(str(c) for c in threshold.allow_only or ()) or "nothing"
            rule = f"only {allowed} changes are allowed until it is back within objective"
        else:
            rule = f"{change_type} changes need an approval (an admin's gate override)"
        summary = f"{_describe(worst)}; {rule}"
        if approval is not None:
            return CheckResult(
                check=CHECK,
                outcome=CheckOutcome.WARN,
                summary=f"approved by {approval.description}: {summary}",
                facts={
                    **facts,
                    "policy_below": threshold.remaining_below,
                    "override": approval.id,
                },
            )
        return CheckResult(
            check=CHECK,
            outcome=CheckOutcome.BLOCK,
            summary=summary,
            facts={**facts, "policy_below": threshold.remaining_below},
        )
    if crossed:
        return CheckResult(
            check=CHECK,
            outcome=CheckOutcome.WARN,
            summary=f"{_describe(worst)}; {change_type} changes are still allowed",
            facts=facts,
        )
    unread = [s.slo for s in states if s.remaining is None]
    suffix = f" ({len(unread)} SLO without data: {', '.join(unread)})" if unread else ""
    return CheckResult(
        check=CHECK,
        outcome=CheckOutcome.PASS if not unread else CheckOutcome.UNKNOWN,
        summary=_describe(worst) + suffix,
        facts=facts,
    )


POSTMORTEM_BUDGET_SHARE = 0.20
"""An incident that spends more than this share of a four-week budget needs a postmortem."""
FOUR_WEEKS = timedelta(days=28)


def requires_postmortem(bad_during_incident: float, allowed_four_weeks: float) -> bool:
    """True when the incident spent more than 20 % of a four-week error budget."""
    if allowed_four_weeks <= 0:
        return bad_during_incident > 0
    return bad_during_incident / allowed_four_weeks > POSTMORTEM_BUDGET_SHARE
