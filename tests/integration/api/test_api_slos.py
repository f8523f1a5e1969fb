"""/api/v1/slos over real HTTP: the SLO list, status from a real Prometheus, the generated rules
and what an incident cost, for any reading token, with problem+json for what cannot be answered.

The module's Prometheus holds three days of checkout-api traffic, backfilled at one-minute
resolution up to T0 (the minute it started) and an hour past it: 200s at 10/s; 500s at
0.002/s until an hour before T0, at 0.5/s from then on. As of T0 that is 2,311.2 bad events
of 2,594,311.2, and a 99.9 % objective allows 2,594.3112: 10.9 % of the budget is left, and
the last hour burns (1,800 / 37,800) / 0.001 = 47.62x (tests/e2e/test_cli_slo.py has the rest).

The example's campaigns hold checkout-api to 99.95 % during Black Friday and Cyber Monday
2026; `applied` drops those windows so the numbers do not depend on the day the tests run,
and `test_a_protected_window_holds_the_slo_to_its_stricter_objective` moves one onto T0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml
from api_builders import IssueToken, assert_problem, bearer

from launchdeck.auth.model import Scope
from launchdeck.reliability.service import SloReport
from launchdeck.store import Database
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService
from prometheus_server import checkout_traffic, free_port

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""Most of this is about HTTP and Prometheus, not the engine: SQLite only, PostgreSQL for a few."""
SLO = "checkout-api-availability"
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
GOOD_PER_S, BAD_PER_S, INCIDENT_BAD_PER_S = 10.0, 0.002, 0.5
BAD_AT_T0 = BAD_PER_S * 71 * 3600 + INCIDENT_BAD_PER_S * 3600
TOTAL_AT_T0 = GOOD_PER_S * 72 * 3600 + BAD_AT_T0
INCIDENT_BURN = INCIDENT_BAD_PER_S / (GOOD_PER_S + INCIDENT_BAD_PER_S) / 0.001
SLO_ROUTES = (
    "/api/v1/slos",
    "/api/v1/slos/status",
    "/api/v1/slos/rules",
    "/api/v1/slos/openslo",
    "/api/v1/slos/incident-budget/checkout-api",
)
PROMETHEUS_DOWN = pytest.mark.parametrize(
    "prometheus_url", [f"http://127.0.0.1:{free_port()}"], ids=["prometheus down"]
)
"""Overrides `prometheus_url` (and so `checkout_history`): the server reads from a closed port."""
Apply = Callable[..., None]


@dataclass(frozen=True)
class History:
    url: str
    t0: datetime


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def checkout_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """A Prometheus with the module docstring's checkout-api traffic."""
    t0 = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = t0 - 72 * HOUR, t0 + HOUR

    def bad_rate(at: datetime) -> float:
        return INCIDENT_BAD_PER_S if at > t0 - HOUR else BAD_PER_S

    workdir = tmp_path_factory.mktemp("prometheus-checkout")
    with checkout_traffic(
        workdir,
        start=start,
        end=end,
        good_per_s=GOOD_PER_S,
        bad_per_s=bad_rate,
        bad_code="500",
    ) as server:
        yield History(server.url, t0)


@pytest.fixture
def prometheus_url(checkout_history: History) -> str:
    """The live server reads SLIs from the history's Prometheus (see tests/conftest.py)."""
    return checkout_history.url


@pytest.fixture
def apply(db: Database, clock: Any, workspace_dir: Path) -> Apply:
    """apply(protected=True): the example, straight to the store; without its protected
    windows unless `protected`; `edit(text) -> text` changes launchdeck.yaml first."""
    file = workspace_dir / "launchdeck.yaml"

    def run(*, protected: bool = False, edit: Callable[[str], str] = lambda text: text) -> None:
        text = file.read_text(encoding="utf-8")
        if not protected:
            text = re.sub(r"(?m)^\s*slo_objectives:.*\n", "", text)
        file.write_text(edit(text), encoding="utf-8")
        WorkspaceService(db, actor="seed", clock=clock).apply(load_workspace(file).spec)

    return run


@pytest.fixture
def reader(issue_token: IssueToken) -> dict[str, str]:
    """The headers of a read-only token: every SLO route is a read."""
    return bearer(issue_token("dashboard", Scope.READ))


def _get(http: httpx.Client, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = http.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _status(http: httpx.Client, headers: dict[str, str], **params: Any) -> SloReport:
    response = http.get("/api/v1/slos/status", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return SloReport.model_validate_json(response.content)


# --- the list -----------------------------------------------------------------------------------


def test_the_slos_are_listed_with_the_campaigns_that_protect_them(
    http: httpx.Client, reader: dict[str, str], apply: Apply
) -> None:
    # The test clock stands at 2026-11-20 12:00Z, a week before Black Friday.
    apply(protected=True)

    listed = _get(http, reader, "/api/v1/slos")
    of_checkout = _get(http, reader, "/api/v1/slos", system="checkout-api")
    of_cms = _get(http, reader, "/api/v1/slos", system="cms")

    assert listed == [
        {
            "slo": SLO,
            "system": "checkout-api",
            "display_name": "Checkout API availability",
            "file": "slos/checkout-api.yaml",
            "service": "checkout-api",
            "method": "Occurrences",
            "window": "28d",
            "rolling": True,
            "indicator": "good_total (Prometheus)",
            "objectives": [{"name": "Available", "target": 0.999}],
            "protected_by": ["Black Friday 2026", "Cyber Monday 2026"],
        }
    ]
    assert of_checkout == listed
    assert of_cms == []


@SQLITE_ONLY
@pytest.mark.parametrize(
    "path",
    ["/api/v1/slos", "/api/v1/slos/status", "/api/v1/slos/incident-budget/nope"],
    ids=["list", "status", "incident budget"],
)
def test_the_slos_of_an_unknown_system_are_not_found(
    http: httpx.Client, reader: dict[str, str], apply: Apply, path: str
) -> None:
    apply()
    params = {"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T11:00:00Z"}
    if not path.endswith("nope"):
        params = {"system": "nope"}

    response = http.get(path, params=params, headers=reader)

    body = assert_problem(response, status=404, code="not_found")
    assert body["detail"] == "no system 'nope'"
    assert body["hint"] == "list them with 'launchdeck systems list'"


# --- status -------------------------------------------------------------------------------------


def test_the_status_as_of_t0_has_the_exact_budget_and_the_firing_tiers(
    http: httpx.Client, reader: dict[str, str], apply: Apply, clock: Any, checkout_history: History
) -> None:
    apply()
    t0 = checkout_history.t0
    clock.now = t0 + 10 * MINUTE

    report = _status(http, reader, system="checkout-api", at=_iso(t0))

    assert report.burn_down == {}
    [status] = report.statuses
    assert (status.slo, status.objective, status.at, status.error) == (SLO, "Available", t0, None)
    assert (status.period_start, status.period_end) == (t0 - timedelta(days=28), t0)
    assert (status.target, status.protected_by) == (0.999, None)
    assert (status.bad, status.total) == pytest.approx((BAD_AT_T0, TOTAL_AT_T0), rel=1e-9)
    assert status.allowed == pytest.approx(TOTAL_AT_T0 * 0.001, rel=1e-9)
    assert status.remaining == pytest.approx(1 - BAD_AT_T0 / (TOTAL_AT_T0 * 0.001), rel=1e-9)
    assert status.current_burn_rate == pytest.approx(INCIDENT_BURN, rel=1e-9)
    assert [(a.tier, a.firing) for a in status.alerts] == [
        ("page-fast", True),
        ("page-slow", True),
        ("ticket-fast", False),
        ("ticket-slow", False),
    ]


@SQLITE_ONLY
def test_the_status_is_as_of_the_servers_now_and_never_of_the_future(
    http: httpx.Client, reader: dict[str, str], apply: Apply, clock: Any, checkout_history: History
) -> None:
    apply()
    clock.now = checkout_history.t0 + 10 * MINUTE

    now = _status(http, reader)
    tomorrow = _status(http, reader, at=_iso(checkout_history.t0 + timedelta(days=1)))

    assert [s.at for s in now.statuses] == [clock.now]
    assert tomorrow == now
    [status] = now.statuses
    # Ten more minutes of the incident: less budget left than at T0, the same burn.
    assert status.remaining is not None
    assert status.remaining < 1 - BAD_AT_T0 / (TOTAL_AT_T0 * 0.001)
    assert status.current_burn_rate == pytest.approx(INCIDENT_BURN, rel=1e-9)


@SQLITE_ONLY
def test_the_series_is_the_hourly_burn_down_of_the_period(
    http: httpx.Client, reader: dict[str, str], apply: Apply, clock: Any, checkout_history: History
) -> None:
    apply()
    t0 = checkout_history.t0
    clock.now = t0 + 10 * MINUTE

    report = _status(http, reader, at=_iso(t0), series="true")

    [status] = report.statuses
    assert list(report.burn_down) == [f"{SLO}/Available"]
    points = report.burn_down[f"{SLO}/Available"]
    assert status.allowed == pytest.approx(TOTAL_AT_T0 * 0.001, rel=1e-9)
    assert [p.at for p in points[:-1]] == [
        t0 - timedelta(days=28) + i * HOUR for i in range(28 * 24)
    ]
    by_time = {p.at: p.remaining for p in points[:-1]}
    # Untouched until the history starts, then 511.2 bad events over the 71 quiet hours.
    assert by_time[t0 - 72 * HOUR] == 1.0
    assert by_time[t0 - HOUR] == pytest.approx(1 - 511.2 / status.allowed, rel=1e-9)
    assert (points[-1].at, points[-1].remaining) == (t0, status.remaining)


def test_a_protected_window_holds_the_slo_to_its_stricter_objective(
    http: httpx.Client, reader: dict[str, str], apply: Apply, clock: Any, checkout_history: History
) -> None:
    t0 = checkout_history.t0
    new_york = ZoneInfo("America/New_York")

    def local(instant: datetime) -> str:
        return instant.astimezone(new_york).strftime("%Y-%m-%dT%H:%M:%S")

    def black_friday_from_half_an_hour_before_t0(text: str) -> str:
        old = "    start: 2026-11-27T00:00:00\n    end: 2026-11-28T23:59:00\n"
        assert text.count(old) == 1
        return text.replace(
            old,
            f"    start: {local(t0 - 30 * MINUTE)}\n    end: {local(t0 + timedelta(days=1))}\n"
            f"    slo_objectives: {{{SLO}: 99.95}}\n",
        )

    apply(edit=black_friday_from_half_an_hour_before_t0)
    clock.now = t0 + 10 * MINUTE

    [status] = _status(http, reader, at=_iso(t0)).statuses

    # The last 30 minutes' 18,900 events each allow 0.0005 bad ones, the others 0.001.
    allowed = (TOTAL_AT_T0 - 18_900) * 0.001 + 18_900 * 0.0005
    assert (status.target, status.base_target) == (0.9995, 0.999)
    assert status.protected_by == "Black Friday 2026"
    assert status.allowed == pytest.approx(allowed, rel=1e-9)
    assert status.remaining == pytest.approx(1 - BAD_AT_T0 / allowed, rel=1e-9)
    assert status.current_burn_rate == pytest.approx(INCIDENT_BURN * 2, rel=1e-9)


@SQLITE_ONLY
@PROMETHEUS_DOWN
def test_with_prometheus_down_the_status_says_why_and_the_incident_budget_is_unavailable(
    http: httpx.Client, reader: dict[str, str], apply: Apply, prometheus_url: str
) -> None:
    apply()

    [status] = _status(http, reader).statuses
    budget = http.get(
        "/api/v1/slos/incident-budget/checkout-api",
        params={"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T11:00:00Z"},
        headers=reader,
    )

    assert status.error is not None
    assert status.error.startswith(f"{SLO}: could not reach Prometheus at {prometheus_url} ")
    assert (status.remaining, status.total, status.alerts) == (None, 0, ())
    body = assert_problem(budget, status=503, code="upstream_unavailable")
    assert body["detail"].startswith(f"could not reach Prometheus at {prometheus_url} ")


# --- rules and incident budgets ------------------------------------------------------------------


@SQLITE_ONLY
def test_the_rules_are_yaml_prometheus_can_load(
    http: httpx.Client, reader: dict[str, str], apply: Apply
) -> None:
    apply()

    response = http.get("/api/v1/slos/rules", headers=reader)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/yaml"
    groups = yaml.safe_load(response.text)["groups"]
    assert groups != []
    assert all(SLO in g["name"] for g in groups)
    rules = [r for g in groups for r in g["rules"]]
    assert {"slo:sli_error:ratio_rate5m", "slo:sli_error:ratio_rate1h"} <= {
        r["record"] for r in rules if "record" in r
    }
    assert any("alert" in r and r["labels"].get("severity") == "page" for r in rules)


@SQLITE_ONLY
def test_the_slos_export_as_openslo_documents_of_one_system_or_all(
    http: httpx.Client, reader: dict[str, str], apply: Apply
) -> None:
    apply()

    every = http.get("/api/v1/slos/openslo", headers=reader)
    of_checkout = http.get(
        "/api/v1/slos/openslo", params={"system": "checkout-api"}, headers=reader
    )
    of_cms = http.get("/api/v1/slos/openslo", params={"system": "cms"}, headers=reader)
    unknown = http.get("/api/v1/slos/openslo", params={"system": "nope"}, headers=reader)

    assert every.status_code == 200, every.text
    assert every.headers["content-type"].split(";")[0] == "application/yaml"
    documents = list(yaml.safe_load_all(every.text))
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [("SLO", SLO)]
    assert documents[0]["spec"]["objectives"] == [{"displayName": "Available", "target": 0.999}]
    assert of_checkout.text == every.text
    assert (of_cms.status_code, of_cms.text) == (200, "")
    assert_problem(unknown, status=404, code="not_found")


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("hours_before_t0", "bad", "allowed", "postmortem"),
    [
        (1, 1800.0, TOTAL_AT_T0 * 0.001, True),
        # The four weeks end with the range: 70 quiet hours of 10.002 events a second.
        (3, 7.2, 70 * 3600 * (GOOD_PER_S + BAD_PER_S) * 0.001, False),
    ],
    ids=["the incident hour needs a postmortem", "a quiet hour does not"],
)
def test_the_incident_budget_is_the_share_of_four_weeks_budget_an_hour_spent(
    http: httpx.Client,
    reader: dict[str, str],
    apply: Apply,
    clock: Any,
    checkout_history: History,
    hours_before_t0: int,
    bad: float,
    allowed: float,
    postmortem: bool,
) -> None:
    apply()
    t0 = checkout_history.t0
    clock.now = t0 + 10 * MINUTE
    start = t0 - hours_before_t0 * HOUR

    [cost] = _get(
        http,
        reader,
        "/api/v1/slos/incident-budget/checkout-api",
        start=_iso(start),
        end=_iso(start + HOUR),
    )

    assert (cost["slo"], cost["objective"]) == (SLO, "Available")
    assert cost["bad"] == pytest.approx(bad, rel=1e-9)
    assert cost["allowed_four_weeks"] == pytest.approx(allowed, rel=1e-9)
    assert cost["share"] == pytest.approx(bad / allowed, rel=1e-9)
    assert cost["requires_postmortem"] is postmortem


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-11-20T11:00:00Z", "2026-11-20T10:00:00Z"), ("2026-11-20T10:00:00Z",) * 2],
    ids=["end before start", "an empty range"],
)
def test_an_incident_range_must_end_after_it_starts(
    http: httpx.Client, reader: dict[str, str], apply: Apply, start: str, end: str
) -> None:
    apply()

    response = http.get(
        "/api/v1/slos/incident-budget/checkout-api",
        params={"start": start, "end": end},
        headers=reader,
    )

    body = assert_problem(response, status=400, code="usage")
    assert body["detail"] == "end must be after start"


# --- who may read --------------------------------------------------------------------------------


@SQLITE_ONLY
def test_a_read_token_reads_every_slo_route_and_no_token_none(
    http: httpx.Client, reader: dict[str, str], apply: Apply, clock: Any, checkout_history: History
) -> None:
    apply()
    clock.now = checkout_history.t0
    params = {"start": _iso(clock.now - HOUR), "end": _iso(clock.now)}

    with_token = {p: http.get(p, params=params, headers=reader) for p in SLO_ROUTES}
    without = {p: http.get(p, params=params) for p in SLO_ROUTES}

    assert {p: r.status_code for p, r in with_token.items()} == dict.fromkeys(SLO_ROUTES, 200)
    for response in without.values():
        assert_problem(response, status=401, code="unauthorized")


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (
            "/api/v1/slos/incident-budget/checkout-api",
            {"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"},
            "start",
        ),
        ("/api/v1/slos/status", {"at": "0001-01-01T00:00:00Z"}, "at"),
    ],
    ids=["an incident in year 1", "a status as of year 1"],
)
def test_an_instant_outside_the_plausible_years_is_a_usage_error_not_a_crash(
    http: httpx.Client, reader: dict[str, str], apply: Apply, path: str, params: Any, field: str
) -> None:
    apply()

    response = http.get(path, params=params, headers=reader)

    body = assert_problem(response, status=400, code="usage")
    assert body["detail"].startswith(f"{field} must be between the years 1970 and 2999")
