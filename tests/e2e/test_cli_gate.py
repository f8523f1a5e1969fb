"""`launchdeck gate check|override|overrides`: the deploy decision in local and remote mode.

Instants come from the Black Friday example (America/New_York is UTC-5 after 2026-11-01):
Black Friday 2026 runs 11-27 05:00Z to 11-29 04:59Z (tier 1, frozen 24 h before to 48 h
after: 11-26 05:00Z to 12-01 04:59Z) on landing-pages, checkout-api, tracking-pixel,
recommendations and search; Cyber Monday 11-30 05:00Z to 12-01 11:00Z (tier 1, frozen
11-29 05:00Z to 12-03 11:00Z) on landing-pages, checkout-api, tracking-pixel and
email-renderer; the Cyber Week e-mails 12-01 14:00Z to 12-07 02:00Z (tier 2: no features
during) on email-renderer and crm-sync. A change to cms reaches landing-pages, search and
email-renderer, which depend on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cli_driver import SQLITE_ONLY, Cli, issue_token
from typer.testing import Result

from launchdeck.auth.model import Scope
from launchdeck.timeline.model import Event, TimelinePage
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

BLACK_FRIDAY_AFTERNOON = "2026-11-27T15:00:00Z"
CMS_NEXT_ALLOWED = "2026-12-07T02:00:00Z"
"""Black Friday's freeze (to 12-01 04:59Z) runs into Cyber Monday's (to 12-03 11:00Z), which
runs into the Cyber Week e-mails (to 12-07 02:00Z) that email-renderer, fed by cms, serves."""
QUIET_TUESDAY = "2026-10-06T12:00:00Z"
VERDICT_FIELDS = {
    "decision",
    "request",
    "at",
    "checks",
    "affected",
    "revenue_per_hour_at_stake",
    "next_allowed_at",
    "next_allowed_note",
    "overrides",
}
CHECK_IDS = ["freeze_window", "active_release", "error_budget", "open_incident"]
NO_CAMPAIGN_FREEZES = "\nfreezes:\n  campaigns: []\n\nreferences:\n"
WEEKEND_FREEZE = """
freezes:
  recurring:
    - id: weekend
      rrule: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=15"
      start: "2026-01-02T15:00:00"
      duration: 66h
      timezone: America/New_York

references:
"""


def _apply(cli: Cli) -> None:
    """Apply the workspace file straight to the store: `apply` itself is tested elsewhere."""
    assert cli.db is not None
    spec = load_workspace(cli.workspace_file).spec
    WorkspaceService(cli.db, actor="seed", clock=lambda: datetime.now(UTC)).apply(spec)


def _check(cli: Cli, system: str, *args: str) -> Result:
    return cli("gate", "check", system, *args)


def _verdict(cli: Cli, system: str, *args: str, exit_code: int) -> dict[str, Any]:
    """The --json verdict of a check that must end with `exit_code` (0 allow/warn, 3 block)."""
    result = _check(cli, system, *args, "--json")
    assert result.exit_code == exit_code, result.output
    verdict: dict[str, Any] = json.loads(result.stdout)
    return verdict


def _events(cli: Cli, kind: str) -> list[Event]:
    result = cli("timeline", "--kind", kind, "--json")
    assert result.exit_code == 0, result.output
    return list(TimelinePage.model_validate_json(result.stdout).events)


def _freeze_check(verdict: dict[str, Any]) -> dict[str, Any]:
    check: dict[str, Any] = verdict["checks"][0]
    assert check["check"] == "freeze_window"
    return check


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def local(cli_in: Callable[[str], Cli]) -> Cli:
    """Local mode only: for tables of decisions, which both modes make with the same code
    (test_the_json_verdict_is_the_same_in_local_and_remote_mode pins that)."""
    return cli_in("local")


@pytest.fixture
def remote(cli_in: Callable[[str], Cli]) -> Cli:
    return cli_in("remote")


def _as(remote: Cli, name: str, *scopes: Scope, clock: Any) -> Cli:
    assert remote.db is not None
    return remote.with_env(LAUNCHDECK_TOKEN=issue_token(remote.db, name, *scopes, clock=clock))


@SQLITE_ONLY
def test_a_feature_to_cms_on_black_friday_is_blocked_through_landing_pages(mode: Cli) -> None:
    _apply(mode)

    result = _check(mode, "cms", "--at", BLACK_FRIDAY_AFTERNOON)

    assert result.exit_code == 3, result.output
    assert result.stdout.splitlines() == [
        "BLOCK feature to cms in production at 2026-11-27 15:00 UTC",
        "  ✗ freeze_window: campaign freeze 'Black Friday 2026' (tier 1, 24 h before to 48 h "
        "after) on cms → landing-pages → Black Friday 2026 until 2026-12-01 04:59 UTC; "
        "allows hotfix, rollback",
        "  ✓ active_release: no release in progress on cms in production",
        "  ✓ error_budget: no SLO on cms",
        "  ✓ open_incident: no open incident on cms",
        "  at stake: 1 campaign(s), 185,000 per hour",
        "    tier 1 Black Friday 2026 (185,000 USD/h) via cms → landing-pages → Black Friday 2026",
        "  next allowed: 2026-12-07 02:00 UTC",
    ]


@SQLITE_ONLY
def test_the_blocked_verdict_names_campaigns_revenue_and_the_next_allowed_time(
    local: Cli,
) -> None:
    _apply(local)

    verdict = _verdict(local, "cms", "--at", BLACK_FRIDAY_AFTERNOON, exit_code=3)

    assert verdict["decision"] == "block"
    assert verdict["affected"] == [
        {
            "campaign_id": "black-friday",
            "name": "Black Friday 2026",
            "tier": 1,
            "revenue_per_hour": 185000.0,
            "currency": "USD",
            "starts_at": "2026-11-27T05:00:00Z",
            "ends_at": "2026-11-29T04:59:00Z",
            "path": ["cms", "landing-pages", "Black Friday 2026"],
        }
    ]
    assert verdict["revenue_per_hour_at_stake"] == pytest.approx(185000.0)
    assert verdict["next_allowed_at"] == CMS_NEXT_ALLOWED
    assert verdict["next_allowed_note"] is None
    assert _freeze_check(verdict)["facts"] == {
        "windows": 1,
        "window": "campaign:black-friday",
        "until": "2026-12-01T04:59:00+00:00",
    }


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("at", "exit_code", "decision"),
    [
        (CMS_NEXT_ALLOWED, 0, "allow"),
        ("2026-12-07T01:59:59Z", 3, "block"),
        ("2026-12-03T11:00:00Z", 3, "block"),
    ],
    ids=[
        "at the next allowed time the change is allowed",
        "one second before it the change is still blocked",
        "when cyber monday's freeze ends the cyber week e-mails still block",
    ],
)
def test_the_next_allowed_time_is_the_first_instant_no_freeze_blocks(
    local: Cli, at: str, exit_code: int, decision: str
) -> None:
    _apply(local)

    verdict = _verdict(local, "cms", "--at", at, exit_code=exit_code)

    assert verdict["decision"] == decision
    expected_next = CMS_NEXT_ALLOWED if decision == "block" else None
    assert verdict["next_allowed_at"] == expected_next
    if decision == "allow":
        assert _freeze_check(verdict)["outcome"] == "pass"


@SQLITE_ONLY
def test_a_hotfix_to_landing_pages_during_the_freeze_is_allowed_with_a_warning(
    mode: Cli,
) -> None:
    _apply(mode)

    result = _check(
        mode, "landing-pages", "--change-type", "hotfix", "--at", BLACK_FRIDAY_AFTERNOON
    )
    verdict = _verdict(
        mode,
        "landing-pages",
        "--change-type",
        "hotfix",
        "--at",
        BLACK_FRIDAY_AFTERNOON,
        exit_code=0,
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        "WARN hotfix to landing-pages in production at 2026-11-27 15:00 UTC",
        "  ! freeze_window: hotfix allowed during campaign freeze 'Black Friday 2026' (tier 1, "
        "24 h before to 48 h after) on landing-pages → Black Friday 2026 until 2026-12-01 "
        "04:59 UTC; allows hotfix, rollback",
    ]
    assert "next allowed" not in result.stdout
    assert verdict["decision"] == "warn"
    assert _freeze_check(verdict)["outcome"] == "warn"
    assert _freeze_check(verdict)["facts"] == {"windows": 1, "window": "campaign:black-friday"}
    assert [a["path"] for a in verdict["affected"]] == [["landing-pages", "Black Friday 2026"]]
    assert verdict["next_allowed_at"] is None
    assert _events(mode, "gate.blocked") == []


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("system", "args"),
    [
        ("landing-pages", ("--env", "staging", "--at", BLACK_FRIDAY_AFTERNOON)),
        ("crm-sync", ("--at", BLACK_FRIDAY_AFTERNOON)),
        ("crm-sync", ("--at", QUIET_TUESDAY)),
        ("checkout-api", ("--change-type", "config", "--at", QUIET_TUESDAY)),
    ],
    ids=[
        "staging is not frozen on black friday",
        "crm-sync reaches no black friday system",
        "crm-sync at a quiet time",
        "a config change at a quiet time",
    ],
)
def test_a_change_no_freeze_reaches_is_allowed(
    local: Cli, system: str, args: tuple[str, ...]
) -> None:
    _apply(local)

    result = _check(local, system, *args)
    verdict = _verdict(local, system, *args, exit_code=0)

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ALLOW {verdict['request']['change_type']} to {system} in ")
    assert verdict["decision"] == "allow"
    assert _freeze_check(verdict) == {
        "check": "freeze_window",
        "outcome": "pass",
        "summary": "no freeze window applies",
        "facts": {},
    }
    assert (verdict["next_allowed_at"], verdict["overrides"]) == (None, [])
    if system != "landing-pages":
        assert (verdict["affected"], verdict["revenue_per_hour_at_stake"]) == ([], 0.0)
    assert _events(local, "gate.blocked") == []


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("where", "args", "exit_code", "error", "hint"),
    [
        ("local", ("nope",), 1, "error: no system 'nope'", "hint: see 'launchdeck systems list'"),
        ("remote", ("nope",), 1, "error: no system 'nope'", "hint: see 'launchdeck systems list'"),
        (
            "remote",
            ("cms", "--env", "prod"),
            1,
            "error: no environment 'prod'",
            "hint: use one of: production, staging",
        ),
        (
            "local",
            ("cms", "--change-type", "big"),
            2,
            "error: unknown change type 'big'",
            "hint: use one of: rollback, hotfix, content, config, flag, feature, reliability",
        ),
        (
            "local",
            ("cms", "--at", "black friday"),
            2,
            "error: not a time: 'black friday'",
            "hint: use a duration back from now (2h, 7d) or ISO 8601 (2026-11-27T09:00Z)",
        ),
        (
            "local",
            ("cms", "--at", "9999-12-31T00:00:00Z"),
            2,
            "error: at: the year must be between 1970 and 2999",
            None,
        ),
        (
            "local",
            ("Checkout_API",),
            2,
            "error: system: String should match pattern '^[a-z0-9][a-z0-9-]{0,62}$'",
            "hint: system and environment ids are lowercase with dashes (checkout-api)",
        ),
    ],
    ids=[
        "local: unknown system",
        "remote: unknown system",
        "unknown environment",
        "unknown change type",
        "unreadable time",
        "a time no calendar reaches",
        "malformed system id",
    ],
)
def test_a_check_that_cannot_be_asked_says_why_and_what_to_do(
    cli_in: Callable[[str], Cli],
    where: str,
    args: tuple[str, ...],
    exit_code: int,
    error: str,
    hint: str | None,
) -> None:
    cli = cli_in(where)
    _apply(cli)

    result = _check(cli, *args)

    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == ([error, hint] if hint else [error])


def test_the_json_verdict_is_the_same_in_local_and_remote_mode(
    cli_in: Callable[[str], Cli],
) -> None:
    local, remote = cli_in("local"), cli_in("remote")
    _apply(local)
    args = ("--at", BLACK_FRIDAY_AFTERNOON)

    in_local = _verdict(local, "cms", *args, exit_code=3)
    in_remote = _verdict(remote, "cms", *args, exit_code=3)

    assert in_local == in_remote
    assert set(in_local) == VERDICT_FIELDS
    assert in_local["request"] == {
        "system": "cms",
        "environment": "production",
        "change_type": "feature",
        "at": BLACK_FRIDAY_AFTERNOON,
    }
    assert in_local["at"] == BLACK_FRIDAY_AFTERNOON
    assert [c["check"] for c in in_local["checks"]] == CHECK_IDS
    assert [c["outcome"] for c in in_local["checks"]] == ["block", "pass", "pass", "pass"]
    for check in in_local["checks"]:
        assert set(check) == {"check", "outcome", "summary", "facts"}
    assert {c["summary"] for c in in_local["checks"][1:]} == {
        "no release in progress on cms in production",
        "no SLO on cms",
        "no open incident on cms",
    }


@SQLITE_ONLY
def test_every_block_is_on_the_timeline_with_who_asked_and_an_allow_is_not(mode: Cli) -> None:
    _apply(mode)

    assert _check(mode, "cms", "--at", BLACK_FRIDAY_AFTERNOON).exit_code == 3
    assert _check(mode, "checkout-api", "--at", BLACK_FRIDAY_AFTERNOON).exit_code == 3
    hotfix = _check(mode, "cms", "--change-type", "hotfix", "--at", BLACK_FRIDAY_AFTERNOON)
    assert hotfix.exit_code == 0
    assert _check(mode, "crm-sync", "--at", BLACK_FRIDAY_AFTERNOON).exit_code == 0
    events = _events(mode, "gate.blocked")

    assert [(e.kind, e.subject, e.system, e.environment, e.actor) for e in events] == [
        ("gate.blocked", "system/checkout-api", "checkout-api", "production", mode.actor),
        ("gate.blocked", "system/cms", "cms", "production", mode.actor),
    ]
    cms = events[1].payload
    assert (cms["change_type"], cms["at"], cms["affected"], cms["next_allowed_at"]) == (
        "feature",
        "2026-11-27T15:00:00+00:00",
        ["black-friday"],
        "2026-12-07T02:00:00+00:00",
    )
    assert cms["checks"][0] == {
        "check": "freeze_window",
        "outcome": "block",
        "summary": "campaign freeze 'Black Friday 2026' (tier 1, 24 h before to 48 h after) on "
        "cms → landing-pages → Black Friday 2026 until 2026-12-01 04:59 UTC; allows hotfix, "
        "rollback",
    }


def test_a_block_asked_with_a_read_token_is_recorded_under_the_tokens_name(
    remote: Cli, clock: Any
) -> None:
    _apply(remote)
    pipeline = _as(remote, "ci-pipeline", Scope.READ, clock=clock)

    result = _check(pipeline, "search", "--at", BLACK_FRIDAY_AFTERNOON)

    assert result.exit_code == 3, result.output
    assert [(e.actor, e.system) for e in _events(remote, "gate.blocked")] == [
        ("ci-pipeline", "search")
    ]


@SQLITE_ONLY
def test_an_override_turns_the_block_into_a_warning_until_it_ends(mode: Cli) -> None:
    # No campaign freezes: only the ad-hoc freeze below, so the test does not depend on the date.
    mode.edit_workspace("\nreferences:\n", NO_CAMPAIGN_FREEZES)
    _apply(mode)
    now = datetime.now(UTC).replace(microsecond=0)
    until = now + timedelta(hours=2)
    froze = mode("freeze", "add", "--system", "cms", "--until", "6h", "--reason", "cms migration")
    assert froze.exit_code == 0, froze.output
    in_one_hour = ("--at", _iso(now + timedelta(hours=1)))
    assert _check(mode, "cms", *in_one_hour).exit_code == 3

    added = mode.json(
        "gate", "override", "cms", "--until", _iso(until), "--reason", "fix for checkout copy"
    )
    during = _verdict(mode, "cms", *in_one_hour, exit_code=0)
    shown = _check(mode, "cms", *in_one_hour)
    after = _verdict(mode, "cms", "--at", _iso(until), exit_code=3)

    assert (added["system"], added["environment"], added["reason"]) == (
        "cms",
        None,
        "fix for checkout copy",
    )
    assert (added["created_by"], added["ends_at"]) == (mode.actor, _iso(until))
    assert during["decision"] == "warn"
    assert during["overrides"] == [added]
    check = _freeze_check(during)
    assert check["outcome"] == "warn"
    assert check["facts"]["override"] == added["id"]
    assert check["summary"].startswith(
        f"overridden by {mode.actor} until {until:%Y-%m-%d %H:%M} UTC (fix for checkout copy): "
        "freeze 'cms migration' "
    )
    assert shown.exit_code == 0
    assert shown.stdout.startswith("WARN feature to cms in production")
    assert (after["decision"], after["overrides"]) == ("block", [])
    assert _freeze_check(after)["summary"].startswith("freeze 'cms migration' ")


@SQLITE_ONLY
def test_an_override_is_listed_and_on_the_timeline(mode: Cli) -> None:
    _apply(mode)

    result = mode("gate", "override", "landing-pages", "--until", "2h", "--reason", "CEO demo")
    listed = mode.json("gate", "overrides")
    table = mode("gate", "overrides")
    events = _events(mode, "gate.override_added")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("override ")
    assert (
        "freezes and error-budget blocks on landing-pages warn instead of block until "
        in result.stdout
    )
    assert result.stdout.rstrip().endswith("(CEO demo)")
    assert [(o["system"], o["reason"], o["created_by"]) for o in listed] == [
        ("landing-pages", "CEO demo", mode.actor)
    ]
    ends_at = datetime.fromisoformat(listed[0]["ends_at"])
    starts_at = datetime.fromisoformat(listed[0]["starts_at"])
    assert abs(ends_at - starts_at - timedelta(hours=2)) < timedelta(seconds=30)
    assert table.exit_code == 0
    assert listed[0]["id"] in table.stdout
    assert [(e.subject, e.system, e.actor) for e in events] == [
        (f"override/{listed[0]['id']}", "landing-pages", mode.actor)
    ]
    assert events[0].payload == {"until": ends_at.isoformat(), "reason": "CEO demo"}


@SQLITE_ONLY
def test_an_override_that_has_ended_is_no_longer_listed(remote: Cli, clock: Any) -> None:
    _apply(remote)
    assert remote("gate", "override", "cms", "--until", "2h", "--reason", "hot fix").exit_code == 0
    assert len(remote.json("gate", "overrides")) == 1

    clock.advance(timedelta(hours=2, minutes=1))

    assert remote.json("gate", "overrides") == []


@SQLITE_ONLY
@pytest.mark.parametrize("scope", [Scope.READ, Scope.DEPLOY], ids=["read token", "deploy token"])
def test_only_an_admin_may_override_the_gate(remote: Cli, clock: Any, scope: Scope) -> None:
    _apply(remote)
    bot = _as(remote, "release-bot", scope, clock=clock)

    result = bot("gate", "override", "cms", "--until", "2h", "--reason", "please")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "error: token 'release-bot' lacks the 'admin' scope"
    assert remote.json("gate", "overrides") == []
    assert _events(remote, "gate.override_added") == []


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("where", "args", "exit_code", "error"),
    [
        ("local", ("nope", "--until", "2h", "--reason", "r"), 1, "error: no system 'nope'"),
        ("remote", ("nope", "--until", "2h", "--reason", "r"), 1, "error: no system 'nope'"),
        (
            "remote",
            ("Checkout_API", "--until", "2h", "--reason", "r"),
            1,
            "error: no system 'Checkout_API'",
        ),
        (
            "local",
            ("cms", "--until", "2h", "--reason", "  "),
            2,
            "error: an override needs a reason",
        ),
        (
            "remote",
            ("cms", "--until", "2020-01-01T00:00:00Z", "--reason", "r"),
            2,
            "error: an override must end in the future",
        ),
        ("local", ("cms", "--until", "soon", "--reason", "r"), 2, "error: not a time: 'soon'"),
    ],
    ids=[
        "local: unknown system",
        "remote: unknown system",
        "a malformed system id is unknown too",
        "blank reason",
        "end in the past",
        "unreadable end",
    ],
)
def test_an_override_that_cannot_be_granted_says_why(
    cli_in: Callable[[str], Cli], where: str, args: tuple[str, ...], exit_code: int, error: str
) -> None:
    cli = cli_in(where)
    _apply(cli)

    result = cli("gate", "override", *args)

    assert result.exit_code == exit_code, result.output
    assert result.stderr.splitlines()[0] == error
    assert cli.json("gate", "overrides") == []


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("system", "args", "exit_code", "next_allowed"),
    [
        ("crm-sync", ("--at", "2026-10-10T12:00:00Z"), 3, "2026-10-12T13:00:00Z"),
        ("crm-sync", ("--at", "2026-11-02T13:30:00Z"), 3, "2026-11-02T14:00:00Z"),
        ("crm-sync", ("--at", "2026-10-09T18:59:59Z"), 0, None),
        ("crm-sync", ("--at", "2026-10-13T12:00:00Z"), 0, None),
        ("checkout-api", ("--change-type", "hotfix", "--at", "2026-10-10T12:00:00Z"), 0, None),
    ],
    ids=[
        "a saturday is frozen until monday 09:00 new york time",
        "after the dst change monday 09:00 is 14:00 utc",
        "friday before 15:00 new york time is open",
        "a tuesday is open",
        "a hotfix on a saturday is allowed",
    ],
)
def test_a_recurring_freeze_from_the_workspace_blocks_weekend_features(
    local: Cli, system: str, args: tuple[str, ...], exit_code: int, next_allowed: str | None
) -> None:
    local.edit_workspace("\nreferences:\n", WEEKEND_FREEZE)
    _apply(local)

    verdict = _verdict(local, system, *args, exit_code=exit_code)

    assert verdict["next_allowed_at"] == next_allowed
    if next_allowed is not None:
        assert _freeze_check(verdict)["summary"] == (
            f"recurring freeze 'weekend' on {system} until "
            f"{next_allowed[:10]} {next_allowed[11:16]} UTC; allows hotfix, rollback"
        )
        assert verdict["affected"] == []
    else:
        assert verdict["decision"] == ("warn" if "hotfix" in args else "allow")


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("freezes", "exit_code"),
    [
        (WEEKEND_FREEZE, 3),
        (WEEKEND_FREEZE.replace("  recurring:", "  campaigns: []\n  recurring:"), 0),
    ],
    ids=[
        "a freezes section without campaign policies keeps the default ones",
        "an empty list of campaign policies removes them",
    ],
)
def test_campaign_freeze_policies_default_unless_the_workspace_lists_them(
    local: Cli, freezes: str, exit_code: int
) -> None:
    local.edit_workspace("\nreferences:\n", freezes)
    _apply(local)

    # Black Friday afternoon is a Friday morning in New York: before the weekend freeze.
    verdict = _verdict(local, "cms", "--at", BLACK_FRIDAY_AFTERNOON, exit_code=exit_code)

    assert verdict["decision"] == ("block" if exit_code == 3 else "allow")
