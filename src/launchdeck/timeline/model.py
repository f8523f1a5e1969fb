"""Change events and the queries over them. Pure data; the log itself lives in `store`."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from launchdeck.durations import PlausibleInstant
from launchdeck.errors import UsageError

__all__ = [
    "Event",
    "NewEvent",
    "RecordRequest",
    "TimelinePage",
    "TimelineQuery",
    "decode_cursor",
    "encode_cursor",
]

MAX_PAGE = 500
SYSTEM_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
KIND_PATTERN = r"^[a-z0-9_.:-]{1,100}$"
_MAX_EVENT_ID = 2**63 - 1
"""events.id is a 64-bit integer on every engine: a cursor past it was never issued."""


class NewEvent(BaseModel):
    """An event about to be appended, in the same transaction as the change it records."""

    model_config = ConfigDict(frozen=True)

    occurred_at: datetime
    actor: str
    kind: str
    """`<resource>.<verb>`: `system.added`, `campaign.changed`, `token.created` …"""
    subject: str
    """What changed, as `<kind>/<id>` (`system/checkout-api`)."""
    system: str | None = None
    environment: str | None = None
    payload: dict[str, JsonValue] = Field(default_factory=dict)


class Event(NewEvent):
    id: int


class TimelineQuery(BaseModel):
    model_config = ConfigDict(frozen=True)

    since: datetime | None = None
    until: datetime | None = None
    system: Annotated[str | None, Field(pattern=SYSTEM_PATTERN)] = None
    kind: Annotated[str | None, Field(pattern=KIND_PATTERN)] = None
    """An exact kind (`system.changed`) or a prefix before the dot (`system`)."""
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = None


class TimelinePage(BaseModel):
    """Events newest first; `next_cursor` fetches the older ones, None at the end."""

    model_config = ConfigDict(frozen=True)

    events: tuple[Event, ...]
    next_cursor: str | None = None


def encode_cursor(before_id: int) -> str:
    """An opaque cursor meaning "events older than `before_id`"."""
    return base64.urlsafe_b64encode(f"v1:{before_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The event id a cursor points before; UsageError when it was not made by encode_cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, value = raw.partition(":")
        if version != "v1" or not (value.isascii() and value.isdigit()):
            raise ValueError(raw)
        before_id = int(value)
        if not 0 < before_id <= _MAX_EVENT_ID:
            raise ValueError(raw)
        return before_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UsageError(
            "invalid timeline cursor",
            hint="pass the next_cursor value of a previous page unchanged",
        ) from None


class RecordRequest(BaseModel):
    """A change made outside launchdeck (a CI deploy, a CDN purge, a vendor's config change),
    recorded so that "what changed?" sees it. Appended as `<kind>.recorded`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["deploy", "config", "flag", "content", "infra"]
    system: Annotated[str, Field(pattern=SYSTEM_PATTERN)]
    environment: Annotated[str, Field(pattern=SYSTEM_PATTERN)] | None = None
    version: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    note: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    """A link to the pipeline run or change request."""
    at: PlausibleInstant | None = None
    """When the change happened; now when omitted. Never in the future."""
