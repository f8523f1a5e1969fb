""" "What changed?": the timeline events that may explain an incident. Pure.

Before detection, a deploy, a flag change, a config or campaign edit on an affected system, or on
anything it depends on, is the first suspect. The incident's own timeline starts with them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from launchdeck.timeline.model import Event

__all__ = ["NOT_CHANGES", "describe", "suspects", "upstream"]

NOT_CHANGES = ("incident.", "notify.", "gate.blocked", "token.")
"""Event kinds that record no change to a running system."""


def upstream(depends_on: Mapping[str, Sequence[str]], systems: Iterable[str]) -> set[str]:
    """`systems` and everything they depend on, transitively: where a cause can live."""
    seen = set(systems)
    queue = deque(seen)
    while queue:
        for dep in depends_on.get(queue.popleft(), ()):
            if dep not in seen:
                seen.add(dep)
                queue.append(dep)
    return seen


def suspects(events: Iterable[Event], *, systems: set[str], campaigns: set[str]) -> list[Event]:
    """The changes among `events` on `systems` or to `campaigns`, oldest first."""
    found = []
    for event in events:
        if event.kind.startswith(NOT_CHANGES):
            continue
        on_system = event.system is not None and event.system in systems
        on_campaign = event.subject.startswith("campaign/") and (
            event.subject.removeprefix("campaign/") in campaigns
        )
        if on_system or on_campaign:
            found.append(event)
    return sorted(found, key=lambda e: (e.occurred_at, e.id))


def describe(event: Event) -> str:
    """One line for the incident timeline: "deploy.recorded checkout-api (production): version
    v2.4.0"; who made it is the entry's actor."""
    payload = event.payload
    detail = [
        f"{key} {payload[key]}"
        for key in ("version", "environment", "note", "reason")
        if isinstance(payload.get(key), str | int | float) and payload.get(key) != ""
    ]
    where = event.system or event.subject
    text = f"{event.kind} {where}"
    if event.environment:
        text += f" ({event.environment})"
    if detail:
        text += ": " + ", ".join(detail)
    return text
