"""`launchdeck experiments list|show|plan|analyse|validate|sql` in local mode (the embedded stores)
and remote mode (the API), on the applied Black Friday example and the demo's synthetic traffic
(scripts/demo_experiments.py): bf-hero-copy is implemented right, bf-free-shipping is broken
(a sample ratio mismatch only Safari explains, and the banner's purchase tag broken from
Saturday 00:00 UTC). The clock is the demo's: Saturday 2026-11-28 12:00 UTC."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_driver import SQLITE_ONLY, Cli, table_rows
from typer.testing import Result

from launchdeck.experiments.design import design
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService

pytestmark = SQLITE_ONLY

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
VISITORS = 8000
EXIT_FAILED_CHECK, EXIT_ERROR, EXIT_USAGE = 4, 1, 2


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's synthetic traffic, generated once for the module by the demo's own script."""
    out = tmp_path_factory.mktemp("traffic") / "black-friday.jsonl"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "demo_experiments.py"),
            str(out),
            "--visitors",
            str(VISITORS),
        ],
        check=True,
        capture_output=True,
    )
    return out


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def cli(mode: Cli, clock: Any, tmp_path: Path) -> Cli:
    """The CLI in one mode at the demo's "now", on the applied example (no events yet; its
    event store, locally, in the test's own directory)."""
    assert mode.db is not None
    spec = load_workspace(mode.workspace_file, now=NOW).spec
    WorkspaceService(mode.db, actor="seed", clock=lambda: NOW).apply(spec)
    clock.now = NOW
    return mode.with_env(
        LAUNCHDECK_NOW="2026-11-28T12:00:00Z",
        LAUNCHDECK_EVENTS_PATH=str(tmp_path / "events" / "events.duckdb"),
    )


@pytest.fixture
def busy(cli: Cli, traffic: Path) -> Cli:
    """`cli` with the demo's traffic imported (locally into the store, remotely through the
    server)."""
    imported = cli.json("events", "import", str(traffic))
    assert (imported["rejected"], imported["duplicates"]) == (0, 0)
    assert imported["accepted"] == imported["rows"] > VISITORS
    return cli


def test_list_shows_both_experiments_running(cli: Cli) -> None:
    table = _ok(cli("experiments", "list"))
    listed = cli.json("experiments", "list")

    rows = table_rows(table.stdout)
    assert [row[:4] for row in rows] == [
        ["bf-free-shipping", "bf-free-shipping", "production", "running"],
        ["bf-hero-copy", "bf-hero-copy", "production", "running"],
    ]
    window = (datetime(2026, 11, 27, 5, tzinfo=UTC), datetime(2026, 11, 29, 4, 59, tzinfo=UTC))
    assert [
        (e["key"], e["phase"], datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]))
        for e in listed
    ] == [("bf-free-shipping", "running", *window), ("bf-hero-copy", "running", *window)]


def test_show_gives_the_hypothesis_split_and_metrics(cli: Cli) -> None:
    shown = _ok(cli("experiments", "show", "bf-hero-copy")).stdout
    info = cli.json("experiments", "show", "bf-hero-copy")

    assert (
        "hypothesis: Saying the sale ends tonight makes more visitors buy, without cheaper baskets."
    ) in shown.splitlines()
    assert "split: control 50%, urgency 50% of 100% of units by targetingKey" in shown
    rows = table_rows(shown)
    assert ["purchase", "primary", "binomial", "purchase", "", ""] in rows
    assert ["revenue", "guardrail", "mean", "purchase", "p99.9", ""] in rows
    assert [m["key"] for m in info["metrics"]] == ["purchase", "add-to-cart", "aov", "revenue"]


def test_show_of_an_unknown_experiment_is_an_error_with_a_hint(cli: Cli) -> None:
    result = cli("experiments", "show", "bf-hero-cpy")

    assert result.exit_code == EXIT_ERROR
    assert "no experiment 'bf-hero-cpy'" in result.output
    assert "launchdeck experiments list" in result.output


def test_plan_with_given_figures_says_the_campaign_is_too_short(cli: Cli) -> None:
    args = ("experiments", "plan", "bf-hero-copy", "--daily-units", "60000", "--baseline", "0.032")
    shown = _ok(cli(*args)).stdout
    plan = cli.json(*args)

    [spec] = [
        e
        for e in load_workspace(cli.workspace_file, now=NOW).spec.experiments
        if e.key == "bf-hero-copy"
    ]
    expected = design(
        spec,
        now=NOW,
        baseline=0.032,
        baseline_source="given (--baseline)",
        daily_units=60000,
        traffic_source="given (--daily-units)",
    )
    assert plan["n_per_arm"] == expected.n_per_arm
    assert (plan["daily_units"], plan["baseline_rate"], plan["feasible"]) == (60000, 0.032, False)
    assert datetime.fromisoformat(plan["deadline"]) == datetime(2026, 11, 29, 4, 59, tzinfo=UTC)
    assert plan["reachable_mde"] > plan["mde"] == 0.10
    assert f"{plan['n_per_arm']:,} units per arm to detect a 10.0% relative lift" in shown
    assert "TOO SHORT: it ends in 0.7 days" in shown
    assert f"by the deadline it can detect a lift of {plan['reachable_mde']:.1%}" in shown


def test_plan_from_recent_traffic_reads_the_imported_exposures(busy: Cli) -> None:
    plan = busy.json("experiments", "plan", "bf-hero-copy")

    assert plan["traffic_source"] == "recent traffic (7 days)"
    assert plan["baseline_source"] == "control's recent rate"
    assert 0 < plan["baseline_rate"] < 0.1
    # About 90 % of 8,000 visitors consented, over the 31 hours since the start.
    assert plan["daily_units"] == pytest.approx(0.9 * VISITORS / (31 / 24), rel=0.05)


def test_plan_refuses_a_daily_traffic_of_zero(cli: Cli) -> None:
    result = cli("experiments", "plan", "bf-hero-copy", "--daily-units", "0")
    assert result.exit_code == EXIT_USAGE


def test_analyse_prints_the_results_and_writes_the_chart_as_svg_or_png(
    busy: Cli, tmp_path: Path
) -> None:
    svg, png = tmp_path / "bf-hero-copy.svg", tmp_path / "charts" / "bf-hero-copy.png"
    png.parent.mkdir()

    shown = _ok(busy("experiments", "analyse", "bf-hero-copy", "--chart", str(svg))).stdout
    report = busy.json("experiments", "analyse", "bf-hero-copy", "--chart", str(png))
    lean = busy.json("experiments", "analyse", "bf-hero-copy")  # no chart: no days to draw

    lines = shown.splitlines()
    assert lines[0].startswith(
        "bf-hero-copy on flag bf-hero-copy in production: sequential (always valid), α = 0.05"
    )
    assert any(line.startswith("Variant urgency: ") for line in lines)
    assert lines[-1] == f"chart: {svg}"
    assert b"<svg" in svg.read_bytes()[:500]
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    analysis = report["analysis"]
    units = analysis["units"]
    assert set(units) == {"control", "urgency"}
    assert f"{units['control']:,}" in lines[1]
    assert sorted(report["daily_exposures"]) == ["2026-11-27", "2026-11-28"]
    assert sum(units.values()) == sum(
        n for day in report["daily_exposures"].values() for n in day.values()
    )
    assert [r["metric"] for r in analysis["results"]] == [
        "purchase",
        "add-to-cart",
        "aov",
        "revenue",
    ]
    [revenue] = [r for r in analysis["results"] if r["metric"] == "revenue"]
    assert revenue["capped_at"] > 0
    assert lean["daily_exposures"] == {}
    assert lean["analysis"]["units"] == units


def test_validate_passes_the_right_experiment_and_fails_the_broken_one_with_exit_4(
    busy: Cli,
) -> None:
    right = _ok(busy("experiments", "validate", "bf-hero-copy"))
    broken = busy("experiments", "validate", "bf-free-shipping")
    as_json = busy("experiments", "validate", "bf-free-shipping", "--json")

    lines = right.stdout.splitlines()
    assert lines[0].startswith(("PASS bf-hero-copy:", "WARN bf-hero-copy:"))
    assert "0 failed" in lines[0]
    assert any(line.startswith("  ✓ sample ratio: ") for line in lines)
    assert any(line.startswith("  ✓ tracking by variant: ") for line in lines)
    assert "  ✓ assignment: all " in right.stdout

    assert broken.exit_code == EXIT_FAILED_CHECK, broken.output
    lines = broken.stdout.splitlines()
    assert lines[0].startswith("FAIL bf-free-shipping: ")
    assert "2 failed" in lines[0]
    ratio = next(i for i, line in enumerate(lines) if "sample ratio" in line)
    assert lines[ratio].startswith("  ✗ sample ratio: SAMPLE RATIO MISMATCH: control ")
    assert lines[ratio + 1].strip().startswith("browser=safari: ")
    assert lines[ratio + 1].endswith("— look here first")
    assert any(
        line.startswith("  ✗ tracking by variant: BROKEN TRACKING: 'banner' logged no 'purchase'")
        and "from 2026-11-28" in line
        for line in lines
    )
    assert as_json.exit_code == EXIT_FAILED_CHECK
    validation = json.loads(as_json.stdout)
    assert validation["status"] == "fail"
    assert {c["name"] for c in validation["checks"] if c["status"] == "fail"} == {
        "sample ratio",
        "tracking by variant",
    }


def test_sql_prints_the_queries_in_bigquery(cli: Cli) -> None:
    shown = _ok(cli("experiments", "sql", "bf-hero-copy", "--dialect", "bigquery")).stdout
    queries = cli.json("experiments", "sql", "bf-hero-copy", "--dialect", "bigquery")

    headers = [line for line in shown.splitlines() if line.startswith("-- ")]
    assert [h.split(" (")[0] for h in headers] == [
        "-- experiment_moments",  # what analyse runs: every metric in one statement
        "-- metric_moments",
        "-- metric_moments",
        "-- metric_moments",
        "-- metric_moments",
        "-- exposure_counts",
    ]
    assert all("(bigquery); parameters: {" in h for h in headers)
    assert "FROM `exposures` AS `x` WHERE `x`.`experiment` = @experiment" in shown
    assert {q["dialect"] for q in queries} == {"bigquery"}
    assert {q["params"]["experiment"] for q in queries} == {"bf-hero-copy"}


def test_sql_in_an_unknown_dialect_is_refused(cli: Cli) -> None:
    result = cli("experiments", "sql", "bf-hero-copy", "--dialect", "oracle")

    assert result.exit_code == EXIT_USAGE, result.output
    assert result.output.startswith("error: ")
    assert "duckdb|postgres|bigquery" in result.output.replace(", ", "|")  # the dialects known
