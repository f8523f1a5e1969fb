"""`launchdeck timeline`: who changed what, when; filters and cursor paging in both modes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from cli_driver import SETUP_ACTOR, SQLITE_ONLY, Cli, table_rows

from launchdeck.timeline.model import TimelinePage
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

# Applying the example: 1 workspace + 2 environments + 8 systems + 7 campaigns (5 in
# launchdeck.yaml, 2 events of its calendar feed) + 1 SLO + 2 flags, 4 metrics and 2
# experiments; plus the `token.created` of the admin token every test starts with.
APPLIED_EVENTS = 27
ALL_EVENTS = APPLIED_EVENTS + 1


def _page(cli: Cli, *args: str) -> TimelinePage:
    result = cli("timeline", *args, "--json")
    assert result.exit_code == 0, result.output
    return TimelinePage.model_validate_json(result.stdout)


def _apply_hours_ago(cli: Cli, hours: int) -> datetime:
    """Apply the workspace as it was `hours` ago (seeding history); that instant."""
    assert cli.db is not None
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)
    spec = load_workspace(cli.workspace_file).spec
    WorkspaceService(cli.db, actor="seed", clock=lambda: then).apply(spec)
    return then


@SQLITE_ONLY
def test_timeline_records_each_applied_change_with_its_actor(mode: Cli) -> None:
    assert mode("apply").exit_code == 0

    page = _page(mode)

    assert page.next_cursor is None
    assert [e.id for e in page.events] == sorted((e.id for e in page.events), reverse=True)
    assert Counter(e.kind for e in page.events) == {
        "system.added": 8,
        "campaign.added": 7,
        "slo.added": 1,
        "flag.added": 2,
        "metric.added": 4,
        "experiment.added": 2,
        "environment.added": 2,
        "workspace.added": 1,
        "token.created": 1,
    }
    sources = {
        e.subject: e.payload["after"]["source"] for e in page.events if e.kind == "campaign.added"
    }
    assert sources == {
        "campaign/black-friday": None,
        "campaign/cyber-monday": None,
        "campaign/cyber-week-emails": None,
        "campaign/early-access": None,
        "campaign/green-monday-20261214-a7e9d6": "calendars/retail-holidays-2026.ics",
        "campaign/small-business-saturday": None,
        "campaign/thanksgiving-us-20261126-32309e": "calendars/retail-holidays-2026.ics",
    }
    actors = {e.kind: e.actor for e in page.events}
    assert actors["token.created"] == SETUP_ACTOR
    # In remote mode the actor is the name of the token that made the change.
    assert {e.actor for e in page.events if e.kind.endswith(".added")} == {mode.actor}
    checkout = next(e for e in page.events if e.subject == "system/checkout-api")
    assert (checkout.kind, checkout.system, checkout.payload["revision"]) == (
        "system.added",
        "checkout-api",
        1,
    )


@SQLITE_ONLY
def test_timeline_table_shows_time_actor_kind_subject_and_fields(mode: Cli) -> None:
    assert mode("apply").exit_code == 0
    mode.edit_workspace("revenue_per_hour: 185000", "revenue_per_hour: 190000")
    assert mode("apply").exit_code == 0
    newest = _page(mode, "--limit", "1").events[0]

    result = mode("timeline", "--limit", "3")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Timeline")
    rows = table_rows(result.stdout)
    assert len(rows) == 3
    assert rows[0] == [
        str(newest.id),
        newest.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        mode.actor,
        "campaign.changed",
        "campaign/black-friday",
        "revenue_per_hour",
    ]
    # The last resource the first apply added (experiments come last, by key).
    assert rows[1][3:] == ["experiment.added", "experiment/bf-hero-copy", "-"]


def test_since_and_until_select_events_by_time(mode: Cli) -> None:
    seeded_at = _apply_hours_ago(mode, hours=3)
    mode.edit_workspace("revenue_per_hour: 185000", "revenue_per_hour: 190000")
    assert mode("apply").exit_code == 0

    recent = _page(mode, "--since", "1h")
    everything = _page(mode, "--since", "4h")
    old = _page(mode, "--until", (seeded_at + timedelta(minutes=1)).isoformat())

    assert [(e.kind, e.actor) for e in recent.events] == [
        ("campaign.changed", mode.actor),
        ("token.created", SETUP_ACTOR),
    ]
    assert recent.events[0].payload["fields"] == ["revenue_per_hour"]
    assert len(everything.events) == ALL_EVENTS + 1
    assert len(old.events) == APPLIED_EVENTS
    assert {e.actor for e in old.events} == {"seed"}


@SQLITE_ONLY
def test_system_filter_keeps_the_events_about_that_system(mode: Cli) -> None:
    assert mode("apply").exit_code == 0
    mode.edit_workspace("max_cart_items: 50", "max_cart_items: 60")
    assert mode("apply").exit_code == 0

    page = _page(mode, "--system", "checkout-api")

    assert [(e.kind, e.subject) for e in page.events] == [
        ("system.changed", "system/checkout-api"),
        ("slo.added", "slo/checkout-api-availability"),  # its SLO is about checkout-api too
        ("system.added", "system/checkout-api"),
    ]
    assert page.events[0].payload["fields"] == ["environments.production.config.max_cart_items"]


KIND_FILTERS = {
    "a prefix selects every verb": ("campaign", {"campaign.added": 7}),
    "an exact kind": ("campaign.added", {"campaign.added": 7}),
    "another resource": ("token", {"token.created": 1}),
    "a partial word matches nothing": ("camp", {}),
}


@SQLITE_ONLY
def test_kind_filter_matches_a_kind_or_its_prefix(mode: Cli) -> None:
    assert mode("apply").exit_code == 0

    # One applied state, several queries: a loop keeps this to one apply per mode.
    found = {
        case: Counter(e.kind for e in _page(mode, "--kind", kind).events)
        for case, (kind, _) in KIND_FILTERS.items()
    }

    assert found == {case: expected for case, (_, expected) in KIND_FILTERS.items()}


def test_cursor_pages_through_every_event_once(mode: Cli) -> None:
    assert mode("apply").exit_code == 0
    all_ids = [e.id for e in _page(mode, "--limit", "500").events]

    first = _page(mode, "--limit", "2")
    assert first.next_cursor is not None
    second = _page(mode, "--limit", "2", "--cursor", first.next_cursor)
    assert second.next_cursor is not None
    rest = _page(mode, "--limit", "500", "--cursor", second.next_cursor)

    assert len(all_ids) == ALL_EVENTS
    assert [len(first.events), len(second.events), len(rest.events)] == [2, 2, ALL_EVENTS - 4]
    assert [e.id for page in (first, second, rest) for e in page.events] == all_ids
    assert rest.next_cursor is None


@SQLITE_ONLY
def test_timeline_table_prints_the_command_for_the_next_page(mode: Cli) -> None:
    assert mode("apply").exit_code == 0
    cursor = _page(mode, "--limit", "2").next_cursor
    assert cursor is not None

    result = mode("timeline", "--limit", "2")

    assert result.exit_code == 0, result.output
    assert f"older events: launchdeck timeline --cursor {cursor}" in result.stdout


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (
            ["--since", "yesterday"],
            "not a time: 'yesterday'",
            "use a duration back from now (2h, 7d) or ISO 8601 (2026-11-27T09:00Z)",
        ),
        (
            ["--until", "2026-13-45"],
            "not a time: '2026-13-45'",
            "use a duration back from now (2h, 7d) or ISO 8601 (2026-11-27T09:00Z)",
        ),
        (
            ["--cursor", "not-a-cursor"],
            "invalid timeline cursor",
            "pass the next_cursor value of a previous page unchanged",
        ),
    ],
    ids=["a word for since", "an impossible date for until", "a made-up cursor"],
)
def test_a_bad_option_value_is_a_usage_error_with_a_hint(
    mode: Cli, args: list[str], error: str, hint: str
) -> None:
    result = mode("timeline", *args)

    assert result.exit_code == 2
    assert f"error: {error}" in result.stderr
    assert f"hint: {hint}" in result.stderr
    assert result.stdout == ""


@SQLITE_ONLY
def test_a_limit_out_of_range_is_refused_by_the_command_line(mode: Cli) -> None:
    result = mode("timeline", "--limit", "0")

    assert result.exit_code == 2
    assert "--limit" in result.stderr
