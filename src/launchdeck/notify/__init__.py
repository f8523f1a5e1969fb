"""Notifications: tell Slack, Microsoft Teams or any signed webhook what launchdeck did.

One `Message` (`model.py`) is rendered per channel type by pure renderers (`slack.py`,
`teams.py`, `webhook.py`); the `notifications:` section of launchdeck.yaml (`spec.py`) says
which messages go where; `sender.Dispatcher` sends them with retries and never raises.
Other capabilities depend only on these names and the `Notifier` protocol. The package
imports no HTTP client: only a composition root imports `launchdeck.notify.sender`.
"""

from __future__ import annotations

from launchdeck.notify.model import (
    Audience,
    Delivery,
    Fact,
    Link,
    Message,
    Notifier,
    NullNotifier,
    Tone,
)

__all__ = [
    "Audience",
    "Delivery",
    "Fact",
    "Link",
    "Message",
    "Notifier",
    "NullNotifier",
    "Tone",
]
