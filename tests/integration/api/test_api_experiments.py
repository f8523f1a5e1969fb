"""/api/v1/experiments over real HTTP: the JSON of list, show, plan, analysis, validation and
sql; problem+json for unknown keys, bad parameters and missing baselines; any token reads, no
token (and no SDK key) does; RemoteExperiments gives what the service gives in process.

One server for the module (they only read), on a SQLite workspace and a DuckDB event store
filled beforehand: `hero-test` is implemented right (its treatment converts twice as often),
`ship-test` logs only 60 % of its banner exposures (a sample ratio mismatch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import sqlglot
import uvicorn
from api_builders import assert_problem, bearer

from launchdeck.api.app import create_app
from launchdeck.auth.model import Scope
from launchdeck.auth.service import TokenService
from launchdeck.client.http import HttpTransport
from launchdeck.experiments.events import validate_batch
from launchdeck.experiments.model import Catalog
from launchdeck.experiments.remote import RemoteExperiments
from launchdeck.experiments.service import ExperimentService
from launchdeck.experiments.store import EventStore
from launchdeck.flags.bucketing import pick_variant
from launchdeck.flags.service import FlagService
from launchdeck.settings import Settings
from launchdeck.store import Database
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
START = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
UNITS = 2000
ROUTES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("", {}),
    ("/plan", {"baseline": 0.1}),
    ("/analysis", {}),
    ("/validation", {}),
    ("/sql", {"dialect": "spark"}),
)
"""The routes of one experiment, with the query each needs."""


def _flag(key: str, treatment: str) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "experiment",
        "type": "string",
        "variants": {"off": "", "control": "a", treatment: "b"},
        "environments": {"production": {"enabled": True}},
    }


WORKSPACE: dict[str, Any] = {
    "workspace": {"name": "northwind"},
    "environments": [{"id": "production"}],
    "campaigns": [
        {
            "id": "black-friday",
            "name": "Black Friday",
            "start": "2026-11-27T00:00:00",
            "end": "2026-11-28T23:59:00",
        }
    ],
    "flags": [_flag("hero", "urgency"), _flag("ship", "banner"), _flag("later", "new")],
    "metrics": [
        {"key": "purchase", "event": "purchase"},
        {"key": "revenue", "type": "mean", "event": "purchase"},
    ],
    "experiments": [
        {
            "key": "hero-test",
            "flag": "hero",
            "control": "control",
            "variants": {"control": 50, "urgency": 50},
            "campaign": "black-friday",
            "primary_metric": "purchase",
            "guardrail_metrics": ["revenue"],
        },
        {
            "key": "ship-test",
            "flag": "ship",
            "control": "control",
            "variants": {"control": 50, "banner": 50},
            "campaign": "black-friday",
            "primary_metric": "purchase",
        },
        {
            "key": "later-test",
            "flag": "later",
            "control": "control",
            "variants": {"control": 50, "new": 50},
            "start": "2026-12-01T00:00:00Z",
            "primary_metric": "purchase",
        },
    ],
}


def _stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _events() -> list[dict[str, Any]]:
    rng = np.random.default_rng(11)
    span = (NOW - START).total_seconds()
    arrival = rng.uniform(0, span - 7200, size=UNITS)
    converts, logged, value = rng.random(UNITS), rng.random(UNITS), rng.lognormal(4, 0.5, UNITS)
    events: list[dict[str, Any]] = []
    for i in range(UNITS):
        unit = f"v-{i:04d}"
        hero = pick_variant("hero-test", unit, ["control", "urgency"], [50_000, 50_000])
        ship = pick_variant("ship-test", unit, ["control", "banner"], [50_000, 50_000])
        at = _stamp(float(arrival[i]))
        events.append(
            {"type": "exposure", "experiment": "hero-test", "variant": hero, "unit": unit}
            | {"id": f"h{i}", "timestamp": at, "attributes": {"browser": "chrome"}}
        )
        if ship == "control" or logged[i] < 0.6:
            events.append(
                {"type": "exposure", "experiment": "ship-test", "variant": ship, "unit": unit}
                | {"id": f"s{i}", "timestamp": at}
            )
        if converts[i] < (0.2 if hero == "urgency" else 0.1):
            events.append(
                {"type": "metric", "event": "purchase", "unit": unit, "id": f"p{i}"}
                | {"value": round(float(value[i]), 2), "timestamp": _stamp(arrival[i] + 600)}
            )
    return events


@dataclass(frozen=True)
class Api:
    url: str
    db: Database
    events_path: Path
    tokens: dict[Scope, str]
    sdk_key: str

    def get(
        self, path: str, params: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        """GET /api/v1/experiments`path` with a read token (or `token`)."""
        headers = bearer(token if token is not None else self.tokens[Scope.READ])
        return httpx.get(
            f"{self.url}/api/v1/experiments{path}", headers=headers, params=params, timeout=30
        )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("experiments-api")
    db = Database(f"sqlite:///{tmp / 'state.db'}")
    db.ensure_schema()
    spec = WorkspaceSpec.model_validate(WORKSPACE)
    WorkspaceService(db, actor="setup", clock=lambda: NOW).apply(spec)
    events_path = tmp / "events.duckdb"
    with EventStore(events_path) as store:
        found = validate_batch(
            _events(),
            catalog=Catalog.of(spec.experiments),
            now=NOW,
            max_skew=timedelta(minutes=5),
            max_age=None,
        )
        assert found.rejects == []
        store.write(found.accepted, [], now=NOW)
    token_service = TokenService(db, actor="setup", clock=lambda: NOW)
    tokens = {scope: token_service.create(f"t-{scope.name}", [scope]).token for scope in Scope}
    sdk_key = FlagService(db, actor="setup", clock=lambda: NOW).create_sdk_key("web", "production")
    settings = Settings(events_path=events_path, notify_in_background=False)
    app = create_app(settings, db=db, clock=lambda: NOW)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the API server did not start within 10 s"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Api(f"http://127.0.0.1:{port}", db, events_path, tokens, sdk_key.key)
    server.should_exit = True
    thread.join(timeout=10)
    app.state.events.close()
    db.dispose()


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    return response.json()


# --------------------------------------------------------------------------- reading


def test_the_list_gives_each_experiment_with_its_phase_and_window(api: Api) -> None:
    body = _ok(api.get(""))

    assert [(e["key"], e["flag"], e["phase"]) for e in body] == [
        ("hero-test", "hero", "running"),
        ("later-test", "later", "scheduled"),
        ("ship-test", "ship", "running"),
    ]
    hero = body[0]
    assert set(hero) == {
        "key",
        "flag",
        "environment",
        "phase",
        "start",
        "end",
        "primary_metric",
        "spec",
        "metrics",
    }
    assert (hero["start"], hero["end"]) == ("2026-11-27T00:00:00Z", "2026-11-28T23:59:00Z")


def test_an_experiment_carries_its_spec_and_metrics(api: Api) -> None:
    body = _ok(api.get("/hero-test"))

    assert body["spec"]["variants"] == {"control": 50.0, "urgency": 50.0}
    assert body["spec"]["campaign"] == "black-friday"
    assert body["spec"]["consent"] == {"attribute": "analytics_consent"}
    assert [(m["key"], m["type"]) for m in body["metrics"]] == [
        ("purchase", "binomial"),
        ("revenue", "mean"),
    ]


def test_the_plan_takes_its_figures_from_the_query(api: Api) -> None:
    body = _ok(api.get("/hero-test/plan", {"daily_units": 500_000, "baseline": 0.04, "mde": 0.2}))

    assert (body["baseline_rate"], body["mde"], body["daily_units"]) == (0.04, 0.2, 500_000)
    assert (body["baseline_source"], body["traffic_source"]) == (
        "given (--baseline)",
        "given (--daily-units)",
    )
    assert body["deadline"] == "2026-11-28T23:59:00Z"
    assert body["feasible"] is True
    assert body["total_units"] == 2 * body["n_per_arm"]
    assert isinstance(body["summary"], list)
    assert body["summary"][0].startswith(f"{body['n_per_arm']:,} units per arm")


def test_the_plan_reads_recent_traffic_when_not_given(api: Api) -> None:
    body = _ok(api.get("/hero-test/plan"))

    assert body["traffic_source"] == "recent traffic (7 days)"
    assert body["daily_units"] == pytest.approx(UNITS / 1.5)
    assert body["baseline_source"] == "control's recent rate"


def test_a_plan_without_a_baseline_is_a_usage_problem(api: Api) -> None:
    body = assert_problem(api.get("/later-test/plan"), status=400, code="usage")

    assert body["detail"] == "experiment 'later-test' has no baseline rate for 'purchase'"
    assert "--baseline" in body["hint"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"baseline": 1.5}, "query.baseline"),
        ({"daily_units": 0}, "query.daily_units"),
        ({"mde": -0.1}, "query.mde"),
    ],
    ids=["a baseline above 1", "no daily units", "a negative effect"],
)
def test_plan_parameters_out_of_range_are_invalid_requests(
    api: Api, params: dict[str, float], field: str
) -> None:
    body = assert_problem(api.get("/hero-test/plan", params), status=422, code="invalid_request")
    assert body["errors"][0]["field"] == field


def test_the_analysis_report_has_results_decisions_and_daily_exposures(api: Api) -> None:
    body = _ok(api.get("/hero-test/analysis"))

    assert set(body) == {"analysis", "daily_exposures", "source"}
    assert body["source"] == "embedded"
    analysis = body["analysis"]
    assert analysis["experiment"] == "hero-test"
    assert analysis["at"] == "2026-11-28T12:00:00Z"
    assert sum(analysis["units"].values()) == UNITS
    [purchase] = [r for r in analysis["results"] if r["metric"] == "purchase"]
    assert (purchase["role"], purchase["variant"], purchase["verdict"]) == (
        "primary",
        "urgency",
        "better",
    )
    assert purchase["relative"]["low"] > 0
    assert {"estimate", "se", "low", "high"} == set(purchase["relative"])
    assert [r["metric"] for r in analysis["results"]] == ["purchase", "revenue"]
    assert analysis["decisions"][0].startswith("Variant urgency: +")
    days = body["daily_exposures"]
    assert [date.fromisoformat(d) for d in days] == [date(2026, 11, 27), date(2026, 11, 28)]
    assert sum(n for day in days.values() for n in day.values()) == UNITS


def test_the_analysis_counts_exposures_per_day_only_when_asked(api: Api) -> None:
    full = _ok(api.get("/hero-test/analysis", {"daily": "true"}))
    lean = _ok(api.get("/hero-test/analysis", {"daily": "false"}))

    assert lean["daily_exposures"] == {}
    assert sum(n for day in full["daily_exposures"].values() for n in day.values()) == UNITS
    assert lean["analysis"]["units"] == full["analysis"]["units"]
    assert [r["metric"] for r in lean["analysis"]["results"]] == ["purchase", "revenue"]


def test_validation_fails_the_broken_experiment_and_passes_the_right_one(api: Api) -> None:
    ship = _ok(api.get("/ship-test/validation"))
    hero = _ok(api.get("/hero-test/validation"))

    assert (ship["experiment"], ship["status"]) == ("ship-test", "fail")
    checks = {c["name"]: c for c in ship["checks"]}
    assert checks["sample ratio"]["status"] == "fail"
    assert checks["sample ratio"]["facts"]["p_value"] < 0.001
    assert set(checks["sample ratio"]) == {"name", "status", "summary", "facts", "details"}
    assert hero["status"] != "fail"
    assert {c["name"]: c["status"] for c in hero["checks"]}["sample ratio"] == "pass"


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "clickhouse"])
def test_the_sql_is_rendered_in_the_dialect_asked_for(api: Api, dialect: str) -> None:
    body = _ok(api.get("/hero-test/sql", {"dialect": dialect}))

    assert [q["name"] for q in body] == [
        "experiment_moments",
        "metric_moments",
        "metric_moments",
        "exposure_counts",
    ]
    for query in body:
        assert set(query) == {"name", "dialect", "sql", "params"}
        assert query["dialect"] == dialect
        assert query["params"]["experiment"] == "hero-test"
        assert sqlglot.parse_one(query["sql"], read=dialect) is not None


def test_the_sql_is_postgres_by_default(api: Api) -> None:
    assert {q["dialect"] for q in _ok(api.get("/hero-test/sql"))} == {"postgres"}


def test_an_unknown_dialect_is_an_invalid_request(api: Api) -> None:
    body = assert_problem(
        api.get("/hero-test/sql", {"dialect": "oracle"}), status=422, code="invalid_request"
    )
    assert body["errors"][0]["field"] == "query.dialect"


@pytest.mark.parametrize(("path", "params"), ROUTES, ids=[p or "/" for p, _ in ROUTES])
def test_an_unknown_experiment_is_a_not_found_problem(
    api: Api, path: str, params: dict[str, Any]
) -> None:
    body = assert_problem(api.get(f"/hero-tset{path}", params), status=404, code="not_found")

    assert body["detail"] == "no experiment 'hero-tset'"


def test_a_key_that_cannot_be_an_experiment_is_an_invalid_request(api: Api) -> None:
    body = assert_problem(api.get("/-hero-test"), status=422, code="invalid_request")
    assert body["errors"][0]["field"] == "path.key"


# --------------------------------------------------------------------------- who may read


@pytest.mark.parametrize("scope", list(Scope), ids=[s.value for s in Scope])
def test_any_token_reads_every_experiment_route(api: Api, scope: Scope) -> None:
    token = api.tokens[scope]
    for path, params in ROUTES:
        response = api.get(f"/hero-test{path}", params, token=token)
        assert response.status_code == 200, (path, response.text)
    assert api.get("", token=token).status_code == 200


@pytest.mark.parametrize(
    "credential",
    ["", "ld_0123456789abcdef_notarealsecretatall0000", "sdk-key"],
    ids=["no token", "an unknown token", "an SDK key"],
)
def test_without_a_token_nothing_is_read(api: Api, credential: str) -> None:
    headers = (
        {} if credential == "" else bearer(api.sdk_key if credential == "sdk-key" else credential)
    )
    for route in ("", "/hero-test", "/hero-test/analysis"):
        response = httpx.get(f"{api.url}/api/v1/experiments{route}", headers=headers, timeout=30)
        assert_problem(response, status=401, code="unauthorized")


# --------------------------------------------------------------------------- the remote client


def test_the_remote_client_gives_what_the_service_gives_in_process(api: Api) -> None:
    transport = HttpTransport(api.url, api.tokens[Scope.READ])
    remote = RemoteExperiments(transport)
    with EventStore(api.events_path) as store:  # the server's store, shared in this process
        local = ExperimentService(api.db, clock=lambda: NOW, events=store)
        try:
            assert remote.list_experiments() == local.list_experiments()
            assert remote.get("ship-test") == local.get("ship-test")
            assert remote.plan("hero-test", daily_units=9000) == local.plan(
                "hero-test", daily_units=9000
            )
            there, here = remote.analyse("hero-test"), local.analyse("hero-test")
            lean = remote.analyse("hero-test", daily=False)  # sent as ?daily=false
            assert remote.validate("ship-test") == local.validate("ship-test")
            assert remote.sql("hero-test", dialect="trino") == local.sql(
                "hero-test", dialect="trino"
            )
        finally:
            transport.close()
    # The same report, but DuckDB sums doubles in parallel: the last bits may differ run to run.
    assert (there.source, there.daily_exposures) == (here.source, here.daily_exposures)
    assert (lean.daily_exposures, lean.analysis.units) == ({}, here.analysis.units)
    assert there.analysis.units == here.analysis.units
    assert there.analysis.decisions == here.analysis.decisions
    for theirs, mine in zip(there.analysis.results, here.analysis.results, strict=True):
        assert theirs.model_dump(include={"metric", "variant", "verdict"}) == mine.model_dump(
            include={"metric", "variant", "verdict"}
        )
        assert theirs.treatment_mean == pytest.approx(mine.treatment_mean, rel=1e-12)
        assert theirs.relative.low == pytest.approx(mine.relative.low, rel=1e-9)
        assert theirs.p_value == pytest.approx(mine.p_value, rel=1e-9, abs=1e-15)
