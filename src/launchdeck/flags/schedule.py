"""Scheduled changes: what a flag's configuration is at an instant. Pure.

A scheduled change fires at an instant, or at a campaign's start or end plus an offset. The
campaign is looked up when the schedule is read, never copied: moving the campaign moves the
change. The configuration at `t` is the stored one with every pending change due by `t`
applied in time order; a change a person already took into the stored configuration
(`done_at`) is never applied again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from launchdeck.flags.model import EnvConfig, EnvPatch, FlagSpec, ScheduledChange

__all__ = ["CampaignEdges", "Due", "effective", "materialise", "next_change", "timed"]

CampaignEdges = Mapping[str, tuple[datetime, datetime]]
"""Campaign id → (start, end), aware UTC."""


@dataclass(frozen=True, slots=True)
class Due:
    """A scheduled change with its instant resolved."""

    at: datetime
    index: int
    change: ScheduledChange


def timed(config: EnvConfig, campaigns: CampaignEdges) -> list[Due]:
    """The pending changes of `config` with their instants, in firing order. A change tied to a
    campaign that no longer exists has no instant and never fires (validation reports it)."""
    out: list[Due] = []
    for index, change in enumerate(config.schedule):
        if change.done_at is not None:
            continue
        at = instant(change, campaigns)
        if at is not None:
            out.append(Due(at, index, change))
    out.sort(key=lambda due: (due.at, due.index))
    return out


def instant(change: ScheduledChange, campaigns: CampaignEdges) -> datetime | None:
    if change.at is not None:
        return change.at
    assert change.campaign is not None
    edges = campaigns.get(change.campaign)
    if edges is None:
        return None
    return (edges[0] if change.edge == "start" else edges[1]) + change.offset


def effective(config: EnvConfig, at: datetime, campaigns: CampaignEdges) -> EnvConfig:
    """`config` as it serves at `at`: its pending changes due by then applied, in order."""
    result = config
    for due in timed(config, campaigns):
        if due.at > at:
            break
        result = result.patched(due.change.set)
    return result


def next_change(config: EnvConfig, after: datetime, campaigns: CampaignEdges) -> datetime | None:
    """When the configuration next changes by itself after `after` (None: never)."""
    for due in timed(config, campaigns):
        if due.at > after:
            return due.at
    return None


def materialise(
    flag: FlagSpec,
    environment: str,
    now: datetime,
    campaigns: CampaignEdges,
    change: Callable[[EnvConfig], EnvConfig] | EnvPatch,
) -> FlagSpec:
    """`flag` with a person's change made at `now` to `environment`: the changes already due
    are taken into the configuration first (and marked done), so a kill switch thrown during a
    campaign stays thrown instead of being undone by the campaign's scheduled start."""
    config = flag.environment(environment)
    due = {d.index for d in timed(config, campaigns) if d.at <= now}
    current = effective(config, now, campaigns)
    schedule = tuple(
        c.model_copy(update={"done_at": now}) if i in due else c
        for i, c in enumerate(config.schedule)
    )
    current = current.model_copy(update={"schedule": schedule})
    updated = current.patched(change) if isinstance(change, EnvPatch) else change(current)
    return flag.with_environment(environment, updated)


def due_now(config: EnvConfig, now: datetime, campaigns: CampaignEdges) -> list[Due]:
    return [d for d in timed(config, campaigns) if d.at <= now]


__all__ += ["due_now", "instant"]
