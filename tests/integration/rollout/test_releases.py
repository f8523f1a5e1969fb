"""Releases end to end: the release service on a real nginx and a real store (SQLite and
PostgreSQL), with synthetic visitors and a clock moved by hand.

v1 is the first release (served at once); v2 ships in maintenance mode (every canary page
answers 503) and is rolled back by itself, with the evidence on the timeline, a notification
and an incident; v3 is healthy and promoted; blue-green previews, switches and rolls back in an
instant; a freeze that begins mid-rollout pauses it and lets a rollback through; one release at
a time per system and environment, which the gate says too.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from nginx_sites import build

from launchdeck.calendar.model import ChangeType
from launchdeck.checks import installed_checks
from launchdeck.errors import Blocked, Conflict
from launchdeck.gate.model import CheckOutcome, GateRequest
from launchdeck.gate.service import GateService
from launchdeck.incidents.model import IncidentSource, Status
from launchdeck.incidents.service import IncidentService
from launchdeck.reliability.service import prometheus_sources
from launchdeck.rollout.release import Phase
from launchdeck.rollout.service import RolloutService
from launchdeck.rollout.strategy import parse_strategy
from launchdeck.rollout.targets.base import Served
from launchdeck.rollout.targets.nginx import NginxStatic
from launchdeck.rollout.views import ActionRequest, DeployRequest, ReleaseView
from launchdeck.store import Database
from launchdeck.timeline.model import Event, TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

pytestmark = pytest.mark.xdist_group("nginx")

CANARY = parse_strategy(
    "strategy: canary\n"
    "steps:\n"
    "  - set_weight: 50\n"
    "  - analysis: {metrics: [error_rate, conversion_rate], count: 4}\n"
    "  - set_weight: 100\n"
    "analysis: {interval: 1m, background: [error_rate]}\n"
    "metrics:\n"
    "  - {name: conversion_rate, kind: conversion_rate, min_sample: 300}\n",
    source="shop-canary.yaml",
)
BLUE_GREEN = parse_strategy(
    "strategy: blue-green\n"
    "analysis: {interval: 1m, count: 2, background: [error_rate]}\n"
    "blue_green: {preview_checks: [/, /buy/], post_promotion: 3m, keep_previous: 1h}\n",
    source="shop-blue-green.yaml",
)
PAGES = {
    "v1": {"index.html": "v1", "buy/index.html": "buy v1"},
    "v2": {"index.html": "v2", "buy/index.html": "buy v2", "maintenance.html": "back soon"},
    "v3": {"index.html": "v3", "buy/index.html": "buy v3"},
    "v4": {"index.html": "v4"},  # no /buy/: its preview check fails
    "v5": {"index.html": "v5", "buy/index.html": "buy v5 (the button does nothing)"},
}
CONVERTS = {"v1": 0.06, "v3": 0.06, "v4": 0.06, "v5": 0.01}
"""How often a visitor of each version orders (v2's pages are down; v5's Buy button is broken)."""


def _workspace(site_root: Path) -> WorkspaceSpec:
    return WorkspaceSpec.model_validate(
        {
            "version": 1,
            "workspace": {"name": "releases-suite", "timezone": "UTC"},
            "environments": [{"id": "production", "production_like": True}],
            "systems": [
                {
                    "id": "shop",
                    "tier": 1,
                    "environments": {"production": {"target": {"root": str(site_root)}}},
                }
            ],
            "campaigns": [  # frozen from 11-24 00:00Z (24 h before) to 11-28 00:00Z
                {
                    "id": "launch",
                    "name": "Launch",
                    "start": "2026-11-25T00:00:00",
                    "end": "2026-11-26T00:00:00",
                    "tier": 1,
                    "systems": ["shop"],
                }
            ],
        }
    )


class Told:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)


@pytest.fixture
def told() -> Told:
    return Told()


@pytest.fixture
def service(
    db: Database, clock: Any, tmp_path: Path, prometheus_url: str, told: Told
) -> Iterator[RolloutService]:
    WorkspaceService(db, actor="gitops", clock=clock).apply(_workspace(tmp_path / "site"))
    sources = prometheus_sources(prometheus_url, timeout_s=1)
    gate = GateService(
        db, actor="ci", clock=clock, checks=installed_checks(db, clock=clock, sources=sources)
    )
    service = RolloutService(
        db,
        actor="ci",
        clock=clock,
        gate=gate,
        sites_dir=tmp_path / "sites",
        incidents=IncidentService(db, actor="launchdeck", clock=clock),
        notify=told,
    )
    yield service
    service.close()
    if (tmp_path / "site" / "site.json").exists():
        site(tmp_path).stop()


def site(tmp_path: Path) -> NginxStatic:
    """The suite's site as the target settings describe it (ports from its site.json)."""
    import json

    kept = json.loads((tmp_path / "site" / "site.json").read_text())
    return NginxStatic(tmp_path / "site", port=kept["port"], preview_port=kept["preview_port"])


def deploy(
    service: RolloutService, tmp_path: Path, version: str, strategy: Any = CANARY, **extra: Any
) -> ReleaseView:
    artifact = build(tmp_path, version, PAGES[version])
    return service.deploy(
        DeployRequest(
            system="shop",
            version=version,
            artifact=str(artifact),
            strategy=strategy,
            **extra,
        )
    )


def visit(url: str, rng: random.Random, first: int, count: int) -> None:
    """`count` new visitors: each sees the home page and orders at its version's rate."""
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(first, first + count):
            cookie = {"Cookie": f"ld_uid=visitor-{first}-{i}"}
            page = client.get("/", headers=cookie)
            served = page.text if page.status_code == 200 else "down"
            if rng.random() < CONVERTS.get(served, 0.0):
                client.post("/__ld/convert", headers=cookie)


def run(
    service: RolloutService, clock: Any, url: str, release_id: int, minutes: int
) -> ReleaseView:
    """A pass a minute, with 300 visitors between passes, until the release ends."""
    rng = random.Random(7)
    view = service.view(service.take_pass(release_id))
    for minute in range(minutes):
        if view.phase in (Phase.PROMOTED, Phase.ROLLED_BACK):
            break
        visit(url, rng, first=minute * 1000, count=300)
        clock.advance(timedelta(minutes=1))
        view = service.view(service.take_pass(release_id))
    return view


def events(db: Database, clock: Any, kind: str) -> list[Event]:
    page = TimelineService(db, clock=clock).query(TimelineQuery(kind=kind, limit=100))
    return page.events


def test_a_canary_in_maintenance_is_rolled_back_by_itself_with_its_evidence(
    service: RolloutService, db: Database, clock: Any, tmp_path: Path, told: Told
) -> None:
    first = deploy(service, tmp_path, "v1")
    assert first.phase is Phase.PROMOTED
    assert "first release" in first.reason
    served = site(tmp_path)
    assert httpx.get(served.url).text == "v1"

    canary = deploy(service, tmp_path, "v2")
    assert (canary.phase, canary.weight, canary.canary) == (Phase.PROGRESSING, 50, "v2")
    assert served.served().weight == 50

    done = run(service, clock, served.url, canary.id, minutes=10)

    assert done.phase is Phase.ROLLED_BACK
    assert "step analysis failed" in done.reason
    now = served.served()
    assert (now.stable, now.canary, now.weight) == ("v1", None, 0)
    answers = {httpx.get(served.url, headers={"Cookie": f"ld_uid=x{i}"}).text for i in range(40)}
    assert answers == {"v1"}
    [rolled] = events(db, clock, "release.rolled_back")
    evidence = rolled.payload["evidence"]
    assert isinstance(evidence, list)
    failing = {e["metric"]: e for e in evidence if isinstance(e, dict) and e["verdict"] == "fail"}
    assert set(failing) == {"error_rate", "conversion_rate"}  # 503s, and nobody orders
    numbers = failing["error_rate"]["numbers"]
    assert numbers["canary_events"] == numbers["canary_units"] > 0  # every canary page a 503
    assert numbers["baseline_events"] == 0
    assert rolled.payload["weight"] == 50
    assert "release.rolled_back" in [e.kind for e in told.events]
    incidents = IncidentService(db, actor="t", clock=clock).list_incidents()
    [incident] = [i for i in incidents if i.source is IncidentSource.ROLLBACK]
    assert incident.systems == ("shop",)
    assert incident.traffic_share == pytest.approx(0.5)
    assert incident.status is Status.MITIGATED  # the rollback is the mitigation
    assert incident.mitigated_at == rolled.occurred_at
    assert incident.started_at == canary.created_at


def test_a_healthy_canary_is_promoted_step_by_step(
    service: RolloutService, db: Database, clock: Any, tmp_path: Path
) -> None:
    deploy(service, tmp_path, "v1")
    canary = deploy(service, tmp_path, "v3")

    done = run(service, clock, site(tmp_path).url, canary.id, minutes=15)

    assert done.phase is Phase.PROMOTED, done.reason
    assert site(tmp_path).served().stable == "v3"
    assert [s.state for s in done.steps] == ["done", "done", "done"]
    weights = [e.payload["weight"] for e in reversed(events(db, clock, "release.weight"))]
    assert weights == [50]  # set_weight 100 is the last step: promoted in the same pass
    assert done.step_analysis is None and done.finished_at is not None


def test_one_release_at_a_time_and_the_gate_says_so(
    service: RolloutService, db: Database, clock: Any, tmp_path: Path, prometheus_url: str
) -> None:
    deploy(service, tmp_path, "v1")
    running = deploy(service, tmp_path, "v3")
    with pytest.raises(Conflict, match=f"#{running.id} v3"):
        deploy(service, tmp_path, "v2")
    gate = GateService(
        db,
        actor="ci",
        clock=clock,
        checks=installed_checks(
            db, clock=clock, sources=prometheus_sources(prometheus_url, timeout_s=1)
        ),
    )

    def outcome(change: ChangeType) -> CheckOutcome:
        verdict = gate.check(GateRequest(system="shop", change_type=change))
        [check] = [c for c in verdict.checks if c.check == "active_release"]
        return check.outcome

    assert outcome(ChangeType.FEATURE) is CheckOutcome.BLOCK
    assert outcome(ChangeType.FLAG) is CheckOutcome.WARN
    assert outcome(ChangeType.ROLLBACK) is CheckOutcome.PASS

    aborted = service.act("shop", "production", "abort", ActionRequest(reason="wrong copy"))
    assert (aborted.phase, aborted.reason) == (Phase.ROLLED_BACK, "wrong copy")
    assert site(tmp_path).served().canary is None
    assert outcome(ChangeType.FEATURE) is CheckOutcome.PASS
    assert deploy(service, tmp_path, "v2").phase is Phase.PROGRESSING


def test_a_freeze_that_begins_mid_rollout_pauses_it_and_lets_a_rollback_through(
    service: RolloutService, clock: Any, tmp_path: Path
) -> None:
    clock.now = clock.now.replace(day=23, hour=23, minute=58)  # the freeze begins 11-24 00:00Z
    deploy(service, tmp_path, "v1")
    canary = deploy(service, tmp_path, "v3")
    assert canary.phase is Phase.PROGRESSING

    done = run(service, clock, site(tmp_path).url, canary.id, minutes=6)

    assert done.phase is Phase.PAUSED and done.paused_by_gate
    assert "gate refuses" in done.reason and "freeze 'Launch'" in done.reason
    with pytest.raises(Blocked, match="gate refuses"):
        service.act("shop", "production", "resume", ActionRequest())
    back = service.act("shop", "production", "rollback", ActionRequest(reason="not now"))
    assert back.phase is Phase.ROLLED_BACK
    assert site(tmp_path).served().stable == "v1"
    with pytest.raises(Blocked, match=r"freeze .Launch."):
        deploy(service, tmp_path, "v2")


def test_blue_green_previews_switches_and_rolls_back_in_an_instant(
    service: RolloutService, clock: Any, tmp_path: Path
) -> None:
    deploy(service, tmp_path, "v1")
    served = site(tmp_path)
    green = deploy(service, tmp_path, "v3", strategy=BLUE_GREEN)
    assert (green.stable, green.preview) == ("v1", "v3")
    assert httpx.get(served.url).text == "v1"
    assert httpx.get(served.preview_url).text == "v3"

    done = run(service, clock, served.url, green.id, minutes=10)

    assert done.phase is Phase.PROMOTED, done.reason
    assert (served.served().stable, served.served().preview) == ("v3", "v1")
    assert httpx.get(served.url).text == "v3"
    back = service.act("shop", "production", "rollback", ActionRequest())
    assert back.phase is Phase.ROLLED_BACK
    assert httpx.get(served.url).text == "v1"


def test_the_previous_colour_is_kept_warm_for_its_window_then_retired(
    service: RolloutService, db: Database, clock: Any, tmp_path: Path
) -> None:
    deploy(service, tmp_path, "v1")
    green = deploy(service, tmp_path, "v3", strategy=BLUE_GREEN)
    done = run(service, clock, site(tmp_path).url, green.id, minutes=10)
    assert done.phase is Phase.PROMOTED
    served = site(tmp_path)

    clock.advance(timedelta(minutes=59))  # keep_previous: 1h
    service.pass_all()
    assert served.served().preview == "v1"
    assert httpx.get(served.preview_url).text == "v1"  # warm: one symlink away from stable

    clock.advance(timedelta(minutes=2))
    service.pass_all()
    assert served.served().preview is None
    assert [e.kind for e in events(db, clock, "release.previous_retired")] == [
        "release.previous_retired"
    ]
    service.pass_all()  # once only
    assert len(events(db, clock, "release.previous_retired")) == 1
    back = service.act("shop", "production", "rollback", ActionRequest(reason="still possible"))
    assert back.phase is Phase.ROLLED_BACK
    assert httpx.get(served.url).text == "v1"


def test_a_blue_green_preview_that_fails_its_checks_is_never_switched(
    service: RolloutService, clock: Any, tmp_path: Path
) -> None:
    deploy(service, tmp_path, "v1")
    green = deploy(service, tmp_path, "v4", strategy=BLUE_GREEN)

    done = run(service, clock, site(tmp_path).url, green.id, minutes=6)

    assert done.phase is Phase.ROLLED_BACK
    assert "preview /buy/" in done.reason
    assert site(tmp_path).served().stable == "v1"


def with_hooks(tmp_path: Path, *hooks: str) -> Any:
    """CANARY with command hooks (`type: argv…` lines as YAML flow mappings)."""
    text = (
        "strategy: canary\n"
        "steps:\n"
        "  - set_weight: 50\n"
        "  - analysis: {metrics: [error_rate], count: 2}\n"
        "analysis: {interval: 1m, background: [error_rate]}\n"
        "hooks:\n" + "".join(f"  - {hook}\n" for hook in hooks)
    )
    return parse_strategy(text, source=str(tmp_path / "hooks.yaml"))


def test_confirm_hooks_hold_the_release_until_they_say_yes(
    service: RolloutService, clock: Any, tmp_path: Path
) -> None:
    approvals = tmp_path / "approvals"
    approvals.mkdir()
    strategy = with_hooks(
        tmp_path,
        f"{{name: qa, type: confirm-rollout, command: [test, -f, {approvals}/start]}}",
        f"{{name: marketing, type: confirm-promotion, command: [test, -f, {approvals}/promote]}}",
    )
    deploy(service, tmp_path, "v1")
    held = deploy(service, tmp_path, "v3", strategy=strategy)
    assert held.phase is Phase.PENDING
    assert held.reason.startswith("waiting for confirmation: confirm-rollout hook")
    assert site(tmp_path).served().canary is None

    (approvals / "start").touch()
    clock.advance(timedelta(minutes=1))
    moving = service.view(service.take_pass(held.id))
    assert (moving.phase, moving.weight) == (Phase.PROGRESSING, 50)

    waiting = run(service, clock, site(tmp_path).url, held.id, minutes=5)
    assert waiting.phase is Phase.PAUSED and waiting.paused_by_gate
    assert "confirm-promotion hook" in waiting.reason and "marketing" in waiting.reason
    assert site(tmp_path).served().weight == 50

    (approvals / "promote").touch()
    clock.advance(timedelta(minutes=1))
    done = service.view(service.take_pass(held.id))
    assert done.phase is Phase.PROMOTED
    assert site(tmp_path).served().stable == "v3"


def test_a_failing_pre_rollout_hook_rolls_back_before_any_visitor_sees_the_canary(
    service: RolloutService, tmp_path: Path
) -> None:
    strategy = with_hooks(tmp_path, "{name: smoke, type: pre-rollout, command: ['false']}")
    deploy(service, tmp_path, "v1")
    release = deploy(service, tmp_path, "v3", strategy=strategy)
    assert release.phase is Phase.ROLLED_BACK
    assert release.reason.startswith("pre-rollout hook")
    assert site(tmp_path).served().canary is None


def test_a_rollback_hook_that_says_yes_rolls_the_release_back(
    service: RolloutService, clock: Any, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    strategy = with_hooks(
        tmp_path, f"{{name: big-red-button, type: rollback, command: [test, -f, {stop}]}}"
    )
    deploy(service, tmp_path, "v1")
    release = deploy(service, tmp_path, "v3", strategy=strategy)
    clock.advance(timedelta(minutes=1))
    assert service.view(service.take_pass(release.id)).phase is Phase.PROGRESSING

    stop.touch()
    clock.advance(timedelta(minutes=1))
    back = service.view(service.take_pass(release.id))
    assert back.phase is Phase.ROLLED_BACK
    assert "big-red-button" in back.reason
    assert site(tmp_path).served().canary is None


def test_a_canary_whose_buy_button_is_broken_is_rolled_back_on_conversion(
    service: RolloutService, db: Database, clock: Any, tmp_path: Path
) -> None:
    deploy(service, tmp_path, "v1")
    canary = deploy(service, tmp_path, "v5")

    done = run(service, clock, site(tmp_path).url, canary.id, minutes=20)

    assert done.phase is Phase.ROLLED_BACK
    assert "conversion_rate" in done.reason
    [rolled] = events(db, clock, "release.rolled_back")
    evidence = rolled.payload["evidence"]
    assert isinstance(evidence, list)
    verdicts = {e["metric"]: e["verdict"] for e in evidence if isinstance(e, dict)}
    assert verdicts["conversion_rate"] == "fail"
    assert verdicts["error_rate"] != "fail"  # the pages answer: only the orders are missing


def test_a_release_that_spends_its_revenue_budget_is_rolled_back(
    service: RolloutService, clock: Any, tmp_path: Path
) -> None:
    budgeted = parse_strategy(
        "strategy: canary\n"
        "steps:\n"
        "  - set_weight: 50\n"
        "  - pause: {duration: 1h}\n"
        "analysis: {interval: 1m, background: [conversion_rate]}\n"
        "metrics:\n"
        "  - {name: conversion_rate, kind: conversion_rate, min_sample: 100000}\n"
        "revenue: {order_value: 82, currency: EUR, budget: 150}\n",
        source="budget.yaml",
    )
    deploy(service, tmp_path, "v1")
    canary = deploy(service, tmp_path, "v5", strategy=budgeted)

    done = run(service, clock, site(tmp_path).url, canary.id, minutes=20)

    assert done.phase is Phase.ROLLED_BACK
    assert done.reason.startswith("revenue budget spent: at least")
    assert "(budget 150 EUR)" in done.reason
    assert done.revenue is not None
    assert float(done.revenue["lost_at_least"]) > 150  # type: ignore[arg-type]
    assert float(done.revenue["lost"]) >= float(done.revenue["lost_at_least"])  # type: ignore[arg-type]


def test_a_regression_in_the_verification_window_after_promotion_rolls_back(
    service: RolloutService, db: Database, clock: Any, tmp_path: Path
) -> None:
    verified = parse_strategy(
        "strategy: canary\n"
        "steps:\n"
        "  - set_weight: 20\n"
        "  - pause: {duration: 3m}\n"
        "analysis: {interval: 1m, background: []}\n"  # nothing judges the canary steps
        "verification: {window: 5m, metrics: [error_rate]}\n",
        source="verified.yaml",
    )
    deploy(service, tmp_path, "v1")
    release = deploy(service, tmp_path, "v2", strategy=verified)
    served = site(tmp_path)

    done = run(service, clock, served.url, release.id, minutes=15)

    assert done.phase is Phase.ROLLED_BACK
    assert "error_rate" in done.reason
    assert served.served().stable == "v1"
    [rolled] = events(db, clock, "release.rolled_back")
    assert rolled.payload["weight"] == 100.0  # everyone was on v2 when it was caught
    steps = [why for _, phase, why in done.history if phase is Phase.PROGRESSING]
    assert steps == ["started"]  # never promoted: the window failed first


def test_a_healthy_release_passes_its_verification_window_and_is_promoted(
    service: RolloutService, clock: Any, tmp_path: Path
) -> None:
    verified = parse_strategy(
        "strategy: canary\n"
        "steps: [{set_weight: 20}, {pause: {duration: 3m}}]\n"
        "analysis: {interval: 1m, background: [error_rate]}\n"
        "verification: {window: 4m, metrics: [error_rate, conversion_rate]}\n"
        "metrics: [{name: conversion_rate, kind: conversion_rate, min_sample: 100}]\n",
        source="verified.yaml",
    )
    deploy(service, tmp_path, "v1")
    release = deploy(service, tmp_path, "v3", strategy=verified)

    done = run(service, clock, site(tmp_path).url, release.id, minutes=15)

    assert done.phase is Phase.PROMOTED, done.reason
    assert done.reason == "every step and the verification window passed"
    assert site(tmp_path).served() == Served(stable="v3", canary=None, preview=None, weight=0)


def test_the_controller_thread_of_launchdeck_serve_moves_releases_on(
    service: RolloutService, clock: Any, tmp_path: Path
) -> None:
    from launchdeck.rollout.runner import ControllerThread

    paused = parse_strategy(
        "strategy: canary\n"
        "steps: [{set_weight: 20}, {pause: {duration: 10m}}]\n"
        "analysis: {background: []}\n",
        source="paused.yaml",
    )
    deploy(service, tmp_path, "v1")
    release = deploy(service, tmp_path, "v3", strategy=paused)
    thread = ControllerThread(service, interval_s=0.05)
    thread.start()
    try:
        clock.advance(timedelta(minutes=11))  # the pause is over: the next pass promotes it
        deadline = time.monotonic() + 10
        while service.status("shop", "production").phase is not Phase.PROMOTED:
            assert time.monotonic() < deadline, "the controller thread took no pass"
            time.sleep(0.05)
    finally:
        thread.stop()
    assert site(tmp_path).served().stable == "v3"
    assert service.status("shop", "production").id == release.id


def test_conversion_read_from_launchdecks_own_events_rolls_a_broken_canary_back(
    db: Database, clock: Any, tmp_path: Path, prometheus_url: str
) -> None:
    """The site's backend reports orders to launchdeck (`POST /api/v1/events`, metric events
    whose unit is the visitor's cookie); the judge counts, per variant, the visitors of the
    access log who ordered."""
    from launchdeck.experiments.events import validate_batch
    from launchdeck.experiments.model import Catalog
    from launchdeck.experiments.store import EventStore

    WorkspaceService(db, actor="gitops", clock=clock).apply(_workspace(tmp_path / "site"))
    sources = prometheus_sources(prometheus_url, timeout_s=1)
    store = EventStore(tmp_path / "events.duckdb")
    service = RolloutService(
        db,
        actor="ci",
        clock=clock,
        gate=GateService(
            db, actor="ci", clock=clock, checks=installed_checks(db, clock=clock, sources=sources)
        ),
        sites_dir=tmp_path / "sites",
        events=lambda: store,
    )
    ordered = parse_strategy(
        "strategy: canary\n"
        "steps: [{set_weight: 50}, {pause: {duration: 1h}}]\n"
        "analysis: {interval: 1m, background: [orders]}\n"
        "metrics:\n"
        "  - {name: orders, kind: conversion_rate, source: events, event: purchase,\n"
        "     min_sample: 300}\n",
        source="orders.yaml",
    )
    try:
        deploy(service, tmp_path, "v1")
        canary = deploy(service, tmp_path, "v5", strategy=ordered)
        rng = random.Random(11)
        view = canary
        with httpx.Client(base_url=site(tmp_path).url, timeout=10) as client:
            for minute in range(15):
                orders = []
                for i in range(300):
                    uid = f"shopper-{minute}-{i}"
                    page = client.get("/", headers={"Cookie": f"ld_uid={uid}"}).text
                    if rng.random() < CONVERTS[page]:  # the order reaches the backend only
                        orders.append(
                            {
                                "type": "metric",
                                "event": "purchase",
                                "unit": uid,
                                "timestamp": clock.now.isoformat(),
                            }
                        )
                accepted = validate_batch(
                    orders,
                    catalog=Catalog(),
                    now=clock.now,
                    max_skew=timedelta(minutes=5),
                    max_age=None,
                ).accepted
                store.write(accepted, [], now=clock.now)
                clock.advance(timedelta(minutes=1))
                view = service.view(service.take_pass(canary.id))
                if view.phase is Phase.ROLLED_BACK:
                    break
        assert view.phase is Phase.ROLLED_BACK, view.reason
        assert "orders" in view.reason
        judged = view.background_analysis
        assert judged is not None
        [orders_metric] = [m for m in judged.last if m.name == "orders"]
        numbers = orders_metric.numbers
        assert numbers["canary_units"] > 300 and numbers["baseline_units"] > 300
        assert numbers["canary_events"] / numbers["canary_units"] < 0.03  # 1 % ordered
        assert numbers["baseline_events"] / numbers["baseline_units"] > 0.03  # 6 % ordered
    finally:
        service.close()
        store.close()
        site(tmp_path).stop()


def test_an_events_metric_where_the_event_store_is_not_open_is_a_measurement_error(
    service: RolloutService, clock: Any, tmp_path: Path
) -> None:
    unread = parse_strategy(
        "strategy: canary\n"
        "steps: [{set_weight: 50}, {pause: {duration: 1h}}]\n"
        "analysis: {interval: 1m, background: [orders], consecutive_error_limit: 1}\n"
        "metrics: [{name: orders, kind: conversion_rate, source: events, event: purchase}]\n",
        source="orders.yaml",
    )
    deploy(service, tmp_path, "v1")
    canary = deploy(service, tmp_path, "v3", strategy=unread)

    done = run(service, clock, site(tmp_path).url, canary.id, minutes=5)

    assert done.phase is Phase.ROLLED_BACK  # errors beyond the limit end the analysis
    assert "event store is not open" in done.reason


def test_a_deploy_that_sends_no_strategy_runs_the_systems_rollout_file(
    db: Database, clock: Any, tmp_path: Path, prometheus_url: str
) -> None:
    """What an API client gets when it sends no strategy: the file the workspace names, read
    where the server has the workspace (else the default canary)."""
    workspace = tmp_path / "workspace"
    (workspace / "rollouts").mkdir(parents=True)
    (workspace / "rollouts" / "shop.yaml").write_text(
        "strategy: canary\nsteps: [{set_weight: 25}, {pause: {}}]\n"
    )
    spec = _workspace(tmp_path / "site").model_dump(mode="json", exclude_none=True)
    spec["systems"][0]["rollout"] = "rollouts/shop.yaml"
    spec["references"] = {"rollouts": ["rollouts/shop.yaml"]}
    WorkspaceService(db, actor="gitops", clock=clock).apply(WorkspaceSpec.model_validate(spec))
    sources = prometheus_sources(prometheus_url, timeout_s=1)
    gate = GateService(
        db, actor="ci", clock=clock, checks=installed_checks(db, clock=clock, sources=sources)
    )
    service = RolloutService(
        db, actor="ci", clock=clock, gate=gate, sites_dir=tmp_path, workspace_dir=workspace
    )
    try:
        deploy(service, tmp_path, "v1", strategy=None)
        canary = deploy(service, tmp_path, "v3", strategy=None)
        assert (canary.weight, [s.text for s in canary.steps]) == (
            25,
            ["set weight 25 %", "pause until promoted"],
        )
        (workspace / "rollouts" / "shop.yaml").unlink()  # not on this machine: the default
        service.act("shop", "production", "abort", ActionRequest())
        default = deploy(service, tmp_path, "v2", strategy=None)
        assert default.weight == 10
    finally:
        service.close()
        site(tmp_path).stop()


def test_passes_that_fail_are_kept_on_the_release_until_one_goes_through(
    db: Database, clock: Any, tmp_path: Path, prometheus_url: str
) -> None:
    """A command target whose set-weight script fails (a platform refusing): each failed pass is
    counted on the release (`release status`), the first one is on the timeline, and the first
    pass that goes through clears it and moves on."""
    broken = tmp_path / "BROKEN"
    commands = {
        "deploy": ["true"],
        "promote": ["true"],
        "withdraw": ["true"],
        "set-weight": ["sh", "-c", f"test ! -f {broken} || {{ echo 'API said 503' >&2; exit 1; }}"],
    }
    spec = _workspace(tmp_path / "site").model_dump(mode="json", exclude_none=True)
    spec["systems"][0]["environments"]["production"]["target"] = {
        "kind": "command",
        "root": str(tmp_path / "command-state"),
        "commands": commands,
    }
    WorkspaceService(db, actor="gitops", clock=clock).apply(WorkspaceSpec.model_validate(spec))
    sources = prometheus_sources(prometheus_url, timeout_s=1)
    gate = GateService(
        db, actor="ci", clock=clock, checks=installed_checks(db, clock=clock, sources=sources)
    )
    service = RolloutService(db, actor="ci", clock=clock, gate=gate, sites_dir=tmp_path)
    stepped = parse_strategy(
        "strategy: canary\n"
        "steps: [{set_weight: 20}, {pause: {duration: 1m}}, {set_weight: 50}, {pause: {}}]\n"
        "analysis: {background: []}\n",
        source="stepped.yaml",
    )
    try:
        deploy(service, tmp_path, "v1")
        release = deploy(service, tmp_path, "v3", strategy=stepped)
        assert (release.weight, release.failing) == (20, None)

        broken.touch()
        clock.advance(timedelta(minutes=2))  # the pause is over: 50 % is due, and refused
        for _ in range(3):
            assert service.pass_all() == []
        failing = service.status("shop", "production").failing
        assert failing is not None
        assert failing["passes"] == 3
        assert "set-weight" in str(failing["error"]) and "API said 503" in str(failing["error"])
        assert len(events(db, clock, "release.pass_failed")) == 1

        broken.unlink()
        [done] = service.pass_all()
        view = service.view(done)
        assert (view.failing, view.weight, view.phase) == (None, 50, Phase.PAUSED)
    finally:
        service.close()
