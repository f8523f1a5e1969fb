"""The one message every notification channel renders, and what became of it. Pure data.

A `Message` says what happened (`kind`, `title`, `summary`, `facts`), how bad it is (`tone`,
`severity`), where (`systems`, `environment`, `campaigns`) and for whom (`audience`,
`owners`). Renderers (`slack.py`, `teams.py`, `webhook.py`) turn it into each channel's
payload; the route rules in `spec.py` read `kind`, `systems`, `severity` and `audience`.
A `Delivery` is the outcome on one channel. `Notifier` is the seam other capabilities call; it
lives here, not beside its httpx implementation (`sender.Dispatcher`), so that importing it
(or the `notifications:` spec) never imports an HTTP client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Final, Literal, Protocol, TypeAlias

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

__all__ = [
    "SEVERITIES",
    "Audience",
    "Delivery",
    "Fact",
    "Json",
    "JsonObject",
    "Link",
    "Message",
    "Notifier",
    "NullNotifier",
    "Severity",
    "Tone",
    "encode_json",
    "severity_rank",
]

Json: TypeAlias = "dict[str, Json] | list[Json] | str | int | float | bool | None"
JsonObject: TypeAlias = "dict[str, Json]"

Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
SEVERITIES: Final[tuple[Severity, ...]] = ("SEV1", "SEV2", "SEV3", "SEV4")
"""Most severe first: SEV1 is an outage of something that matters most."""


def severity_rank(severity: Severity) -> int:
    """1 for SEV1 (the most severe) up to 4 for SEV4."""
    return SEVERITIES.index(severity) + 1


class Tone(StrEnum):
    """The colour of a message: how it should feel at a glance."""

    INFO = "info"
    GOOD = "good"
    WARNING = "warning"
    DANGER = "danger"


class Audience(StrEnum):
    """Who reads it: engineers get the jargon, campaign owners get plain language."""

    ENGINEERS = "engineers"
    CAMPAIGN_OWNERS = "campaign_owners"


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Kind = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", max_length=100)]


class Fact(_Data):
    label: Annotated[str, StringConstraints(min_length=1)]
    value: str


class Link(_Data):
    text: Annotated[str, StringConstraints(min_length=1)]
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    """Absolute http(s) only: every channel turns it into a clickable link or button."""


class Message(_Data):
    """One notification, whatever the channel. Renderers never change what it says."""

    kind: Kind
    """The event it reports: "incident.opened", "gate.blocked", "deploy.recorded" …"""
    title: Annotated[str, StringConstraints(min_length=1)]
    summary: str = ""
    """Plain text, any length: renderers shorten it to their channel's limits."""
    tone: Tone = Tone.INFO
    occurred_at: AwareDatetime
    systems: tuple[str, ...] = ()
    environment: str | None = None
    severity: Severity | None = None
    campaigns: tuple[str, ...] = ()
    """Affected campaigns, as their owners know them (a name reads better than an id)."""
    facts: tuple[Fact, ...] = ()
    links: tuple[Link, ...] = ()
    audience: Audience = Audience.ENGINEERS
    owners: tuple[str, ...] = ()
    """People to tell (e-mail addresses, @handles, team names), shown as text."""
    dedupe_key: str | None = None
    """The same key on two messages means the same news (receivers may drop the second)."""


def encode_json(payload: Json) -> bytes:
    """Compact UTF-8 JSON: the bytes sent on the wire, and the bytes the size limits count."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of a message on one channel. `error` never holds a URL or a secret."""

    channel: str
    ok: bool
    attempts: int
    status: int | None = None
    """The last HTTP status received; None when there was no answer at all."""
    error: str | None = None
    """ "HTTP 500", "timed out after 2 s", "environment variable SLACK_X is not set" …"""


class Notifier(Protocol):
    """What other capabilities call: send a message wherever the workspace routes it."""

    def notify(self, message: Message) -> tuple[Delivery, ...]:
        """One Delivery per channel the message was routed to; never raises."""
        ...


class NullNotifier:
    """A notifier with no channels: every message goes nowhere, and nothing fails."""

    def notify(self, message: Message) -> tuple[Delivery, ...]:
        return ()
