"""`launchdeck plan` and `apply`, in local and remote mode.

The tests that change stored state run on SQLite and PostgreSQL; the rest on SQLite.
"""

from __future__ import annotations

import pytest
from cli_driver import SQLITE_ONLY, Cli

from launchdeck.workspace.plan import Action, Plan
from launchdeck.workspace.service import ApplyResult

# The example: 1 workspace + 2 environments + 8 systems + 7 campaigns (5 in launchdeck.yaml,
# 2 events of its calendar feed) + 1 SLO (slos/checkout-api.yaml) + 2 flags, 4 metrics and the
# 2 experiments on those flags.
EXAMPLE_RESOURCES = 27
EXIT_CHANGES = 4


def _raise_black_friday_revenue(cli: Cli, to: str = "199000") -> None:
    cli.edit_workspace("revenue_per_hour: 185000", f"revenue_per_hour: {to}")


def test_plan_on_an_empty_store_lists_every_resource_as_an_add(mode: Cli) -> None:
    result = mode("plan")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Plan against revision 0 of {mode.target}:" in out
    for line in (
        "+ workspace northwind-martech",
        "+ environment production  (Production)",
        "+ system checkout-api  (Checkout API)",
        "+ campaign black-friday  (Black Friday 2026)",
    ):
        assert line in out
    assert f"Plan: {EXAMPLE_RESOURCES} to add, 0 to change, 0 to remove." in out
    assert result.stderr == ""


@SQLITE_ONLY
def test_plan_json_parses_as_the_plan_model(mode: Cli) -> None:
    result = mode("plan", "--json")

    assert result.exit_code == 0, result.output
    plan = Plan.model_validate_json(result.stdout)
    assert plan.base_revision == 0
    assert plan.counts() == {Action.ADD: EXAMPLE_RESOURCES, Action.CHANGE: 0, Action.REMOVE: 0}
    campaign = next(c for c in plan.changes if c.id == "black-friday")
    assert campaign.after is not None
    assert campaign.after["revenue_per_hour"] == pytest.approx(185000.0)


def test_detailed_exitcode_is_4_with_changes_and_0_without(mode: Cli) -> None:
    assert mode("plan", "--detailed-exitcode").exit_code == EXIT_CHANGES
    assert mode("apply").exit_code == 0

    result = mode("plan", "--detailed-exitcode")

    assert result.exit_code == 0, result.output
    assert f"No changes: {mode.target} (revision 1) matches the workspace." in result.stdout


@SQLITE_ONLY
def test_apply_prints_the_revision_and_plan_then_shows_no_changes(mode: Cli) -> None:
    result = mode("apply")

    assert result.exit_code == 0, result.output
    assert "+ system checkout-api  (Checkout API)" in result.stdout
    assert (
        f"Applied revision 1: {EXAMPLE_RESOURCES} added, 0 changed, 0 removed; "
        f"{EXAMPLE_RESOURCES} events on the timeline." in result.stdout
    )
    plan = mode("plan")
    assert plan.exit_code == 0
    assert "No changes" in plan.stdout


def test_edited_field_shows_in_the_plan_and_applies_as_the_next_revision(mode: Cli) -> None:
    assert mode("apply").exit_code == 0
    _raise_black_friday_revenue(mode)

    plan = mode("plan", "--detailed-exitcode")

    assert plan.exit_code == EXIT_CHANGES, plan.output
    assert "~ campaign black-friday  (Black Friday 2026)" in plan.stdout
    assert "revenue_per_hour: 185000.0 → 199000.0" in plan.stdout
    assert "Plan: 0 to add, 1 to change, 0 to remove." in plan.stdout

    applied = mode("apply")

    assert applied.exit_code == 0, applied.output
    assert "Applied revision 2: 0 added, 1 changed, 0 removed" in applied.stdout
    shown = mode.json("campaigns", "show", "black-friday")
    assert shown["revenue_per_hour"] == pytest.approx(199000.0)


@SQLITE_ONLY
def test_apply_without_changes_keeps_the_revision(mode: Cli) -> None:
    assert mode("apply").exit_code == 0

    result = mode("apply", "--json")

    assert result.exit_code == 0, result.output
    applied = ApplyResult.model_validate_json(result.stdout)
    assert (applied.revision, applied.plan.has_changes, applied.event_ids) == (1, False, ())
    assert mode.json("status")["revision"] == 1


@SQLITE_ONLY
def test_apply_json_lists_one_event_per_change(mode: Cli) -> None:
    result = mode("apply", "--json")

    assert result.exit_code == 0, result.output
    applied = ApplyResult.model_validate_json(result.stdout)
    assert applied.revision == 1
    assert len(applied.event_ids) == EXAMPLE_RESOURCES
    assert len(applied.plan.changes) == EXAMPLE_RESOURCES


def test_apply_with_a_stale_expected_revision_is_a_conflict_that_changes_nothing(
    mode: Cli,
) -> None:
    assert mode("apply").exit_code == 0
    _raise_black_friday_revenue(mode)

    result = mode("apply", "--expected-revision", "0")

    assert result.exit_code == 1
    assert "error: the plan was made against revision 0, the store is at 1" in result.stderr
    assert "hint: run 'launchdeck plan' again and review the new changes" in result.stderr
    assert result.stdout == ""
    assert mode.json("status")["revision"] == 1
    assert mode.json("campaigns", "show", "black-friday")["revenue_per_hour"] == pytest.approx(
        185000.0
    )


@SQLITE_ONLY
def test_apply_with_the_current_expected_revision_goes_through(mode: Cli) -> None:
    assert mode("apply").exit_code == 0
    _raise_black_friday_revenue(mode)

    result = mode("apply", "--expected-revision", "1")

    assert result.exit_code == 0, result.output
    assert "Applied revision 2" in result.stdout


@SQLITE_ONLY
def test_plan_and_apply_refuse_an_invalid_workspace_and_change_nothing(mode: Cli) -> None:
    mode.edit_workspace("    tier: 1\n    revenue_per_hour: 185000", "    tier: 7\n")

    plan, apply = mode("plan"), mode("apply")

    for result in (plan, apply):
        assert result.exit_code == 1
        assert "campaigns[1].tier: Input should be less than or equal to 3" in result.stderr
    assert mode.json("status")["revision"] == 0


def test_removing_a_campaign_from_the_file_plans_and_applies_a_removal(mode: Cli) -> None:
    assert mode("apply").exit_code == 0
    text = mode.workspace_file.read_text(encoding="utf-8")
    start = text.index("  - id: cyber-week-emails")
    end = text.index("\nflags:")  # the campaign is the last one; the flags follow
    mode.workspace_file.write_text(text[:start] + "\n" + text[end:], encoding="utf-8")

    plan = mode("plan")
    applied = mode("apply")

    assert "- campaign cyber-week-emails  (Cyber Week e-mail series)" in plan.stdout
    assert "Plan: 0 to add, 0 to change, 1 to remove." in plan.stdout
    assert "Applied revision 2: 0 added, 0 changed, 1 removed" in applied.stdout
    ids = [c["id"] for c in mode.json("campaigns", "list")]
    assert "cyber-week-emails" not in ids
    assert ids == [
        "black-friday",
        "cyber-monday",
        "early-access",
        "green-monday-20261214-a7e9d6",
        "small-business-saturday",
        "thanksgiving-us-20261126-32309e",
    ]
