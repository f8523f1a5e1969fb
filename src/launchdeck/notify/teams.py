"""A message as a Microsoft Teams Workflows webhook payload: one Adaptive Card. Pure.

Teams retired Office 365 connectors and their MessageCard; a Workflows webhook ("Post to a
channel when a webhook request is received") takes a `message` whose attachment is an
Adaptive Card. Teams refuses a message over about 28 KB, so the card is built at decreasing
levels of detail (summary, facts, links, owners) until its JSON fits in `MAX_BYTES`; the last
level holds only the headline and the time, which always fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Final

from launchdeck.notify.model import Audience, Json, JsonObject, Message, Tone, encode_json
from launchdeck.notify.wording import TONE_EMOJI, facts_of, headline, owners_line

__all__ = ["CARD_VERSION", "MAX_BYTES", "render_teams"]

MAX_BYTES: Final = 28_000
CARD_VERSION: Final = "1.4"
"""Teams renders up to 1.5 but older clients refuse a 1.5 card; nothing here needs above 1.2."""
SCHEMA: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
HEADLINE_CHARS: Final = 300
FOOTER_CHARS: Final = 300
LINK_TEXT_CHARS: Final = 100
URL_CHARS: Final = 2000
"""A longer link is left out: a button whose URL is cut would lead nowhere."""
MAX_ACTIONS: Final = 5

_STYLE: Final = {
    Tone.INFO: "accent",
    Tone.GOOD: "good",
    Tone.WARNING: "warning",
    Tone.DANGER: "attention",
}


@dataclass(frozen=True, slots=True)
class _Detail:
    summary_chars: int
    facts: int
    value_chars: int
    links: int
    owners_chars: int


_LEVELS: Final = (
    _Detail(summary_chars=8000, facts=40, value_chars=1000, links=MAX_ACTIONS, owners_chars=1000),
    _Detail(summary_chars=4000, facts=20, value_chars=500, links=MAX_ACTIONS, owners_chars=500),
    _Detail(summary_chars=1500, facts=10, value_chars=200, links=3, owners_chars=200),
    _Detail(summary_chars=300, facts=5, value_chars=100, links=1, owners_chars=100),
    _Detail(summary_chars=0, facts=0, value_chars=0, links=0, owners_chars=0),
)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _text(text: str, **style: Json) -> JsonObject:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _date(message: Message) -> str:
    """Teams shows {{DATE()}} and {{TIME()}} in the reader's time zone."""
    at = message.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{{{{DATE({at}, SHORT)}}}} {{{{TIME({at})}}}}"


def _body(message: Message, detail: _Detail) -> list[Json]:
    first = _clip(f"{TONE_EMOJI[message.tone]} {headline(message)}", HEADLINE_CHARS)
    body: list[Json] = [
        {
            "type": "Container",
            "style": _STYLE[message.tone],
            "bleed": True,
            "items": [_text(first, size="Large", weight="Bolder")],
        }
    ]
    if detail.summary_chars and message.summary.strip():
        body.append(_text(_clip(message.summary, detail.summary_chars)))
    facts = facts_of(message)
    shown = facts[: detail.facts]
    if shown:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": _clip(f.label, 100), "value": _clip(f.value, detail.value_chars)}
                    for f in shown
                ],
            }
        )
    if left := len(facts) - len(shown):
        body.append(_text(f"{left} more fact{'s' if left > 1 else ''} not shown", isSubtle=True))
    if detail.owners_chars and (owners := owners_line(message)) is not None:
        body.append(_text(_clip(owners, detail.owners_chars)))
    when = _date(message) if message.audience is Audience.CAMPAIGN_OWNERS else None
    stamp = when or f"{_clip(message.kind, 100)} · {_date(message)}"
    body.append(_text(_clip(stamp, FOOTER_CHARS), isSubtle=True, size="Small"))
    return body


def _actions(message: Message, detail: _Detail) -> list[Json]:
    usable = [link for link in message.links if len(link.url) <= URL_CHARS]
    return [
        {"type": "Action.OpenUrl", "title": _clip(link.text, LINK_TEXT_CHARS), "url": link.url}
        for link in usable[: detail.links]
    ]


def _payload(message: Message, detail: _Detail) -> JsonObject:
    card: JsonObject = {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": _clip(headline(message), HEADLINE_CHARS),
        "msteams": {"width": "Full"},
        "body": _body(message, detail),
    }
    if actions := _actions(message, detail):
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def render_teams(message: Message) -> JsonObject:
    """The Workflows payload: its compact UTF-8 JSON fits in `MAX_BYTES`, detail dropped first."""
    for detail in _LEVELS[:-1]:
        payload = _payload(message, detail)
        if len(encode_json(payload)) <= MAX_BYTES:
            return payload
    return _payload(message, _LEVELS[-1])
