"""Small builders for the notify tests: `a_message(severity="SEV1")`, `a_spec(channels=[...])`.

Each returns the smallest valid piece; keyword arguments override any field. Channel and route
builders return plain dicts (what YAML gives the loader); `a_spec` validates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from launchdeck.notify import Message
from launchdeck.notify.spec import NotificationsSpec

__all__ = ["AT", "a_channel", "a_message", "a_route", "a_spec"]

AT = datetime(2026, 11, 27, 9, 45, tzinfo=UTC)


def a_message(**fields: Any) -> Message:
    values: dict[str, Any] = {
        "kind": "incident.opened",
        "title": "Checkout API errors above 5 %",
        "occurred_at": AT,
        **fields,
    }
    return Message(**values)


def a_channel(channel_id: str = "oncall", kind: str = "slack", **fields: Any) -> dict[str, Any]:
    channel: dict[str, Any] = {"id": channel_id, "type": kind, "url": {"env": "HOOK_URL"}}
    if kind == "webhook":
        channel["secret"] = {"env": "HOOK_SECRET"}
    return {**channel, **fields}


def a_route(*channels: str, **fields: Any) -> dict[str, Any]:
    return {"channels": list(channels or ("oncall",)), **fields}


def a_spec(
    *,
    channels: Sequence[dict[str, Any]] = (),
    routes: Sequence[dict[str, Any]] = (),
) -> NotificationsSpec:
    return NotificationsSpec.model_validate({"channels": list(channels), "routes": list(routes)})
