"""The append-only log of every change: events, queries and cursors."""

from launchdeck.timeline.model import (
    Event,
    NewEvent,
    TimelinePage,
    TimelineQuery,
    decode_cursor,
    encode_cursor,
)

__all__ = ["Event", "NewEvent", "TimelinePage", "TimelineQuery", "decode_cursor", "encode_cursor"]
