"""`launchdeck validate`: every problem with file:line:column, the field, what is wrong, a fix.

Validation reads only the local file, so it behaves the same in local and remote mode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from cli_driver import Cli


@dataclass(frozen=True)
class Broken:
    """An edit that breaks the example, and the one problem validate must report."""

    old: str
    new: str
    marker: str
    """Where the problem is reported: the first character of this text inside `new`."""
    field: str | None
    message: str
    hint: str | None


CASES = {
    "an unknown key suggests the known one": Broken(
        old="    tier: 2\n    owners: [web-platform",
        new="    teir: 2\n    owners: [web-platform",
        marker="teir",
        field="systems[0].teir",
        message="unknown key 'teir'",
        hint="did you mean 'tier'?",
    ),
    "a dependency cycle is printed as a closed walk": Broken(
        old="  - id: cms\n    name: Headless CMS\n",
        new="  - id: cms\n    name: Headless CMS\n    depends_on: [search]\n",
        marker="[search]",
        field="systems[0].depends_on",
        message="dependency cycle: cms → search → cms",
        hint="a system cannot depend on itself through others; remove one edge of the cycle",
    ),
    "a campaign that ends before it starts": Broken(
        old="    end: 2026-11-28T23:59:00\n    tier: 1",
        new="    end: 2026-11-26T23:59:00\n    tier: 1",
        marker="2026-11-26",
        field="campaigns[1].end",
        message=(
            "campaign 'black-friday' ends (2026-11-26T23:59:00) "
            "before it starts (2026-11-27T00:00:00)"
        ),
        hint="set end after start",
    ),
    "an unknown time zone names the IANA form": Broken(
        old="timezone: America/New_York",
        new="timezone: America/New_Yrok",
        marker="America/New_Yrok",
        field="workspace.timezone",
        message=(
            "unknown time zone 'America/New_Yrok': "
            "use an IANA name such as 'America/New_York' or 'UTC'"
        ),
        hint=None,
    ),
    "a duplicate id points at the first use": Broken(
        old="  - id: small-business-saturday\n",
        new="  - id: black-friday\n    description: a copy\n",
        marker="black-friday\n    description",
        field="campaigns[2].id",
        message="duplicate id 'black-friday' (first used at campaigns[1])",
        hint="ids must be unique within their section; rename one of them",
    ),
    "an unknown system reference suggests the close name": Broken(
        old="systems: [landing-pages, checkout-api, tracking-pixel, recommendations, search]",
        new="systems: [landing-pages, checkout-apy, tracking-pixel, recommendations, search]",
        marker="checkout-apy",
        field="campaigns[1].systems[1]",
        message="unknown system 'checkout-apy'",
        hint="did you mean 'checkout-api'?",
    ),
    "a value outside its range shows the value": Broken(
        old="    tier: 3\n    revenue_per_hour: 9000",
        new="    tier: 9\n    revenue_per_hour: 9000",
        marker="9\n    revenue_per_hour: 9000",
        field="campaigns[2].tier",
        message="Input should be less than or equal to 3 (got 9)",
        hint=None,
    ),
    "invalid YAML names the position": Broken(
        old="  name: northwind-martech\n",
        new="  name: northwind-martech: oops\n",
        marker=": oops",
        field=None,
        message="not valid YAML: mapping values are not allowed here",
        hint="check the indentation and quoting around this position",
    ),
}


def _break(cli: Cli, case: Broken) -> str:
    """Apply `case` to the workspace; the expected `file:line:column`."""
    cli.edit_workspace(case.old, case.new)
    text = cli.workspace_file.read_text(encoding="utf-8")
    assert text.count(case.new) == 1
    offset = text.index(case.new) + case.new.index(case.marker)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{cli.workspace_file}:{line}:{column}"


def test_the_example_workspace_is_valid(file_mode: Cli) -> None:
    result = file_mode("validate")

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"✓ {file_mode.workspace_file} is valid: 2 environments, 8 systems, 7 campaigns, 1 SLO, "
        "2 flags, 4 metrics, 2 experiments, 1 rollout strategy\n"
    )
    assert file_mode.json("validate") == {
        "valid": True,
        "file": str(file_mode.workspace_file),
        "counts": {
            "environments": 2,
            "systems": 8,
            "campaigns": 7,
            "slos": 1,
            "flags": 2,
            "metrics": 4,
            "experiments": 2,
            "rollouts": 1,
        },
        "warnings": [],
    }


def test_an_slo_trap_is_a_warning_with_its_place_and_the_workspace_stays_valid(
    file_mode: Cli,
) -> None:
    slo_file = file_mode.workspace_file.parent / "slos" / "checkout-api.yaml"
    slo_file.write_text(slo_file.read_text().replace("duration: 28d", "duration: 1m"))

    result = file_mode("validate")

    assert result.exit_code == 0, result.output
    assert "is valid" in result.stdout
    assert "warning:" in result.stderr
    assert "slos/checkout-api.yaml:" in result.stderr
    assert "1M" in result.stderr  # the hint: a month is 1M, 1m is a minute
    [warning] = file_mode.json("validate")["warnings"]
    assert warning["where"].startswith(str(slo_file)) or "checkout-api.yaml" in warning["where"]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_broken_workspace_names_position_field_problem_and_fix(
    file_mode: Cli, case: Broken
) -> None:
    where = _break(file_mode, case)

    result = file_mode("validate")

    assert result.exit_code == 1
    assert result.stdout == ""
    detail = f"{case.field}: {case.message}" if case.field else case.message
    assert f"{where}: {detail}" in result.stderr
    if case.hint:
        assert f"hint: {case.hint}" in result.stderr
    else:
        assert "hint:" not in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_validate_json_lists_the_errors(file_mode: Cli, case: Broken) -> None:
    where = _break(file_mode, case)

    result = file_mode("validate", "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "valid": False,
        "errors": [
            {
                "where": where,
                "field": case.field,
                "message": f"{case.field}: {case.message}" if case.field else case.message,
                "hint": case.hint,
            }
        ],
    }


def test_a_missing_referenced_file_is_reported_where_it_is_referenced(file_mode: Cli) -> None:
    (file_mode.workspace / "slos" / "checkout-api.yaml").unlink()
    text = file_mode.workspace_file.read_text(encoding="utf-8")
    offset = text.index("\n  slos: [slos/checkout-api.yaml]") + len("\n  slos: [")
    line = text.count("\n", 0, offset) + 1

    result = file_mode("validate")

    assert result.exit_code == 1
    assert (
        f"{file_mode.workspace_file}:{line}:10: references.slos[0]: file 'slos/checkout-api.yaml' "
        f"does not exist (looked in {file_mode.workspace})" in result.stderr
    )
    assert "hint: paths are relative to the directory of launchdeck.yaml" in result.stderr


def test_every_problem_is_reported_in_one_pass_in_file_order(file_mode: Cli) -> None:
    file_mode.edit_workspace(
        "checkout-api, tracking-pixel, recommendations",
        "checkout-apy, tracking-pixel, recommendations",
    )
    file_mode.edit_workspace(
        "    end: 2026-11-28T23:59:00\n    tier: 1", "    end: 2026-11-26T23:59:00\n    tier: 1"
    )
    file_mode.edit_workspace("    depends_on: [cms, crm-sync]", "    depends_on: [cms, crm-sink]")

    result = file_mode("validate", "--json")

    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert [e["field"] for e in errors] == [
        "systems[7].depends_on[1]",
        "campaigns[1].end",
        "campaigns[1].systems[1]",
    ]
    assert errors[0]["hint"] == "did you mean 'crm-sync'?"
    human = file_mode("validate")
    assert human.exit_code == 1
    assert f"error: 3 problems in {file_mode.workspace_file}" in human.stderr
    assert human.stderr.count("✗") == 3


def test_a_missing_workspace_file_points_to_init(file_mode: Cli) -> None:
    file_mode.workspace_file.unlink()

    result = file_mode("validate")

    assert result.exit_code == 1
    assert f"error: {file_mode.workspace_file}: no workspace file here" in result.stderr
    assert "hint: run 'launchdeck init' here, or set LAUNCHDECK_WORKSPACE / --workspace" in (
        result.stderr
    )


PROTECTED_WINDOW = "slo_objectives: {checkout-api-availability: 99.95}"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            PROTECTED_WINDOW,
            "slo_objectives: {checkout-api-availabilty: 99.95}",
            [
                "campaigns[1].slo_objectives.checkout-api-availabilty: unknown SLO "
                "'checkout-api-availabilty'",
                "hint: did you mean 'checkout-api-availability'?",
            ],
        ),
        (
            PROTECTED_WINDOW,
            "slo_objectives: {checkout-api-availability: 99.5}",
            [
                "campaigns[1].slo_objectives.checkout-api-availability: a protected window must "
                "be stricter than the SLO's own objective (99.9%), got 99.5%",
                "hint: use a targetPercent above 99.9",
            ],
        ),
        (
            "\ncampaigns:\n",
            "\nslos: []\ncampaigns:\n",
            [
                "slos: SLO documents are not written in launchdeck.yaml",
                "hint: put them in OpenSLO files and list those under references.slos",
            ],
        ),
    ],
    ids=["an unknown SLO", "a laxer objective", "SLOs inline"],
)
def test_protected_windows_and_slos_are_checked_with_their_place_in_the_file(
    file_mode: Cli, old: str, new: str, expected: list[str]
) -> None:
    text = file_mode.workspace_file.read_text(encoding="utf-8")
    file_mode.workspace_file.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(
        n
        for n, row in enumerate(file_mode.workspace_file.read_text().splitlines(), 1)
        if new.strip().splitlines()[0] in row
    )

    result = file_mode("validate")

    assert result.exit_code == 1
    assert f"{file_mode.workspace_file}:{line}:" in result.output
    for fragment in expected:
        assert fragment in result.output
