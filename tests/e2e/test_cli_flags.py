"""`launchdeck flags …` in local and remote mode: create, on/off through the gate, rollouts and
their split, schedules previewed with `eval --at`, history and restore, the stale report,
change requests between two people, snapshot and flagd export and import, and bad input.

Every test pins the clock (LAUNCHDECK_NOW for the CLI, the server's clock in remote mode) on
2026-11-10 15:00Z, a quiet day of the Black Friday example: no freeze. Black Friday (tier 1,
on checkout-api among others) freezes production 11-26 05:00Z to 12-01 04:59Z; Cyber Monday
starts 2026-11-30 00:00 New York time, 05:00Z.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_driver import SQLITE_ONLY, Cli, issue_token, table_rows
from typer.testing import Result

from launchdeck.auth.model import Scope
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

QUIET = datetime(2026, 11, 10, 15, tzinfo=UTC)
BLACK_FRIDAY_AFTERNOON = datetime(2026, 11, 27, 15, tzinfo=UTC)
CYBER_MONDAY_START = "2026-11-30T05:00:00Z"
JUST_BEFORE = "2026-11-30T04:59:59Z"
GOVERNANCE = "\nflag_governance:\n  approvals:\n    production: 1\n"


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _apply(cli: Cli) -> None:
    """Apply the workspace file straight to the store: `apply` itself is tested elsewhere."""
    assert cli.db is not None
    spec = load_workspace(cli.workspace_file).spec
    WorkspaceService(cli.db, actor="seed", clock=lambda: QUIET).apply(spec)


def _at(cli: Cli, clock: Any, when: datetime) -> Cli:
    """The CLI (and in remote mode the server) with the clock on `when`."""
    clock.now = when
    return cli.with_env(LAUNCHDECK_NOW=when.isoformat().replace("+00:00", "Z"))


@pytest.fixture
def cli(mode: Cli, clock: Any) -> Cli:
    """The CLI in one mode on the applied example, on the quiet day."""
    _apply(mode)
    return _at(mode, clock, QUIET)


def _other(cli: Cli, name: str, clock: Any) -> Cli:
    """The same CLI acting as another person: LAUNCHDECK_ACTOR locally, a token of that name
    remotely."""
    if cli.mode == "local":
        return cli.with_env(LAUNCHDECK_ACTOR=name)
    assert cli.db is not None
    return cli.with_env(LAUNCHDECK_TOKEN=issue_token(cli.db, name, Scope.FLAGS_WRITE, clock=clock))


def _file(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def _show(cli: Cli, key: str = "new-checkout") -> dict[str, Any]:
    shown: dict[str, Any] = cli.json("flags", "show", key)
    return shown


def _eval(cli: Cli, *args: str) -> dict[str, Any]:
    answer: dict[str, Any] = cli.json("flags", "eval", "new-checkout", "--env", "staging", *args)
    return answer["results"]["new-checkout"]


def test_a_flag_is_created_turned_on_through_the_gate_and_off_as_remediation(
    cli: Cli, clock: Any
) -> None:
    created = cli("flags", "create", "new-checkout", "--system", "checkout-api", "--name", "New")
    staging = cli("flags", "on", "new-checkout", "--env", "staging")
    production = cli("flags", "on", "new-checkout", "--env", "production")

    assert _ok(created).stdout == "✓ created new-checkout (version 1)\n"
    assert _ok(staging).stdout == (
        "✓ new-checkout applied: version 2\n  gate: not asked: staging is not production-like\n"
    )
    first, gate = _ok(production).stdout.splitlines()
    assert first == "✓ new-checkout applied: version 3"
    assert gate.startswith("  gate: allow: no freeze window applies")

    frozen = _at(cli, clock, BLACK_FRIDAY_AFTERNOON)
    blocked = frozen("flags", "set", "new-checkout", "--env", "production", "--serve", "off")

    assert blocked.exit_code == 3, blocked.output  # blocked by the gate, as `gate check`
    assert blocked.stdout == ""
    assert blocked.stderr.startswith(
        "error: the gate blocks this change to flag 'new-checkout' in production: campaign "
        "freeze 'Black Friday 2026'"
    )
    assert "hint: turning the flag off is always allowed" in blocked.stderr

    off = frozen("flags", "off", "new-checkout", "--env", "production", "-m", "checkout errors")

    assert _ok(off).stdout == (
        "✓ new-checkout applied: version 4\n"
        "  gate: not asked: turning a flag off is remediation, always allowed\n"
    )
    shown = _show(frozen)
    assert (shown["version"], shown["updated_by"], shown["managed_by"]) == (4, cli.actor, "api")
    environments = shown["spec"]["environments"]
    assert (environments["staging"]["enabled"], environments["production"]["enabled"]) == (
        True,
        False,
    )
    # The example's two flags (managed in launchdeck.yaml) and this one.
    assert [f["spec"]["key"] for f in frozen.json("flags", "list")] == [
        "bf-free-shipping",
        "bf-hero-copy",
        "new-checkout",
    ]


@SQLITE_ONLY
def test_a_rollout_to_25_percent_serves_about_a_quarter_of_users(cli: Cli) -> None:
    _ok(cli("flags", "create", "new-checkout", "--system", "checkout-api"))
    _ok(cli("flags", "on", "new-checkout", "--env", "staging"))

    rolled = cli("flags", "rollout", "new-checkout", "25%", "--env", "staging", "--variant", "on")

    assert _ok(rolled).stdout.splitlines()[0] == "✓ new-checkout applied: version 3"
    rollout = _show(cli)["spec"]["environments"]["staging"]["fallthrough"]["rollout"]
    assert (rollout["coverage"], rollout["weights"]) == (25.0, {"on": 100.0})
    split = cli.json("flags", "eval", "new-checkout", "--env", "staging", "--sample", "10000")
    counts = split["new-checkout"]
    assert sum(counts.values()) == 10_000
    assert 2_350 <= counts["on"] <= 2_650, counts

    _ok(cli("flags", "rollout", "new-checkout", "50%", "--env", "staging"))
    wider = cli.json("flags", "eval", "new-checkout", "--env", "staging", "--sample", "10000")
    assert 4_850 <= wider["new-checkout"]["on"] <= 5_150, wider


@SQLITE_ONLY
def test_eval_at_previews_a_change_tied_to_a_campaign_start(cli: Cli) -> None:
    _ok(cli("flags", "create", "new-checkout", "--system", "checkout-api"))
    _ok(cli("flags", "set", "new-checkout", "--env", "staging", "--serve", "on"))

    scheduled = cli(
        "flags",
        "schedule",
        "new-checkout",
        "--env",
        "staging",
        "--campaign",
        "cyber-monday",
        "--turn",
        "on",
    )

    assert _ok(scheduled).stdout == (
        "✓ new-checkout scheduled: version 3\n  gate: not asked: staging is not production-like\n"
    )
    before = _eval(cli, "--at", JUST_BEFORE, "-c", "targetingKey=u-1")
    after = _eval(cli, "--at", CYBER_MONDAY_START, "-c", "targetingKey=u-1")
    assert (before["value"], before["variant"], before["reason"]) == (False, "off", "DISABLED")
    assert (after["value"], after["variant"], after["reason"]) == (True, "on", "STATIC")
    now = _eval(cli, "-c", "targetingKey=u-1")
    assert now["variant"] == "off"
    table = _ok(
        cli("flags", "eval", "new-checkout", "--env", "staging", "--at", CYBER_MONDAY_START)
    )
    assert table.stdout.splitlines()[0] == (
        "staging as of 2026-11-30T05:00:00+00:00, context (empty)"
    )
    assert table_rows(table.stdout) == [["new-checkout", "true", "on", "STATIC"]]

    dropped = cli("flags", "unschedule", "new-checkout", "0", "--env", "staging", "-m", "no CM")

    assert _ok(dropped).stdout.startswith("✓ new-checkout applied: version 4\n")
    after = _eval(cli, "--at", CYBER_MONDAY_START, "-c", "targetingKey=u-1")
    assert (after["variant"], after["reason"]) == ("off", "DISABLED")
    gone = cli("flags", "unschedule", "new-checkout", "0", "--env", "staging")
    assert gone.exit_code == 1
    assert "no pending scheduled change 0 in staging" in gone.stderr


@SQLITE_ONLY
def test_history_lists_every_version_and_restore_makes_an_old_one_current(
    cli: Cli, tmp_path: Path
) -> None:
    definition = {"system": "checkout-api", "environments": {"staging": {"enabled": False}}}
    _ok(cli("flags", "create", "new-checkout", "-f", _file(tmp_path, "f.yaml", definition)))
    _ok(cli("flags", "on", "new-checkout", "--env", "staging", "-m", "try it"))
    _ok(cli("flags", "set", "new-checkout", "--env", "staging", "--serve", "on"))

    versions = cli.json("flags", "history", "new-checkout")
    text = _ok(cli("flags", "history", "new-checkout")).stdout

    assert [(v["version"], v["action"], v["actor"]) for v in versions] == [
        (1, "created", cli.actor),
        (2, "changed", cli.actor),
        (3, "changed", cli.actor),
    ]
    assert text.splitlines() == [
        f"v1 created by {cli.actor} at 2026-11-10 15:00:00Z",
        f"v2 changed by {cli.actor} at 2026-11-10 15:00:00Z — try it",
        "    environments.staging.enabled: false → true",
        f"v3 changed by {cli.actor} at 2026-11-10 15:00:00Z",
        "    environments.staging.fallthrough.code_default: true → false",
        '    environments.staging.fallthrough.variant: unset → "on"',
    ]

    restored = cli("flags", "restore", "new-checkout", "1")

    assert _ok(restored).stdout == "✓ new-checkout: version 1 restored as version 4\n"
    shown = _show(cli)
    assert shown["version"] == 4
    first = versions[0]["definition"]
    assert {k: v for k, v in shown["spec"].items() if k != "schema"} == {
        k: v for k, v in first.items() if k != "schema"
    }
    last = cli.json("flags", "history", "new-checkout")[-1]
    assert (last["version"], last["action"], last["comment"]) == (
        4,
        "restored",
        "restored version 1",
    )


@SQLITE_ONLY
def test_stale_reports_a_flag_left_off_past_its_lifetime(cli: Cli, clock: Any) -> None:
    _ok(cli("flags", "create", "old-promo", "--system", "cms"))
    _ok(cli("flags", "create", "kill-recs", "--kind", "ops", "--system", "recommendations"))

    fresh = cli.json("flags", "stale")
    later = _at(cli, clock, QUIET + timedelta(days=41))
    report = later.json("flags", "stale")
    table = _ok(later("flags", "stale")).stdout

    assert fresh == []
    assert [(s["key"], s["reason"]) for s in report] == [
        ("old-promo", "off everywhere past its lifetime")
    ]
    assert table_rows(table) == [
        [
            "old-promo",
            "release",
            "off everywhere past its lifetime",
            "remove the flag and keep the 'off' code path: nobody gets the other one",
        ]
    ]


@SQLITE_ONLY
def test_a_governed_change_waits_for_another_persons_approval_and_then_applies(
    mode: Cli, clock: Any
) -> None:
    mode.workspace_file.write_text(
        mode.workspace_file.read_text(encoding="utf-8") + GOVERNANCE, encoding="utf-8"
    )
    _apply(mode)
    alice = _at(mode, clock, QUIET)
    bob = _other(alice, "bob", clock)
    _ok(alice("flags", "create", "new-checkout", "--system", "checkout-api"))

    asked = _ok(alice("flags", "on", "new-checkout", "--env", "production"))

    found = re.fullmatch(
        r"! new-checkout: change request (cr-[0-9a-f]+) waits for approval in production "
        r"\('launchdeck flags approve \1' by someone else\)\n"
        r"  gate: not asked yet: the change request asks it when it is applied\n",
        asked.stdout,
    )
    assert found is not None, asked.stdout
    request_id = found.group(1)
    [waiting] = bob.json("flags", "requests")
    assert (waiting["id"], waiting["status"], waiting["author"]) == (
        request_id,
        "draft",
        alice.actor,
    )
    assert _show(alice)["version"] == 1

    own = alice("flags", "approve", request_id)
    assert own.exit_code == 1, own.output
    assert own.stderr == (
        f"error: {alice.actor} wrote change request {request_id} and cannot approve it\n"
        "hint: another person approves it (flag_governance.self_approval is false)\n"
    )

    approved = bob("flags", "approve", request_id, "-m", "ok for the quiet day")
    assert _ok(approved).stdout == f"✓ {request_id} approved (1 approvals)\n"

    applied = _ok(alice("flags", "apply-request", request_id)).stdout.splitlines()
    assert applied[0] == "✓ new-checkout applied: version 2"
    assert applied[1].startswith("  gate: allow: no freeze window applies")
    assert _show(alice)["spec"]["environments"]["production"]["enabled"] is True
    assert table_rows(_ok(alice("flags", "requests")).stdout) == []
    [done] = alice.json("flags", "requests", "--all")
    assert (done["status"], done["applied_version"], done["decided_by"]) == (
        "applied",
        2,
        alice.actor,
    )
    assert [a["actor"] for a in done["approvals"]] == ["bob"]

    # A second request, rejected by bob: the flag stays as it is.
    _ok(alice("flags", "set", "new-checkout", "--env", "production", "--serve", "off"))
    [second] = alice.json("flags", "requests")
    assert _ok(bob("flags", "reject", second["id"])).stdout == f"✓ {second['id']} rejected\n"
    assert _show(alice)["version"] == 2


@SQLITE_ONLY
def test_export_snapshot_and_a_flagd_round_trip(cli: Cli, tmp_path: Path) -> None:
    definition = {
        "system": "checkout-api",
        "environments": {
            "staging": {
                "enabled": True,
                "rules": [
                    {
                        "when": {"attribute": "country", "op": "in", "values": ["US", "CA"]},
                        "serve": {"variant": "on"},
                    }
                ],
                "fallthrough": {"rollout": {"weights": {"on": 25, "off": 75}}},
            },
            "production": {"enabled": False},
        },
    }
    _ok(cli("flags", "create", "new-checkout", "-f", _file(tmp_path, "f.yaml", definition)))
    snapshot_file, flagd_file = tmp_path / "snapshot.json", tmp_path / "flagd.json"

    _ok(cli("flags", "export", "--env", "staging", "--snapshot", "-o", str(snapshot_file)))
    _ok(cli("flags", "export", "--env", "staging", "-o", str(flagd_file)))

    snapshot = json.loads(snapshot_file.read_text(encoding="utf-8"))
    # 3: the apply wrote the example's two flags, then this one was created.
    assert (snapshot["environment"], snapshot["revision"]) == ("staging", 3)
    keys = [f["key"] for f in snapshot["flags"]]
    assert keys == ["bf-free-shipping", "bf-hero-copy", "new-checkout"]  # the example's two too
    flag = snapshot["flags"][keys.index("new-checkout")]
    assert list(flag["environments"]) == ["staging"]
    assert flag["environments"]["staging"]["rules"][0]["when"]["values"] == ["US", "CA"]
    exported = json.loads(flagd_file.read_text(encoding="utf-8"))
    original = exported["flags"]["new-checkout"]
    assert (original["state"], original["defaultVariant"]) == ("ENABLED", "off")

    exported["flags"] = {"copy-of-checkout": original}
    copy_file = tmp_path / "copy.json"
    copy_file.write_text(json.dumps(exported), encoding="utf-8")
    imported = cli("flags", "import", str(copy_file), "--env", "staging", "--system", "cms")

    assert _ok(imported).stdout == "✓ copy-of-checkout\n"
    copy = _show(cli, "copy-of-checkout")["spec"]
    assert copy["system"] == "cms"
    mine = _show(cli)["spec"]["environments"]["staging"]
    theirs = copy["environments"]["staging"]
    assert (theirs["enabled"], theirs["fallthrough"]) == (mine["enabled"], mine["fallthrough"])
    assert [r["when"] for r in theirs["rules"]] == [r["when"] for r in mine["rules"]]
    again = json.loads(_ok(cli("flags", "export", "--env", "staging")).stdout)
    assert again["flags"]["copy-of-checkout"] == original


@SQLITE_ONLY
def test_bad_input_is_refused_with_what_is_wrong_and_what_to_do(cli: Cli) -> None:
    _ok(cli("flags", "create", "new-checkout", "--system", "checkout-api"))

    unknown = cli("flags", "show", "nope")
    unknown_change = cli("flags", "on", "nope", "--env", "staging")
    unknown_env = cli("flags", "on", "new-checkout", "--env", "prod")
    bad_pair = cli("flags", "eval", "new-checkout", "--env", "staging", "--context", "country")
    too_much = cli(
        "flags", "rollout", "new-checkout", "120%", "--env", "staging", "--variant", "on"
    )
    taken = cli("flags", "create", "new-checkout")

    not_found = "error: no flag 'nope'\nhint: 'launchdeck flags list' shows the flags\n"
    assert (unknown.exit_code, unknown.stdout, unknown.stderr) == (1, "", not_found)
    assert (unknown_change.exit_code, unknown_change.stderr) == (1, not_found)
    assert (unknown_env.exit_code, unknown_env.stderr) == (
        1,
        "error: no environment 'prod'\nhint: use one of: production, staging\n",
    )
    assert (bad_pair.exit_code, bad_pair.stderr) == (
        2,
        "error: --context 'country' is not k=v\nhint: e.g. --context country=US\n",
    )
    assert (too_much.exit_code, too_much.stderr) == (
        2,
        "error: rollout 120%: '120%' is outside 0–100 %\n",
    )
    assert taken.exit_code == 1
    assert taken.stderr.startswith("error: flag 'new-checkout' already exists\n")
    assert _show(cli)["version"] == 1


@SQLITE_ONLY
def test_why_a_flag_was_created_and_archived_is_kept_in_both_modes(cli: Cli) -> None:
    _ok(cli("flags", "create", "new-checkout", "--system", "checkout-api", "-m", "Q4 checkout"))
    _ok(cli("flags", "archive", "new-checkout", "-m", "shipped to everyone"))

    history = cli.json("flags", "history", "new-checkout")

    assert [(v["action"], v["comment"]) for v in history] == [
        ("created", "Q4 checkout"),
        ("archived", "shipped to everyone"),
    ]
