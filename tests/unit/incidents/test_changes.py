""" "What changed?": where a cause can live (the affected systems and what they depend on), which
timeline events are suspects, and how each reads on the incident's timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gate_strategies import BLACK_FRIDAY_GRAPH
from launchdeck.incidents.changes import describe, suspects, upstream
from launchdeck.timeline.model import Event

T0 = datetime(2026, 11, 27, 14, tzinfo=UTC)
M = timedelta(minutes=1)


def an_event(event_id: int, kind: str = "deploy.recorded", **fields: Any) -> Event:
    values: dict[str, Any] = {
        "id": event_id,
        "occurred_at": T0,
        "actor": "ci@northwind.example",
        "kind": kind,
        "subject": "system/checkout-api",
        "system": "checkout-api",
        **fields,
    }
    return Event(**values)


@pytest.mark.parametrize(
    ("systems", "found"),
    [
        (["checkout-api"], {"checkout-api", "tracking-pixel"}),
        (
            ["landing-pages"],
            {"landing-pages", "cms", "tracking-pixel", "recommendations", "search"},
        ),
        (["cms"], {"cms"}),
        (
            ["email-renderer", "checkout-api"],
            {
                "email-renderer",
                "cms",
                "crm-sync",
                "checkout-api",
                "tracking-pixel",
            },
        ),
        (["not-in-the-graph"], {"not-in-the-graph"}),
    ],
    ids=[
        "checkout-api and the pixel it depends on",
        "landing-pages and everything under it, transitively",
        "a system that depends on nothing",
        "several systems: the union",
        "a system the graph does not know is still itself",
    ],
)
def test_upstream_is_the_systems_and_everything_they_depend_on(
    systems: list[str], found: set[str]
) -> None:
    assert upstream(BLACK_FRIDAY_GRAPH, systems) == found


def test_upstream_survives_a_cycle() -> None:
    assert upstream({"a": ("b",), "b": ("a", "c")}, ["a"]) == {"a", "b", "c"}


def test_suspects_are_changes_on_the_systems_or_to_the_campaigns_oldest_first() -> None:
    deploy = an_event(3, occurred_at=T0 - 10 * M, payload={"version": "v2.4.0"})
    pixel = an_event(2, "system.changed", subject="system/tracking-pixel", system="tracking-pixel")
    campaign = an_event(
        1, "campaign.changed", subject="campaign/black-friday", system=None, occurred_at=T0 - M
    )
    elsewhere = an_event(4, subject="system/email-renderer", system="email-renderer")
    other_campaign = an_event(5, "campaign.changed", subject="campaign/cyber-monday", system=None)
    no_system = an_event(6, "workspace.applied", subject="workspace/northwind", system=None)

    found = suspects(
        [pixel, elsewhere, campaign, other_campaign, deploy, no_system],
        systems={"checkout-api", "tracking-pixel"},
        campaigns={"black-friday"},
    )

    assert [e.id for e in found] == [3, 1, 2]


def test_events_at_the_same_instant_are_ordered_by_id() -> None:
    found = suspects(
        [an_event(9), an_event(7), an_event(8)], systems={"checkout-api"}, campaigns=set()
    )

    assert [e.id for e in found] == [7, 8, 9]


@pytest.mark.parametrize(
    "kind",
    [
        "incident.opened",
        "incident.severity_changed",
        "notify.sent",
        "gate.blocked",
        "token.created",
    ],
    ids=[
        "the incident itself",
        "its severity",
        "a notification",
        "a blocked gate check (nothing was deployed)",
        "a token",
    ],
)
def test_records_of_no_change_are_not_suspects(kind: str) -> None:
    assert suspects([an_event(1, kind)], systems={"checkout-api"}, campaigns=set()) == []


@pytest.mark.parametrize(
    "kind",
    ["gate.override_added", "flag.changed", "system.changed", "freeze.lifted"],
    ids=["an override", "a flag", "a config edit", "a lifted freeze"],
)
def test_other_changes_on_the_system_are_suspects(kind: str) -> None:
    found = suspects([an_event(1, kind)], systems={"checkout-api"}, campaigns=set())

    assert [e.id for e in found] == [1]


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        (
            {"environment": "production", "payload": {"version": "v2.4.0"}},
            "deploy.recorded checkout-api (production): version v2.4.0",
        ),
        (
            {"payload": {"version": "v2.4.0", "note": "cart fix", "reason": 7, "other": "x"}},
            "deploy.recorded checkout-api: version v2.4.0, note cart fix, reason 7",
        ),
        (
            {"payload": {"version": "", "note": ["not", "text"], "environment": "staging"}},
            "deploy.recorded checkout-api: environment staging",
        ),
        (
            {
                "kind": "campaign.changed",
                "subject": "campaign/black-friday",
                "system": None,
                "actor": "alice",
            },
            "campaign.changed campaign/black-friday",
        ),
    ],
    ids=[
        "a deploy with its environment and version (who made it is the entry's actor)",
        "known payload keys in a fixed order, others left out",
        "empty and non-scalar values left out",
        "an event without a system names its subject",
    ],
)
def test_describe_reads_as_one_line(fields: dict[str, Any], text: str) -> None:
    assert describe(an_event(1, **fields)) == text
