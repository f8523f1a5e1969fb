"""A burn-rate page from real components opens an incident: the rules `GET /api/v1/slos/rules`
generates for the Black Friday example, loaded by a real Prometheus scraping an exporter the test
drives, firing into a real Alertmanager, whose webhook (bearer token, scope `incidents`) reaches
the live API.

Half of checkout-api's requests fail: every tier's windows see the same few seconds of data, so
all four burn alerts fire at once and arrive in one notification. Alertmanager repeats it every
second (`repeat_interval`), which is how the test sees a re-fire land on the open incident.

The API runs on the wall clock: the alert's `startsAt`, stamped by Prometheus, becomes the
incident's detection time, as in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from alertmanager_server import AlertmanagerServer, running_alertmanager
from launchdeck.auth.model import Scope
from launchdeck.auth.service import TokenService
from launchdeck.store import Database
from launchdeck.workspace.load import load_workspace
from launchdeck.workspace.service import WorkspaceService
from prometheus_server import Exporter, PrometheusServer, running_prometheus

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""About the path from Prometheus to the API; the store suite covers the engines."""

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "black-friday" / "launchdeck.yaml"
WEBHOOK_ENV = ("NORTHWIND_SLACK_PAYMENTS_WEBHOOK", "NORTHWIND_TEAMS_MARKETING_WEBHOOK")
PAGE_FAST = "CheckoutApiAvailabilityBurnRatePageFast"
PAGE_SLOW = "CheckoutApiAvailabilityBurnRatePageSlow"
PAGE_TITLE = "Checkout API availability: error budget burning 13.44x too fast"
SLOW_TITLE = "Checkout API availability: error budget burning 5.6x too fast"
SLO = "checkout-api-availability"
TIMEOUT_S = 60.0


DEDUPE_KEY = f"alert:checkout-api:{SLO}"
"""Both page tiers of the SLO (fast and slow burn) share it: one SLO burning, one incident."""


@pytest.fixture
def clock() -> Callable[[], datetime]:
    """The wall clock, for the API too: Prometheus stamps alerts with real instants."""
    return lambda: datetime.now(UTC)


@pytest.fixture(autouse=True)
def no_webhooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's notifications read these: unset, nothing leaves the machine."""
    for name in WEBHOOK_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tokens(db: Database, clock: Callable[[], datetime]) -> dict[str, str]:
    """The example workspace, applied; a token for Alertmanager and one for reading."""
    WorkspaceService(db, actor="seed", clock=clock).apply(load_workspace(EXAMPLE).spec)
    issue = TokenService(db, actor="test-setup", clock=clock).create
    return {
        "alertmanager": issue("alertmanager", [Scope.INCIDENTS]).token,
        "read": issue("dashboard", [Scope.READ]).token,
    }


@pytest.fixture
def api(live_server: Any, tokens: dict[str, str]) -> Iterator[httpx.Client]:
    """A reading client on the live API."""
    headers = {"Authorization": f"Bearer {tokens['read']}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=10) as client:
        yield client


def alertmanager_config(url: str, token: str) -> dict[str, Any]:
    """Every alert to launchdeck's webhook, at once, again every second while it fires."""
    return {
        "route": {
            "receiver": "launchdeck",
            "group_by": ["sloth_service"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1s",
        },
        "receivers": [
            {
                "name": "launchdeck",
                "webhook_configs": [
                    {
                        "url": f"{url}/api/v1/incidents/alerts",
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                    }
                ],
            }
        ],
    }


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(
    what: str,
    found: Callable[[], Any],
    servers: tuple[PrometheusServer, AlertmanagerServer],
) -> Any:
    """Poll `found` until it returns something truthy; fail with both servers' logs."""
    deadline = time.monotonic() + TIMEOUT_S
    while not (result := found()):
        if time.monotonic() > deadline:
            prometheus, alertmanager = servers
            pytest.fail(
                f"no {what} within {TIMEOUT_S:.0f} s\nPrometheus:\n{prometheus.log_tail()}\n"
                f"Alertmanager (alerts {alertmanager.alerts()}):\n{alertmanager.log_tail()}"
            )
        time.sleep(0.1)
    return result


def test_a_burning_slo_pages_through_alertmanager_into_one_incident_per_page_alert(
    tmp_path: Path, api: httpx.Client, live_server: Any, tokens: dict[str, str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(api.get("/api/v1/slos/rules").raise_for_status().text, encoding="utf-8")
    config = alertmanager_config(live_server.url, tokens["alertmanager"])

    with (
        Exporter() as exporter,
        running_alertmanager(tmp_path / "alertmanager", config) as alertmanager,
    ):
        ok = exporter.requests.labels(service="checkout-api", code="200")
        failed = exporter.requests.labels(service="checkout-api", code="500")
        with running_prometheus(
            tmp_path / "prometheus",
            targets=[exporter.address],
            rule_files=[rules],
            alertmanagers=[alertmanager.address],
        ) as prometheus:
            servers = (prometheus, alertmanager)
            # Prometheus has seen both series at 0; now half of 10,000 requests fail.
            ok.inc(5000)
            failed.inc(5000)

            def page_incidents() -> list[dict[str, Any]]:
                found: list[dict[str, Any]] = _ok(api.get("/api/v1/incidents"))
                return [i for i in found if i["dedupe_key"] == DEDUPE_KEY]

            (incident,) = wait_for("incident", page_incidents, servers)

            def refired() -> list[dict[str, Any]]:
                view = _ok(api.get(f"/api/v1/incidents/{incident['id']}"))
                return [e for e in view["entries"] if e["kind"] == "alert"]

            # Alertmanager sends the same firing group again; it lands on the open incident.
            again = wait_for("repeated notification", refired, servers)
            held = alertmanager.alerts()
            everything: list[dict[str, Any]] = _ok(api.get("/api/v1/incidents?all=true"))
            view = _ok(api.get(f"/api/v1/incidents/{incident['id']}"))

    # Both page tiers see the 50 % errors and reach the webhook, in either order; the first
    # opens the incident, the other (and every repeat) is an entry on it.
    tiers = {
        PAGE_TITLE: (PAGE_FAST, "13.44x over 1h and 5m"),
        SLOW_TITLE: (PAGE_SLOW, "5.6x over 6h and 30m"),
    }
    assert incident["title"] in tiers
    alertname, burn = tiers[incident["title"]]
    fired = next(a for a in held if a["labels"]["alertname"] == alertname)
    assert (incident["source"], incident["type"]) == ("burn_alert", "slo-burn")
    assert (incident["systems"], incident["signal"], incident["opened_by"]) == (
        ["checkout-api"],
        "degradation",
        "alertmanager",
    )
    assert incident["summary"] == (
        f"Checkout API availability ({SLO}) is burning its 28d error budget faster than {burn}"
    )
    # Detected when Prometheus first saw the burn, not when the webhook arrived.
    detected = datetime.fromisoformat(incident["detected_at"])
    assert detected == datetime.fromisoformat(fired["startsAt"])
    assert incident["started_at"] == incident["detected_at"]
    assert detected <= datetime.fromisoformat(incident["opened_at"])
    (opened,) = [e for e in view["entries"] if e["kind"] == "opened"]
    assert opened["text"].startswith("opened (burn_alert): ")
    assert {e["text"] for e in again} <= {f"fired again: {t}" for t in tiers}
    # One SLO burning is one incident, however often and in how many tiers it pages. The two
    # ticket tiers fire as well and open nothing.
    assert [i["dedupe_key"] for i in everything] == [DEDUPE_KEY]
    assert {a["labels"]["alertname"] for a in held} == {
        PAGE_FAST,
        PAGE_SLOW,
        "CheckoutApiAvailabilityBurnRateTicketFast",
        "CheckoutApiAvailabilityBurnRateTicketSlow",
    }
