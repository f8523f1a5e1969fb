"""Alertmanager's webhook -> incidents: a firing page asks for an incident on its system, tickets
and alerts without a system do not, and re-fires of one alert share a dedupe key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from launchdeck.incidents.alerts import (
    Alert,
    AlertmanagerWebhook,
    dedupe_key,
    open_request,
    system_of,
)
from launchdeck.incidents.model import IncidentSource
from launchdeck.incidents.severity import Signal

FIRED = datetime(2026, 11, 27, 15, 2, tzinfo=UTC)
NAME = "CheckoutApiAvailabilityBurnRatePage"


def an_alert(**fields: Any) -> Alert:
    """A firing page of the rules `launchdeck slo rules` writes for checkout-api."""
    labels = {
        "alertname": NAME,
        "severity": "page",
        "sloth_service": "checkout-api",
        "sloth_slo": "checkout-api-availability",
        "sloth_id": "checkout-api-checkout-api-availability",
        "tier": "page",
        **fields.pop("labels", {}),
    }
    annotations = {
        "title": "Checkout API availability: error budget burning 14.4x too fast",
        "summary": "Checkout API availability is burning its 30d error budget fast",
        **fields.pop("annotations", {}),
    }
    values: dict[str, Any] = {
        "status": "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": FIRED,
        **fields,
    }
    return Alert.model_validate(values)


def test_a_firing_page_asks_for_a_degradation_incident_on_its_system() -> None:
    request = open_request(an_alert())

    assert request is not None
    assert request.title == "Checkout API availability: error budget burning 14.4x too fast"
    assert request.summary == "Checkout API availability is burning its 30d error budget fast"
    assert request.systems == ("checkout-api",)
    assert (request.signal, request.type, request.source) == (
        Signal.DEGRADATION,
        "slo-burn",
        IncidentSource.BURN_ALERT,
    )
    assert (request.started_at, request.detected_at) == (FIRED, FIRED)
    assert request.dedupe_key == "alert:checkout-api:checkout-api-checkout-api-availability"
    assert request.severity is None  # the calendar decides


@pytest.mark.parametrize(
    ("labels", "pages"),
    [
        ({"severity": "page"}, True),
        ({"severity": "critical"}, True),
        ({"severity": "ticket"}, False),
        ({"severity": "warning"}, False),
        ({"severity": ""}, False),
    ],
    ids=["page", "critical pages too", "a ticket does not", "a warning does not", "no severity"],
)
def test_only_pages_open_incidents(labels: dict[str, str], pages: bool) -> None:
    assert (open_request(an_alert(labels=labels)) is not None) is pages


def test_an_alert_without_a_system_opens_nothing() -> None:
    alert = Alert.model_validate(
        {"status": "firing", "labels": {"alertname": "Watchdog", "severity": "page"}}
    )

    assert system_of(alert) is None
    assert open_request(alert) is None


def test_a_system_label_wins_over_sloth_service() -> None:
    alert = an_alert(labels={"system": "landing-pages"})

    request = open_request(alert)

    assert request is not None and request.systems == ("landing-pages",)
    assert dedupe_key(alert) == "alert:landing-pages:checkout-api-checkout-api-availability"


def test_re_fires_and_every_tier_of_one_slo_share_a_key_and_other_slos_do_not() -> None:
    first = an_alert(startsAt=FIRED, fingerprint="a1")
    again = an_alert(startsAt=datetime(2026, 11, 27, 16, tzinfo=UTC), fingerprint="a1")
    slow_tier = an_alert(labels={"alertname": "CheckoutApiAvailabilityBurnRatePageSlow"})
    other_slo = an_alert(
        labels={"sloth_slo": "checkout-api-latency", "sloth_id": "checkout-api-latency"}
    )
    other_system = an_alert(labels={"system": "landing-pages"})

    keys = [dedupe_key(a) for a in (first, again, slow_tier, other_slo, other_system)]

    assert keys[0] == keys[1] == keys[2]
    assert len(set(keys)) == 3


def test_an_alert_without_a_name_or_slo_still_has_a_key() -> None:
    alert = Alert.model_validate(
        {"status": "firing", "labels": {"severity": "page", "system": "cms"}}
    )

    request = open_request(alert)

    assert dedupe_key(alert) == "alert:cms:alert"
    assert request is not None and request.title == "burn-rate alert"


def test_without_a_title_annotation_the_alert_name_is_the_title() -> None:
    request = open_request(an_alert(annotations={"title": ""}))

    assert request is not None and request.title == NAME


def test_a_long_title_is_cut_to_what_an_incident_takes() -> None:
    request = open_request(an_alert(annotations={"title": "x" * 500}))

    assert request is not None and request.title == "x" * 200


@pytest.mark.parametrize(
    "starts_at", [None, "2026-11-27T15:02:00"], ids=["no start", "a naive start"]
)
def test_an_alert_without_an_aware_start_leaves_detection_to_the_clock(
    starts_at: str | None,
) -> None:
    request = open_request(an_alert(startsAt=starts_at))

    assert request is not None
    assert (request.started_at, request.detected_at) == (None, None)


def test_the_webhook_ignores_fields_launchdeck_does_not_use() -> None:
    body = {
        "version": "4",
        "groupKey": "{}:{alertname=...}",
        "status": "firing",
        "receiver": "launchdeck",
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "resolved",
                "labels": {"alertname": NAME, "severity": "page", "sloth_service": "cms"},
                "annotations": {},
                "startsAt": "2026-11-27T15:02:00Z",
                "endsAt": "2026-11-27T15:40:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": "c0ffee",
            }
        ],
    }

    webhook = AlertmanagerWebhook.model_validate(body)

    (alert,) = webhook.alerts
    assert (alert.status, alert.fingerprint, alert.endsAt) == (
        "resolved",
        "c0ffee",
        datetime(2026, 11, 27, 15, 40, tzinfo=UTC),
    )


def test_the_webhook_refuses_an_unknown_status() -> None:
    with pytest.raises(ValidationError):
        AlertmanagerWebhook.model_validate({"alerts": [{"status": "pending"}]})
