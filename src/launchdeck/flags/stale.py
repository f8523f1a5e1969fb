"""The stale-flag report: flags whose job is done and whose code path can go. Pure.

A flag is reported once, for the first reason that holds, in this order:
- fully rolled out: a release or experiment flag, older than `SETTLE`, that in every listed
  environment where it is on serves one variant to everybody (no rules, no prerequisites,
  no pending scheduled change; the fallthrough a variant, or a full-coverage rollout with one
  weight at 100 %), the same variant everywhere;
- off everywhere past its lifetime: off in every listed environment and unchanged for longer
  than its expected lifetime;
- unchanged past its lifetime: not changed for longer than its expected lifetime.
Flags without a lifetime (ops, permission, unless one is set) are never stale by age.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from launchdeck.flags.model import UNITS, EnvConfig, FlagKind, Serve, percent_units
from launchdeck.flags.records import StoredFlag

__all__ = ["SETTLE", "StaleFlag", "StaleReason", "stale_report"]

SETTLE: Final = timedelta(days=7)
"""A flag younger than this is never "fully rolled out": the rollout may still be watched."""
_ROLLED_OUT_KINDS: Final = frozenset({FlagKind.RELEASE, FlagKind.EXPERIMENT})


class StaleReason(StrEnum):
    FULLY_ROLLED_OUT = "fully rolled out"
    UNCHANGED = "unchanged past its lifetime"
    OFF_EVERYWHERE = "off everywhere past its lifetime"


@dataclass(frozen=True, slots=True)
class StaleFlag:
    key: str
    kind: FlagKind
    reason: StaleReason
    age: timedelta
    """Since the flag was created."""
    unchanged_for: timedelta
    """Since its last change (`last_changed`, else the stored `updated_at`)."""
    lifetime: timedelta | None
    suggestion: str
    variant: str | None = None
    """The variant everybody gets, for a fully rolled out flag."""


def stale_report(
    flags: Sequence[StoredFlag],
    *,
    now: datetime,
    last_changed: Mapping[str, datetime],
    environments: Sequence[str],
) -> list[StaleFlag]:
    """The stale flags among `flags` (archived ones skipped), longest unchanged first."""
    report: list[StaleFlag] = []
    for stored in flags:
        if stored.archived_at is None:
            found = _assess(stored, now, last_changed.get(stored.key), environments)
            if found is not None:
                report.append(found)
    report.sort(key=lambda s: (-s.unchanged_for, -s.age, s.key))
    return report


def _assess(
    stored: StoredFlag, now: datetime, changed: datetime | None, environments: Sequence[str]
) -> StaleFlag | None:
    spec = stored.spec
    age = now - stored.created_at
    unchanged_for = now - (changed if changed is not None else stored.updated_at)
    lifetime = spec.expected_lifetime()

    def found(reason: StaleReason, suggestion: str, variant: str | None = None) -> StaleFlag:
        return StaleFlag(
            spec.key, spec.kind, reason, age, unchanged_for, lifetime, suggestion, variant
        )

    configs = [spec.environment(name) for name in environments]
    if spec.kind in _ROLLED_OUT_KINDS and age > SETTLE and not spec.prerequisites:
        # Off in any environment means someone still wants the other path there (a kill switch).
        named = [spec.environments[n] for n in environments if n in spec.environments]
        everywhere = bool(named) and all(c.enabled for c in named)
        variant = _single_variant(named) if everywhere else None
        if variant is not None:
            return found(
                StaleReason.FULLY_ROLLED_OUT,
                f"remove the flag and keep the {variant!r} code path",
                variant,
            )
    if lifetime is None or unchanged_for <= lifetime:
        return None
    if not any(c.enabled for c in configs):
        path = f"the {spec.off_variant!r}" if spec.off_variant is not None else "the default"
        return found(
            StaleReason.OFF_EVERYWHERE,
            f"remove the flag and keep {path} code path: nobody gets the other one",
        )
    return found(
        StaleReason.UNCHANGED,
        "finish the rollout and remove the flag, or set a longer `lifetime` if it stays",
    )


def _single_variant(enabled: Sequence[EnvConfig]) -> str | None:
    """The variant every one of `enabled` serves to everybody, if there is one."""
    served = {_everybody(config) for config in enabled}
    if len(served) != 1:
        return None
    return served.pop()


def _everybody(config: EnvConfig) -> str | None:
    if config.rules or any(change.done_at is None for change in config.schedule):
        return None
    return _sole(config.fallthrough)


def _sole(serve: Serve) -> str | None:
    if serve.variant is not None:
        return serve.variant
    rollout = serve.rollout
    if rollout is None or percent_units(rollout.coverage) < UNITS:
        return None
    full = [name for name, weight in rollout.weights.items() if percent_units(weight) == UNITS]
    return full[0] if full else None
