"""`launchdeck runbook list|show|run`, in local and remote mode.

The example ships four runbooks (references.runbooks). A run records every step on the
incident's own timeline and as an `incident.runbook_step` event; its freeze steps go through
the client (the same ad-hoc freezes `freeze add` makes) and its shell steps run here with bash.
Tests that run actions write their own small runbooks into the workspace copy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cli_driver import SQLITE_ONLY, Cli, table_rows
from typer.testing import Result

from launchdeck.timeline.model import Event, TimelinePage
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

SHIPPED = ["deployment-rollback", "database-failover", "third-party-fallback", "cache-invalidation"]
DETECTED = "2026-11-10T15:00:00Z"
LAST_SHIPPED = "    - runbooks/cache-invalidation.md\n"

PURGE_AND_HOLD = """---
name: purge-and-hold
title: Hold checkout deploys and purge its cache
systems: [checkout-api]
incident_types: [outage]
params:
  system: {required: true, description: the system to purge}
---
Hold deploys first, so nothing lands on top of the purge.

## Hold deploys

```launchdeck
action: freeze
with: {system: checkout-api, duration: 1h, reason: "{incident}: purge"}
```

## Purge the cache

```launchdeck
action: shell
with: {command: "echo purged {system}", timeout: 10s}
```
"""

BANNER_OFF = """---
name: banner-off
title: Take the checkout banner down
systems: [checkout-api]
---
## Say where we are

```launchdeck
action: shell
with: {command: "echo before the flag", timeout: 10s}
```

## Turn off the banner

```launchdeck
action: flag_off
with: {flag: checkout-banner, environment: production}
```

## Never reached

```launchdeck
action: shell
with: {command: "echo after the flag", timeout: 10s}
```
"""

BANNER_FLAG = """  - key: checkout-banner
    system: checkout-api
    environments:
      production: {enabled: true, fallthrough: {variant: "on"}}
"""
FLAG_OFF_FAILURE = "no flag 'checkout-banner' (hint: "
RUN_IT = "Run it? y = yes, s = skip (done another way), n = stop here [n]: "


def _apply(cli: Cli) -> None:
    """Apply the workspace file straight to the store: `apply` itself is tested elsewhere."""
    assert cli.db is not None
    spec = load_workspace(cli.workspace_file).spec
    WorkspaceService(cli.db, actor="seed", clock=lambda: datetime.now(UTC)).apply(spec)


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _add_runbook(cli: Cli, name: str, text: str) -> None:
    """Write runbooks/<name>.md into the workspace and list it under references.runbooks."""
    (cli.workspace / "runbooks" / f"{name}.md").write_text(text, encoding="utf-8")
    cli.edit_workspace(LAST_SHIPPED, f"{LAST_SHIPPED}    - runbooks/{name}.md\n")


def _open(cli: Cli, system: str = "checkout-api", *args: str) -> str:
    view = cli.json(
        "incident", "open", f"{system} is down", "--system", system, "--detected", DETECTED, *args
    )
    return f"INC-{view['incident']['id']}"


def _runbook_entries(cli: Cli, ref: str = "INC-1") -> list[dict[str, Any]]:
    view = cli.json("incident", "show", ref)
    return [e for e in view["entries"] if e["kind"] == "runbook"]


def _steps(entries: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return [(e["data"]["runbook"], e["data"]["step"], e["data"]["status"]) for e in entries]


def _events(cli: Cli, kind: str) -> list[Event]:
    result = _ok(cli("timeline", "--kind", kind, "--json"))
    return list(TimelinePage.model_validate_json(result.stdout).events)


def _names(cli: Cli, *args: str) -> list[str]:
    return [book["name"] for book in cli.json("runbook", "list", *args)]


def test_the_four_shipped_runbooks_are_listed_with_what_they_are_for(mode: Cli) -> None:
    result = _ok(mode("runbook", "list"))

    assert table_rows(result.stdout) == [
        [
            "deployment-rollback",
            "Roll back a bad deployment",
            "any",
            "bad-deploy, outage",
            "5",
            "2",
        ],
        [
            "database-failover",
            "Fail the checkout database over to its replica",
            "checkout-api",
            "outage, degradation",
            "6",
            "2",
        ],
        [
            "third-party-fallback",
            "Fall back when a third-party provider is down",
            "checkout-api, recommendations, landing-pages",
            "third-party, outage, degradation",
            "5",
            "2",
        ],
        [
            "cache-invalidation",
            "Purge stale content from the landing-page cache",
            "landing-pages, cms",
            "stale-content, bad-deploy",
            "5",
            "2",
        ],
    ]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("args", "names"),
    [
        ((), SHIPPED),
        (("--system", "checkout-api"), SHIPPED[:3]),
        (("--system", "cms"), ["deployment-rollback", "cache-invalidation"]),
        (("--type", "stale-content"), ["cache-invalidation"]),
        (("--system", "crm-sync", "--type", "third-party"), []),
    ],
    ids=["all", "checkout-api", "cms", "stale content", "nothing for crm-sync third parties"],
)
def test_the_list_filters_by_system_and_incident_type(
    mode: Cli, args: tuple[str, ...], names: list[str]
) -> None:
    assert _names(mode, *args) == names


@SQLITE_ONLY
def test_the_list_for_an_incident_keeps_the_runbooks_for_its_systems_and_type(mode: Cli) -> None:
    _apply(mode)
    checkout = _open(mode, "checkout-api")
    stale = _open(mode, "landing-pages", "--type", "stale-content")
    crm = _open(mode, "crm-sync", "--type", "third-party")

    assert _names(mode, "--incident", checkout) == SHIPPED[:3]
    assert _names(mode, "--incident", stale) == ["cache-invalidation"]
    assert _names(mode, "--incident", crm) == []
    listed = _ok(mode("runbook", "list", "--incident", stale))
    assert [row[0] for row in table_rows(listed.stdout)] == ["cache-invalidation"]


@SQLITE_ONLY
def test_show_gives_a_runbook_s_params_and_steps(mode: Cli) -> None:
    result = _ok(mode("runbook", "show", "deployment-rollback"))

    lines = result.stdout.splitlines()
    source = mode.workspace / "runbooks" / "deployment-rollback.md"
    assert lines[:2] == [
        f"deployment-rollback: Roll back a bad deployment  ({source}:2:7)",
        "A release made things worse. Put the last good version back first, debug later.",
    ]
    rows = table_rows(result.stdout)
    assert rows[:3] == [
        ["system", "(required)", "the system whose release went bad, e.g. landing-pages"],
        ["environment", "production", "-"],
        ["freeze_for", "2h", "how long other deploys of the system are held"],
    ]
    assert [row[:3] for row in rows[3:]] == [
        ["1", "Confirm the release is the likely cause", "instruction"],
        ["2", "Freeze further deploys", "freeze"],
        ["3", "Roll back the release", "rollback"],
        ["4", "Tell the campaign owners", "instruction"],
        ["5", "Verify the recovery", "instruction"],
    ]
    assert rows[3][3].startswith('Look at "what changed" on {incident}: a release of {system}')


@SQLITE_ONLY
@pytest.mark.parametrize(
    "args",
    [("show", "deployment-rollbak"), ("run", "deployment-rollbak", "--dry-run")],
    ids=["show", "run"],
)
def test_an_unknown_runbook_suggests_the_closest_name(mode: Cli, args: tuple[str, ...]) -> None:
    result = mode("runbook", *args)

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: no runbook 'deployment-rollbak'; did you mean 'deployment-rollback'?",
        f"hint: runbooks: {', '.join(SHIPPED)}",
    ]


def test_a_dry_run_records_every_step_on_the_incident_and_does_nothing(mode: Cli) -> None:
    _apply(mode)
    ref = _open(mode)

    result = mode("runbook", "run", "deployment-rollback", "--incident", ref, "--dry-run")
    entries = _runbook_entries(mode)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "Roll back a bad deployment (deployment-rollback, 5 steps, dry run)"
    )
    assert (
        "  dry_run 2. Freeze further deploys: freeze deploys of checkout-api in production for 2h "
        "(reason: INC-1: rolling back checkout-api)"
    ) in result.stdout.splitlines()
    assert (
        "  dry_run 3. Roll back the release: roll back checkout-api in production "
        "(reason: INC-1: bad deploy)"
    ) in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == (
        "✓ deployment-rollback: 5 step(s) dry run on INC-1's timeline"
    )
    assert _steps(entries) == [("deployment-rollback", n, "dry_run") for n in range(1, 6)]
    assert all(e["data"]["dry_run"] is True and e["actor"] == mode.actor for e in entries)
    assert entries[1]["text"] == (
        "deployment-rollback step 2 'Freeze further deploys' (freeze): dry_run: freeze deploys "
        "of checkout-api in production for 2h (reason: INC-1: rolling back checkout-api)"
    )
    assert mode.json("freeze", "list") == []
    assert _events(mode, "freeze.added") == []
    steps = _events(mode, "incident.runbook_step")
    assert sorted(str(e.payload["step"]) for e in steps) == ["1", "2", "3", "4", "5"]
    assert {(e.subject, e.payload["status"]) for e in steps} == {("incident/1", "dry_run")}


def test_a_run_freezes_and_runs_shell_steps_each_on_the_incident_and_the_timeline(
    mode: Cli,
) -> None:
    _add_runbook(mode, "purge-and-hold", PURGE_AND_HOLD)
    _apply(mode)
    ref = _open(mode)

    result = mode("runbook", "run", "purge-and-hold", "--incident", ref, "--yes")
    freezes = mode.json("freeze", "list")
    entries = _runbook_entries(mode)
    steps = _events(mode, "incident")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "will run: bash -c: echo purged checkout-api (timeout 10s)" in lines
    assert "  done 2. Purge the cache: exit 0" in lines
    assert lines[lines.index("  done 2. Purge the cache: exit 0") + 1] == "purged checkout-api"
    assert lines[-1] == "✓ purge-and-hold: 2 step(s) run on INC-1's timeline"
    (freeze,) = freezes
    assert (freeze["kind"], freeze["name"], freeze["systems"], freeze["environments"]) == (
        "adhoc",
        "INC-1: purge",
        ["checkout-api"],
        [],
    )
    held = datetime.fromisoformat(freeze["ends_at"]) - datetime.fromisoformat(freeze["starts_at"])
    assert abs(held - timedelta(hours=1)) < timedelta(minutes=1)
    assert f"  done 1. Hold deploys: freeze {freeze['id']} on checkout-api until " in (
        result.stdout
    )
    assert _steps(entries) == [("purge-and-hold", 1, "done"), ("purge-and-hold", 2, "done")]
    assert entries[0]["text"].startswith(
        f"purge-and-hold step 1 'Hold deploys' (freeze): done: freeze {freeze['id']} on "
        "checkout-api until "
    )
    assert entries[1]["text"] == "purge-and-hold step 2 'Purge the cache' (shell): done: exit 0"
    assert entries[1]["data"]["detail"] == "exit 0\npurged checkout-api"  # the output, kept
    runbook_steps = [e for e in steps if e.kind == "incident.runbook_step"]
    assert sorted((e.payload["step"], e.payload["status"]) for e in runbook_steps) == [
        (1, "done"),
        (2, "done"),
    ]
    assert {(e.subject, e.system, e.actor) for e in runbook_steps} == {
        ("incident/1", "checkout-api", mode.actor)
    }
    assert [e.subject for e in _events(mode, "freeze.added")] == [
        f"freeze/{freeze['id'].removeprefix('adhoc:')}"
    ]


def test_a_kill_switch_step_turns_the_flag_off_through_the_client(mode: Cli) -> None:
    _add_runbook(mode, "banner-off", BANNER_OFF)
    # Declared in launchdeck.yaml (GitOps), so it is on in production without asking the gate
    # during Black Friday; a kill switch still works on a flag managed in Git.
    mode.edit_workspace("\nflags:\n", "\nflags:\n" + BANNER_FLAG)  # next to the example's flags
    _apply(mode)
    ref = _open(mode)
    banner = ("flags", "eval", "checkout-banner", "--env", "production", "-c", "targetingKey=u1")
    on = mode.json(*banner)
    assert on["results"]["checkout-banner"]["value"] is True

    result = mode("runbook", "run", "banner-off", "--incident", ref, "--yes")

    assert result.exit_code == 0, result.output
    off = mode.json(*banner)
    assert off["results"]["checkout-banner"]["value"] is False
    assert off["results"]["checkout-banner"]["reason"] == "DISABLED"
    entries = _runbook_entries(mode, ref)
    assert _steps(entries) == [("banner-off", i, "done") for i in (1, 2, 3)]
    assert "checkout-banner off in production" in entries[1]["text"]
    assert "remediation" in entries[1]["text"]
    (changed,) = _events(mode, "flag.changed")
    assert (changed.subject, changed.environment) == ("flag/checkout-banner", "production")
    assert changed.actor == mode.actor


@SQLITE_ONLY
def test_a_step_whose_target_is_missing_fails_the_run_and_is_recorded(mode: Cli) -> None:
    _add_runbook(mode, "banner-off", BANNER_OFF)
    _apply(mode)
    ref = _open(mode)

    result = mode("runbook", "run", "banner-off", "--incident", ref, "--yes")
    entries = _runbook_entries(mode)

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    (failed,) = [line for line in lines if line.startswith("  failed ")]
    assert failed.startswith(f"  failed 2. Turn off the banner: {FLAG_OFF_FAILURE}")
    assert lines[-1] == "✗ banner-off stopped at step 2 on INC-1's timeline"
    assert "after the flag" not in result.stdout
    assert _steps(entries) == [("banner-off", 1, "done"), ("banner-off", 2, "failed")]
    assert entries[1]["text"].startswith(
        f"banner-off step 2 'Turn off the banner' (flag_off): failed: {FLAG_OFF_FAILURE}"
    )


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("answers", "statuses", "freezes"),
    [("n\n", ["declined"], 0), ("y\nn\n", ["done", "declined"], 1)],
    ids=["no at the first step", "yes, then no"],
)
def test_an_interactive_run_asks_before_each_action_and_stops_when_declined(
    mode: Cli, answers: str, statuses: list[str], freezes: int
) -> None:
    _add_runbook(mode, "purge-and-hold", PURGE_AND_HOLD)
    _apply(mode)
    ref = _open(mode)

    result = mode.runner.invoke(
        mode.app,
        ["runbook", "run", "purge-and-hold", "--incident", ref],
        env=dict(mode.env),
        input=answers,
        catch_exceptions=False,
    )
    entries = _runbook_entries(mode)

    assert result.exit_code == 1, result.output
    assert result.stdout.count(RUN_IT) == len(statuses)
    stopped = len(statuses)
    assert result.stdout.splitlines()[-1] == (
        f"✗ purge-and-hold stopped at step {stopped} on INC-1's timeline"
    )
    assert "purged checkout-api" not in result.stdout.splitlines()  # the shell never ran
    assert [e["data"]["status"] for e in entries] == statuses
    assert entries[-1]["text"].startswith(
        f"purge-and-hold step {stopped} {['Hold deploys', 'Purge the cache'][stopped - 1]!r} "
        f"({['freeze', 'shell'][stopped - 1]}): declined: declined by the operator: "
    )
    assert len(mode.json("freeze", "list")) == freezes


@SQLITE_ONLY
def test_an_interactive_run_skips_a_step_done_another_way_and_goes_on(mode: Cli) -> None:
    _add_runbook(mode, "purge-and-hold", PURGE_AND_HOLD)
    _apply(mode)
    ref = _open(mode)

    result = mode.runner.invoke(
        mode.app,
        ["runbook", "run", "purge-and-hold", "--incident", ref],
        env=dict(mode.env),
        input="maybe\ns\ny\n",
        catch_exceptions=False,
    )
    entries = _runbook_entries(mode)

    assert result.exit_code == 0, result.output
    assert result.stdout.count(RUN_IT) == 3
    assert "answer y, s or n" in result.stdout.splitlines()
    assert "purged checkout-api" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "✓ purge-and-hold: 2 step(s) run on INC-1's timeline"
    assert _steps(entries) == [("purge-and-hold", 1, "skipped"), ("purge-and-hold", 2, "done")]
    assert entries[0]["text"] == (
        "purge-and-hold step 1 'Hold deploys' (freeze): skipped: skipped by the operator"
    )
    assert mode.json("freeze", "list") == []


@SQLITE_ONLY
def test_a_run_needs_its_required_params_unless_the_incident_gives_them(mode: Cli) -> None:
    result = mode("runbook", "run", "deployment-rollback", "--dry-run")

    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == (
        "error: runbook 'deployment-rollback' needs the param 'system'; system: the system whose "
        "release went bad, e.g. landing-pages"
    )


def test_a_runbook_for_an_unknown_system_fails_validation_naming_its_file(
    file_mode: Cli,
) -> None:
    _add_runbook(
        file_mode,
        "bad-systems",
        "---\nname: bad-systems\ntitle: Points at a typo\nsystems: [checkout-apj]\n---\n"
        "## Look\n\nLook at the dashboards.\n",
    )
    source = file_mode.workspace / "runbooks" / "bad-systems.md"

    result = file_mode("validate")

    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[:2] == [
        "error: 1 problem in references.runbooks",
        f"  ✗ {source}:2:7: runbook 'bad-systems' is for system 'checkout-apj', which the "
        "workspace does not have",
    ]
    assert "hint: use one of: checkout-api, cms, crm-sync" in result.stderr


LEAKY = """---
name: leaky
title: A step whose output holds a webhook secret
steps:
  - name: Print the environment
    action: shell
    with: {command: "echo slack is $NORTHWIND_SLACK_PAYMENTS_WEBHOOK and [/usr/lib]"}
---
"""


@SQLITE_ONLY
def test_a_step_s_output_never_carries_a_webhook_secret_onto_the_incident(mode: Cli) -> None:
    secret = "https://hooks.slack.test/services/T000/B000/s3cr3t"
    _add_runbook(mode, "leaky", LEAKY)
    _apply(mode)
    ref = _open(mode)
    leaky = mode.with_env(NORTHWIND_SLACK_PAYMENTS_WEBHOOK=secret)

    result = leaky("runbook", "run", "leaky", "--incident", ref, "--yes")
    (entry,) = _runbook_entries(mode)
    (event,) = _events(mode, "incident.runbook_step")

    assert result.exit_code == 0, result.output
    assert "slack is *** and [/usr/lib]" in result.stdout
    assert secret not in result.stdout
    assert entry["data"]["detail"] == "exit 0\nslack is *** and [/usr/lib]"
    assert secret not in json.dumps(entry)
    assert "detail" not in event.payload
