"""Incident severity from marketing impact, explained. Pure.

The impact of an incident at an instant is: the campaigns live then that the affected systems
reach through the dependency graph (an outage of `cms` reaches every campaign on
`landing-pages`), their tiers, and the revenue at risk per hour (each reached campaign's revenue
per hour × the share of its traffic affected), plus the technical signal (outage or
degradation). A policy of ordered rules maps that to SEV1..SEV4; the first severity with a
matching rule wins, SEV4 when none matches. Every answer carries its reasons and numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from launchdeck.calendar.graph import affected_by, blast_radius
from launchdeck.calendar.model import ChangeType, Occurrence

__all__ = [
    "DEFAULT_RULES",
    "Assessment",
    "CampaignImpact",
    "Conditions",
    "ImpactInputs",
    "IncidentPolicy",
    "Severity",
    "SeverityChange",
    "SeverityRule",
    "Signal",
    "assess",
    "format_money",
    "format_rates",
    "severity_changes",
]


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 for SEV1 (worst) … 4 for SEV4."""
        return int(self.value[-1])


class Signal(StrEnum):
    """What the systems are doing: down, or working badly (slow, erroring, late data)."""

    OUTAGE = "outage"
    DEGRADATION = "degradation"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Conditions(_Frozen):
    """All given conditions must hold; none given matches everything."""

    signal: Signal | None = None
    campaign_tier: Annotated[int, Field(ge=1, le=3)] | None = None
    """A live affected campaign of this tier or a more important one (lower number)."""
    revenue_at_risk_per_hour: Annotated[float, Field(ge=0)] | None = None
    """At least this much revenue per hour at risk (in the campaigns' currency)."""
    campaigns: Annotated[int, Field(ge=1)] | None = None
    """At least this many live campaigns affected."""
    system_tier: Annotated[int, Field(ge=1, le=3)] | None = None
    """An affected system of this tier or a more important one."""

    def describe(self) -> str:
        parts = []
        if self.signal is not None:
            parts.append(f"signal is {self.signal}")
        if self.campaign_tier is not None:
            parts.append(f"a {_tiers(self.campaign_tier)} campaign is affected")
        if self.revenue_at_risk_per_hour is not None:
            parts.append(f"revenue at risk ≥ {self.revenue_at_risk_per_hour:,.0f}/h")
        if self.campaigns is not None:
            parts.append(f"≥ {self.campaigns} campaign(s) affected")
        if self.system_tier is not None:
            parts.append(f"a {_tiers(self.system_tier)} system is affected")
        return " and ".join(parts) or "always"


def _tiers(tier: int) -> str:
    return "tier-1" if tier == 1 else f"tier-1..{tier}"


class SeverityRule(_Frozen):
    severity: Severity
    when: Conditions = Conditions()
    note: str | None = None
    """Why this rule exists, shown with the severity it gives."""


DEFAULT_RULES: Final = (
    SeverityRule(
        severity=Severity.SEV1,
        when=Conditions(signal=Signal.OUTAGE, campaign_tier=1),
        note="a tier-1 campaign is down",
    ),
    SeverityRule(
        severity=Severity.SEV1,
        when=Conditions(revenue_at_risk_per_hour=50_000),
        note="at least 50,000 an hour of campaign revenue is at risk",
    ),
    SeverityRule(
        severity=Severity.SEV2,
        when=Conditions(campaign_tier=1),
        note="a tier-1 campaign is degraded",
    ),
    SeverityRule(
        severity=Severity.SEV2,
        when=Conditions(signal=Signal.OUTAGE, campaign_tier=2),
        note="a tier-2 campaign is down",
    ),
    SeverityRule(
        severity=Severity.SEV2,
        when=Conditions(revenue_at_risk_per_hour=10_000),
        note="at least 10,000 an hour of campaign revenue is at risk",
    ),
    SeverityRule(
        severity=Severity.SEV3,
        when=Conditions(campaigns=1),
        note="a live campaign is affected",
    ),
    SeverityRule(
        severity=Severity.SEV3,
        when=Conditions(signal=Signal.OUTAGE, system_tier=1),
        note="a tier-1 system is down, though no campaign is live on it",
    ),
)
"""The documented defaults (docs/incidents.md); anything else is SEV4."""


class IncidentPolicy(_Frozen):
    """The `incidents:` section of launchdeck.yaml."""

    severity: tuple[SeverityRule, ...] = DEFAULT_RULES
    """Ordered rules; the most severe matching rule wins; SEV4 when none matches."""
    outage_share: Annotated[float, Field(gt=0, le=1)] = 1.0
    """Share of traffic affected by an outage, unless the incident says."""
    degradation_share: Annotated[float, Field(gt=0, le=1)] = 0.25
    """Share of traffic affected by a degradation, unless the incident says."""
    block_severities: tuple[Severity, ...] = (Severity.SEV1, Severity.SEV2)
    """An open incident of these severities blocks non-remediation changes to its systems."""
    remediation: tuple[ChangeType, ...] = (
        ChangeType.ROLLBACK,
        ChangeType.HOTFIX,
        ChangeType.RELIABILITY,
    )
    """The change types such an incident still allows: they undo or fix the harm."""
    what_changed_hours: Annotated[float, Field(gt=0, le=24 * 14)] = 6.0
    """How far before detection "what changed?" looks."""

    @model_validator(mode="after")
    def _sorted_rules(self) -> IncidentPolicy:
        ranks = [r.severity.rank for r in self.severity]
        if ranks != sorted(ranks):
            raise ValueError(
                "list severity rules from SEV1 down to SEV4, so the order reads as it works"
            )
        return self

    def share(self, signal: Signal, given: float | None) -> float:
        if given is not None:
            return given
        return self.outage_share if signal is Signal.OUTAGE else self.degradation_share


class CampaignImpact(_Frozen):
    campaign_id: str
    name: str
    tier: int
    revenue_per_hour: float
    currency: str
    revenue_at_risk_per_hour: float
    starts_at: datetime
    ends_at: datetime
    path: tuple[str, ...]
    """From an affected system to the campaign: ("cms", "landing-pages", "Black Friday 2026")."""


class Assessment(_Frozen):
    severity: Severity
    at: datetime
    signal: Signal
    traffic_share: float
    campaigns: tuple[CampaignImpact, ...] = ()
    revenue_at_risk_per_hour: dict[str, float] = Field(default_factory=dict)
    """Per currency; one entry in the usual single-currency workspace."""
    rule: str
    """The rule that decided, in words ("signal is outage and a tier-1 campaign is affected (a
    tier-1 campaign is down)"), or that none matched (SEV4)."""
    reasons: tuple[str, ...] = ()

    @property
    def at_risk(self) -> float:
        """The largest per-currency revenue at risk per hour (what thresholds compare)."""
        return max(self.revenue_at_risk_per_hour.values(), default=0.0)


@dataclass(frozen=True)
class ImpactInputs:
    """What an incident's severity depends on, apart from the time and the calendar."""

    systems: tuple[str, ...]
    signal: Signal
    traffic_share: float | None
    depends_on: Mapping[str, Sequence[str]]
    system_tiers: Mapping[str, int]


def format_rates(
    amounts: Mapping[str, float], *, per: str = "/h", sep: str = ", ", empty: str = "-"
) -> str:
    """Amounts per currency, e.g. "$185,000/h" or "$185,000/h, €9,000/h"."""
    return sep.join(f"{format_money(v, c)}{per}" for c, v in sorted(amounts.items())) or empty


def format_money(amount: float, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    return f"{symbol}{amount:,.0f}" if symbol else f"{amount:,.0f} {currency}"


def _impacts(
    inputs: ImpactInputs, occurrences: Iterable[Occurrence], *, share: float, at: datetime
) -> list[CampaignImpact]:
    radii = [blast_radius(inputs.depends_on, s) for s in sorted(inputs.systems)]
    found: dict[str, CampaignImpact] = {}
    for occ in sorted(occurrences, key=lambda o: (o.starts_at, o.campaign_id)):
        if not occ.starts_at <= at < occ.ends_at or occ.campaign_id in found:
            continue
        paths = [p for r in radii if (p := affected_by(r, occ)) is not None]
        if not paths:
            continue
        found[occ.campaign_id] = CampaignImpact(
            campaign_id=occ.campaign_id,
            name=occ.name,
            tier=occ.tier,
            revenue_per_hour=occ.revenue_per_hour,
            currency=occ.currency,
            revenue_at_risk_per_hour=occ.revenue_per_hour * share,
            starts_at=occ.starts_at,
            ends_at=occ.ends_at,
            path=min(paths, key=lambda p: (len(p), p)),
        )
    return sorted(found.values(), key=lambda c: (c.tier, -c.revenue_per_hour, c.campaign_id))


def _matches(
    when: Conditions,
    *,
    signal: Signal,
    campaigns: Sequence[CampaignImpact],
    at_risk: float,
    system_tier: int,
) -> bool:
    return (
        (when.signal is None or when.signal is signal)
        and (when.campaign_tier is None or any(c.tier <= when.campaign_tier for c in campaigns))
        and (when.revenue_at_risk_per_hour is None or at_risk >= when.revenue_at_risk_per_hour)
        and (when.campaigns is None or len(campaigns) >= when.campaigns)
        and (when.system_tier is None or system_tier <= when.system_tier)
    )


def assess(
    policy: IncidentPolicy, inputs: ImpactInputs, occurrences: Iterable[Occurrence], *, at: datetime
) -> Assessment:
    """The severity at `at`, with the campaigns it reaches, the money at risk and the reasons."""
    share = policy.share(inputs.signal, inputs.traffic_share)
    campaigns = _impacts(inputs, occurrences, share=share, at=at)
    at_risk: dict[str, float] = {}
    for c in campaigns:
        at_risk[c.currency] = at_risk.get(c.currency, 0.0) + c.revenue_at_risk_per_hour
    most = max(at_risk.values(), default=0.0)
    system_tier = min((inputs.system_tiers.get(s, 3) for s in inputs.systems), default=3)
    rule = next(
        (
            r
            for r in policy.severity
            if _matches(
                r.when,
                signal=inputs.signal,
                campaigns=campaigns,
                at_risk=most,
                system_tier=system_tier,
            )
        ),
        None,
    )
    severity = rule.severity if rule else Severity.SEV4
    if rule is None:
        decided = "no severity rule matched"
    else:
        note = f" ({rule.note})" if rule.note else ""
        decided = f"{rule.when.describe()}{note}"
    reasons = [f"{', '.join(inputs.systems)}: {inputs.signal}, {share:.0%} of traffic affected"]
    for c in campaigns:
        reasons.append(
            f"{c.name} (tier {c.tier}) is live and reached via {' → '.join(c.path[:-1])}: "
            f"{format_money(c.revenue_per_hour, c.currency)}/h × {share:.0%} = "
            f"{format_money(c.revenue_at_risk_per_hour, c.currency)}/h at risk"
        )
    if not campaigns:
        reasons.append("no live campaign is reached by the affected systems")
    for currency, amount in sorted(at_risk.items()):
        reasons.append(f"revenue at risk: {format_money(amount, currency)}/h")
    return Assessment(
        severity=severity,
        at=at,
        signal=inputs.signal,
        traffic_share=share,
        campaigns=tuple(campaigns),
        revenue_at_risk_per_hour=at_risk,
        rule=decided,
        reasons=tuple(reasons),
    )


class SeverityChange(_Frozen):
    at: datetime
    before: Severity
    after: Severity
    assessment: Assessment
    why: str
    """What moved it: "Black Friday 2026 started", "Cyber Monday 2026 ended"."""


def severity_changes(
    policy: IncidentPolicy,
    inputs: ImpactInputs,
    occurrences: Sequence[Occurrence],
    *,
    current: Assessment,
    since: datetime,
    until: datetime,
) -> list[SeverityChange]:
    """Reassess at every campaign start and end in (since, until]; one change per boundary where
    the set of affected campaigns or the severity moves, in time order.

    A campaign starting mid-incident raises the severity at the instant it starts, not when
    someone next looks; its end lowers it again.
    """
    boundaries: dict[datetime, list[tuple[str, str]]] = {}
    for occ in occurrences:
        for instant, verb in ((occ.starts_at, "started"), (occ.ends_at, "ended")):
            if since < instant <= until:
                boundaries.setdefault(instant, []).append((occ.campaign_id, f"{occ.name} {verb}"))
    changes: list[SeverityChange] = []
    previous = current
    for instant in sorted(boundaries):
        now = assess(policy, inputs, occurrences, at=instant)
        same_campaigns = [c.campaign_id for c in now.campaigns] == [
            c.campaign_id for c in previous.campaigns
        ]
        if now.severity is previous.severity and same_campaigns:
            continue
        reached = {c.campaign_id for c in (*now.campaigns, *previous.campaigns)}
        moved = [text for cid, text in boundaries[instant] if cid in reached]
        changes.append(
            SeverityChange(
                at=instant,
                before=previous.severity,
                after=now.severity,
                assessment=now,
                why="; ".join(sorted(moved)),
            )
        )
        previous = now
    return changes
