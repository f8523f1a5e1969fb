"""Multi-window, multi-burn-rate alerts (The Site Reliability Workbook, ch. 5). Pure.

A tier fires when both its long and its short window burn faster than its factor, where

    factor = budget share x period hours / long-window hours

so "2 % of a 30-day budget in one hour" is 14.4 and the same tier on a 28-day period is 13.44.
The short window (1/12 of the long one by default) makes the alert stop soon after the burn
does. A minimum-events guard keeps a handful of requests at night from paging anyone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from launchdeck.reliability.budget import BurnWindow, EventIndex, burn_rate
from launchdeck.reliability.model import Bucket

__all__ = ["DEFAULT_TIERS", "AlertTier", "TierState", "evaluate_tiers"]


@dataclass(frozen=True, slots=True)
class AlertTier:
    name: str
    long: timedelta
    short: timedelta
    budget_share: float
    """The share of the period's budget that burning at the factor for `long` would spend."""
    severity: str = "page"
    enabled: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)
    factor_override: float | None = None
    """A burn-rate threshold given outright (an OpenSLO burnrate AlertCondition)."""

    def factor(self, period: timedelta) -> float:
        if self.factor_override is not None:
            return self.factor_override
        return self.budget_share * (period / self.long)


DEFAULT_TIERS: tuple[AlertTier, ...] = (
    AlertTier("page-fast", timedelta(hours=1), timedelta(minutes=5), 0.02, "page"),
    AlertTier("page-slow", timedelta(hours=6), timedelta(minutes=30), 0.05, "page"),
    AlertTier("ticket-fast", timedelta(days=1), timedelta(hours=2), 0.10, "ticket"),
    AlertTier("ticket-slow", timedelta(days=3), timedelta(hours=6), 0.10, "ticket"),
)
"""The SRE Workbook's: 30 d gives 14.4 / 6 / 3 / 1; 28 d gives 13.44 / 5.6 / 2.8 / 0.933."""


@dataclass(frozen=True, slots=True)
class TierState:
    tier: AlertTier
    factor: float
    long: BurnWindow
    short: BurnWindow
    firing: bool
    note: str
    """Why it fires or stays quiet, in words."""


def evaluate_tiers(
    buckets: Sequence[Bucket] | EventIndex,
    *,
    at: datetime,
    target: float,
    period: timedelta,
    tiers: Sequence[AlertTier] = DEFAULT_TIERS,
    min_events: float = 0,
) -> list[TierState]:
    """Each enabled tier's state at `at` for an objective of `target` over `period`."""
    index = buckets if isinstance(buckets, EventIndex) else EventIndex(buckets)
    states = []
    for tier in tiers:
        if not tier.enabled:
            continue
        factor = tier.factor(period)
        long = burn_rate(index, at=at, window=tier.long, target=target)
        short = burn_rate(index, at=at, window=tier.short, target=target)
        if long.events < min_events:
            firing, note = False, f"quiet: {long.events:.0f} events < minimum {min_events:.0f}"
        elif long.burn_rate is None or short.burn_rate is None:
            firing, note = False, "quiet: no events in a window"
        else:
            firing = long.burn_rate > factor and short.burn_rate > factor
            relation = "both above" if firing else "not both above"
            note = (
                f"{'FIRING' if firing else 'quiet'}: burn {long.burn_rate:.2f}x "
                f"({_short(tier.long)}) and {short.burn_rate:.2f}x ({_short(tier.short)}), "
                f"{relation} {factor:.4g}x"
            )
        states.append(TierState(tier, factor, long, short, firing, note))
    return states


def _short(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
