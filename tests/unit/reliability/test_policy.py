"""The error-budget policy and the gate's error_budget check; the `reliability:` spec it reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from launchdeck.calendar.model import ChangeType
from launchdeck.gate.model import CheckOutcome, CheckResult
from launchdeck.reliability.burn import DEFAULT_TIERS
from launchdeck.reliability.policy import (
    Approval,
    ObjectiveState,
    evaluate_policy,
    requires_postmortem,
)
from launchdeck.reliability.spec import (
    DEFAULT_THRESHOLDS,
    AlertingSpec,
    AlertTierSpec,
    ErrorBudgetPolicy,
    PolicyThreshold,
    ReliabilitySpec,
)

DEFAULT_POLICY = ErrorBudgetPolicy()
SYSTEM = "checkout-web"


def a_state(remaining: float | None = 0.6, **fields: Any) -> ObjectiveState:
    values: dict[str, Any] = {
        "slo": "checkout-availability",
        "objective": "availability",
        "target": 0.999,
        "burn_rate": 1.2,
        **fields,
    }
    return ObjectiveState(remaining=remaining, **values)


def check(
    *states: ObjectiveState,
    change: ChangeType = ChangeType.FEATURE,
    approval: str | None = None,
    policy: ErrorBudgetPolicy = DEFAULT_POLICY,
) -> CheckResult:
    given = Approval("ov1", approval) if approval is not None else None
    return evaluate_policy(policy, states, change, system=SYSTEM, approval=given)


# --- thresholds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("below", "remaining", "applies"),
    [
        (0, 0.0, True),
        (0, -0.3, True),
        (0, 0.001, False),
        (25, 0.25, False),
        (25, 0.2499, True),
        (25, 0.0, True),
        (25, -1.0, True),
        (100, 0.999, True),
        (100, 1.0, False),
    ],
    ids=[
        "zero means exhausted: nothing left",
        "zero means exhausted: overspent",
        "zero: a sliver left is not exhausted",
        "25: exactly a quarter left is not below",
        "25: just under a quarter",
        "25: exhausted is below too",
        "25: overspent is below too",
        "100: anything spent",
        "100: untouched",
    ],
)
def test_a_threshold_applies_below_its_percent_and_zero_means_exhausted(
    below: float, remaining: float, applies: bool
) -> None:
    assert PolicyThreshold(remaining_below=below).applies(remaining) is applies


# --- the default policy ---------------------------------------------------------------------


def test_a_healthy_budget_passes_naming_the_slo_the_budget_and_the_burn() -> None:
    result = check(a_state(0.6))
    assert result.check == "error_budget"
    assert result.outcome is CheckOutcome.PASS
    assert result.summary == (
        "checkout-availability (availability) has 60.0% of its error budget left, "
        "burning 1.2x (objective 99.9%)"
    )
    assert result.facts["remaining"] == 0.6
    assert result.facts["burn_rate"] == 1.2


def test_a_low_budget_blocks_features_until_approved() -> None:
    result = check(a_state(0.2))
    assert result.outcome is CheckOutcome.BLOCK
    assert "20.0% of its error budget left" in result.summary
    assert result.summary.endswith("feature changes need an approval (an admin's gate override)")
    assert result.facts["policy_below"] == 25


def test_a_low_budget_lets_an_approved_feature_through_with_a_warning_naming_the_approval() -> None:
    approval = "override by ana until 2026-11-28 09:00 UTC: launch agreed with SRE"
    result = check(a_state(0.2), approval=approval)
    assert result.outcome is CheckOutcome.WARN
    assert result.summary.startswith(f"approved by {approval}: checkout-availability")
    assert "feature changes need an approval" in result.summary


@pytest.mark.parametrize(
    "change",
    [ChangeType.HOTFIX, ChangeType.CONFIG, ChangeType.ROLLBACK, ChangeType.RELIABILITY],
    ids=str,
)
def test_a_low_budget_still_allows_other_changes_with_a_warning(change: ChangeType) -> None:
    result = check(a_state(0.2), change=change)
    assert result.outcome is CheckOutcome.WARN
    assert result.summary.endswith(f"; {change} changes are still allowed")


@pytest.mark.parametrize(
    "change",
    [ChangeType.FEATURE, ChangeType.CONFIG, ChangeType.FLAG, ChangeType.CONTENT],
    ids=str,
)
@pytest.mark.parametrize("remaining", [0.0, -0.4], ids=["exhausted", "overspent"])
def test_an_exhausted_budget_blocks_everything_but_reliability_work(
    change: ChangeType, remaining: float
) -> None:
    result = check(a_state(remaining, burn_rate=30.0), change=change)
    assert result.outcome is CheckOutcome.BLOCK
    assert result.summary.endswith(
        "only rollback, hotfix, reliability changes are allowed until it is back within objective"
    )
    assert result.facts["policy_below"] == 0


@pytest.mark.parametrize(
    "change", [ChangeType.ROLLBACK, ChangeType.HOTFIX, ChangeType.RELIABILITY], ids=str
)
def test_an_exhausted_budget_allows_only_rollback_hotfix_reliability(change: ChangeType) -> None:
    result = check(a_state(-0.1, burn_rate=30.0), change=change)
    assert result.outcome is CheckOutcome.WARN
    assert "spent its error budget (-10.0% left), burning 30.0x" in result.summary


def test_an_approval_also_turns_an_exhausted_budget_block_into_a_warning() -> None:
    result = check(a_state(0.0), change=ChangeType.CONFIG, approval="override by ana")
    assert result.outcome is CheckOutcome.WARN
    assert result.summary.startswith("approved by override by ana: ")
    assert "only rollback, hotfix, reliability changes are allowed" in result.summary


def test_the_objective_with_the_least_budget_left_decides() -> None:
    healthy = a_state(0.9, slo="checkout-latency", objective="p95 under 300ms")
    low = a_state(0.1, slo="checkout-availability", objective="availability")
    result = check(healthy, low)
    assert result.outcome is CheckOutcome.BLOCK
    assert result.facts["slo"] == "checkout-availability"
    assert result.facts["remaining"] == 0.1
    assert result.summary.startswith("checkout-availability (availability) has 10.0%")


def test_the_summary_names_a_protecting_campaign_and_its_stricter_objective() -> None:
    result = check(a_state(0.5, target=0.9999, protected_by="Black Friday"))
    assert result.outcome is CheckOutcome.PASS
    assert result.summary.endswith("(objective 99.99% during Black Friday)")
    assert result.facts["protected_by"] == "Black Friday"


def test_a_system_without_slos_passes() -> None:
    result = check()
    assert result.outcome is CheckOutcome.PASS
    assert result.summary == "no SLO on checkout-web"


def test_unreadable_slos_make_the_check_unknown_with_the_reason() -> None:
    reason = "checkout-availability: Prometheus at http://prometheus:9090 is unreachable"
    result = check(a_state(None, error=reason), a_state(None, slo="checkout-latency"))
    assert result.outcome is CheckOutcome.UNKNOWN
    assert result.summary == f"unknown: {reason}"
    assert result.facts == {"slos": 2}
    no_data = check(a_state(None))
    assert no_data.outcome is CheckOutcome.UNKNOWN
    assert no_data.summary == "unknown: no SLI data for the period"


def test_a_healthy_slo_next_to_an_unread_one_is_unknown_naming_the_unread() -> None:
    result = check(a_state(0.8), a_state(None, slo="checkout-latency"))
    assert result.outcome is CheckOutcome.UNKNOWN
    assert result.summary.endswith("(1 SLO without data: checkout-latency)")


def test_a_low_budget_blocks_even_when_another_slo_is_unread() -> None:
    result = check(a_state(0.1), a_state(None, slo="checkout-latency"))
    assert result.outcome is CheckOutcome.BLOCK


def test_a_custom_policy_from_yaml_data_applies_its_own_thresholds() -> None:
    spec = ReliabilitySpec.model_validate(
        {
            "policy": {
                "thresholds": [
                    {"remaining_below": 50, "require_approval": ["feature", "config"]},
                    {"remaining_below": 10, "allow_only": ["rollback"]},
                ]
            }
        }
    )
    assert check(a_state(0.4), change=ChangeType.CONFIG, policy=spec.policy).outcome is (
        CheckOutcome.BLOCK
    )
    assert check(a_state(0.4), change=ChangeType.FLAG, policy=spec.policy).outcome is (
        CheckOutcome.WARN
    )
    hotfix = check(a_state(0.05), change=ChangeType.HOTFIX, policy=spec.policy)
    assert hotfix.outcome is CheckOutcome.BLOCK
    assert hotfix.summary.endswith(
        "only rollback changes are allowed until it is back within objective"
    )


# --- the spec -------------------------------------------------------------------------------


def test_omitted_reliability_settings_mean_the_documented_defaults() -> None:
    spec = ReliabilitySpec.model_validate({})
    assert spec.policy.thresholds == DEFAULT_THRESHOLDS
    assert [t.remaining_below for t in spec.policy.thresholds] == [25, 0]
    assert [t.tier() for t in spec.alerting.tiers] == list(DEFAULT_TIERS)
    assert spec.alerting.min_events == 100


def test_an_alert_tier_reads_short_durations_and_defaults_its_short_window() -> None:
    spec = AlertTierSpec.model_validate({"name": "page-fast", "long": "1h", "budget_share": 0.02})
    assert spec.long == timedelta(hours=1)
    assert spec.short is None
    tier = spec.tier()
    assert tier.short == timedelta(minutes=5)
    assert (tier.severity, tier.enabled) == ("page", True)
    assert tier.factor(timedelta(days=30)) == pytest.approx(14.4)


def test_an_alert_tier_takes_an_explicit_short_window_labels_and_severity() -> None:
    spec = AlertTierSpec.model_validate(
        {
            "name": "ticket-slow",
            "long": "3d",
            "short": "6h",
            "budget_share": 0.1,
            "severity": "ticket",
            "enabled": False,
            "labels": {"team": "payments"},
        }
    )
    tier = spec.tier()
    assert (tier.long, tier.short) == (timedelta(days=3), timedelta(hours=6))
    assert (tier.severity, tier.enabled, dict(tier.labels)) == (
        "ticket",
        False,
        {"team": "payments"},
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"short": "1h"}, "short window must be shorter than the long one"),
        ({"short": "2h"}, "short window must be shorter than the long one"),
        ({"long": "1x"}, "long"),
        ({"long": "0m"}, "long"),
        ({"name": "Page Fast"}, "name"),
        ({"budget_share": 0}, "budget_share"),
        ({"budget_share": 1.5}, "budget_share"),
        ({"factor": 14.4}, "factor"),
    ],
    ids=[
        "short equal to long",
        "short longer than long",
        "unknown unit",
        "zero long window",
        "name not a slug",
        "no budget share",
        "more than the whole budget",
        "unknown field",
    ],
)
def test_an_invalid_alert_tier_is_rejected(fields: dict[str, Any], message: str) -> None:
    data = {"name": "page-fast", "long": "1h", "budget_share": 0.02, **fields}
    with pytest.raises(ValidationError, match=message):
        AlertTierSpec.model_validate(data)


def test_the_alerting_spec_rejects_a_negative_minimum() -> None:
    with pytest.raises(ValidationError, match="min_events"):
        AlertingSpec.model_validate({"min_events": -1})


# --- postmortems ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "allowed", "required"),
    [(200, 1000, False), (201, 1000, True), (999, 1000, True), (0, 0, False), (1, 0, True)],
    ids=[
        "exactly 20 percent",
        "just over 20 percent",
        "most of the budget",
        "nothing allowed, nothing spent",
        "nothing allowed, something spent",
    ],
)
def test_an_incident_spending_over_a_fifth_of_four_weeks_budget_needs_a_postmortem(
    bad: float, allowed: float, required: bool
) -> None:
    assert requires_postmortem(bad, allowed) is required


def test_outside_production_like_environments_the_budget_does_not_gate() -> None:
    result = evaluate_policy(
        DEFAULT_POLICY,
        [a_state(-0.5)],
        ChangeType.FEATURE,
        system=SYSTEM,
        environment="staging",
        production_like=False,
    )
    assert result.outcome is CheckOutcome.PASS
    assert result.summary == "error budgets are production's; staging is not production-like"


def test_an_approval_names_its_override_in_the_facts() -> None:
    result = check(a_state(0.2), approval="ana's override")
    assert result.facts["override"] == "ov1"
