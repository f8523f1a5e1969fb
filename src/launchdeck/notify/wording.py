"""What a message says to its audience, shared by the Slack and Teams renderers. Pure.

Engineers read the jargon first ("[SEV1] Checkout API errors above 5 %"); campaign owners read
which campaign is affected, in plain words, and an impact ("critical") instead of a SEV level.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Final

from launchdeck.notify.model import Audience, Fact, Message, Severity, Tone

__all__ = ["IMPACT", "TONE_EMOJI", "facts_of", "footer", "headline", "join_names", "owners_line"]

IMPACT: Final[dict[Severity, str]] = {
    "SEV1": "critical",
    "SEV2": "major",
    "SEV3": "minor",
    "SEV4": "low",
}
"""The plain word a campaign owner reads for a severity."""

TONE_EMOJI: Final[dict[Tone, str]] = {
    Tone.INFO: "ℹ️",
    Tone.GOOD: "✅",
    Tone.WARNING: "🟠",
    Tone.DANGER: "🔴",
}


def join_names(names: Sequence[str], *, shown: int = 3) -> str:
    """ "A", "A and B", "A, B and C", "A, B, C and 4 more": a list people read aloud."""
    if len(names) <= shown:
        head, last = list(names[:-1]), names[-1:]
        return " and ".join([", ".join(head), *last]) if head else "".join(last)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def headline(message: Message) -> str:
    """The first line: the severity for engineers, the affected campaigns for campaign owners.

    For campaign owners a good-news message ("checkout works again") drops "is affected".
    """
    if message.audience is Audience.CAMPAIGN_OWNERS:
        if not message.campaigns:
            return message.title
        names = join_names(message.campaigns)
        if message.tone is Tone.GOOD:
            return f"{names}: {message.title}"
        verb = "is" if len(message.campaigns) == 1 else "are"
        return f"{names} {verb} affected: {message.title}"
    if message.severity is not None:
        return f"[{message.severity}] {message.title}"
    return message.title


def facts_of(message: Message) -> tuple[Fact, ...]:
    """The standard facts for the audience (severity or impact, where, what), then the message's."""
    standard: list[Fact] = []
    if message.audience is Audience.CAMPAIGN_OWNERS:
        if message.severity is not None:
            standard.append(Fact(label="Impact", value=IMPACT[message.severity]))
        if len(message.campaigns) > 3:
            standard.append(Fact(label="Campaigns", value=", ".join(message.campaigns)))
        if message.systems:
            standard.append(Fact(label="Affected systems", value=", ".join(message.systems)))
    else:
        if message.severity is not None:
            standard.append(Fact(label="Severity", value=message.severity))
        if message.environment is not None:
            standard.append(Fact(label="Environment", value=message.environment))
        if message.systems:
            standard.append(Fact(label="Systems", value=", ".join(message.systems)))
        if message.campaigns:
            standard.append(Fact(label="Campaigns", value=", ".join(message.campaigns)))
    return (*standard, *message.facts)


def owners_line(message: Message) -> str | None:
    """ "For: alice@example.com, @bob", or None when there is nobody to name."""
    return f"For: {', '.join(message.owners)}" if message.owners else None


def footer(message: Message) -> str:
    """The event kind (engineers only) and the time, in UTC."""
    when = message.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if message.audience is Audience.CAMPAIGN_OWNERS:
        return when
    return f"{message.kind} · {when}"
