"""Teams Workflows payloads: an Adaptive Card in a message, never over 28,000 bytes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given

from launchdeck.notify import Audience, Fact, Link, Message, Tone
from launchdeck.notify.teams import render_teams
from strategies import property_settings
from unit.notify.builders import a_message
from unit.notify.message_strategies import messages

LIMIT = 28_000


def wire_bytes(payload: dict[str, Any]) -> int:
    return len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def card_of(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] in {"1.4", "1.5"}
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    return card


def blocks(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every element of the body, containers opened."""
    found: list[dict[str, Any]] = []
    for element in card["body"]:
        found.append(element)
        found += element.get("items", [])
    return found


def texts(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in blocks(card) if b["type"] == "TextBlock"]


def facts(card: dict[str, Any]) -> list[tuple[str, str]]:
    sets = [b for b in blocks(card) if b["type"] == "FactSet"]
    return [(f["title"], f["value"]) for s in sets for f in s["facts"]]


def test_an_incident_is_one_adaptive_card_with_headline_summary_facts_and_buttons() -> None:
    message = a_message(
        severity="SEV2",
        tone=Tone.WARNING,
        summary="Errors since 09:40.",
        systems=("checkout-api",),
        environment="production",
        facts=(Fact(label="Error rate", value="7.2 %"),),
        links=(Link(text="Incident 42", url="https://ld.example/incidents/42"),),
    )

    payload = render_teams(message)

    card = card_of(payload)
    assert "@type" not in json.dumps(payload)  # not the retired MessageCard
    headline = card["body"][0]
    assert (headline["type"], headline["style"]) == ("Container", "warning")
    assert texts(card) == [
        "🟠 [SEV2] Checkout API errors above 5 %",
        "Errors since 09:40.",
        "incident.opened · {{DATE(2026-11-27T09:45:00Z, SHORT)}} {{TIME(2026-11-27T09:45:00Z)}}",
    ]
    assert all(b["wrap"] is True for b in blocks(card) if b["type"] == "TextBlock")
    assert facts(card) == [
        ("Severity", "SEV2"),
        ("Environment", "production"),
        ("Systems", "checkout-api"),
        ("Error rate", "7.2 %"),
    ]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Incident 42", "url": "https://ld.example/incidents/42"}
    ]


def test_a_message_without_links_has_no_actions() -> None:
    assert "actions" not in card_of(render_teams(a_message()))


def test_campaign_owners_read_the_campaign_and_impact_without_jargon() -> None:
    message = a_message(
        title="Checkout is failing for some shoppers",
        audience=Audience.CAMPAIGN_OWNERS,
        severity="SEV1",
        tone=Tone.DANGER,
        campaigns=("Black Friday 2026",),
        owners=("ana@example.com", "@bob"),
    )

    card = card_of(render_teams(message))

    first, *rest = texts(card)
    assert first == "🔴 Black Friday 2026 is affected: Checkout is failing for some shoppers"
    assert facts(card) == [("Impact", "critical")]
    assert "For: ana@example.com, @bob" in rest
    assert not any("incident.opened" in text for text in rest)


def test_a_huge_message_is_cut_to_fit_28000_bytes_and_keeps_its_headline() -> None:
    message = a_message(
        title="T" * 5000,
        summary="\x00<&>😀" * 200_000,
        facts=tuple(Fact(label=f"f{n}", value="é" * 5000) for n in range(200)),
        links=(Link(text="x" * 500, url="https://ld.example/" + "p" * 3000),) * 50,
        owners=tuple(f"owner{n}@example.com" for n in range(500)),
    )

    payload = render_teams(message)

    assert wire_bytes(payload) <= LIMIT
    card = card_of(payload)
    assert texts(card)[0].startswith("ℹ️ TTTT")
    assert texts(card)[0].endswith("…")


def test_a_message_that_fits_keeps_all_of_its_summary_and_facts() -> None:
    summary = "line of a long incident summary. " * 150  # ~5,000 characters
    message = a_message(
        summary=summary, facts=tuple(Fact(label=f"f{n}", value="v") for n in range(30))
    )

    card = card_of(render_teams(message))

    assert summary in texts(card)
    assert len(facts(card)) == 30


def test_facts_beyond_what_fits_are_counted() -> None:
    message = a_message(facts=tuple(Fact(label=f"f{n}", value="v" * 900) for n in range(100)))

    payload = render_teams(message)

    assert wire_bytes(payload) <= LIMIT
    card = card_of(payload)
    shown = len(facts(card))
    assert 0 < shown < 100
    assert f"{100 - shown} more facts not shown" in texts(card)


@given(message=messages())
@property_settings(max_examples=50)
def test_any_message_fits_and_is_a_card(message: Message) -> None:
    payload = render_teams(message)

    assert wire_bytes(payload) <= LIMIT
    card = card_of(payload)
    assert card["body"][0]["items"][0]["text"]
    assert all(b["wrap"] is True for b in blocks(card) if b["type"] == "TextBlock")
