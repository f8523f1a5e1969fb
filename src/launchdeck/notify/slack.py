"""A message as a Slack incoming-webhook payload: Block Kit `blocks` plus the `text` fallback.

Pure. Slack refuses a payload that breaks a Block Kit limit (`invalid_blocks`), so every text
is shortened to its limit with "…" here, never left for Slack to reject. Lengths are counted in
UTF-16 code units, which is never less than the characters Slack counts, so a limit holds
whichever way Slack counts an emoji. Limits: https://api.slack.com/reference/block-kit/blocks
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Final

from launchdeck.notify.model import Audience, Fact, JsonObject, Link, Message
from launchdeck.notify.wording import TONE_EMOJI, facts_of, headline, owners_line

__all__ = [
    "CONTEXT_ELEMENTS",
    "ELEMENT_CHARS",
    "FIELDS_PER_SECTION",
    "FIELD_CHARS",
    "HEADER_CHARS",
    "MAX_BLOCKS",
    "SECTION_CHARS",
    "TEXT_CHARS",
    "clip",
    "escape",
    "render_slack",
    "units",
]

MAX_BLOCKS: Final = 50
HEADER_CHARS: Final = 150
SECTION_CHARS: Final = 3000
FIELDS_PER_SECTION: Final = 10
FIELD_CHARS: Final = 2000
CONTEXT_ELEMENTS: Final = 10
ELEMENT_CHARS: Final = 2000
TEXT_CHARS: Final = 3000
"""Our own cap on the `text` fallback (Slack truncates at 40,000): a notification, not a page."""

FACT_SECTIONS: Final = 4
"""At most 40 facts are shown; the rest are counted in a context line."""
LABEL_CHARS: Final = 200
LINK_TEXT_CHARS: Final = 200

_ESCAPES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_URL_ESCAPES: Final = {"&": "&amp;", "<": "%3C", ">": "%3E", "|": "%7C"}
_ELLIPSIS: Final = "…"


def units(text: str) -> int:
    """The length of `text` in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def escape(text: str) -> str:
    """`text` safe for mrkdwn: &, < and > as entities, so no link or @channel can be injected."""
    return "".join(_ESCAPES.get(char, char) for char in text)


def clip(text: str, limit: int, *, mrkdwn: bool = False) -> str:
    """`text` (escaped when `mrkdwn`) in at most `limit` units; cut with "…", never mid-entity."""
    whole = escape(text) if mrkdwn else text
    if units(whole) <= limit:
        return whole
    kept: list[str] = []
    used = 0
    for char in text:
        piece = _ESCAPES.get(char, char) if mrkdwn else char
        size = units(piece)
        if used + size > limit - 1:
            break
        kept.append(piece)
        used += size
    return "".join(kept) + _ELLIPSIS


def _mrkdwn(text: str) -> JsonObject:
    return {"type": "mrkdwn", "text": text}


def _field(fact: Fact) -> JsonObject:
    label = f"*{clip(fact.label, LABEL_CHARS, mrkdwn=True)}*\n"
    return _mrkdwn(label + clip(fact.value or "-", FIELD_CHARS - units(label), mrkdwn=True))


def _link(link: Link) -> str:
    url = "".join(_URL_ESCAPES.get(char, char) for char in link.url)
    return f"<{url}|{clip(link.text, LINK_TEXT_CHARS, mrkdwn=True)}>"


def _links_text(links: Sequence[Link]) -> str | None:
    """As many whole links as fit in one section, and how many did not."""
    shown: list[str] = []
    used = 0
    for link in links:
        text = _link(link)
        size = units(text) + (3 if shown else 0)
        if used + size > SECTION_CHARS - 40:  # room for the "and N more" note
            break
        shown.append(text)
        used += size
    left = len(links) - len(shown)
    if left:
        shown.append(f"and {left} more link{'s' if left > 1 else ''}")
    return " · ".join(shown) if shown else None


def _slack_date(message: Message) -> str:
    """A date Slack shows in the reader's own time zone, with a UTC fallback."""
    at = message.occurred_at.astimezone(UTC)
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _context(message: Message, *, facts_left: int) -> JsonObject:
    elements: list[str] = []
    if message.audience is Audience.ENGINEERS:
        elements.append(f"`{escape(message.kind)}`")
    elements.append(_slack_date(message))
    if (owners := owners_line(message)) is not None:
        elements.append(clip(owners, ELEMENT_CHARS, mrkdwn=True))
    if facts_left:
        elements.append(f"{facts_left} more fact{'s' if facts_left > 1 else ''} not shown")
    return {
        "type": "context",
        "elements": [_mrkdwn(text) for text in elements[:CONTEXT_ELEMENTS]],
    }


def render_slack(message: Message) -> JsonObject:
    """The incoming-webhook payload; every Block Kit limit holds, whatever the message holds."""
    first = f"{TONE_EMOJI[message.tone]} {headline(message)}"
    blocks: list[JsonObject] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(first, HEADER_CHARS), "emoji": True},
        }
    ]
    if message.summary.strip():
        summary = clip(message.summary, SECTION_CHARS, mrkdwn=True)
        blocks.append({"type": "section", "text": _mrkdwn(summary)})
    facts = facts_of(message)
    shown = facts[: FACT_SECTIONS * FIELDS_PER_SECTION]
    for start in range(0, len(shown), FIELDS_PER_SECTION):
        chunk = shown[start : start + FIELDS_PER_SECTION]
        blocks.append({"type": "section", "fields": [_field(fact) for fact in chunk]})
    if (links := _links_text(message.links)) is not None:
        blocks.append({"type": "section", "text": _mrkdwn(links)})
    blocks.append(_context(message, facts_left=len(facts) - len(shown)))
    text = first if not message.summary.strip() else f"{first}\n{message.summary}"
    return {"text": clip(text, TEXT_CHARS, mrkdwn=True), "blocks": list(blocks[:MAX_BLOCKS])}
