"""Alertmanager's webhook → incidents. Pure.

The generated Prometheus rules (`launchdeck slo rules`) label each burn-rate alert with
`severity` (`page` or `ticket`) and `sloth_service`; a firing **page** opens an incident on that
system (or adds to the open one: the dedupe key is the alert's name and labels), through the same
`open` every other source uses. Tickets do not open incidents. A resolved alert is noted on the
incident it opened; people resolve incidents, alerts do not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from launchdeck.incidents.model import IncidentSource, OpenRequest
from launchdeck.incidents.severity import Signal

__all__ = [
    "PAGE_SEVERITIES",
    "Alert",
    "AlertmanagerWebhook",
    "dedupe_key",
    "open_request",
    "system_of",
]

PAGE_SEVERITIES = frozenset({"page", "critical"})


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    fingerprint: str | None = None


class AlertmanagerWebhook(BaseModel):
    """Alertmanager's webhook body (version 4); fields launchdeck does not use are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: str = "4"
    status: Literal["firing", "resolved"] = "firing"
    alerts: tuple[Alert, ...] = Field(max_length=1000)


def system_of(alert: Alert) -> str | None:
    return alert.labels.get("system") or alert.labels.get("sloth_service")


def dedupe_key(alert: Alert) -> str:
    """One key per SLO and system: its fast and slow page tiers are one incident, not two.
    An alert that names no SLO is keyed by its name."""
    labels = alert.labels
    what = labels.get("sloth_id") or labels.get("sloth_slo") or labels.get("alertname", "alert")
    return f"alert:{system_of(alert) or ''}:{what}"


def open_request(alert: Alert) -> OpenRequest | None:
    """The incident a firing page asks for; None for tickets and alerts without a system."""
    system = system_of(alert)
    if alert.labels.get("severity") not in PAGE_SEVERITIES or system is None:
        return None
    title = alert.annotations.get("title") or alert.labels.get("alertname", "burn-rate alert")
    started = alert.startsAt if alert.startsAt and alert.startsAt.tzinfo else None
    return OpenRequest(
        title=title[:200],
        systems=(system,),
        signal=Signal.DEGRADATION,
        type="slo-burn",
        summary=alert.annotations.get("summary"),
        started_at=started,
        detected_at=started,
        source=IncidentSource.BURN_ALERT,
        dedupe_key=dedupe_key(alert)[:300],
    )
