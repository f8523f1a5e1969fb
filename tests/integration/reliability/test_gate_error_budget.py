"""The gate's error_budget check on SQLite and PostgreSQL, reading budgets from a real Prometheus.

The module's Prometheus holds a day and two hours of traffic, one minute at a time, for four
services; each test points checkout-api's SLO (99.9 % over a rolling day) at one of them:

- spent:     0.05 % errors, then 4.76 % in the last hour: the budget is gone, burning 47.6x;
- low:       0.08 % errors: 20 % of the budget left;
- healthy:   0.01 % errors: 90 % left;
- protected: 0.06 % errors: 40 % left at 99.9 %, overspent (-20 %) at a campaign's 99.95 %.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from launchdeck.calendar.model import ChangeType
from launchdeck.checks import installed_checks
from launchdeck.gate.model import CheckOutcome, CheckResult, Decision, GateRequest, Verdict
from launchdeck.gate.service import GateService
from launchdeck.reliability.service import prometheus_sources
from launchdeck.store import Database
from launchdeck.timeline.model import TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService
from prometheus_server import (
    PrometheusServer,
    backfill,
    counter_samples,
    free_port,
    running_prometheus,
)

SLO = "checkout-api-availability"
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
# (good, bad) requests per second; the second pair applies to the last hour.
RATES = {
    "spent": ((10.0, 0.005), (10.0, 0.5)),
    "low": ((9.992, 0.008), (9.992, 0.008)),
    "healthy": ((9.999, 0.001), (9.999, 0.001)),
    "protected": ((9.994, 0.006), (9.994, 0.006)),
}


def exact_remaining(service: str, target: float) -> float:
    """The budget left over the last day, from the rates the history was written with."""
    (good, bad), (last_good, last_bad) = RATES[service]
    bad_events = bad * 23 * 3600 + last_bad * 3600
    total = (good + bad) * 23 * 3600 + (last_good + last_bad) * 3600
    return 1 - bad_events / (total * round(1 - target, 12))


def last_hour_burn(service: str, target: float) -> float:
    _, (good, bad) = RATES[service]
    return bad / (good + bad) / round(1 - target, 12)


@dataclass(frozen=True)
class History:
    server: PrometheusServer
    at: datetime
    """The last sample's time: the gate's clock."""


def per_second(service: str, code: int, *, at: datetime) -> Callable[[datetime], float]:
    """`service`'s rate of 200s (code 0) or 500s (code 1) at each instant of its history."""
    before, last = RATES[service]
    return lambda t: last[code] if t > at - HOUR else before[code]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    at = datetime.now(UTC).replace(second=0, microsecond=0)
    start = at - DAY - 2 * HOUR
    series = {
        f'http_requests_total{{service="{service}",code="{code}"}}': counter_samples(
            start, at, every=MINUTE, rate=per_second(service, index, at=at)
        )
        for service in RATES
        for index, code in enumerate(("200", "500"))
    }
    workdir = tmp_path_factory.mktemp("prometheus-gate")
    backfill(workdir / "data", series)
    with running_prometheus(workdir, data_dir=workdir / "data") as server:
        yield History(server, at)


def slo_documents(service: str, *, datasource_url: str | None) -> list[dict[str, Any]]:
    """checkout-api's OpenSLO SLO on `service`'s requests, with a DataSource when given a URL."""

    def metric(selector: str) -> dict[str, Any]:
        source: dict[str, Any] = {
            "spec": {"query": f"sum(rate(http_requests_total{{{selector}}}[5m]))"}
        }
        source |= {"metricSourceRef": "prometheus"} if datasource_url else {"type": "Prometheus"}
        return {"metricSource": source}

    slo = {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {"name": SLO, "displayName": "Checkout API availability"},
        "spec": {
            "service": "checkout-api",
            "budgetingMethod": "Occurrences",
            "timeWindow": [{"duration": "1d", "isRolling": True}],
            "indicator": {
                "metadata": {"name": "checkout-api-good-requests"},
                "spec": {
                    "ratioMetric": {
                        "counter": True,
                        "good": metric(f'service="{service}",code!~"5.."'),
                        "total": metric(f'service="{service}"'),
                    }
                },
            },
            "objectives": [{"displayName": "Available", "target": 0.999}],
        },
    }
    if datasource_url is None:
        return [slo]
    datasource = {
        "apiVersion": "openslo/v1",
        "kind": "DataSource",
        "metadata": {"name": "prometheus"},
        "spec": {"type": "Prometheus", "connectionDetails": {"url": datasource_url}},
    }
    return [datasource, slo]


CAMPAIGN = "Black Friday (protected)"


def workspace_data(*, protected_from: datetime | None) -> dict[str, Any]:
    """checkout-api in staging and production; a tier-3 campaign (no freeze) holding its SLO to
    99.95 % from `protected_from` for three days, when given."""
    data: dict[str, Any] = {
        "version": 1,
        "workspace": {"name": "gate-error-budget", "timezone": "UTC"},
        "environments": [
            {"id": "staging"},
            {"id": "production", "production_like": True},
        ],
        "systems": [{"id": "checkout-api", "tier": 1, "slos": ["slos/checkout-api.yaml"]}],
        "references": {"slos": ["slos/checkout-api.yaml"]},
    }
    if protected_from is not None:
        data["campaigns"] = [
            {
                "id": "black-friday",
                "name": CAMPAIGN,
                "start": f"{protected_from:%Y-%m-%dT%H:%M:%S}",
                "end": f"{protected_from + 3 * DAY:%Y-%m-%dT%H:%M:%S}",
                "tier": 3,
                "systems": ["checkout-api"],
                "slo_objectives": {SLO: 99.95},
            }
        ]
    return data


Apply = Callable[..., None]


@pytest.fixture
def apply(db: Database, clock: Any, history: History, tmp_path: Path) -> Apply:
    """apply(service, datasource_url=None, protected_from=None): write and apply the workspace."""
    clock.now = history.at

    def write_and_apply(
        service: str, *, datasource_url: str | None = None, protected_from: datetime | None = None
    ) -> None:
        (tmp_path / "slos").mkdir(exist_ok=True)
        (tmp_path / "slos" / "checkout-api.yaml").write_text(
            yaml.safe_dump_all(slo_documents(service, datasource_url=datasource_url)),
            encoding="utf-8",
        )
        path = tmp_path / "launchdeck.yaml"
        path.write_text(yaml.safe_dump(workspace_data(protected_from=protected_from)), "utf-8")
        WorkspaceService(db, actor="alice", clock=clock).apply(load_workspace(path).spec)

    return write_and_apply


def gate(db: Database, clock: Any, history: History, *, actor: str = "ci") -> GateService:
    checks = installed_checks(db, clock=clock, sources=prometheus_sources(history.server.url))
    return GateService(db, actor=actor, clock=clock, checks=checks)


def error_budget(verdict: Verdict) -> CheckResult:
    (found,) = [c for c in verdict.checks if c.check == "error_budget"]
    return found


def request(
    change_type: ChangeType = ChangeType.FEATURE, environment: str = "production"
) -> GateRequest:
    return GateRequest(system="checkout-api", environment=environment, change_type=change_type)


def blocked_events(db: Database) -> list[Any]:
    return list(TimelineService(db).query(TimelineQuery(kind="gate.blocked", limit=100)).events)


def test_a_feature_is_blocked_once_the_budget_is_spent_and_the_timeline_says_why(
    db: Database, clock: Any, history: History, apply: Apply
) -> None:
    apply("spent")

    verdict = gate(db, clock, history).check(request())

    remaining = exact_remaining("spent", 0.999)
    burn = last_hour_burn("spent", 0.999)
    assert remaining < -1.5 and burn == pytest.approx(47.62, abs=0.01)
    check = error_budget(verdict)
    assert (verdict.decision, check.outcome) == (Decision.BLOCK, CheckOutcome.BLOCK)
    assert check.summary == (
        f"{SLO} (Available) has spent its error budget ({remaining * 100:.1f}% left), burning "
        f"{burn:.1f}x (objective 99.9%); only rollback, hotfix, reliability changes are "
        "allowed until it is back within objective"
    )
    assert check.facts["remaining"] == pytest.approx(remaining, abs=0.001)
    assert check.facts["burn_rate"] == pytest.approx(burn, rel=1e-6)
    assert check.facts["policy_below"] == 0
    (event,) = blocked_events(db)
    assert event.system == "checkout-api" and event.environment == "production"
    assert event.payload["change_type"] == "feature"
    assert {
        "check": "error_budget",
        "outcome": "block",
        "summary": check.summary,
    } in event.payload["checks"]


def test_rollbacks_hotfixes_and_reliability_work_go_ahead_on_a_spent_budget_with_a_warning(
    db: Database, clock: Any, history: History, apply: Apply
) -> None:
    apply("spent")
    emergency = [ChangeType.ROLLBACK, ChangeType.HOTFIX, ChangeType.RELIABILITY]

    verdicts = [gate(db, clock, history).check(request(change)) for change in emergency]

    for change, verdict in zip(emergency, verdicts, strict=True):
        check = error_budget(verdict)
        assert (verdict.decision, check.outcome) == (Decision.WARN, CheckOutcome.WARN), change
        assert check.summary.startswith(f"{SLO} (Available) has spent its error budget")
        assert check.summary.endswith(f"; {change} changes are still allowed")
    assert blocked_events(db) == []


def test_a_feature_on_a_low_budget_needs_an_admin_override_which_the_check_names(
    db: Database, clock: Any, history: History, apply: Apply
) -> None:
    apply("low")
    remaining = exact_remaining("low", 0.999)
    assert remaining == pytest.approx(0.2, abs=1e-9)

    before = gate(db, clock, history).check(request())
    hotfix = gate(db, clock, history).check(request(ChangeType.HOTFIX))
    override = gate(db, clock, history, actor="dana").add_override(
        "checkout-api",
        until=history.at + 2 * HOUR,
        reason="card-network fix the CFO signed off",
        environment="production",
    )
    after = gate(db, clock, history).check(request())

    assert error_budget(before).outcome is CheckOutcome.BLOCK
    assert error_budget(before).summary == (
        f"{SLO} (Available) has 20.0% of its error budget left, burning 0.8x (objective "
        "99.9%); feature changes need an approval (an admin's gate override)"
    )
    assert error_budget(before).facts["policy_below"] == 25
    assert error_budget(hotfix).outcome is CheckOutcome.WARN
    check = error_budget(after)
    assert (after.decision, check.outcome) == (Decision.WARN, CheckOutcome.WARN)
    until = f"{history.at + 2 * HOUR:%Y-%m-%d %H:%M} UTC"
    assert check.summary == (
        f"approved by dana's override until {until} (card-network fix the CFO signed off): "
        + error_budget(before).summary
    )
    assert check.facts["override"] == override.id
    assert after.overrides == (override,)  # the verdict lists the override that changed it
    assert before.overrides == ()
    assert len(blocked_events(db)) == 1  # the check before the override


def test_a_staging_change_passes_whatever_production_s_budget(
    db: Database, clock: Any, history: History, apply: Apply
) -> None:
    apply("spent")

    verdict = gate(db, clock, history).check(request(environment="staging"))

    check = error_budget(verdict)
    assert (verdict.decision, check.outcome) == (Decision.ALLOW, CheckOutcome.PASS)
    assert check.summary == "error budgets are production's; staging is not production-like"


def test_an_unreachable_prometheus_makes_the_check_unknown_with_the_reason(
    db: Database, clock: Any, history: History, apply: Apply
) -> None:
    """The SLO's own DataSource is read, not the default (which would answer: 90 % left)."""
    down = f"http://127.0.0.1:{free_port()}"
    apply("healthy", datasource_url=down)

    verdict = gate(db, clock, history).check(request())

    check = error_budget(verdict)
    assert (verdict.decision, check.outcome) == (Decision.ALLOW, CheckOutcome.UNKNOWN)
    assert check.summary.startswith(f"unknown: {SLO}: could not reach Prometheus at {down} ")
    assert check.facts == {"slos": 1}


def test_the_default_prometheus_reads_a_healthy_budget_as_a_pass(
    db: Database, clock: Any, history: History, apply: Apply
) -> None:
    apply("healthy")

    check = error_budget(gate(db, clock, history).check(request()))

    assert check.outcome is CheckOutcome.PASS
    assert check.facts["remaining"] == pytest.approx(exact_remaining("healthy", 0.999), abs=0.001)
    assert check.summary.startswith(f"{SLO} (Available) has 90.0% of its error budget left")


def test_a_live_protected_window_spends_the_budget_the_base_objective_still_has(
    db: Database, clock: Any, history: History, apply: Apply
) -> None:
    apply("protected")
    base = error_budget(gate(db, clock, history).check(request()))
    apply("protected", protected_from=history.at - 2 * DAY)
    protected = error_budget(gate(db, clock, history).check(request()))

    assert exact_remaining("protected", 0.999) == pytest.approx(0.4, abs=1e-9)
    assert exact_remaining("protected", 0.9995) == pytest.approx(-0.2, abs=1e-9)
    assert base.outcome is CheckOutcome.PASS
    assert base.facts["remaining"] == pytest.approx(0.4, abs=0.001)
    assert protected.outcome is CheckOutcome.BLOCK
    assert protected.facts["remaining"] == pytest.approx(-0.2, abs=0.001)
    assert protected.facts["target"] == pytest.approx(0.9995)
    assert protected.facts["protected_by"] == CAMPAIGN
    assert protected.summary.startswith(
        f"{SLO} (Available) has spent its error budget (-20.0% left), burning 1.2x "
        f"(objective 99.95% during {CAMPAIGN}); only rollback"
    )
