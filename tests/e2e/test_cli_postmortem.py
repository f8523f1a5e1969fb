"""`launchdeck postmortem draft|actions|check`, in local and remote mode.

The draft fills what the incident's record knows and leaves a `_TODO(author): …_` marker where
a person must write. Its impact depends on the campaigns live from detection to resolution, and
the CLI resolves at the wall clock: so these tests replace the example's dated campaigns with one
that runs 2026 to 2030 on checkout-api (tier 2, $20,000/h), and a checkout-api outage is SEV2
("a tier-2 campaign is down") from detection to now. Prometheus is a closed port here, so the
draft says why it could not read the SLO's error budget.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from cli_driver import SQLITE_ONLY, Cli
from typer.testing import Result

from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

STARTED, DETECTED, DEPLOYED = (
    "2026-11-10T14:50:00Z",
    "2026-11-10T15:00:00Z",
    "2026-11-10T14:40:00Z",
)
NEW_YORK = ZoneInfo("America/New_York")
EVERGREEN = {
    "id": "always-on",
    "name": "Always-on checkout",
    "start": "2026-01-01T00:00:00",
    "end": "2030-12-31T23:59:00",
    "tier": 2,
    "revenue_per_hour": 20000,
    "systems": ["checkout-api"],
}
TODO_SECTIONS = [
    "Summary",
    "Root causes",
    "Resolution",
    "What went well",
    "What went wrong",
    "Where we got lucky",
]
SEV2_AT_DETECTION = (
    "opened (manual): SEV2 because signal is outage and a tier-1..2 campaign is affected (a "
    "tier-2 campaign is down). checkout-api: outage, 100% of traffic affected; Always-on "
    "checkout (tier 2) is live and reached via checkout-api: $20,000/h × 100% = $20,000/h at "
    "risk; revenue at risk: $20,000/h"
)
NEW_ROW = "| Page the payments lead on checkout 5xx | mitigate | @payments | 2026-12-15 |  |  |"
MINUTES = r"\d+ min(?: \(\d+ h \d+ min\))?"
"""How the draft writes a duration: "4 min", "95 min (1 h 35 min)"."""
WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _apply_evergreen(cli: Cli) -> None:
    """The example with one campaign that is live on checkout-api from 2026 to 2030, applied."""
    data = yaml.safe_load(cli.workspace_file.read_text(encoding="utf-8"))
    data["campaigns"] = [EVERGREEN]
    del data["references"]["calendars"]
    cli.workspace_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert cli.db is not None
    spec = load_workspace(cli.workspace_file).spec
    WorkspaceService(cli.db, actor="seed", clock=lambda: datetime.now(UTC)).apply(spec)


def _scripted_incident(cli: Cli) -> dict[str, Any]:
    """A deploy, then the outage it seems to have caused: opened, mitigated, resolved, with one
    action item. Its --json view."""
    _ok(
        cli(
            "record",
            "deploy",
            "checkout-api",
            "--env",
            "production",
            "--version",
            "v2.4.0",
            "--at",
            DEPLOYED,
        )
    )
    _ok(
        cli(
            "incident",
            "open",
            "Checkout returns 503",
            "--system",
            "checkout-api",
            "--started",
            STARTED,
            "--detected",
            DETECTED,
            "--commander",
            "@alice",
        )
    )
    _ok(cli("incident", "update", "INC-1", "--status", "mitigated"))
    _ok(cli("incident", "resolve", "INC-1", "--note", "v2.3.9 is back"))
    _ok(
        cli(
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
    )
    view: dict[str, Any] = cli.json("incident", "show", "INC-1")
    return view


def _sections(markdown: str) -> dict[str, str]:
    """The text under each `##`/`###` heading (to the next heading), by heading."""
    parts = re.split(r"(?m)^#{2,3} (.+)\n", markdown)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def _draft(cli: Cli, tmp_path: Path) -> tuple[Result, Path]:
    out = tmp_path / "pm.md"
    return cli("postmortem", "draft", "INC-1", "--out", str(out)), out


def _ny(instant: str) -> str:
    return datetime.fromisoformat(instant).astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M")


def test_the_draft_fills_everything_the_record_knows_and_marks_the_rest(
    mode: Cli, tmp_path: Path, prometheus_url: str
) -> None:
    _apply_evergreen(mode)
    view = _scripted_incident(mode)

    result, out = _draft(mode, tmp_path)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} (9 sections filled)\n"
    assert result.stderr.splitlines() == [
        f"to write by hand: {', '.join(TODO_SECTIONS)} (search for TODO(author))"
    ]
    markdown = out.read_text(encoding="utf-8")
    lines = markdown.splitlines()
    sections = _sections(markdown)
    incident = view["incident"]
    mitigated = _ny(incident["mitigated_at"])
    resolved = _ny(incident["resolved_at"])
    assert lines[0] == "# INC-1: Checkout returns 503 — Postmortem"
    assert "- **Authors:** @alice (commander)" in lines
    assert "- **Incident:** INC-1, SEV2 / P2, resolved; systems: checkout-api" in lines
    assert "- **Time zone:** all times are in America/New_York" in lines
    # Summary: the facts, then the author's part.
    assert re.search(
        rf"^SEV2 outage of checkout-api from 2026-11-10 09:50 to {mitigated} \({MINUTES}\), "
        r"affecting Always-on checkout; revenue at risk \$20,000/h\.$",
        sections["Summary"],
        re.M,
    ), sections["Summary"]
    # Impact: money, the campaign, and why the error budget is missing.
    impact = sections["Impact"]
    assert "- **Revenue at risk:** $20,000/h (latest assessment, 2026-11-10 10:00: SEV2)" in impact
    assert "- **Signal:** outage, 100% of traffic affected" in impact
    assert "| Always-on checkout | 2 | checkout-api | $20,000/h | $20,000/h |" in impact
    assert re.search(
        rf"^- \*\*Duration of impact:\*\* {MINUTES}, 2026-11-10 09:50 to {mitigated} "
        r"\(until mitigation\)$",
        impact,
        re.M,
    ), impact
    assert re.search(
        r"^- \*\*Estimated revenue at risk over the impact:\*\* up to \$[\d,]+ "
        r"\(\$20,000/h × [\d.]+ h\)\.",
        impact,
        re.M,
    ), impact
    (budget,) = [line for line in impact.splitlines() if line.startswith("Error budget:")]
    assert budget.startswith("Error budget: the SLO figures could not be read (")
    assert f"could not reach Prometheus at {prometheus_url} to run " in budget
    # The suspected trigger is the deploy recorded before detection.
    assert sections["Trigger"].strip() == (
        "**Suspected, confirm:** deploy.recorded checkout-api (production): version v2.4.0 "
        f"(change recorded 2026-11-10 09:40 by {mode.actor}, 20 min before detection)."
    )
    assert (
        "- **Time to detect:** 10 min (from the start of impact, 2026-11-10 09:50)"
        in (sections["Detection"])
    )
    assert f"- **Source:** reported by a person (opened by {mode.actor})" in sections["Detection"]
    assert re.search(
        rf"^- \*\*Time to mitigate:\*\* {MINUTES}, mitigated {mitigated}$",
        sections["Resolution"],
        re.M,
    ), sections["Resolution"]
    assert re.search(
        rf"^- \*\*Time to resolve:\*\* {MINUTES}, resolved {resolved}$",
        sections["Resolution"],
        re.M,
    ), sections["Resolution"]
    # The timeline, from the record.
    timeline = sections["Timeline"]
    assert (
        f"| 2026-11-10 09:40 | change | {mode.actor} | deploy.recorded checkout-api (production): "
        "version v2.4.0 |"
    ) in timeline
    assert f"| ★ 2026-11-10 10:00 | opened | {mode.actor} | {SEV2_AT_DETECTION} |" in timeline
    assert f"| {mitigated} | status | {mode.actor} | status: triage → mitigated |" in timeline
    assert f"| {resolved} | note | {mode.actor} | v2.3.9 is back |" in timeline
    # The tracked action item, with its owner and type.
    (task,) = view["tasks"]
    due = _ny(task["due_at"])[:10]
    assert (
        f"| Add a canary for checkout | prevent | @payments | {due} | open | #{task['id']} |"
    ) in sections["Action items"]
    assert sections["Supporting information"].lstrip().startswith("- **Severity:** SEV2\n")
    # A TODO marker in each section a person writes, and nowhere else.
    marked = [title for title, text in sections.items() if "TODO(author)" in text]
    assert marked == TODO_SECTIONS
    assert markdown.count("_TODO(author): ") == len(TODO_SECTIONS)
    assert "TODO" not in markdown.split("\n## ", 1)[0]


@SQLITE_ONLY
def test_the_draft_goes_to_stdout_without_out(mode: Cli, tmp_path: Path) -> None:
    _apply_evergreen(mode)
    _scripted_incident(mode)
    _, out = _draft(mode, tmp_path)

    result = _ok(mode("postmortem", "draft", "INC-1"))

    written = out.read_text(encoding="utf-8")
    generated = re.compile(r"(?m)^(- \*\*(?:Generated|Date):\*\*) .*$")
    # The same markdown (up to the time it was generated, and the newline print adds).
    assert generated.sub(r"\1", result.stdout.rstrip("\n")) == generated.sub(
        r"\1", written.rstrip("\n")
    )


@SQLITE_ONLY
def test_new_action_items_in_the_edited_draft_become_tracked_tasks(
    mode: Cli, tmp_path: Path
) -> None:
    _apply_evergreen(mode)
    view = _scripted_incident(mode)
    _ok(_draft(mode, tmp_path)[0])
    out = tmp_path / "pm.md"
    (task,) = view["tasks"]
    text = out.read_text(encoding="utf-8")
    tracked = next(line for line in text.splitlines() if line.endswith(f"| #{task['id']} |"))
    out.write_text(text.replace(tracked, f"{tracked}\n{NEW_ROW}"), encoding="utf-8")

    result = mode("postmortem", "actions", str(out), "--incident", "INC-1")
    tasks = mode.json("incident", "show", "INC-1")["tasks"]

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "task #2 (mitigate) Page the payments lead on checkout 5xx → @payments",
        "1 action item(s) now tracked on INC-1",
    ]
    assert [
        (t["id"], t["title"], t["kind"], t["action_type"], t["owner"], t["status"]) for t in tasks
    ] == [
        (1, "Add a canary for checkout", "action_item", "prevent", "@payments", "open"),
        (
            2,
            "Page the payments lead on checkout 5xx",
            "action_item",
            "mitigate",
            "@payments",
            "open",
        ),
    ]
    # Due 2026-12-15 in the workspace's zone: the end of that day in New York.
    assert tasks[1]["due_at"] == "2026-12-16T04:59:00Z"


@SQLITE_ONLY
def test_a_draft_with_a_bad_action_item_row_says_which_line_and_column(
    mode: Cli, tmp_path: Path
) -> None:
    _apply_evergreen(mode)
    _scripted_incident(mode)
    _ok(_draft(mode, tmp_path)[0])
    out = tmp_path / "pm.md"
    text = out.read_text(encoding="utf-8")
    bad = "| Fix the retries | someday | @payments | next week |  |  |"
    out.write_text(text.replace("| #1 |\n", f"| #1 |\n{bad}\n"), encoding="utf-8")
    line = out.read_text(encoding="utf-8").splitlines().index(bad) + 1

    result = mode("postmortem", "actions", str(out), "--incident", "INC-1")

    assert result.exit_code == 1, result.output
    assert f"{out}:{line}" in result.stderr
    assert "type 'someday' is not one of mitigate, prevent, process" in result.stderr
    assert "due 'next week' is not a date" in result.stderr
    assert len(mode.json("incident", "show", "INC-1")["tasks"]) == 1


@SQLITE_ONLY
def test_the_check_flags_blaming_language_with_line_and_column(mode: Cli, tmp_path: Path) -> None:
    edited = tmp_path / "edited.md"
    edited.write_text(
        "# INC-1: Checkout returns 503 — Postmortem\n"
        "\n"
        "## Root causes\n"
        "\n"
        "The v2.4.0 deploy went out at 09:40 without a canary.\n"
        "Bob should have checked the error rate first.\n",
        encoding="utf-8",
    )

    result = mode("postmortem", "check", str(edited))

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        f"{edited}:6:5: 'should have': hindsight judges a decision by an outcome nobody could see "
        "at the time",
        "  try: describe what the system allowed and what would have caught it: 'nothing checked "
        "… before …'",
        "✗ 1 blaming phrase(s)",
    ]


@SQLITE_ONLY
def test_the_clean_draft_passes_the_blameless_check(mode: Cli, tmp_path: Path) -> None:
    _apply_evergreen(mode)
    _scripted_incident(mode)
    _ok(_draft(mode, tmp_path)[0])
    out = tmp_path / "pm.md"

    result = mode("postmortem", "check", str(out), "--person", "@alice", "--person", mode.actor)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"✓ {out}: blameless\n"


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("args", "exit_code", "error"),
    [
        (("draft", "INC-9"), 1, "error: no incident INC-9"),
        (("draft", "INC-x"), 2, "error: not an incident id: 'INC-x'"),
        (("check", "missing.md"), 2, "error: cannot read missing.md: No such file or directory"),
    ],
    ids=["unknown incident", "bad ref", "missing file"],
)
def test_a_postmortem_command_that_cannot_run_says_why(
    mode: Cli, args: tuple[str, ...], exit_code: int, error: str
) -> None:
    _apply_evergreen(mode)

    result = mode("postmortem", *args)

    assert result.exit_code == exit_code, result.output
    assert result.stderr.splitlines()[0] == error
