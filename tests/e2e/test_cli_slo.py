"""`launchdeck slo validate|import-sloth|list|status|rules`, in local and remote mode.

`slo status` reads a real Prometheus (`checkout_history`, one per module) holding three days
of checkout-api traffic backfilled at one-minute resolution up to T0, the minute it started,
and on for two hours past it: 200s at 10/s throughout; 503s at 0.002/s until an hour before
T0 and at 0.5/s from then on. Counters grow linearly between samples, so every number is
exact, and as of T0 (`--at`, on the minute):

- good 2,592,000 and bad 511.2 + 1,800 = 2,311.2 events; 0.1 % of 2,594,311.2 events allows
  2,594.3112 bad ones, so 1 - 2,311.2 / 2,594.3112 = 10.9 % of the budget is left;
- the last hour burns (1,800 / 37,800) / 0.001 = 47.62x, six hours 8.43x, a day 2.27x and
  three days 0.89x: on a 28-day period both page tiers (13.44x over 1 h and 5 m, 5.6x over 6 h
  and 30 m) fire, neither ticket tier (2.8x over 1 d, 0.933x over 3 d) does.

The example's campaigns hold checkout-api to 99.95 % during Black Friday and Cyber Monday
2026; these tests drop those protected windows (`_apply`) so that their numbers do not depend
on the day they run (tests/integration/api/test_api_slos.py checks a protected window).
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from cli_driver import SQLITE_ONLY, Cli, closed_port_url, table_rows

from launchdeck.reliability.service import SloReport
from prometheus_server import (
    checkout_traffic,
    prometheus_binaries,
)

ROOT = Path(__file__).resolve().parents[2]
SLOTH_CHECKOUT = ROOT / "tests" / "fixtures" / "openslo" / "sloth-checkout.yaml"
SLO_FILE = "slos/checkout-api.yaml"
SLO = "checkout-api-availability"
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)

GOOD_PER_S, BAD_PER_S, INCIDENT_BAD_PER_S = 10.0, 0.002, 0.5
HISTORY, INCIDENT, AFTER_T0 = 72 * HOUR, HOUR, 2 * HOUR
"""Three days of traffic up to T0, the last hour of it an incident that goes on past T0."""
TARGET = 0.999


def _bad(seconds_quiet: float, seconds_incident: float) -> float:
    return BAD_PER_S * seconds_quiet + INCIDENT_BAD_PER_S * seconds_incident


def _expected_left(incident_s: float) -> float:
    """Budget left once the incident has run `incident_s` seconds (the history began 71 h
    before it)."""
    quiet_s = (HISTORY - INCIDENT).total_seconds()
    bad = _bad(quiet_s, incident_s)
    total = GOOD_PER_S * (quiet_s + incident_s) + bad
    return 1 - bad / (total * (1 - TARGET))


LEFT_AT_T0 = _expected_left(INCIDENT.total_seconds())
INCIDENT_BURN = INCIDENT_BAD_PER_S / (GOOD_PER_S + INCIDENT_BAD_PER_S) / (1 - TARGET)
PROMETHEUS_DOWN = pytest.mark.parametrize(
    "prometheus_url", [closed_port_url()], ids=["prometheus down"]
)
"""Overrides `prometheus_url` (and so `checkout_history`): both modes read SLIs from a port
nothing listens on."""


@dataclass(frozen=True)
class History:
    url: str
    t0: datetime

    @property
    def at_t0(self) -> tuple[str, str]:
        return "--at", self.t0.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def checkout_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """A Prometheus with the module docstring's checkout-api traffic."""
    t0 = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = t0 - HISTORY, t0 + AFTER_T0

    def bad_rate(at: datetime) -> float:
        return INCIDENT_BAD_PER_S if at > t0 - INCIDENT else BAD_PER_S

    workdir = tmp_path_factory.mktemp("prometheus-checkout")
    with checkout_traffic(
        workdir,
        start=start,
        end=end,
        good_per_s=GOOD_PER_S,
        bad_per_s=bad_rate,
        bad_code="503",
    ) as server:
        yield History(server.url, t0)


@pytest.fixture
def prometheus_url(checkout_history: History) -> str:
    """Both modes read SLIs from the history's Prometheus (see tests/e2e/conftest.py)."""
    return checkout_history.url


def _apply(cli: Cli) -> None:
    """`apply` the example, without its protected windows (see the module docstring)."""
    text = cli.workspace_file.read_text(encoding="utf-8")
    cli.workspace_file.write_text(
        re.sub(r"(?m)^\s*slo_objectives:.*\n", "", text), encoding="utf-8"
    )
    result = cli("apply")
    assert result.exit_code == 0, result.output


def _status(cli: Cli, *args: str) -> SloReport:
    result = cli("slo", "status", *args, "--json")
    assert result.exit_code == 0, result.output
    return SloReport.model_validate_json(result.stdout)


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


# --- validate and import-sloth: files only, no store and no server ------------------------------


def test_the_example_slo_file_is_valid(file_mode: Cli) -> None:
    result = file_mode("slo", "validate", str(file_mode.workspace / SLO_FILE))

    assert result.exit_code == 0, result.output
    assert result.stdout == "valid: 1 OpenSLO file\n"
    assert result.stderr == ""


def test_a_percentage_written_as_target_fails_with_where_and_the_fix(
    file_mode: Cli, tmp_path: Path
) -> None:
    example = (file_mode.workspace / SLO_FILE).read_text(encoding="utf-8")
    bad = tmp_path / "percent.yaml"
    bad.write_text(example.replace("target: 0.999", "target: 99.9"), encoding="utf-8")
    line = _line_of(bad, "target: 99.9")

    result = file_mode("slo", "validate", str(bad))
    as_json = file_mode("slo", "validate", str(bad), "--json")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: 1 problem in {bad}",
        f"  ✗ {bad}:{line}:15: spec.objectives[0].target: target 99.9 is a percentage, but "
        "target is a ratio in [0, 1)",
        "    hint: write targetPercent: 99.9 (or target: 0.999)",
    ]
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == {
        "valid": False,
        "errors": [
            {
                "where": f"{bad}:{line}:15",
                "field": "spec.objectives[0].target",
                "message": "spec.objectives[0].target: target 99.9 is a percentage, but target "
                "is a ratio in [0, 1)",
                "hint": "write targetPercent: 99.9 (or target: 0.999)",
            }
        ],
        "warnings": [],
    }


def test_a_trap_is_a_warning_that_does_not_fail_validation(file_mode: Cli, tmp_path: Path) -> None:
    example = (file_mode.workspace / SLO_FILE).read_text(encoding="utf-8")
    minute = tmp_path / "one-minute.yaml"
    minute.write_text(example.replace("duration: 28d", "duration: 1m"), encoding="utf-8")
    where = f"{minute}:{_line_of(minute, 'duration: 1m')}:17"
    message = "spec.timeWindow[0].duration: a 1m window means one minute, not one month"

    result = file_mode("slo", "validate", str(minute))
    report = file_mode.json("slo", "validate", str(minute))

    assert result.exit_code == 0, result.output
    assert result.stdout == "valid: 1 OpenSLO file, 1 warning(s)\n"
    assert result.stderr.splitlines() == [
        f"warning: {where}: {message}",
        "  hint: write 1M for a month",
    ]
    assert report == {
        "valid": True,
        "errors": [],
        "warnings": [
            {
                "where": where,
                "field": "spec.timeWindow[0].duration",
                "message": message,
                "hint": "write 1M for a month",
            }
        ],
    }


def test_an_imported_sloth_spec_is_valid_openslo(file_mode: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"

    written = file_mode("slo", "import-sloth", str(SLOTH_CHECKOUT), "-o", str(out))
    printed = file_mode("slo", "import-sloth", str(SLOTH_CHECKOUT))
    validated = file_mode("slo", "validate", str(out))

    assert written.exit_code == 0, written.output
    assert written.stdout == f"wrote {out}: reference it under references.slos\n"
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == out.read_text(encoding="utf-8")
    documents = list(yaml.safe_load_all(printed.stdout))
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("Service", "checkout-api"),
        ("SLO", "checkout-api-requests-availability"),
        ("SLO", "checkout-api-payment-authorisation"),
    ]
    assert [d["spec"]["objectives"][0]["targetPercent"] for d in documents[1:]] == [99.9, 99]
    assert validated.exit_code == 0, validated.output
    assert validated.stdout == "valid: 1 OpenSLO file\n"


# --- list ---------------------------------------------------------------------------------------


@SQLITE_ONLY
def test_the_applied_slos_are_listed(mode: Cli) -> None:
    assert mode.json("slo", "list") == []
    _apply(mode)

    listed = mode.json("slo", "list")
    rows = table_rows(mode("slo", "list").stdout)
    of_checkout = mode.json("slo", "list", "checkout-api")
    of_cms = mode.json("slo", "list", "cms")

    assert listed == [
        {
            "slo": SLO,
            "system": "checkout-api",
            "display_name": "Checkout API availability",
            "file": SLO_FILE,
            "service": "checkout-api",
            "method": "Occurrences",
            "window": "28d",
            "rolling": True,
            "indicator": "good_total (Prometheus)",
            "objectives": [{"name": "Available", "target": 0.999}],
            "protected_by": [],
        }
    ]
    assert rows == [
        [
            SLO,
            "checkout-api",
            "Available 99.9%",
            "rolling 28d",
            "Occurrences",
            "—",
        ]
    ]
    assert of_checkout == listed
    assert of_cms == []


@SQLITE_ONLY
@pytest.mark.parametrize("command", ["list", "status"])
def test_the_slos_of_an_unknown_system_are_not_found(mode: Cli, command: str) -> None:
    _apply(mode)

    result = mode("slo", command, "nope")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: no system 'nope'",
        "hint: list them with 'launchdeck systems list'",
    ]


# --- status -------------------------------------------------------------------------------------


@SQLITE_ONLY
def test_status_as_of_t0_shows_the_budget_burn_rates_and_the_firing_page_tiers(
    mode: Cli, checkout_history: History
) -> None:
    _apply(mode)
    t0 = checkout_history.t0

    result = mode("slo", "status", *checkout_history.at_t0)

    assert result.exit_code == 0, result.output
    assert table_rows(result.stdout) == [
        [SLO, "99.90%", "99.911%", "10.9%", "47.62x", "8.43x", "2.27x", "1h32m", "2 page"],
        ["Available", "", "", "", "", "", "", "", ""],
    ]
    assert result.stdout.splitlines()[-3:] == [
        f"  {SLO} / Available: 2,311 bad events of 2,594.3 allowed (Occurrences, rolling 28d, "
        f"since {t0 - timedelta(days=28):%Y-%m-%d %H:%M} UTC)",
        "    ● page-fast (page): FIRING: burn 47.62x (1h) and 47.62x (5m), both above 13.44x",
        "    ● page-slow (page): FIRING: burn 8.43x (6h) and 47.62x (30m), both above 5.6x",
    ]


@SQLITE_ONLY
def test_the_json_status_as_of_t0_has_the_exact_budget(
    mode: Cli, checkout_history: History
) -> None:
    _apply(mode)

    report = _status(mode, *checkout_history.at_t0)

    assert report.burn_down == {}
    [status] = report.statuses
    assert (status.slo, status.system, status.objective, status.error) == (
        SLO,
        "checkout-api",
        "Available",
        None,
    )
    assert (status.at, status.period_end) == (checkout_history.t0, checkout_history.t0)
    assert status.period_start == checkout_history.t0 - timedelta(days=28)
    assert (status.target, status.base_target, status.protected_by) == (TARGET, TARGET, None)
    assert status.good == pytest.approx(2_592_000, rel=1e-9)
    assert status.bad == pytest.approx(2_311.2, rel=1e-9)
    assert status.allowed == pytest.approx(2_594.3112, rel=1e-9)
    assert status.remaining == pytest.approx(LEFT_AT_T0, rel=1e-9)
    assert status.current_burn_rate == pytest.approx(INCIDENT_BURN, rel=1e-9)
    burns = {b.window_s: b.burn_rate for b in status.burn}
    assert burns == pytest.approx(
        {
            300: INCIDENT_BURN,
            1800: INCIDENT_BURN,
            3600: INCIDENT_BURN,
            6 * 3600: 8.42835894893406,
            86_400: 2.269836122820583,
            3 * 86_400: 0.8908723055275711,
        },
        rel=1e-9,
    )
    assert [(a.tier, a.firing) for a in status.alerts] == [
        ("page-fast", True),
        ("page-slow", True),
        ("ticket-fast", False),
        ("ticket-slow", False),
    ]
    assert status.exhausted is False


@SQLITE_ONLY
def test_status_now_follows_the_incident_still_running(
    mode: Cli, checkout_history: History
) -> None:
    _apply(mode)

    [status] = _status(mode, "checkout-api").statuses

    # rate() over windows off the minute grid extrapolates from the samples inside each, so
    # what it counts runs up to a sample interval (a minute) behind or ahead of `at`; two
    # minutes leave room for the edges of the history too.
    incident_s = (status.at - (checkout_history.t0 - INCIDENT)).total_seconds()
    assert checkout_history.t0 < status.at < checkout_history.t0 + AFTER_T0
    assert status.remaining is not None
    assert _expected_left(incident_s + 120) <= status.remaining <= _expected_left(incident_s - 120)
    assert status.remaining <= LEFT_AT_T0
    assert status.current_burn_rate == pytest.approx(INCIDENT_BURN, rel=1e-6)
    assert [a.tier for a in status.firing] == ["page-fast", "page-slow"]


@SQLITE_ONLY
def test_the_burn_down_chart_is_an_svg_with_one_line_per_objective(
    mode: Cli, checkout_history: History, tmp_path: Path
) -> None:
    _apply(mode)
    svg = tmp_path / "burn.svg"

    shown = mode("slo", "status", "--chart", str(svg), *checkout_history.at_t0)
    report = _status(mode, "--chart", str(svg), *checkout_history.at_t0)

    assert shown.exit_code == 0, shown.output
    assert shown.stdout.rstrip().endswith(f"wrote {svg}")
    root = ElementTree.fromstring(svg.read_text(encoding="utf-8"))  # noqa: S314 - our own SVG
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    [line] = root.iter("{http://www.w3.org/2000/svg}polyline")
    [points] = report.burn_down.values()
    assert list(report.burn_down) == [f"{SLO}/Available"]
    assert len(line.attrib["points"].split()) == len(points)
    assert (points[0].at, points[0].remaining) == (checkout_history.t0 - timedelta(days=28), 1.0)
    assert (points[-1].at, points[-1].remaining) == (
        checkout_history.t0,
        pytest.approx(LEFT_AT_T0, rel=1e-9),
    )
    assert all(
        later <= earlier + 1e-12
        for earlier, later in itertools.pairwise(p.remaining for p in points)
    )
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Error budget burn-down" in titles
    assert SLO in titles
    assert f"Available: {LEFT_AT_T0 * 100:.1f}% left" in titles


@SQLITE_ONLY
def test_a_chart_in_another_format_is_a_usage_error(mode: Cli, tmp_path: Path) -> None:
    _apply(mode)
    png = tmp_path / "burn.png"

    result = mode("slo", "status", "--chart", str(png))

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: cannot write a chart as .png",
        "hint: --chart burn.svg",
    ]
    assert not png.exists()


@SQLITE_ONLY
@PROMETHEUS_DOWN
def test_with_prometheus_down_status_says_why_and_the_gate_cannot_judge_the_budget(
    mode: Cli, prometheus_url: str
) -> None:
    _apply(mode)
    query = 'sum(rate(http_requests_total{service="checkout-api",code!~"5.."}[5m]))'
    why = f"{SLO}: could not reach Prometheus at {prometheus_url} to run {query!r}: "

    shown = mode("slo", "status")
    [status] = _status(mode).statuses
    verdict = mode.json(
        "gate", "check", "checkout-api", "--change-type", "config", "--at", "2026-10-06T12:00:00Z"
    )

    assert shown.exit_code == 0, shown.output
    assert table_rows(shown.stdout) == [
        [SLO, "99.90%", "—", "no data", "—", "—", "—", "—", "unread"],
        ["Available", "", "", "", "", "", "", "", ""],
    ]
    assert shown.stdout.splitlines()[-1].startswith(f"  ? {why}")
    assert status.error is not None
    assert status.error.startswith(why)
    assert (status.remaining, status.total, status.alerts) == (None, 0, ())
    [budget] = [c for c in verdict["checks"] if c["check"] == "error_budget"]
    assert budget["outcome"] == "unknown"
    assert budget["summary"].startswith(f"unknown: {why}")
    assert verdict["decision"] == "allow"


@SQLITE_ONLY
def test_the_gate_blocks_a_feature_while_the_budget_is_below_a_quarter(
    mode: Cli, checkout_history: History
) -> None:
    _apply(mode)

    result = mode("gate", "check", "checkout-api", *checkout_history.at_t0, "--json")

    assert result.exit_code == 3, result.output
    [budget] = [c for c in json.loads(result.stdout)["checks"] if c["check"] == "error_budget"]
    assert budget["outcome"] == "block"
    assert budget["summary"] == (
        f"{SLO} (Available) has 10.9% of its error budget left, burning 47.6x (objective 99.9%); "
        "feature changes need an approval (an admin's gate override)"
    )
    facts: dict[str, Any] = budget["facts"]
    assert facts["remaining"] == pytest.approx(LEFT_AT_T0, rel=1e-9)
    assert facts["policy_below"] == 25


# --- rules --------------------------------------------------------------------------------------


@SQLITE_ONLY
def test_the_rules_pass_promtool_and_are_the_same_in_both_modes(
    cli_in: Callable[[str], Cli], tmp_path: Path
) -> None:
    local, remote = cli_in("local"), cli_in("remote")
    _apply(local)
    written = tmp_path / "slo-rules.yaml"

    printed = {cli.mode: cli("slo", "rules") for cli in (local, remote)}
    to_file = remote("slo", "rules", "-o", str(written))
    _, promtool = prometheus_binaries()
    checked = subprocess.run(
        [promtool, "check", "rules", str(written)], capture_output=True, text=True, check=False
    )

    assert {m: r.exit_code for m, r in printed.items()} == {"local": 0, "remote": 0}
    assert printed["local"].stdout == printed["remote"].stdout
    assert to_file.exit_code == 0, to_file.output
    assert written.read_text(encoding="utf-8") == printed["local"].stdout
    groups = yaml.safe_load(written.read_text(encoding="utf-8"))["groups"]
    assert to_file.stdout == f"wrote {written}: {len(groups)} rule groups\n"
    assert all(SLO in g["name"] for g in groups)
    records = {r["record"] for g in groups for r in g["rules"] if "record" in r}
    assert "slo:sli_error:ratio_rate5m" in records
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


# --- export -------------------------------------------------------------------------------------


def test_export_writes_the_stored_slos_back_as_openslo_the_same_in_both_modes(
    cli_in: Callable[[str], Cli], tmp_path: Path
) -> None:
    from launchdeck.reliability.openslo_files import load_openslo, resolve

    local, remote = cli_in("local"), cli_in("remote")
    _apply(local)
    written = tmp_path / "exported.yaml"

    printed = {cli.mode: cli("slo", "export") for cli in (local, remote)}
    to_file = remote("slo", "export", "-o", str(written))
    validated = local("slo", "validate", str(written))
    of_cms = local("slo", "export", "cms")
    stored = {s["slo"]: s for s in local.json("slo", "list")}

    assert {m: r.exit_code for m, r in printed.items()} == {"local": 0, "remote": 0}
    assert printed["local"].stdout == printed["remote"].stdout
    assert to_file.exit_code == 0, to_file.output
    assert to_file.stdout == f"wrote {written}: 1 SLO(s)\n"
    assert written.read_text(encoding="utf-8") == printed["local"].stdout
    assert validated.exit_code == 0, validated.output
    assert (of_cms.exit_code, of_cms.stdout) == (0, "")
    # Read back, the exported SLO is the one in the workspace's own file.
    [exported] = resolve(load_openslo(written))
    original_file = local.workspace_file.parent / "slos" / "checkout-api.yaml"
    [original] = resolve(load_openslo(original_file))
    assert exported.slo == original.slo
    assert list(stored) == [exported.slo.metadata.name]
