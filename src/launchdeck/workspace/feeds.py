"""Calendar feeds: read the iCalendar files a workspace references and add their campaigns."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta
from pathlib import Path

from launchdeck.calendar.ics import read_feed
from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.workspace.spec import CalendarFeedSpec, CampaignSpec, WorkspaceSpec

__all__ = ["FEED_PAST", "import_feeds"]

FEED_PAST = timedelta(days=30)
"""Feed occurrences that ended more than this before now are not imported."""


def _feed(entry: str | CalendarFeedSpec) -> CalendarFeedSpec:
    return entry if isinstance(entry, CalendarFeedSpec) else CalendarFeedSpec(path=entry)


def import_feeds(spec: WorkspaceSpec, base_dir: Path, *, now: datetime) -> WorkspaceSpec:
    """`spec` with every feed event occurrence added as a campaign (source = the feed's path).

    Problems (an unreadable file, an event naming an unknown system, an id used twice) are
    reported together, each naming the feed and the event.
    """
    system_ids = {s.id for s in spec.systems}
    taken = {c.id: "launchdeck.yaml" for c in spec.campaigns}
    imported: list[CampaignSpec] = []
    problems: list[ConfigError] = []
    for entry in spec.references.calendars:
        feed = _feed(entry)
        try:
            data = (base_dir / feed.path).read_bytes()
        except OSError as exc:
            problems.append(ConfigError(f"cannot read the feed: {exc.strerror}", where=feed.path))
            continue
        try:
            campaigns = read_feed(
                data,
                source=feed.path,
                feed=feed,
                default_tz=spec.workspace.timezone,
                window_start=feed.since or now - FEED_PAST,
                window_end=now + timedelta(days=feed.horizon_days),
            )
        except ConfigError as exc:
            problems.append(exc)
            continue
        for campaign in campaigns:
            problems += _check(campaign, feed.path, system_ids, taken)
            taken.setdefault(campaign.id, feed.path)
            imported.append(campaign)
    if problems:
        raise ValidationFailed(problems, source="the calendar feeds")
    return spec.model_copy(update={"campaigns": (*spec.campaigns, *imported)})


def _check(
    campaign: CampaignSpec, source: str, system_ids: set[str], taken: dict[str, str]
) -> list[ConfigError]:
    problems = []
    for system in campaign.systems:
        if system not in system_ids:
            close = difflib.get_close_matches(system, sorted(system_ids), n=1)
            problems.append(
                ConfigError(
                    f"event {campaign.name!r} names unknown system {system!r}",
                    where=source,
                    field="systems",
                    hint=f"did you mean {close[0]!r}?" if close else "declare it under 'systems:'",
                )
            )
    if campaign.id in taken:
        problems.append(
            ConfigError(
                f"event {campaign.name!r} gives campaign id {campaign.id!r}, "
                f"already used in {taken[campaign.id]}",
                where=source,
                field="id",
                hint="rename one of the two",
            )
        )
    if campaign.end <= campaign.start:
        problems.append(ConfigError(f"event {campaign.name!r} ends before it starts", where=source))
    return problems
