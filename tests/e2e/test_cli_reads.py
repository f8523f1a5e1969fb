"""`status`, `systems`, `environments`, `campaigns`: tables, --json, unknown ids, both modes.

The last tests read one state through both modes and require the same output.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from cli_driver import SQLITE_ONLY, Cli, table_rows

from launchdeck.experiments.model import EventsSpec
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.model import to_model
from launchdeck.workspace.spec import FreezesSpec


def _expected(cli: Cli, kind: str) -> list[dict[str, object]]:
    """The example's resources of `kind`, as the model serialises them, ordered by id."""
    desired = to_model(load_workspace(cli.workspace_file).spec)
    items = getattr(desired, kind)
    return [i.model_dump(mode="json") for i in sorted(items, key=lambda i: i.id)]


@SQLITE_ONLY
def test_status_before_anything_is_applied(mode: Cli) -> None:
    assert mode.json("status") == {
        "mode": mode.mode,
        "target": mode.target,
        "settings": None,
        "revision": 0,
        "counts": {"environment": 0, "system": 0, "campaign": 0, "slo": 0},
    }
    result = mode("status")
    assert result.exit_code == 0, result.output
    assert ["workspace", "(nothing applied yet)"] in table_rows(result.stdout)


@SQLITE_ONLY
def test_status_shows_mode_target_revision_and_counts(mode: Cli) -> None:
    assert mode("apply").exit_code == 0

    result = mode("status")

    assert result.exit_code == 0, result.output
    assert table_rows(result.stdout) == [
        ["mode", mode.mode],
        ["state", mode.target],
        ["workspace", "northwind-martech"],
        ["timezone", "America/New_York"],
        ["revision", "1"],
        ["environments", "2"],
        ["systems", "8"],
        ["campaigns", "7"],  # 5 in launchdeck.yaml + 2 events of its calendar feed
        ["slos", "1"],
    ]
    status = mode.json("status")
    assert (status["mode"], status["target"], status["revision"]) == (mode.mode, mode.target, 1)
    assert status["counts"] == {"environment": 2, "system": 8, "campaign": 7, "slo": 1}
    spec = load_workspace(mode.workspace_file).spec
    assert status["settings"] == {
        "id": "workspace",
        "name": "northwind-martech",
        "timezone": "America/New_York",
        "description": "Growth and marketing engineering at Northwind Outfitters",
        "freezes": FreezesSpec().model_dump(mode="json"),
        "reliability": spec.reliability.model_dump(mode="json"),
        "incidents": spec.incidents.model_dump(mode="json"),
        "notifications": spec.notifications.model_dump(mode="json"),
        "flag_governance": spec.flag_governance.model_dump(mode="json"),
        "events": EventsSpec().model_dump(mode="json"),  # the example has no `events:`
        "references": {
            "calendars": [
                {
                    "path": "calendars/retail-holidays-2026.ics",
                    "timezone": None,
                    "tier": 3,
                    "revenue_per_hour": 0.0,
                    "currency": "USD",
                    "systems": [],
                    "channels": [],
                    "horizon_days": 400,
                    "since": "2026-11-01T00:00:00Z",
                }
            ],
            "slos": ["slos/checkout-api.yaml"],
            "rollouts": ["rollouts/landing-pages-canary.yaml"],
            "runbooks": list(spec.references.runbooks),
        },
    }


@SQLITE_ONLY
def test_systems_list_and_show(mode: Cli) -> None:
    assert mode("apply").exit_code == 0
    expected = _expected(mode, "systems")

    table = mode("systems", "list")

    assert table.exit_code == 0, table.output
    rows = table_rows(table.stdout)
    assert [r[0] for r in rows] == [s["id"] for s in expected]
    assert [
        "landing-pages",
        "Campaign landing pages",
        "1",
        "cms, tracking-pixel, recommendations, search",
        "@growth-eng, web-platform@northwind.example",
    ] in rows
    assert mode.json("systems", "list") == expected
    checkout = next(s for s in expected if s["id"] == "checkout-api")
    assert mode.json("systems", "show", "checkout-api") == checkout
    shown = table_rows(mode("systems", "show", "checkout-api").stdout)
    assert shown[:6] == [
        ["id", "checkout-api"],
        ["name", "Checkout API"],
        ["tier", "1"],
        ["owners", '["@payments"]'],
        ["depends_on", '["tracking-pixel"]'],
        ["description", "-"],
    ]


@SQLITE_ONLY
def test_environments_list_and_show(mode: Cli) -> None:
    assert mode("apply").exit_code == 0

    table = mode("environments", "list")

    assert table.exit_code == 0, table.output
    assert table_rows(table.stdout) == [
        ["production", "Production", "yes"],
        ["staging", "Staging", "no"],
    ]
    assert mode.json("environments", "list") == _expected(mode, "environments")
    assert mode.json("environments", "show", "staging") == {
        "id": "staging",
        "name": "Staging",
        "production_like": False,
        "description": "Production-shaped, anonymized data, deployed on every merge",
    }
    shown = table_rows(mode("environments", "show", "production").stdout)
    assert shown == [
        ["id", "production"],
        ["name", "Production"],
        ["production_like", "True"],
        ["description", "-"],
    ]


@SQLITE_ONLY
def test_campaigns_list_shows_windows_in_their_zone_and_revenue(mode: Cli) -> None:
    assert mode("apply").exit_code == 0

    table = mode("campaigns", "list")

    assert table.exit_code == 0, table.output
    rows = table_rows(table.stdout)
    assert [r[0] for r in rows] == [
        "black-friday",
        "cyber-monday",
        "cyber-week-emails",
        "early-access",
        "green-monday-20261214-a7e9d6",
        "small-business-saturday",
        "thanksgiving-us-20261126-32309e",
    ]
    assert rows[0] == [
        "black-friday",
        "Black Friday 2026",
        "1",
        "2026-11-27 00:00 EST",
        "2026-11-28 23:59 EST",
        "185,000 USD",
        "landing-pages, checkout-api, tracking-pixel, recommendations, search",
    ]
    # The two events of the calendar feed: tier, revenue and systems from the event or the
    # feed's defaults in launchdeck.yaml.
    assert rows[4] == [
        "green-monday-20261214-a7e9d6",
        "Green Monday",
        "2",
        "2026-12-14 00:00 EST",
        "2026-12-15 00:00 EST",
        "60,000 USD",
        "landing-pages, email-renderer",
    ]
    assert rows[6] == [
        "thanksgiving-us-20261126-32309e",
        "Thanksgiving (US)",
        "3",
        "2026-11-26 00:00 EST",
        "2026-11-27 00:00 EST",
        "0 USD",
        "",
    ]
    listed = mode.json("campaigns", "list")
    assert listed == _expected(mode, "campaigns")
    assert {c["id"]: c["source"] for c in listed} == {
        "black-friday": None,
        "cyber-monday": None,
        "cyber-week-emails": None,
        "early-access": None,
        "green-monday-20261214-a7e9d6": "calendars/retail-holidays-2026.ics",
        "small-business-saturday": None,
        "thanksgiving-us-20261126-32309e": "calendars/retail-holidays-2026.ics",
    }


@SQLITE_ONLY
def test_campaigns_show_gives_utc_instants_and_the_zone(mode: Cli) -> None:
    assert mode("apply").exit_code == 0

    shown = mode.json("campaigns", "show", "black-friday")

    assert (shown["starts_at"], shown["ends_at"], shown["timezone"]) == (
        "2026-11-27T05:00:00Z",
        "2026-11-29T04:59:00Z",
        "America/New_York",
    )
    assert shown["revenue_per_hour"] == pytest.approx(185000.0)
    assert shown["channels"] == ["email", "paid-search", "paid-social", "onsite"]


@SQLITE_ONLY
def test_lists_on_an_empty_store_are_empty(mode: Cli) -> None:
    for group in ("systems", "environments", "campaigns"):
        assert mode.json(group, "list") == []
        table = mode(group, "list")
        assert table.exit_code == 0
        assert table_rows(table.stdout) == []


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("group", "noun"),
    [("systems", "system"), ("environments", "environment"), ("campaigns", "campaign")],
    ids=["system", "environment", "campaign"],
)
def test_show_of_an_unknown_id_fails_naming_it(mode: Cli, group: str, noun: str) -> None:
    table, as_json = mode(group, "show", "x"), mode(group, "show", "x", "--json")

    for result in (table, as_json):
        assert result.exit_code == 1
        assert result.stdout == ""
        assert f"error: no {noun} 'x'" in result.stderr
        assert f"hint: list them with 'launchdeck {group} list'" in result.stderr


READS = [
    ["systems", "list"],
    ["systems", "show", "landing-pages"],
    ["environments", "list"],
    ["environments", "show", "production"],
    ["campaigns", "list"],
    ["campaigns", "show", "cyber-monday"],
    ["timeline"],
    ["timeline", "--kind", "campaign", "--limit", "3"],
    ["token", "list"],
]


def test_read_commands_print_the_same_in_both_modes(cli_in: Callable[[str], Cli]) -> None:
    local, remote = cli_in("local"), cli_in("remote")
    assert local("apply").exit_code == 0
    local.edit_workspace("revenue_per_hour: 220000", "revenue_per_hour: 240000")
    assert remote("apply").exit_code == 0  # the timeline now has both actors
    assert local("token", "create", "--name", "ci", "--scope", "deploy").exit_code == 0

    for args in READS:
        for as_json in ([], ["--json"]):
            here, there = local(*args, *as_json), remote(*args, *as_json)
            assert (here.exit_code, there.exit_code) == (0, 0), args
            assert here.stdout == there.stdout, args
    # status differs only in where the state lives
    here, there = local.json("status"), remote.json("status")
    assert (here.pop("mode"), there.pop("mode")) == ("local", "remote")
    assert (here.pop("target"), there.pop("target")) == (local.target, remote.target)
    assert here == there
    assert json.loads(local("plan", "--json").stdout) == json.loads(remote("plan", "--json").stdout)
