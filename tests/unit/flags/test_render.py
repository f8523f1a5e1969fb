"""A flag's history for people: a kill switch after a scheduled change fired reads as such."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from launchdeck.flags.model import FlagSpec
from launchdeck.flags.records import FlagVersion, VersionAction
from launchdeck.flags.render import print_history

AT = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
SCHEDULE = [
    {"campaign": "black-friday", "edge": "start", "set": {"enabled": True}},
    {"campaign": "black-friday", "edge": "end", "set": {"enabled": False}},
]


def version(number: int, *, done: bool) -> FlagVersion:
    schedule = [dict(SCHEDULE[0], done_at=AT.isoformat() if done else None), SCHEDULE[1]]
    spec = FlagSpec.model_validate(
        {
            "key": "bf-hero-banner",
            "environments": {
                "production": {
                    "enabled": False,
                    "fallthrough": {"variant": "on"},
                    "schedule": schedule,
                }
            },
        }
    )
    return FlagVersion(
        key="bf-hero-banner",
        version=number,
        action=VersionAction.CHANGED,
        definition=spec.document(),
        actor="maria",
        at=AT,
        comment="banner breaks on Safari 15" if done else None,
    )


def test_a_kill_switch_that_folds_a_fired_change_says_what_it_turned_off() -> None:
    out = Console(record=True, width=200)

    print_history(out, [version(4, done=False), version(5, done=True)])

    lines = out.export_text().splitlines()
    assert lines[1:] == [
        "v5 changed by maria at 2026-11-27 14:05:00Z — banner breaks on Safari 15",
        '    environments.production.schedule[0] (black-friday start: {"enabled": true}) had '
        "fired; taken into the configuration",
        "    environments.production.enabled: true (as scheduled) → false",
    ]
