"""`launchdeck calendar [export]` and `launchdeck freeze add|list|lift` in local and remote mode.

The example's Black Friday runs 2026-11-27 05:00Z to 11-29 04:59Z (tier 1: frozen from
11-26 05:00Z to 12-01 04:59Z) and Cyber Monday 11-30 05:00Z to 12-01 11:00Z (frozen from
11-29 05:00Z to 12-03 11:00Z); see test_cli_gate.py for the rest of the arithmetic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from cli_driver import SQLITE_ONLY, Cli, issue_token, table_rows

from launchdeck.auth.model import Scope
from launchdeck.timeline.model import Event, TimelinePage
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

BLACK_FRIDAY_WEEKEND = ("--from", "2026-11-27T06:00:00Z", "--to", "2026-11-29T00:00:00Z")
QUIET_DAY = "2026-10-06T12:00:00Z"
BLACK_FRIDAY_FREEZE = {
    "id": "campaign:black-friday",
    "kind": "campaign",
    "name": "Black Friday 2026",
    "starts_at": "2026-11-26T05:00:00Z",
    "ends_at": "2026-12-01T04:59:00Z",
    "allow": ["hotfix", "rollback"],
    "systems": ["checkout-api", "landing-pages", "recommendations", "search", "tracking-pixel"],
    "environments": [],
    "reason": "tier 1, 24 h before to 48 h after",
    "campaign_id": "black-friday",
}


def _apply(cli: Cli) -> None:
    """Apply the workspace file straight to the store: `apply` itself is tested elsewhere."""
    assert cli.db is not None
    spec = load_workspace(cli.workspace_file).spec
    WorkspaceService(cli.db, actor="seed", clock=lambda: datetime.now(UTC)).apply(spec)


def _events(cli: Cli, kind: str) -> list[Event]:
    result = cli("timeline", "--kind", kind, "--json")
    assert result.exit_code == 0, result.output
    return list(TimelinePage.model_validate_json(result.stdout).events)


def _sets(window: dict[str, Any]) -> dict[str, Any]:
    """A freeze window with its set-valued fields sorted (JSON gives sets in no fixed order)."""
    return {
        k: sorted(v) if k in {"allow", "systems", "environments"} else v for k, v in window.items()
    }


def _decision(cli: Cli, system: str, *args: str) -> str:
    result = cli("gate", "check", system, *args, "--json")
    assert result.exit_code in {0, 3}, result.output
    decision: str = json.loads(result.stdout)["decision"]
    assert (result.exit_code == 3) == (decision == "block")
    return decision


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def local(cli_in: Callable[[str], Cli]) -> Cli:
    return cli_in("local")


@pytest.fixture
def remote(cli_in: Callable[[str], Cli]) -> Cli:
    return cli_in("remote")


# --- calendar ---------------------------------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("system", "campaigns", "freezes"),
    [
        (None, ["black-friday", "small-business-saturday"], ["campaign:black-friday"]),
        ("cms", ["black-friday", "small-business-saturday"], ["campaign:black-friday"]),
        ("checkout-api", ["black-friday"], ["campaign:black-friday"]),
        ("crm-sync", [], []),
    ],
    ids=[
        "every campaign and freeze of the weekend",
        "cms reaches black friday and the gift guide through landing-pages",
        "checkout-api is only in black friday",
        "crm-sync reaches neither",
    ],
)
def test_calendar_lists_the_campaigns_and_freezes_a_change_would_touch(
    local: Cli, system: str | None, campaigns: list[str], freezes: list[str]
) -> None:
    _apply(local)
    only = ("--system", system) if system else ()

    view = local.json("calendar", *BLACK_FRIDAY_WEEKEND, *only)

    assert (view["start"], view["end"], view["timezone"]) == (
        "2026-11-27T06:00:00Z",
        "2026-11-29T00:00:00Z",
        "America/New_York",
    )
    assert [c["campaign_id"] for c in view["campaigns"]] == campaigns
    assert [f["id"] for f in view["freezes"]] == freezes
    if freezes:
        assert _sets(view["freezes"][0]) == BLACK_FRIDAY_FREEZE


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("span", "freezes", "blocked_at"),
    [
        (
            ("--from", "2026-12-02T00:00:00Z", "--to", "2026-12-03T00:00:00Z"),
            ["campaign:cyber-monday"],
            "2026-12-02T12:00:00Z",
        ),
        (
            ("--from", "2026-11-29T06:00:00Z", "--to", "2026-11-29T12:00:00Z"),
            ["campaign:black-friday", "campaign:cyber-monday"],
            "2026-11-29T07:00:00Z",
        ),
    ],
    ids=[
        "after cyber monday its 48 h margin still shows",
        "between the campaigns both margins show",
    ],
)
def test_calendar_shows_freeze_margins_of_campaigns_outside_the_range(
    local: Cli, span: tuple[str, ...], freezes: list[str], blocked_at: str
) -> None:
    _apply(local)

    view = local.json("calendar", *span, "--system", "checkout-api")

    assert view["campaigns"] == []
    assert [f["id"] for f in view["freezes"]] == freezes
    # What the calendar shows is what the gate enforces.
    assert _decision(local, "checkout-api", "--at", blocked_at) == "block"


@SQLITE_ONLY
def test_calendar_table_shows_times_in_the_workspace_time_zone(mode: Cli) -> None:
    _apply(mode)

    result = mode("calendar", *BLACK_FRIDAY_WEEKEND, "--system", "checkout-api")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "2026-11-27 01:00 EST → 2026-11-28 19:00 EST"
    assert table_rows(result.stdout) == [
        [
            "black-friday",
            "Black Friday 2026",
            "1",
            "2026-11-27 00:00 EST",
            "2026-11-28 23:59 EST",
            "185,000 USD",
            "landing-pages, checkout-api, tracking-pixel, recommendations, search",
        ],
        [
            "campaign:black-friday",
            "Black Friday 2026",
            "2026-11-26 00:00 EST",
            "2026-11-30 23:59 EST",
            "checkout-api, landing-pages, recommendations, search, tracking-pixel",
            "hotfix, rollback",
        ],
    ]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("where", "args", "exit_code", "error"),
    [
        (
            "local",
            ("--from", "2026-11-29T00:00:00Z", "--to", "2026-11-28T00:00:00Z"),
            2,
            "error: --to must be after --from",
        ),
        (
            "remote",
            ("--from", "2026-11-29T00:00:00Z", "--to", "2026-11-28T00:00:00Z"),
            2,
            "error: --to must be after --from",
        ),
        ("remote", ("--system", "nope"), 1, "error: no system 'nope'"),
        ("remote", ("--system", "Checkout_API"), 1, "error: no system 'Checkout_API'"),
    ],
    ids=[
        "local: to before from",
        "remote: to before from",
        "unknown system",
        "a malformed system id is unknown too",
    ],
)
def test_calendar_refuses_a_range_or_system_it_cannot_show(
    cli_in: Callable[[str], Cli], where: str, args: tuple[str, ...], exit_code: int, error: str
) -> None:
    cli = cli_in(where)
    _apply(cli)

    result = cli("calendar", *args)

    assert result.exit_code == exit_code, result.output
    assert result.stderr.splitlines()[0] == error


@SQLITE_ONLY
def test_calendar_export_writes_campaigns_and_freezes_as_icalendar(mode: Cli) -> None:
    # A campaign relative to now: the export covers 30 days back to 400 days ahead of now.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    end = start + timedelta(days=2)
    last_campaign = "    systems: [email-renderer, crm-sync]\n"  # cyber-week-emails, the last one
    mode.edit_workspace(
        last_campaign,
        f"""{last_campaign}  - id: spring-sale
    name: Spring sale
    start: {_iso(start)}
    end: {_iso(end)}
    tier: 1
    revenue_per_hour: 50000
    systems: [checkout-api]
""",
    )
    _apply(mode)
    freeze = mode.json(
        "freeze", "add", "--until", "8h", "--reason", "payment provider incident", "--system",
        "checkout-api",
    )  # fmt: skip
    target = mode.workspace.parent / "out" / "calendar.ics"

    result = mode("calendar", "export", "-o", str(target))
    to_stdout = mode("calendar", "export")

    assert result.exit_code == 0, result.output
    feed = icalendar.Calendar.from_ical(target.read_bytes())
    events = {str(e["UID"]): e for e in feed.walk("VEVENT")}
    assert result.stderr == f"wrote {target} ({len(events)} events)\n"
    assert str(feed["X-WR-CALNAME"]) == "northwind-martech: campaigns and deploy freezes"
    sale = events["campaign-spring-sale@launchdeck"]
    assert (str(sale["SUMMARY"]), sale.decoded("DTSTART"), sale.decoded("DTEND")) == (
        "Spring sale",
        start,
        end,
    )
    sale_freeze = events["freeze-campaign:spring-sale@launchdeck"]
    assert (sale_freeze.decoded("DTSTART"), sale_freeze.decoded("DTEND")) == (
        start - timedelta(hours=24),
        end + timedelta(hours=48),
    )
    assert str(sale_freeze["SUMMARY"]) == "Deploy freeze: Spring sale"
    incident = events[f"freeze-{freeze['id']}@launchdeck"]
    assert str(incident["SUMMARY"]) == "Deploy freeze: payment provider incident"
    assert str(incident["X-LAUNCHDECK-KIND"]) == "FREEZE"
    assert to_stdout.exit_code == 0, to_stdout.output
    assert to_stdout.stdout_bytes.startswith(b"BEGIN:VCALENDAR\r\n")
    streamed = icalendar.Calendar.from_ical(to_stdout.stdout_bytes)
    assert {str(e["UID"]) for e in streamed.walk("VEVENT")} == set(events)


# --- freezes ----------------------------------------------------------------------------------


@SQLITE_ONLY
def test_a_freeze_is_added_listed_and_lifted_on_the_timeline(mode: Cli) -> None:
    _apply(mode)
    reason = "payment provider incident"

    added = mode.json(
        "freeze", "add", "--until", "4h", "--reason", reason, "--system", "checkout-api"
    )
    listed = mode.json("freeze", "list")
    table = mode("freeze", "list")
    lifted = mode("freeze", "lift", added["id"])
    again = mode("freeze", "lift", added["id"])

    freeze_id = added["id"].removeprefix("adhoc:")
    assert added["id"] == f"adhoc:{freeze_id}"
    assert {k: v for k, v in _sets(added).items() if not k.endswith("_at")} == {
        "id": added["id"],
        "kind": "adhoc",
        "name": reason,
        "allow": ["hotfix", "rollback"],
        "systems": ["checkout-api"],
        "environments": [],
        "reason": f"added by {mode.actor}",
        "campaign_id": None,
    }
    span = datetime.fromisoformat(added["ends_at"]) - datetime.fromisoformat(added["starts_at"])
    assert abs(span - timedelta(hours=4)) < timedelta(seconds=30)
    assert [_sets(f) for f in listed] == [_sets(added)]
    assert [r[0] for r in table_rows(table.stdout)] == [added["id"]]
    assert table_rows(table.stdout)[0][1:2] + table_rows(table.stdout)[0][4:] == [
        reason,
        "checkout-api",
        "hotfix, rollback",
    ]
    assert lifted.exit_code == 0, lifted.output
    assert lifted.stdout == f"lifted freeze {added['id']} ({reason})\n"
    assert mode.json("freeze", "list") == []
    assert again.exit_code == 1
    assert again.stderr.splitlines() == [
        f"error: no active freeze {added['id']!r}",
        "hint: see 'launchdeck freeze list'",
    ]
    timeline = _events(mode, "freeze")
    assert [(e.kind, e.subject, e.system, e.actor) for e in timeline] == [
        ("freeze.lifted", f"freeze/{freeze_id}", "checkout-api", mode.actor),
        ("freeze.added", f"freeze/{freeze_id}", "checkout-api", mode.actor),
    ]
    assert timeline[1].payload == {
        "reason": reason,
        "starts_at": datetime.fromisoformat(added["starts_at"]).isoformat(),
        "ends_at": datetime.fromisoformat(added["ends_at"]).isoformat(),
        "allow": ["hotfix", "rollback"],
    }


@SQLITE_ONLY
def test_a_freeze_blocks_every_change_that_reaches_its_system(mode: Cli) -> None:
    _apply(mode)
    froze = mode(
        "freeze", "add", "--system", "landing-pages", "--from", "2026-10-06T00:00:00Z",
        "--until", "2026-10-07T00:00:00Z", "--reason", "landing page rebuild",
    )  # fmt: skip
    assert froze.exit_code == 0, froze.output
    during, after = ("--at", QUIET_DAY), ("--at", "2026-10-07T00:00:00Z")

    decisions = {
        "feature to landing-pages": _decision(mode, "landing-pages", *during),
        "feature to cms, which landing-pages renders": _decision(mode, "cms", *during),
        "feature to tracking-pixel, which it embeds": _decision(mode, "tracking-pixel", *during),
        "feature to checkout-api, which it does not use": _decision(mode, "checkout-api", *during),
        "feature to crm-sync, far away": _decision(mode, "crm-sync", *during),
        "hotfix to cms": _decision(mode, "cms", "--change-type", "hotfix", *during),
        "feature to landing-pages in staging": _decision(
            mode, "landing-pages", "--env", "staging", *during
        ),
        "feature to cms when the freeze ends": _decision(mode, "cms", *after),
    }
    blocked = mode("gate", "check", "cms", *during, "--json")

    assert decisions == {
        "feature to landing-pages": "block",
        "feature to cms, which landing-pages renders": "block",
        "feature to tracking-pixel, which it embeds": "block",
        "feature to checkout-api, which it does not use": "allow",
        "feature to crm-sync, far away": "allow",
        "hotfix to cms": "warn",
        "feature to landing-pages in staging": "allow",
        "feature to cms when the freeze ends": "allow",
    }
    verdict = json.loads(blocked.stdout)
    assert verdict["checks"][0]["summary"] == (
        f"freeze 'landing page rebuild' (added by {mode.actor}) on cms → landing-pages until "
        "2026-10-07 00:00 UTC; allows hotfix, rollback"
    )
    assert verdict["next_allowed_at"] == "2026-10-07T00:00:00Z"


@SQLITE_ONLY
def test_a_freeze_can_name_its_environment_and_the_changes_it_still_allows(local: Cli) -> None:
    _apply(local)
    added = local.json(
        "freeze", "add", "--env", "staging", "--allow", "config", "--allow", "content",
        "--from", "2026-10-06T00:00:00Z", "--until", "2026-10-07T00:00:00Z",
        "--reason", "staging data refresh",
    )  # fmt: skip
    staging, during = ("--env", "staging"), ("--at", QUIET_DAY)

    decisions = {
        "feature in staging": _decision(local, "cms", *staging, *during),
        "config in staging": _decision(local, "cms", *staging, "--change-type", "config", *during),
        "hotfix in staging": _decision(local, "cms", *staging, "--change-type", "hotfix", *during),
        "feature in production": _decision(local, "cms", *during),
    }

    assert (_sets(added)["allow"], added["environments"], added["systems"]) == (
        ["config", "content"],
        ["staging"],
        [],
    )
    assert decisions == {
        "feature in staging": "block",
        "config in staging": "warn",
        "hotfix in staging": "block",
        "feature in production": "allow",
    }


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("where", "args", "exit_code", "error"),
    [
        ("local", ("--until", "6h", "--system", "nope"), 1, "error: no system 'nope'"),
        ("remote", ("--until", "6h", "--system", "nope"), 1, "error: no system 'nope'"),
        (
            "remote",
            ("--until", "6h", "--env", "Production"),
            1,
            "error: no environment 'Production'",
        ),
        ("local", ("--until", "6h", "--env", "prod"), 1, "error: no environment 'prod'"),
        (
            "local",
            ("--until", "6h", "--allow", "everything"),
            2,
            "error: unknown change type 'everything'",
        ),
        (
            "remote",
            ("--from", "2026-10-07T00:00:00Z", "--until", "2026-10-06T00:00:00Z"),
            2,
            "error: a freeze must end after it starts",
        ),
    ],
    ids=[
        "local: unknown system",
        "remote: unknown system",
        "a malformed environment id is unknown too",
        "unknown environment",
        "unknown change type",
        "ends before it starts",
    ],
)
def test_a_freeze_that_cannot_be_added_says_why_and_adds_nothing(
    cli_in: Callable[[str], Cli], where: str, args: tuple[str, ...], exit_code: int, error: str
) -> None:
    cli = cli_in(where)
    _apply(cli)

    result = cli("freeze", "add", "--reason", "r", *args)

    assert result.exit_code == exit_code, result.output
    assert result.stderr.splitlines()[0] == error
    assert cli.json("freeze", "list") == []
    assert _events(cli, "freeze") == []


@SQLITE_ONLY
def test_a_deploy_token_may_freeze_but_only_an_admin_may_lift(remote: Cli, clock: Any) -> None:
    _apply(remote)
    assert remote.db is not None
    bot = remote.with_env(
        LAUNCHDECK_TOKEN=issue_token(remote.db, "release-bot", Scope.DEPLOY, clock=clock)
    )
    viewer = remote.with_env(
        LAUNCHDECK_TOKEN=issue_token(remote.db, "dashboard", Scope.READ, clock=clock)
    )

    added = bot.json("freeze", "add", "--until", "2h", "--reason", "canary looks off")
    refused_lift = bot("freeze", "lift", added["id"])
    refused_add = viewer("freeze", "add", "--until", "2h", "--reason", "just because")
    seen_by_viewer = viewer.json("freeze", "list")
    lifted = remote("freeze", "lift", added["id"])

    assert (added["reason"], added["systems"]) == ("added by release-bot", [])
    assert refused_lift.exit_code == 1
    assert refused_lift.stderr.splitlines()[0] == (
        "error: token 'release-bot' lacks the 'admin' scope"
    )
    assert refused_add.exit_code == 1
    assert refused_add.stderr.splitlines()[0] == "error: token 'dashboard' lacks the 'deploy' scope"
    assert [f["id"] for f in seen_by_viewer] == [added["id"]]
    assert lifted.exit_code == 0, lifted.output
    assert [(e.kind, e.actor) for e in _events(remote, "freeze")] == [
        ("freeze.lifted", "e2e-admin"),
        ("freeze.added", "release-bot"),
    ]


@SQLITE_ONLY
def test_lifting_a_freeze_by_a_crafted_id_reaches_no_other_route(remote: Cli, clock: Any) -> None:
    _apply(remote)
    assert remote.db is not None
    victim = issue_token(remote.db, "victim", Scope.READ, clock=clock).split("_")[1]

    # Unquoted, "/api/v1/freezes/../tokens/<id>" resolves to the token's DELETE route.
    result = remote("freeze", "lift", f"../tokens/{victim}")

    assert result.exit_code == 1, result.output
    tokens = {t["name"]: t for t in remote.json("token", "list")}
    assert tokens["victim"]["revoked_at"] is None
    assert _events(remote, "token.revoked") == []
