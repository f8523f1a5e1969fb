"""ExperimentService on a real workspace (SQLite) and a real DuckDB event store: list and phases,
plan (given figures, recent traffic, the spec's), analyse (a real lift, against counts taken
straight from the generated events), validate (a correct experiment passes, broken ones fail
with the right checks), the SQL for every dialect, and the errors.

The traffic is synthetic and seeded: 6,000 Black Friday visitors, each in two experiments
assigned by the bucketing spec. `hero-test` is implemented right and its treatment converts
1.8× as often; `ship-test` is broken twice (the banner's page loses a third of its Safari
visitors before the exposure is logged, and its purchase tag breaks at Saturday 00:00 UTC).
"""

from __future__ import annotations

import copy
import gc
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import pytest
import sqlglot

from launchdeck.errors import NotFound, UpstreamError, UsageError
from launchdeck.experiments import sources, sql
from launchdeck.experiments.analysis import MetricResult, Role, Verdict, analyse
from launchdeck.experiments.checks import Check, Status, Validation
from launchdeck.experiments.events import validate_batch
from launchdeck.experiments.model import Catalog, ExperimentSpec
from launchdeck.experiments.records import Phase
from launchdeck.experiments.service import DIALECTS, ExperimentService
from launchdeck.experiments.sources import Runner, moments_by_variant, open_runner
from launchdeck.experiments.store import EventStore
from launchdeck.flags.bucketing import pick_variant
from launchdeck.store import Database
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
START = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
"""Black Friday 00:00 (the workspace is in UTC)."""
END = datetime(2026, 11, 28, 23, 59, tzinfo=UTC)
TAG_BROKEN = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
VISITORS = 6000
BASE_RATE, HERO_LIFT, CART_RATE = 0.10, 1.8, 0.3
SEED = 20261127
POSTGRES_URL = os.environ.get(
    "LAUNCHDECK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _flag(key: str, treatment: str) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "experiment",
        "type": "string",
        "variants": {"off": "", "control": "a", treatment: "b"},
        "environments": {"production": {"enabled": True}},
    }


def _experiment(key: str, flag: str, treatment: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "flag": flag,
        "control": "control",
        "variants": {"control": 50, treatment: 50},
        "primary_metric": "purchase",
        "guardrail_metrics": ["revenue"],
        "dimensions": ["browser"],
        **fields,
    }


WORKSPACE: dict[str, Any] = {
    "workspace": {"name": "northwind", "timezone": "UTC"},
    "environments": [{"id": "production"}],
    "campaigns": [
        {
            "id": "black-friday",
            "name": "Black Friday",
            "start": "2026-11-27T00:00:00",
            "end": "2026-11-28T23:59:00",
        }
    ],
    "flags": [
        _flag("hero", "urgency"),
        _flag("ship", "banner"),
        _flag("later", "new"),
        _flag("past", "new"),
    ],
    "metrics": [
        {"key": "purchase", "event": "purchase"},
        {"key": "add-to-cart", "event": "add_to_cart"},
        {"key": "revenue", "type": "mean", "event": "purchase", "capping": 99},
        {
            "key": "aov",
            "type": "ratio",
            "numerator": {"event": "purchase"},
            "denominator": {"event": "purchase", "value": "count"},
        },
    ],
    "experiments": [
        _experiment(
            "hero-test",
            "hero",
            "urgency",
            campaign="black-friday",
            secondary_metrics=["add-to-cart", "aov"],
        ),
        _experiment("ship-test", "ship", "banner", campaign="black-friday"),
        _experiment(
            "later-test", "later", "new", start="2026-12-01T00:00:00Z", end="2026-12-03T00:00:00Z"
        ),
        _experiment(
            "past-test",
            "past",
            "new",
            start="2026-11-20T00:00:00Z",
            end="2026-11-22T00:00:00Z",
            baseline_rate=0.05,
            daily_units=1000,
            analysis={"method": "fixed"},
        ),
    ],
}


def _stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Traffic:
    """The generated visitors, as arrays (one entry per visitor), and the events logged."""

    units: list[str]
    arrival: npt.NDArray[np.float64]
    """Seconds after START."""
    hero: npt.NDArray[np.str_]
    ship: npt.NDArray[np.str_]
    ship_logged: npt.NDArray[np.bool_]
    purchase_at: npt.NDArray[np.float64]
    """Seconds after START of the logged purchase; NaN for none."""
    value: npt.NDArray[np.float64]
    events: list[dict[str, Any]]


def _traffic() -> Traffic:
    rng = np.random.default_rng(SEED)
    n = VISITORS
    span = (NOW - START).total_seconds()
    units = [f"v-{i:05d}" for i in range(n)]
    arrival = rng.uniform(0, span, size=n)
    browser = rng.choice(np.array(["chrome", "safari", "firefox"]), size=n, p=[0.55, 0.35, 0.10])
    halves = [50_000, 50_000]
    hero = np.array([pick_variant("hero-test", u, ["control", "urgency"], halves) for u in units])
    ship = np.array([pick_variant("ship-test", u, ["control", "banner"], halves) for u in units])
    # The banner's page loses a third of its Safari visitors before the exposure is logged.
    ship_logged = ~((ship == "banner") & (browser == "safari") & (rng.random(n) < 1 / 3))
    rate = BASE_RATE * np.where(hero == "urgency", HERO_LIFT, 1.0)
    buys = rng.random(n) < rate
    purchase_at = np.where(buys, arrival + rng.uniform(60, 3600, size=n), np.nan)
    # Not yet bought by now, or lost: the banner's purchase tag broke at Saturday 00:00.
    lost = (purchase_at >= span) | (
        (ship == "banner") & (purchase_at >= (TAG_BROKEN - START).total_seconds())
    )
    purchase_at = np.where(lost, np.nan, purchase_at)
    value = np.round(rng.lognormal(4.0, 0.7, size=n), 2)
    carts = rng.random(n) < CART_RATE
    cart_at = arrival + rng.uniform(30, 600, size=n)
    # Some visitors bought before they ever saw the page: it must not count for them.
    early = rng.random(n) < 0.03
    events: list[dict[str, Any]] = []
    for i, unit in enumerate(units):
        attributes = {"browser": str(browser[i])}
        at = _stamp(float(arrival[i]))
        for key, variant, logged in (
            ("hero-test", hero[i], True),
            ("ship-test", ship[i], bool(ship_logged[i])),
        ):
            if logged:
                events.append(
                    {
                        "id": f"{key}:{unit}",
                        "type": "exposure",
                        "experiment": key,
                        "variant": str(variant),
                        "unit": unit,
                        "timestamp": at,
                        "attributes": attributes,
                    }
                )
        if not np.isnan(purchase_at[i]):
            events.append(
                {
                    "id": f"buy:{unit}",
                    "type": "metric",
                    "event": "purchase",
                    "unit": unit,
                    "value": float(value[i]),
                    "timestamp": _stamp(float(purchase_at[i])),
                }
            )
        if carts[i] and cart_at[i] < span:
            events.append(
                {
                    "id": f"cart:{unit}",
                    "type": "metric",
                    "event": "add_to_cart",
                    "unit": unit,
                    "timestamp": _stamp(float(cart_at[i])),
                }
            )
        if early[i] and arrival[i] > 3600:
            events.append(
                {
                    "id": f"early:{unit}",
                    "type": "metric",
                    "event": "purchase",
                    "unit": unit,
                    "value": 500.0,
                    "timestamp": _stamp(float(arrival[i]) - 1800),
                }
            )
    return Traffic(units, arrival, hero, ship, ship_logged, purchase_at, value, events)


def _write(
    store: EventStore, items: list[dict[str, Any]], experiments: list[ExperimentSpec]
) -> None:
    found = validate_batch(
        items,
        catalog=Catalog.of(tuple(experiments)),
        now=NOW,
        max_skew=timedelta(minutes=5),
        max_age=None,
    )
    assert found.rejects == []
    store.write(found.accepted, [], now=NOW)


@dataclass(frozen=True)
class World:
    db: Database
    store: EventStore
    traffic: Traffic
    tmp: Path

    def service(self, store: EventStore | None = None) -> ExperimentService:
        return ExperimentService(self.db, clock=lambda: NOW, events=store or self.store)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The workspace applied on SQLite and the generated traffic in a DuckDB store, shared by
    the module's tests (they only read, but for the analyses that `analyse` records)."""
    tmp = tmp_path_factory.mktemp("experiment-service")
    db = Database(f"sqlite:///{tmp / 'state.db'}")
    db.ensure_schema()
    spec = WorkspaceSpec.model_validate(WORKSPACE)
    WorkspaceService(db, actor="setup", clock=lambda: NOW).apply(spec)
    traffic = _traffic()
    store = EventStore(tmp / "events.duckdb")
    _write(store, traffic.events, list(spec.experiments))
    yield World(db, store, traffic, tmp)
    store.close()
    db.dispose()


def _result(results: list[MetricResult], metric: str) -> MetricResult:
    [found] = [r for r in results if r.metric == metric]
    return found


def _check(validation: Validation, name: str) -> Check:
    [found] = [c for c in validation.checks if c.name == name]
    return found


# --------------------------------------------------------------------------- reading


def test_list_gives_every_experiment_with_its_phase_now(world: World) -> None:
    infos = world.service().list_experiments()

    assert [(i.key, i.flag, i.environment, i.phase) for i in infos] == [
        ("hero-test", "hero", "production", Phase.RUNNING),
        ("later-test", "later", "production", Phase.SCHEDULED),
        ("past-test", "past", "production", Phase.ENDED),
        ("ship-test", "ship", "production", Phase.RUNNING),
    ]


def test_get_gives_the_window_resolved_from_the_campaign_and_the_metrics_in_role_order(
    world: World,
) -> None:
    info = world.service().get("hero-test")

    assert (info.start, info.end, info.primary_metric) == (START, END, "purchase")
    assert [m.key for m in info.metrics] == ["purchase", "add-to-cart", "aov", "revenue"]
    assert info.spec.metric_keys() == ("purchase", "add-to-cart", "aov", "revenue")


@pytest.mark.parametrize(
    "call",
    ["get", "plan", "analyse", "validate", "sql"],
)
def test_an_unknown_experiment_is_not_found_with_a_hint(world: World, call: str) -> None:
    with pytest.raises(NotFound) as caught:
        getattr(world.service(), call)("hero-tset")

    assert caught.value.message == "no experiment 'hero-tset'"
    assert caught.value.hint is not None
    assert "launchdeck experiments list" in caught.value.hint


# --------------------------------------------------------------------------- plan


def test_plan_with_given_traffic_and_baseline_says_whether_the_campaign_is_long_enough(
    world: World,
) -> None:
    service = world.service()

    slow = service.plan("hero-test", daily_units=2000, baseline=0.10, mde=0.10)
    fast = service.plan("hero-test", daily_units=400_000, baseline=0.10, mde=0.10)

    for plan in (slow, fast):
        assert (plan.baseline_rate, plan.mde, plan.arms, plan.coverage) == (0.10, 0.10, 2, 1.0)
        assert (plan.baseline_source, plan.traffic_source) == (
            "given (--baseline)",
            "given (--daily-units)",
        )
        assert (plan.starts, plan.deadline) == (NOW, END)
        assert plan.days_available == pytest.approx((END - NOW) / timedelta(days=1))
        assert plan.total_units == 2 * plan.n_per_arm
        assert plan.n_per_arm > plan.fixed_horizon_n_per_arm  # sequential costs more units
    assert slow.n_per_arm == fast.n_per_arm
    assert slow.days_needed is not None
    # The units already collected count: only the rest has to come from the daily traffic.
    assert 0 < slow.collected < slow.n_per_arm
    assert slow.days_needed >= (slow.n_per_arm - slow.collected) / (2000 * 0.5)
    assert slow.days_needed - 1 < (slow.n_per_arm - slow.collected) / (2000 * 0.5)
    assert (slow.feasible, fast.feasible, fast.days_needed) == (False, True, 1)
    assert slow.reachable_mde is not None
    assert slow.reachable_mde > 0.10
    assert fast.reachable_mde is None
    assert any(line.startswith("TOO SHORT") for line in slow.summary)


def test_plan_reads_traffic_and_baseline_from_the_running_experiment(world: World) -> None:
    service = world.service()

    plan = service.plan("hero-test")
    control = _result(service.analyse("hero-test").analysis.results, "purchase")

    # Exposed units a day since the start (1.5 days ago), and control's conversion rate so far.
    assert plan.traffic_source == "recent traffic (7 days)"
    assert plan.daily_units == pytest.approx(VISITORS / 1.5, rel=1e-12)
    assert plan.baseline_source == "control's recent rate"
    assert plan.baseline_rate == pytest.approx(control.control_mean, rel=1e-12)


def test_plan_falls_back_to_the_figures_in_the_spec(world: World) -> None:
    plan = world.service().plan("past-test")

    assert (plan.baseline_rate, plan.baseline_source) == (0.05, "the experiment's baseline_rate")
    assert (plan.daily_units, plan.traffic_source) == (1000, "the experiment's daily_units")
    assert plan.days_available == 0  # it ended before now
    assert plan.feasible is False


def test_plan_without_any_baseline_is_a_usage_error(world: World) -> None:
    with pytest.raises(UsageError) as caught:
        world.service().plan("later-test")

    assert caught.value.message == "experiment 'later-test' has no baseline rate for 'purchase'"
    assert caught.value.hint is not None
    assert "--baseline" in caught.value.hint


def test_plan_without_traffic_says_so(world: World) -> None:
    plan = world.service().plan("later-test", baseline=0.04)

    assert (plan.daily_units, plan.days_needed, plan.feasible) == (None, None, None)
    assert plan.starts == datetime(2026, 12, 1, tzinfo=UTC)
    assert plan.summary[-1].startswith("no traffic figure")


# --------------------------------------------------------------------------- analyse


def test_analyse_detects_the_real_lift_with_the_counts_of_the_events(world: World) -> None:
    t = world.traffic
    span = (NOW - START).total_seconds()
    converted = ~np.isnan(t.purchase_at) & (t.purchase_at >= t.arrival) & (t.purchase_at < span)

    report = world.service().analyse("hero-test")

    analysis = report.analysis
    purchase = _result(analysis.results, "purchase")
    control, urgency = t.hero == "control", t.hero == "urgency"
    assert analysis.units == {"control": int(control.sum()), "urgency": int(urgency.sum())}
    assert (purchase.control_units, purchase.treatment_units) == (
        int(control.sum()),
        int(urgency.sum()),
    )
    assert purchase.control_mean == pytest.approx(converted[control].mean(), rel=1e-12)
    assert purchase.treatment_mean == pytest.approx(converted[urgency].mean(), rel=1e-12)
    observed_lift = converted[urgency].mean() / converted[control].mean() - 1
    assert purchase.relative.estimate == pytest.approx(observed_lift, rel=1e-9)
    assert purchase.relative.low < HERO_LIFT - 1 < purchase.relative.high
    assert purchase.relative.low > 0
    assert (purchase.role, purchase.significant, purchase.verdict) == (
        Role.PRIMARY,
        True,
        Verdict.BETTER,
    )
    assert purchase.adjusted_p_value < analysis.alpha
    assert any(d.startswith("Variant urgency: +") for d in analysis.decisions)
    assert report.source == "embedded"


def test_analyse_caps_revenue_at_the_percentile_of_all_exposed_units(world: World) -> None:
    t = world.traffic
    span = (NOW - START).total_seconds()
    counted = ~np.isnan(t.purchase_at) & (t.purchase_at >= t.arrival) & (t.purchase_at < span)
    revenue = np.where(counted, t.value, 0.0)  # the early purchases (500 each) do not count
    cap = float(np.quantile(revenue, 0.99))
    capped = np.minimum(revenue, cap)

    analysis = world.service().analyse("hero-test").analysis

    result = _result(analysis.results, "revenue")
    assert result.role is Role.GUARDRAIL
    assert result.capped_at == pytest.approx(cap, rel=1e-9)
    assert result.control_mean == pytest.approx(capped[t.hero == "control"].mean(), rel=1e-9)
    assert result.treatment_mean == pytest.approx(capped[t.hero == "urgency"].mean(), rel=1e-9)
    assert {r.metric for r in analysis.results} == {"purchase", "add-to-cart", "aov", "revenue"}


def test_the_report_counts_new_exposed_units_per_day_and_variant(world: World) -> None:
    t = world.traffic
    days = np.array([(START + timedelta(seconds=float(s))).date() for s in t.arrival])
    expected = {
        day: {v: int(((days == day) & (t.hero == v)).sum()) for v in ("control", "urgency")}
        for day in (date(2026, 11, 27), date(2026, 11, 28))
    }

    report = world.service().analyse("hero-test")

    assert report.daily_exposures == expected
    assert sum(sum(v.values()) for v in report.daily_exposures.values()) == VISITORS


def _same(got: Any, want: Any, where: str = "") -> None:
    """Equal dumps, floats to 1e-9 (DuckDB's parallel sums may differ in the last bits)."""
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for key, value in want.items():
            _same(got[key], value, f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (mine, theirs) in enumerate(zip(got, want, strict=True)):
            _same(mine, theirs, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-15), where
    else:
        assert got == want, where


def test_without_daily_the_report_has_the_same_analysis_and_no_days(world: World) -> None:
    service = world.service()

    full = service.analyse("hero-test")
    lean = service.analyse("hero-test", daily=False)

    _same(lean.analysis.model_dump(), full.analysis.model_dump())
    assert (lean.daily_exposures, lean.source) == ({}, full.source)
    assert full.daily_exposures


def test_the_one_query_analysis_is_the_analysis_of_the_per_metric_queries(world: World) -> None:
    spec, metrics, events = world.service()._load("hero-test")
    used = [metrics[m] for m in spec.metric_keys()]
    window = sql.Window(start=spec.start, end=NOW)
    runner = open_runner(events.source, store=world.store)
    moments, caps = {}, {}
    for metric in used:
        query = sql.metric_moments(events.source, spec, metric, window)
        moments[metric.key] = moments_by_variant(runner, query)
        if metric.capping is not None:
            [(cap,)] = runner.rows(sql.metric_cap(events.source, spec, metric, window))
            caps[metric.key] = float(cap)
    want = analyse(spec, metrics, moments, at=NOW, capped_at=caps)

    got = world.service().analyse("hero-test", daily=False).analysis

    _same(got.model_dump(), want.model_dump())
    assert list(caps) == ["revenue"]
    assert [r.capped_at for r in got.results if r.metric == "revenue"] == [
        pytest.approx(caps["revenue"], rel=1e-12)
    ]


class _Counted:
    """A runner that counts how often it is closed, and fails its `fail_at`th query."""

    def __init__(self, runner: Runner, fail_at: int | None) -> None:
        self.runner, self.fail_at = runner, fail_at
        self.dialect = runner.dialect
        self.queries = self.closed = 0

    def rows(self, query: sql.Query) -> list[tuple[Any, ...]]:
        self.queries += 1
        if self.queries == self.fail_at:
            raise UpstreamError("the warehouse went away")
        return self.runner.rows(query)

    def close(self) -> None:
        self.closed += 1
        self.runner.close()


CALLS: dict[str, Any] = {
    "analyse": lambda s: s.analyse("hero-test"),
    "analyse without daily": lambda s: s.analyse("hero-test", daily=False),
    "validate": lambda s: s.validate("hero-test"),
    "plan from recent traffic": lambda s: s.plan("hero-test"),
}
RUNS = [(c, f) for c in CALLS for f in (None, 1, 2) if (c, f) != ("analyse without daily", 2)]


@pytest.mark.parametrize(
    ("call", "fail_at"),
    [(CALLS[c], f) for c, f in RUNS],
    ids=[f"{c}, {'no failure' if f is None else f'query {f} fails'}" for c, f in RUNS],
)
def test_every_runner_the_service_opens_is_closed(
    world: World, monkeypatch: pytest.MonkeyPatch, call: Any, fail_at: int | None
) -> None:
    opened: list[_Counted] = []

    def counting(*args: Any, **kwargs: Any) -> Runner:
        opened.append(_Counted(open_runner(*args, **kwargs), fail_at))
        return opened[-1]

    monkeypatch.setattr(sources, "open_runner", counting)
    if fail_at is None:
        call(world.service())
    else:
        with pytest.raises(UpstreamError):
            call(world.service())

    assert opened
    assert [r.closed for r in opened] == [1] * len(opened)


# --------------------------------------------------------------------------- validate


def test_a_correct_experiment_passes_the_ratio_assignment_and_tracking_checks(
    world: World,
) -> None:
    validation = world.service().validate("hero-test")

    assert validation.experiment == "hero-test"
    assert validation.at == NOW
    assert validation.status is not Status.FAIL
    for name in (
        "sample ratio",
        "one variant per unit",
        "assignment",
        "conversions from unexposed units",
        "tracking by variant",
        "exposure window",
        "duplicate events",
        "bot-like units",
        "peeking",
    ):
        assert _check(validation, name).status is Status.PASS, _check(validation, name)
    assignment = _check(validation, "assignment")
    assert assignment.facts["sample"] == VISITORS
    assert assignment.facts["mismatched"] == 0
    ratio = _check(validation, "sample ratio")
    assert ratio.facts["observed"] == {
        "control": int((world.traffic.hero == "control").sum()),
        "urgency": int((world.traffic.hero == "urgency").sum()),
    }


def test_a_broken_experiment_fails_on_its_sample_ratio_and_its_tracking(world: World) -> None:
    t = world.traffic
    validation = world.service().validate("ship-test")

    failed = {c.name for c in validation.checks if c.status is Status.FAIL}
    assert validation.status is Status.FAIL
    assert failed == {"sample ratio", "tracking by variant"}
    ratio = _check(validation, "sample ratio")
    logged = t.ship_logged
    assert ratio.facts["observed"] == {
        "control": int(((t.ship == "control") & logged).sum()),
        "banner": int(((t.ship == "banner") & logged).sum()),
    }
    assert ratio.facts["p_value"] < 0.001
    assert ratio.summary.startswith("SAMPLE RATIO MISMATCH")
    assert len(ratio.details) == 1
    assert ratio.details[0].startswith("browser=safari: ")
    tracking = _check(validation, "tracking by variant")
    assert tracking.facts["silent"] == {"purchase:banner": 1}
    assert "'banner' logged no 'purchase' events on 1 day(s) from 2026-11-28" in (tracking.summary)
    assert _check(validation, "assignment").status is Status.PASS


def test_exposures_logged_against_the_bucketing_spec_fail_the_assignment_checks(
    world: World, tmp_path: Path
) -> None:
    rng = np.random.default_rng(7)
    items = [
        {
            "id": f"x{i}",
            "type": "exposure",
            "experiment": "hero-test",
            "variant": str(rng.choice(["control", "urgency"])),  # a coin, not the flag
            "unit": f"w-{i:04d}",
            "timestamp": _stamp(3600.0 + i),
        }
        for i in range(400)
    ]
    items += [  # and ten units logged in the other variant as well
        {
            **item,
            "id": f"again{i}",
            "variant": "urgency" if item["variant"] == "control" else "control",
        }
        for i, item in enumerate(items[:10])
    ]
    spec = ExperimentSpec.model_validate(_experiment("hero-test", "hero", "urgency"))
    with EventStore(tmp_path / "events.duckdb") as store:
        _write(store, items, [spec])
        validation = world.service(store).validate("hero-test")

    assignment = _check(validation, "assignment")
    multi = _check(validation, "one variant per unit")
    assert validation.status is Status.FAIL
    assert (assignment.status, multi.status) == (Status.FAIL, Status.FAIL)
    assert assignment.facts["sample"] == 390
    assert 100 < assignment.facts["mismatched"] < 290
    assert (multi.facts["units"], multi.facts["share"]) == (10, 10 / 400)


def test_repeated_early_looks_at_a_fixed_horizon_experiment_warn_of_peeking(
    world: World,
) -> None:
    service = world.service()
    before = _check(service.validate("past-test"), "peeking").facts["early_analyses"]

    for _ in range(3):
        service.analyse("past-test")
    peeking = _check(service.validate("past-test"), "peeking")

    assert peeking.facts["early_analyses"] == before + 3
    assert peeking.status is Status.WARN
    assert peeking.summary.startswith(f"PEEKING: analysed {before + 3} times")


# --------------------------------------------------------------------------- sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_sql_renders_in_every_dialect_with_values_as_parameters(
    world: World, dialect: str
) -> None:
    queries = world.service().sql("hero-test", dialect=dialect)

    assert [q.name for q in queries] == [
        "experiment_moments",  # what analyse runs: every metric in one scan
        "metric_moments",
        "metric_moments",
        "metric_moments",
        "metric_moments",
        "exposure_counts",
    ]
    for query in queries:
        assert query.dialect == dialect
        assert sqlglot.parse_one(query.sql, read=dialect) is not None
        assert query.params["experiment"] == "hero-test"
        assert query.params["start"] == "2026-11-27T00:00:00"
        assert query.params["end"] == "2026-11-28T12:00:00"  # now: the end is not yet
        assert "hero-test" not in query.sql
    assert [q.params.get("event_0") for q in queries[1:5]] == [
        "purchase",
        "add_to_cart",
        "purchase",
        "purchase",
    ]


def test_the_duckdb_sql_runs_on_the_store_and_counts_the_exposed_units(world: World) -> None:
    [*_, counts] = world.service().sql("hero-test", dialect="duckdb")
    params = {
        k: datetime.fromisoformat(v) if k in {"start", "end"} else v
        for k, v in counts.params.items()
    }

    cursor = world.store.cursor()
    try:
        rows = cursor.execute(counts.sql, params).fetchall()
    finally:
        cursor.close()

    assert dict(rows) == {
        "control": int((world.traffic.hero == "control").sum()),
        "urgency": int((world.traffic.hero == "urgency").sum()),
    }


def test_an_unknown_dialect_is_a_usage_error_naming_the_known_ones(world: World) -> None:
    with pytest.raises(UsageError) as caught:
        world.service().sql("hero-test", dialect="oracle")

    assert caught.value.message == "unknown dialect 'oracle'"
    assert caught.value.hint == f"use one of: {', '.join(DIALECTS)}"


# --------------------------------------------------------------------------- a warehouse


def _copy_to_postgres(store: EventStore, schema: str) -> None:
    """The store's exposures and metric events into tables of `schema` in PostgreSQL."""
    cursor = store.cursor()
    try:
        exposures = cursor.execute(
            "SELECT id, experiment, variant, unit, timestamp, attributes::VARCHAR FROM exposures"
        ).fetchall()
        metrics = cursor.execute(
            "SELECT id, event, unit, value, timestamp, attributes::VARCHAR FROM metric_events"
        ).fetchall()
    finally:
        cursor.close()
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(
            f'CREATE TABLE "{schema}".exposures (id text, experiment text, variant text,'
            " unit text, timestamp timestamp, attributes jsonb)"
        )
        conn.execute(
            f'CREATE TABLE "{schema}".metric_events (id text, event text, unit text,'
            " value double precision, timestamp timestamp, attributes jsonb)"
        )
        for table, rows in (("exposures", exposures), ("metric_events", metrics)):
            with conn.cursor().copy(f'COPY "{schema}".{table} FROM STDIN') as out:
                for row in rows:
                    out.write_row(row)
            # Statistics, as autovacuum would gather: without them the planner expects one row
            # per table and joins exposures to events in a nested loop (seconds, not ms).
            conn.execute(f'ANALYZE "{schema}".{table}')


def _drop_schema(schema: str) -> None:
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# The service closes each runner it opens (its SQLAlchemy engine): a psycopg connection left
# open would warn (ResourceWarning, an error here) when the collection below finds it.
@pytest.mark.postgres
def test_a_postgres_warehouse_gives_the_analysis_and_validation_of_the_embedded_store(
    world: World, tmp_path: Path
) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        _copy_to_postgres(world.store, schema)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is needed for this test: {exc}")
    try:
        document = copy.deepcopy(WORKSPACE)
        document["events"] = {
            "source": {
                "type": "postgres",
                "url": POSTGRES_URL,
                "exposures": {"table": f"{schema}.exposures"},
                "metrics": {"table": f"{schema}.metric_events"},
            }
        }
        db = Database(f"sqlite:///{tmp_path / 'state.db'}")
        db.ensure_schema()
        WorkspaceService(db, actor="setup", clock=lambda: NOW).apply(
            WorkspaceSpec.model_validate(document)
        )
        warehouse = ExperimentService(db, clock=lambda: NOW, events=world.store)

        there = warehouse.analyse("hero-test")
        ship = warehouse.validate("ship-test")
        db.dispose()
        del warehouse
        gc.collect()
    finally:
        _drop_schema(schema)
    here = world.service().analyse("hero-test")

    assert (there.source, here.source) == ("postgres", "embedded")
    assert there.daily_exposures == here.daily_exposures
    assert there.analysis.units == here.analysis.units
    for mine, theirs in zip(here.analysis.results, there.analysis.results, strict=True):
        assert (theirs.metric, theirs.variant) == (mine.metric, mine.variant)
        assert theirs.control_mean == pytest.approx(mine.control_mean, rel=1e-9)
        assert theirs.treatment_mean == pytest.approx(mine.treatment_mean, rel=1e-9)
        assert theirs.p_value == pytest.approx(mine.p_value, rel=1e-9, abs=1e-12)
    assert ship.status is Status.FAIL
    assert {c.name for c in ship.checks if c.status is Status.FAIL} == {
        "sample ratio",
        "tracking by variant",
    }
    assert _check(ship, "duplicate events").facts["duplicates"] == 0


def test_an_experiment_not_started_yet_has_nothing_to_analyse(world: World) -> None:
    early = ExperimentService(
        world.db, clock=lambda: START - timedelta(hours=1), events=world.store
    )

    with pytest.raises(UsageError, match="nothing to look at yet") as caught:
        early.analyse("hero-test")

    assert caught.value.hint == "plan it instead: launchdeck experiments plan hero-test"
