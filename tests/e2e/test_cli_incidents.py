"""`launchdeck incident open|list|show|update|resolve|note|task`, in local and remote mode.

The CLI reads the wall clock, and an open incident's severity follows the example's campaign
calendar up to now (Black Friday 2026, tier 1 on checkout-api, runs 2026-11-27 05:00Z to
11-29 04:59Z; Cyber Monday 11-30 05:00Z to 12-01 11:00Z). So these tests open incidents
detected on 2026-11-10 15:00Z, a quiet day: what the incident looked like at detection (its
`opened` entry) is fixed, and its severity now is only compared with what the CLI shows.
Nothing in the example depends on checkout-api, so its outage is SEV1 while a tier-1 campaign
runs on it and SEV3 (a tier-1 system down) otherwise: never SEV2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from cli_driver import SQLITE_ONLY, Cli, table_rows
from typer.testing import Result

from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

STARTED, DETECTED = "2026-11-10T14:50:00Z", "2026-11-10T15:00:00Z"
SEV3_AT_DETECTION = (
    "opened (manual): SEV3 because signal is outage and a tier-1 system is affected (a tier-1 "
    "system is down, though no campaign is live on it). checkout-api: outage, 100% of traffic "
    "affected; no live campaign is reached by the affected systems"
)
ILLEGAL_MOVE_HINT = (
    "hint: statuses move forward: triage → active → mitigated → resolved → postmortem_done; "
    "a mitigated or resolved incident can reopen as active"
)
NO_CAMPAIGN_FREEZES = "\nfreezes:\n  campaigns: []\n\nreferences:\n"
INCIDENT_FIELDS = {
    "id",
    "title",
    "summary",
    "type",
    "systems",
    "signal",
    "traffic_share",
    "severity",
    "severity_manual",
    "priority",
    "priority_manual",
    "status",
    "roles",
    "source",
    "dedupe_key",
    "started_at",
    "detected_at",
    "opened_at",
    "mitigated_at",
    "resolved_at",
    "postmortem_at",
    "opened_by",
    "assessment",
    "assessed_at",
    "version",
}


def _apply(cli: Cli) -> None:
    """Apply the workspace file straight to the store: `apply` itself is tested elsewhere."""
    assert cli.db is not None
    spec = load_workspace(cli.workspace_file).spec
    WorkspaceService(cli.db, actor="seed", clock=lambda: datetime.now(UTC)).apply(spec)


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _open(cli: Cli, title: str = "Checkout returns 503", *args: str) -> dict[str, Any]:
    """Open a checkout-api outage detected on the quiet day; its --json view."""
    view: dict[str, Any] = cli.json(
        "incident",
        "open",
        title,
        "--system",
        "checkout-api",
        "--started",
        STARTED,
        "--detected",
        DETECTED,
        *args,
    )
    return view


def _show(cli: Cli, ref: str = "INC-1") -> dict[str, Any]:
    view: dict[str, Any] = cli.json("incident", "show", ref)
    return view


def _entries(view: dict[str, Any], *kinds: str) -> list[tuple[str, str]]:
    """(kind, text) of the entries of these kinds, in order (notifications fail in tests: no
    webhook variables are set, and are left out unless asked for)."""
    return [(e["kind"], e["text"]) for e in view["entries"] if e["kind"] in kinds]


def _at_risk(incident: dict[str, Any]) -> str:
    amounts = incident["assessment"]["revenue_at_risk_per_hour"]
    return ", ".join(f"${v:,.0f}/h" for _, v in sorted(amounts.items())) or "-"


def _record(cli: Cli, system: str, version: str, at: str) -> None:
    _ok(cli("record", "deploy", system, "--env", "production", "--version", version, "--at", at))


def test_opening_an_incident_names_it_with_its_severity_revenue_at_risk_and_why(
    mode: Cli,
) -> None:
    _apply(mode)

    result = mode(
        "incident",
        "open",
        "Checkout returns 503",
        "--system",
        "checkout-api",
        "--signal",
        "outage",
        "--commander",
        "@alice",
        "--started",
        STARTED,
        "--detected",
        DETECTED,
    )
    shown = _show(mode)["incident"]

    assert result.exit_code == 0, result.output
    severity = shown["severity"]
    campaigns = len(shown["assessment"]["campaigns"])
    assert result.stdout.splitlines()[:6] == [
        "INC-1: Checkout returns 503",
        f"  {severity} · P{severity[-1]} · triage · outage on checkout-api",
        f"  revenue at risk: {_at_risk(shown)} · {campaigns} live campaign(s) affected",
        f"  why: {shown['assessment']['rule']}",
        "  commander @alice · scribe - · liaison -",
        "  started 2026-11-10 09:50 EST · detected 2026-11-10 10:00 EST (TTD 10 min) · "
        "mitigated - (TTM -) · resolved - (TTR -)",
    ]
    assert severity in ("SEV1", "SEV3")
    opened = [row for row in table_rows(result.stdout) if row[2:4] == ["opened", mode.actor]]
    assert [row[:2] for row in opened] == [["★", "2026-11-10 10:00 EST"]]


@SQLITE_ONLY
def test_the_json_of_an_opened_incident_holds_the_incident_its_entries_tasks_and_durations(
    mode: Cli,
) -> None:
    _apply(mode)

    view = _open(mode, "Checkout returns 503", "--commander", "@alice")

    assert set(view) == {"incident", "entries", "tasks", "durations"}
    incident = view["incident"]
    assert set(incident) == INCIDENT_FIELDS
    assert {k: incident[k] for k in ("id", "title", "systems", "signal", "status", "source")} == {
        "id": 1,
        "title": "Checkout returns 503",
        "systems": ["checkout-api"],
        "signal": "outage",
        "status": "triage",
        "source": "manual",
    }
    assert incident["roles"] == {
        "commander": "@alice",
        "scribe": None,
        "liaison": None,
        "participants": [],
    }
    assert (incident["started_at"], incident["detected_at"]) == (STARTED, DETECTED)
    assert (incident["opened_by"], incident["severity_manual"]) == (mode.actor, False)
    assert incident["priority"] == f"P{incident['severity'][-1]}"
    assert (incident["mitigated_at"], incident["resolved_at"]) == (None, None)
    assert view["durations"] == {
        "time_to_detect_s": 600.0,
        "time_to_mitigate_s": None,
        "time_to_resolve_s": None,
    }
    assert view["tasks"] == []
    (opened,) = [e for e in view["entries"] if e["kind"] == "opened"]
    assert (opened["at"], opened["actor"], opened["pinned"]) == (DETECTED, mode.actor, True)
    assert opened["text"] == SEV3_AT_DETECTION
    assert opened["data"]["assessment"]["severity"] == "SEV3"
    assert opened["data"]["assessment"]["campaigns"] == []
    assert view["entries"][0]["kind"] == "opened"
    # The calendar moves the severity from detection on, never back before it.
    assert all(e["at"] >= DETECTED for e in view["entries"])


@SQLITE_ONLY
def test_the_list_shows_open_incidents_with_time_to_detect_and_mttd_and_mttr(mode: Cli) -> None:
    _apply(mode)
    _open(mode)
    _ok(
        mode(
            "incident",
            "open",
            "Audience export stuck",
            "--system",
            "crm-sync",
            "--signal",
            "degradation",
            "--started",
            "2026-11-12T08:30:00Z",
            "--detected",
            "2026-11-12T09:00:00Z",
            "--json",
        )
    )
    _ok(mode("incident", "resolve", "INC-2", "--note", "export restarted"))

    open_only = _ok(mode("incident", "list"))
    everything = _ok(mode("incident", "list", "--all"))
    crm_only = mode.json("incident", "list", "--all", "--system", "crm-sync")

    def rows(result: Result) -> list[list[str]]:
        # id, status, title, systems, detected (workspace time), TTD (severity, priority,
        # at risk and TTR depend on the day the test runs).
        return [[r[0], r[3], r[4], r[5], r[7], r[8]] for r in table_rows(result.stdout)]

    assert rows(open_only) == [
        [
            "INC-1",
            "triage",
            "Checkout returns 503",
            "checkout-api",
            "2026-11-10 10:00 EST",
            "10 min",
        ]
    ]
    assert open_only.stdout.splitlines()[-1] == "MTTD 10 min over 1 · MTTR - over 0"
    assert rows(everything) == [
        [
            "INC-2",
            "resolved",
            "Audience export stuck",
            "crm-sync",
            "2026-11-12 04:00 EST",
            "30 min",
        ],
        [
            "INC-1",
            "triage",
            "Checkout returns 503",
            "checkout-api",
            "2026-11-10 10:00 EST",
            "10 min",
        ],
    ]
    assert re.fullmatch(
        r"MTTD 20 min over 2 · MTTR \d.* over 1", everything.stdout.splitlines()[-1]
    )
    assert [(i["id"], i["status"]) for i in crm_only] == [(2, "resolved")]


@SQLITE_ONLY
def test_updates_change_status_severity_and_roles_and_pin_a_note_each_as_an_entry(
    mode: Cli,
) -> None:
    _apply(mode)
    _open(mode)

    active = mode.json("incident", "update", "INC-1", "--status", "active")
    by_hand = mode("incident", "update", "INC-1", "--severity", "SEV2")
    roles = mode(
        "incident",
        "update",
        "INC-1",
        "--commander",
        "@bob",
        "--scribe",
        "@carol",
        "--liaison",
        "@dana",
        "--participant",
        "@erin",
        "--participant",
        "@finn",
    )
    noted = mode.json("incident", "update", "INC-1", "--note", "Rolled back to v2.3.9", "--pin")
    mitigated = mode.json("incident", "update", "INC-1", "--status", "mitigated")
    view = _show(mode)

    assert active["incident"]["status"] == "active"
    assert by_hand.exit_code == 0, by_hand.output
    assert (
        by_hand.stdout.splitlines()[1]
        == "  SEV2 (set by hand) · P2 · active · outage on checkout-api"
    )
    assert roles.exit_code == 0, roles.output
    assert roles.stdout.splitlines()[4] == (
        "  commander @bob · scribe @carol · liaison @dana · with @erin, @finn"
    )
    incident = view["incident"]
    assert (incident["severity"], incident["severity_manual"], incident["priority"]) == (
        "SEV2",
        True,
        "P2",
    )
    assert incident["roles"] == {
        "commander": "@bob",
        "scribe": "@carol",
        "liaison": "@dana",
        "participants": ["@erin", "@finn"],
    }
    assert incident["status"] == "mitigated"
    assert incident["mitigated_at"] is not None and incident["resolved_at"] is None
    assert mitigated["durations"]["time_to_mitigate_s"] > 0
    computed = incident["assessment"]["severity"]
    assert _entries(view, "status", "role", "note") + _entries(view, "severity")[-1:] == [
        ("status", "status: triage → active"),
        ("role", "commander: @bob"),
        ("role", "scribe: @carol"),
        ("role", "liaison: @dana"),
        ("role", "joined: @erin, @finn"),
        ("note", "Rolled back to v2.3.9"),
        ("status", "status: active → mitigated"),
        ("severity", f"severity: {computed} → SEV2, set by hand (computed: {computed})"),
    ]
    (note,) = [e for e in noted["entries"] if e["kind"] == "note"]
    assert (note["pinned"], note["actor"]) == (True, mode.actor)
    assert all(e["actor"] == mode.actor for e in view["entries"] if e["kind"] in ("role", "status"))


@SQLITE_ONLY
def test_resolving_records_the_note_and_the_time_to_resolve(mode: Cli) -> None:
    _apply(mode)
    _open(mode)
    _ok(mode("incident", "update", "INC-1", "--status", "active"))

    result = mode("incident", "resolve", "INC-1", "--note", "v2.3.9 is back; 503s stopped")
    view = _show(mode)

    assert result.exit_code == 0, result.output
    assert " · resolved · outage on checkout-api" in result.stdout.splitlines()[1]
    incident = view["incident"]
    assert incident["status"] == "resolved"
    assert incident["resolved_at"] is not None
    assert incident["mitigated_at"] == incident["resolved_at"]
    assert view["durations"]["time_to_resolve_s"] == view["durations"]["time_to_mitigate_s"] > 0
    assert _entries(view, "status", "note") == [
        ("status", "status: triage → active"),
        ("status", "status: active → resolved"),
        ("note", "v2.3.9 is back; 503s stopped"),
    ]
    assert mode.json("incident", "list") == []


@pytest.mark.parametrize(
    ("moves", "to", "error"),
    [
        (("active",), "triage", "error: INC-1 cannot go from active to triage"),
        (
            ("mitigated", "resolved"),
            "mitigated",
            "error: INC-1 cannot go from resolved to mitigated",
        ),
    ],
    ids=["active back to triage", "resolved back to mitigated"],
)
@SQLITE_ONLY
def test_an_illegal_status_change_exits_2_with_a_hint_and_changes_nothing(
    mode: Cli, moves: tuple[str, ...], to: str, error: str
) -> None:
    _apply(mode)
    _open(mode)
    for status in moves:
        _ok(mode("incident", "update", "INC-1", "--status", status))
    before = _show(mode)

    result = mode("incident", "update", "INC-1", "--status", to, "--note", "going back")

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [error, ILLEGAL_MOVE_HINT]
    after = _show(mode)
    assert after["incident"]["status"] == moves[-1]
    assert after["entries"] == before["entries"]


@SQLITE_ONLY
def test_a_reopened_incident_is_active_again(mode: Cli) -> None:
    _apply(mode)
    _open(mode)
    _ok(mode("incident", "resolve", "INC-1"))

    reopened = mode.json("incident", "update", "INC-1", "--status", "active")

    incident = reopened["incident"]
    assert (incident["status"], incident["mitigated_at"], incident["resolved_at"]) == (
        "active",
        None,
        None,
    )
    assert [i["id"] for i in mode.json("incident", "list")] == [1]


@SQLITE_ONLY
def test_notes_and_tasks_land_on_the_incident(mode: Cli) -> None:
    _apply(mode)
    _open(mode)

    noted = mode("incident", "note", "INC-1", "Payments on-call paged", "--pin")
    added = mode.json(
        "incident", "task", "INC-1", "Check the PSP dashboard", "--owner", "@payments"
    )
    done = mode.json("incident", "task", "1", "--done", "1")
    item = mode.json(
        "incident",
        "task",
        "INC-1",
        "Add a canary for checkout",
        "--owner",
        "@payments",
        "--action",
        "prevent",
        "--due",
        "7d",
    )
    view = _show(mode)

    assert noted.exit_code == 0, noted.output
    assert noted.stdout == "noted on INC-1\n"
    assert (added["id"], added["status"], added["kind"], added["owner"]) == (
        1,
        "open",
        "task",
        "@payments",
    )
    assert (done["id"], done["status"]) == (1, "done")
    assert done["done_at"] is not None
    assert (item["id"], item["kind"], item["action_type"], item["status"]) == (
        2,
        "action_item",
        "prevent",
        "open",
    )
    due = datetime.fromisoformat(item["due_at"]) - datetime.fromisoformat(item["created_at"])
    assert abs(due.total_seconds() - 7 * 86400) < 60
    assert [(t["id"], t["title"], t["status"]) for t in view["tasks"]] == [
        (1, "Check the PSP dashboard", "done"),
        (2, "Add a canary for checkout", "open"),
    ]
    assert _entries(view, "note", "task") == [
        ("note", "Payments on-call paged"),
        ("task", "task #1: Check the PSP dashboard → @payments"),
        ("task", "task #1 done: Check the PSP dashboard"),
        ("task", "action item #2: Add a canary for checkout → @payments"),
    ]
    (note,) = [e for e in view["entries"] if e["kind"] == "note"]
    assert note["pinned"] is True


@SQLITE_ONLY
def test_a_task_line_names_the_task_and_its_status(mode: Cli) -> None:
    _apply(mode)
    _open(mode)

    added = mode("incident", "task", "INC-1", "Check the PSP dashboard")
    done = mode("incident", "task", "INC-1", "--done", "1")
    missing = mode("incident", "task", "INC-1")

    assert added.exit_code == 0, added.output
    assert added.stdout == "task #1 (open) Check the PSP dashboard\n"
    assert done.exit_code == 0, done.output
    assert done.stdout == "task #1 (done) Check the PSP dashboard\n"
    assert missing.exit_code == 2
    assert missing.stderr.splitlines()[0] == "error: give a task title, or --done N"


@SQLITE_ONLY
@pytest.mark.parametrize(
    "title",
    ["Cart [eu] 5xx after [/] route change", "Checkout 5xx [/] since the deploy"],
    ids=["brackets that read as a style", "a closing tag with nothing to close"],
)
def test_titles_and_notes_are_shown_as_written_not_as_markup(mode: Cli, title: str) -> None:
    _apply(mode)
    _open(mode, title)
    _ok(mode("incident", "note", "INC-1", "see [red]the logs[/red] on /cart"))

    shown = mode("incident", "show", "INC-1")
    listed = mode("incident", "list")

    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == f"INC-1: {title}"
    assert any(row[-1] == "see [red]the logs[/red] on /cart" for row in table_rows(shown.stdout))
    assert listed.exit_code == 0, listed.output
    assert [row[4] for row in table_rows(listed.stdout)] == [title]


@SQLITE_ONLY
@pytest.mark.parametrize("where", ["local", "remote"])
@pytest.mark.parametrize(
    ("args", "exit_code", "error", "hint"),
    [
        (
            ("open", "Checkout down", "--system", "checkout-apj"),
            1,
            "error: no system 'checkout-apj'",
            "hint: list them with 'launchdeck systems list'",
        ),
        (
            ("update", "INC-x", "--status", "active"),
            2,
            "error: not an incident id: 'INC-x'",
            "hint: e.g. INC-7 or 7",
        ),
        (("show", "INC-0"), 2, "error: not an incident id: 'INC-0'", "hint: e.g. INC-7 or 7"),
        (
            ("open", "Checkout down", "--system", "checkout-api", "--signal", "slow"),
            2,
            "error: --signal: Input should be 'outage' or 'degradation'",
            None,
        ),
        (
            ("open", "Checkout down", "--system", "checkout-api", "--detected", "2099-01-01"),
            2,
            "error: an incident starts before (or when) it is detected, and is detected by now",
            "hint: check --started and --detected",
        ),
    ],
    ids=["unknown system", "bad ref", "ref zero", "unknown signal", "detected in the future"],
)
def test_a_command_that_cannot_run_says_why_and_what_to_do(
    cli_in: Callable[[str], Cli],
    where: str,
    args: tuple[str, ...],
    exit_code: int,
    error: str,
    hint: str | None,
) -> None:
    cli = cli_in(where)
    _apply(cli)

    result = cli("incident", *args)

    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == ([error, hint] if hint else [error])
    assert cli.json("incident", "list", "--all") == []


@SQLITE_ONLY
@pytest.mark.parametrize("where", ["local", "remote"])
def test_an_incident_that_does_not_exist_is_not_found(
    cli_in: Callable[[str], Cli], where: str
) -> None:
    cli = cli_in(where)
    _apply(cli)

    result = cli("incident", "show", "INC-42")

    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[0] == "error: no incident INC-42"


def test_what_changed_before_detection_on_the_system_and_its_dependencies_opens_the_timeline(
    mode: Cli,
) -> None:
    _apply(mode)
    _record(mode, "checkout-api", "v2.3.0", "2026-11-10T08:30:00Z")  # 6.5 h before: too early
    _record(mode, "tracking-pixel", "t-77", "2026-11-10T14:30:00Z")  # checkout-api needs it
    _record(mode, "checkout-api", "v2.4.0", "2026-11-10T14:40:00Z")
    _record(mode, "email-renderer", "v9.1.0", "2026-11-10T14:45:00Z")  # unrelated
    _record(mode, "checkout-api", "v2.4.1", "2026-11-10T15:05:00Z")  # after detection

    view = _open(mode)
    shown = _ok(mode("incident", "show", "INC-1"))

    changes = [e for e in view["entries"] if e["kind"] == "change"]
    assert [(e["at"], e["actor"], e["text"]) for e in changes] == [
        (
            "2026-11-10T14:30:00Z",
            mode.actor,
            "deploy.recorded tracking-pixel (production): version t-77",
        ),
        (
            "2026-11-10T14:40:00Z",
            mode.actor,
            "deploy.recorded checkout-api (production): version v2.4.0",
        ),
    ]
    assert [e["data"]["kind"] for e in changes] == ["deploy.recorded", "deploy.recorded"]
    assert [e["kind"] for e in view["entries"][:3]] == ["change", "change", "opened"]
    change_rows = [row for row in table_rows(shown.stdout) if row[2:3] == ["change"]]
    assert [row[1] for row in change_rows] == ["2026-11-10 09:30 EST", "2026-11-10 09:40 EST"]
    assert "v9.1.0" not in shown.stdout
    assert "v2.3.0" not in json.dumps(view)


def _gate(cli: Cli, *args: str, exit_code: int) -> dict[str, Any]:
    result = cli("gate", "check", "checkout-api", *args, "--json")
    assert result.exit_code == exit_code, result.output
    verdict: dict[str, Any] = json.loads(result.stdout)
    return verdict


def _incident_check(verdict: dict[str, Any]) -> dict[str, Any]:
    (check,) = [c for c in verdict["checks"] if c["check"] == "open_incident"]
    assert isinstance(check, dict)
    return check


@SQLITE_ONLY
def test_an_open_sev1_blocks_changes_to_its_system_but_not_a_rollback(mode: Cli) -> None:
    # No campaign freezes: the open incident is the only thing that can block.
    mode.edit_workspace("\nreferences:\n", NO_CAMPAIGN_FREEZES)
    _apply(mode)
    before = _gate(mode, exit_code=0)

    opened = mode.json(
        "incident", "open", "Checkout down", "--system", "checkout-api", "--severity", "SEV1"
    )
    blocked = _gate(mode, exit_code=3)
    rollback = _gate(mode, "--change-type", "rollback", exit_code=0)
    _ok(mode("incident", "update", "INC-1", "--status", "mitigated"))
    mitigated = _gate(mode, exit_code=0)
    _ok(mode("incident", "resolve", "INC-1"))
    resolved = _gate(mode, exit_code=0)

    assert (opened["incident"]["severity"], opened["incident"]["severity_manual"]) == (
        "SEV1",
        True,
    )
    assert _incident_check(before) == {
        "check": "open_incident",
        "outcome": "pass",
        "summary": "no open incident on checkout-api",
        "facts": {},
    }
    assert blocked["decision"] == "block"
    assert _incident_check(blocked) == {
        "check": "open_incident",
        "outcome": "block",
        "summary": "INC-1 (SEV1, triage: Checkout down) is open on checkout-api: only rollback, "
        "hotfix, reliability until it is mitigated",
        "facts": {
            "incident": "INC-1",
            "severity": "SEV1",
            "status": "triage",
            "open_incidents": 1,
        },
    }
    assert [c["outcome"] for c in blocked["checks"] if c["check"] != "open_incident"] == [
        "pass",  # freeze_window
        "pass",  # active_release: no release in progress
        "unknown",  # error_budget: no Prometheus in this test
    ]
    assert rollback["decision"] == "allow"
    assert _incident_check(rollback)["summary"] == (
        "INC-1 (SEV1, triage: Checkout down) is open; a rollback is allowed as remediation"
    )
    assert (mitigated["decision"], _incident_check(mitigated)["outcome"]) == ("warn", "warn")
    assert _incident_check(resolved)["summary"] == "no open incident on checkout-api"
