"""Incident severity from marketing impact: the default policy, revenue at risk, paths through the
dependency graph, custom policies, and the changes a campaign calendar makes mid-incident.
Input -> severity + the explanation, on hand-built occurrences and graphs.

The graph is the Black Friday workspace's: `checkout-api` and `landing-pages` depend on
`tracking-pixel`; `landing-pages` also renders from `cms` (directly and through `search`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from gate_strategies import BLACK_FRIDAY_GRAPH, an_occurrence
from launchdeck.calendar.model import Occurrence
from launchdeck.incidents.severity import (
    DEFAULT_RULES,
    Assessment,
    Conditions,
    ImpactInputs,
    IncidentPolicy,
    Severity,
    SeverityRule,
    Signal,
    assess,
    format_money,
    severity_changes,
)

TIERS = {
    "cms": 2,
    "tracking-pixel": 1,
    "recommendations": 2,
    "search": 2,
    "landing-pages": 1,
    "checkout-api": 1,
    "crm-sync": 2,
    "email-renderer": 2,
    "analytics": 2,
}
"""System tiers of the example workspace, plus a tier-2 `analytics` that nothing runs on."""
GRAPH = {**BLACK_FRIDAY_GRAPH, "analytics": ()}
H = timedelta(hours=1)
BF_START = datetime(2026, 11, 27, 5, tzinfo=UTC)
BF_END = datetime(2026, 11, 29, 5, tzinfo=UTC)
DURING_BLACK_FRIDAY = datetime(2026, 11, 27, 15, tzinfo=UTC)
QUIET = datetime(2026, 11, 10, 15, tzinfo=UTC)

BLACK_FRIDAY = an_occurrence()
"""Tier 1, $185,000/h, 2026-11-27 05:00 to 11-29 05:00 UTC on landing-pages and checkout-api."""


def inputs(
    *systems: str, signal: Signal = Signal.OUTAGE, traffic_share: float | None = None
) -> ImpactInputs:
    return ImpactInputs(
        systems=systems,
        signal=signal,
        traffic_share=traffic_share,
        depends_on=GRAPH,
        system_tiers=TIERS,
    )


def a_campaign(campaign_id: str, **fields: Any) -> Occurrence:
    """A campaign live during Black Friday afternoon, on landing-pages, unless told otherwise."""
    values: dict[str, Any] = {
        "name": campaign_id.replace("-", " ").title(),
        "tier": 2,
        "revenue_per_hour": 20_000.0,
        "systems": ("landing-pages",),
        **fields,
    }
    return an_occurrence(campaign_id, **values)


def severity_of(
    incident: ImpactInputs,
    occurrences: Sequence[Occurrence],
    *,
    at: datetime = DURING_BLACK_FRIDAY,
    policy: IncidentPolicy | None = None,
) -> Assessment:
    return assess(policy or IncidentPolicy(), incident, occurrences, at=at)


# --- the default policy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("incident", "occurrences", "severity", "rule"),
    [
        (
            inputs("checkout-api"),
            [BLACK_FRIDAY],
            Severity.SEV1,
            "signal is outage and a tier-1 campaign is affected (a tier-1 campaign is down)",
        ),
        (
            inputs("landing-pages"),
            [a_campaign("vip-preview", tier=2, revenue_per_hour=60_000.0)],
            Severity.SEV1,
            "revenue at risk ≥ 50,000/h (at least 50,000 an hour of campaign revenue is at risk)",
        ),
        (
            inputs("checkout-api", signal=Signal.DEGRADATION),
            [BLACK_FRIDAY],
            Severity.SEV2,
            "a tier-1 campaign is affected (a tier-1 campaign is degraded)",
        ),
        (
            inputs("landing-pages"),
            [a_campaign("early-access", tier=2, revenue_per_hour=42_000.0)],
            Severity.SEV2,
            "signal is outage and a tier-1..2 campaign is affected (a tier-2 campaign is down)",
        ),
        (
            inputs("landing-pages", signal=Signal.DEGRADATION),
            [a_campaign("gift-guide", tier=3, revenue_per_hour=40_000.0)],
            Severity.SEV2,
            "revenue at risk ≥ 10,000/h (at least 10,000 an hour of campaign revenue is at risk)",
        ),
        (
            inputs("landing-pages", signal=Signal.DEGRADATION),
            [a_campaign("gift-guide", tier=3, revenue_per_hour=9_000.0)],
            Severity.SEV3,
            "≥ 1 campaign(s) affected (a live campaign is affected)",
        ),
        (
            inputs("checkout-api"),
            [a_campaign("later", tier=1, starts_at=BF_END, ends_at=BF_END + H)],
            Severity.SEV3,
            "signal is outage and a tier-1 system is affected "
            "(a tier-1 system is down, though no campaign is live on it)",
        ),
        (
            inputs("analytics", signal=Signal.DEGRADATION),
            [BLACK_FRIDAY],
            Severity.SEV4,
            "no severity rule matched",
        ),
        (
            inputs("crm-sync"),
            [],
            Severity.SEV4,
            "no severity rule matched",
        ),
    ],
    ids=[
        "a tier-1 campaign down is SEV1",
        "50k an hour at risk is SEV1 even for a tier-2 campaign",
        "a tier-1 campaign degraded is SEV2",
        "a tier-2 campaign down is SEV2",
        "10k an hour at risk is SEV2 even for a tier-3 campaign",
        "any live campaign affected is SEV3",
        "a tier-1 system down with no campaign live yet is SEV3",
        "a delayed analytics report (tier-2 system degraded, no campaign) is SEV4",
        "a tier-2 system down with no campaign is SEV4",
    ],
)
def test_the_default_policy(
    incident: ImpactInputs, occurrences: list[Occurrence], severity: Severity, rule: str
) -> None:
    assessment = severity_of(incident, occurrences)

    assert (assessment.severity, assessment.rule) == (severity, rule)


def test_a_tier_1_outage_during_black_friday_says_what_is_at_risk_and_how_it_is_reached() -> None:
    assessment = severity_of(inputs("checkout-api"), [BLACK_FRIDAY])

    assert assessment.severity is Severity.SEV1
    assert assessment.at == DURING_BLACK_FRIDAY
    assert (assessment.signal, assessment.traffic_share) == (Signal.OUTAGE, 1.0)
    assert assessment.revenue_at_risk_per_hour == {"USD": 185_000.0}
    assert assessment.at_risk == 185_000.0
    (campaign,) = assessment.campaigns
    assert (campaign.campaign_id, campaign.name, campaign.tier) == (
        "black-friday",
        "Black Friday 2026",
        1,
    )
    assert (campaign.revenue_per_hour, campaign.revenue_at_risk_per_hour) == (185_000.0, 185_000.0)
    assert (campaign.starts_at, campaign.ends_at) == (BF_START, BF_END)
    assert campaign.path == ("checkout-api", "Black Friday 2026")
    assert assessment.reasons == (
        "checkout-api: outage, 100% of traffic affected",
        "Black Friday 2026 (tier 1) is live and reached via checkout-api: "
        "$185,000/h × 100% = $185,000/h at risk",
        "revenue at risk: $185,000/h",
    )


def test_the_same_outage_in_a_quiet_week_reaches_no_campaign_and_says_so() -> None:
    assessment = severity_of(inputs("checkout-api"), [BLACK_FRIDAY], at=QUIET)

    assert assessment.severity is Severity.SEV3
    assert (assessment.campaigns, assessment.revenue_at_risk_per_hour) == ((), {})
    assert assessment.at_risk == 0.0
    assert assessment.reasons == (
        "checkout-api: outage, 100% of traffic affected",
        "no live campaign is reached by the affected systems",
    )


def test_a_system_of_unknown_tier_counts_as_tier_3() -> None:
    incident = ImpactInputs(
        systems=("checkout-api",),
        signal=Signal.OUTAGE,
        traffic_share=None,
        depends_on=GRAPH,
        system_tiers={},
    )

    assert severity_of(incident, [], at=QUIET).severity is Severity.SEV4


# --- revenue at risk ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signal", "traffic_share", "policy", "share", "at_risk", "severity"),
    [
        (Signal.OUTAGE, None, IncidentPolicy(), 1.0, 185_000.0, Severity.SEV1),
        (Signal.DEGRADATION, None, IncidentPolicy(), 0.25, 46_250.0, Severity.SEV2),
        (Signal.DEGRADATION, 0.5, IncidentPolicy(), 0.5, 92_500.0, Severity.SEV1),
        (Signal.OUTAGE, 0.1, IncidentPolicy(), 0.1, 18_500.0, Severity.SEV1),
        (
            Signal.DEGRADATION,
            None,
            IncidentPolicy(degradation_share=0.4),
            0.4,
            74_000.0,
            Severity.SEV1,
        ),
        (Signal.OUTAGE, None, IncidentPolicy(outage_share=0.5), 0.5, 92_500.0, Severity.SEV1),
    ],
    ids=[
        "an outage puts all of the traffic at risk",
        "a degradation puts a quarter at risk by default (below 50k: SEV2)",
        "an explicit traffic share wins over the degradation default",
        "an explicit traffic share wins over the outage default",
        "the policy's degradation share",
        "the policy's outage share",
    ],
)
def test_revenue_at_risk_is_revenue_per_hour_times_the_share_of_traffic_affected(
    signal: Signal,
    traffic_share: float | None,
    policy: IncidentPolicy,
    share: float,
    at_risk: float,
    severity: Severity,
) -> None:
    incident = inputs("checkout-api", signal=signal, traffic_share=traffic_share)

    assessment = severity_of(incident, [BLACK_FRIDAY], policy=policy)

    assert assessment.traffic_share == share
    assert assessment.revenue_at_risk_per_hour == {"USD": pytest.approx(at_risk)}
    assert assessment.campaigns[0].revenue_at_risk_per_hour == pytest.approx(at_risk)
    assert assessment.severity is severity
    assert assessment.reasons[0] == f"checkout-api: {signal}, {share:.0%} of traffic affected"


def test_a_degraded_black_friday_explains_the_quarter_share() -> None:
    assessment = severity_of(inputs("checkout-api", signal=Signal.DEGRADATION), [BLACK_FRIDAY])

    assert assessment.reasons == (
        "checkout-api: degradation, 25% of traffic affected",
        "Black Friday 2026 (tier 1) is live and reached via checkout-api: "
        "$185,000/h × 25% = $46,250/h at risk",
        "revenue at risk: $46,250/h",
    )


def test_a_campaign_reached_through_two_affected_systems_counts_once() -> None:
    assessment = severity_of(inputs("checkout-api", "landing-pages"), [BLACK_FRIDAY])

    assert [c.campaign_id for c in assessment.campaigns] == ["black-friday"]
    assert assessment.revenue_at_risk_per_hour == {"USD": 185_000.0}
    # The shortest path wins; equal lengths go to the alphabetically first system.
    assert assessment.campaigns[0].path == ("checkout-api", "Black Friday 2026")
    assert assessment.reasons[0] == "checkout-api, landing-pages: outage, 100% of traffic affected"


def test_an_outage_upstream_reaches_campaigns_through_the_dependency_graph() -> None:
    gift_guide = a_campaign("gift-guide", name="Gift guide", tier=3, revenue_per_hour=9_000.0)

    cms = severity_of(inputs("cms"), [BLACK_FRIDAY, gift_guide])
    pixel = severity_of(inputs("tracking-pixel"), [BLACK_FRIDAY])

    assert [(c.campaign_id, c.path) for c in cms.campaigns] == [
        ("black-friday", ("cms", "landing-pages", "Black Friday 2026")),
        ("gift-guide", ("cms", "landing-pages", "Gift guide")),
    ]
    assert cms.severity is Severity.SEV1
    assert cms.revenue_at_risk_per_hour == {"USD": 194_000.0}
    assert cms.reasons[1] == (
        "Black Friday 2026 (tier 1) is live and reached via cms → landing-pages: "
        "$185,000/h × 100% = $185,000/h at risk"
    )
    assert cms.reasons[-1] == "revenue at risk: $194,000/h"
    # Through the pixel the campaign is reached directly via checkout-api, the shorter path.
    assert pixel.campaigns[0].path == ("tracking-pixel", "checkout-api", "Black Friday 2026")


def test_a_system_downstream_of_a_campaign_does_not_reach_it() -> None:
    """landing-pages depends on cms, not the other way round."""
    cms_campaign = a_campaign("newsletter", tier=1, systems=("cms",))

    assessment = severity_of(inputs("landing-pages"), [cms_campaign])

    assert assessment.campaigns == ()


def test_campaigns_are_listed_by_tier_then_revenue() -> None:
    small = a_campaign("small", tier=1, revenue_per_hour=1_000.0)
    big = a_campaign("big", tier=1, revenue_per_hour=5_000.0)
    tier_2 = a_campaign("tier-two", tier=2, revenue_per_hour=90_000.0)

    assessment = severity_of(inputs("landing-pages"), [tier_2, small, big])

    assert [c.campaign_id for c in assessment.campaigns] == ["big", "small", "tier-two"]


@pytest.mark.parametrize(
    ("at", "reached"),
    [
        (BF_START - timedelta(seconds=1), False),
        (BF_START, True),
        (BF_END - timedelta(seconds=1), True),
        (BF_END, False),
    ],
    ids=[
        "a second before it starts",
        "the instant it starts",
        "its last second",
        "the instant it ends",
    ],
)
def test_a_campaign_counts_only_within_its_half_open_window(at: datetime, reached: bool) -> None:
    assessment = severity_of(inputs("checkout-api"), [BLACK_FRIDAY], at=at)

    assert [c.campaign_id for c in assessment.campaigns] == (["black-friday"] if reached else [])
    assert assessment.severity is (Severity.SEV1 if reached else Severity.SEV3)


def test_revenue_is_summed_per_currency_and_thresholds_use_the_largest() -> None:
    """30k USD and 30k EUR at risk is not 60k of anything: each is below 50k, so SEV2."""
    usd = a_campaign("us-sale", name="US sale", revenue_per_hour=30_000.0)
    eur = a_campaign("eu-sale", name="EU sale", revenue_per_hour=20_000.0, currency="EUR")
    eur_2 = a_campaign("eu-outlet", name="EU outlet", revenue_per_hour=10_000.0, currency="EUR")
    sek = a_campaign("nordics", name="Nordics", revenue_per_hour=25_000.0, currency="SEK")

    assessment = severity_of(inputs("landing-pages"), [usd, eur, eur_2, sek])

    assert assessment.revenue_at_risk_per_hour == {
        "USD": 30_000.0,
        "EUR": 30_000.0,
        "SEK": 25_000.0,
    }
    assert assessment.at_risk == 30_000.0
    assert assessment.severity is Severity.SEV2
    assert assessment.reasons[-3:] == (
        "revenue at risk: €30,000/h",
        "revenue at risk: 25,000 SEK/h",
        "revenue at risk: $30,000/h",
    )


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (185_000.0, "USD", "$185,000"),
        (46_250.4, "EUR", "€46,250"),
        (999.5, "GBP", "£1,000"),
        (25_000.0, "SEK", "25,000 SEK"),
    ],
    ids=["dollars", "euros, rounded down", "pounds, rounded up", "a currency without a symbol"],
)
def test_format_money(amount: float, currency: str, text: str) -> None:
    assert format_money(amount, currency) == text


# --- custom policies ----------------------------------------------------------------------


def test_the_default_policy_is_the_documented_rules() -> None:
    policy = IncidentPolicy()

    assert policy.severity == DEFAULT_RULES
    assert [r.severity for r in DEFAULT_RULES] == [
        Severity.SEV1,
        Severity.SEV1,
        Severity.SEV2,
        Severity.SEV2,
        Severity.SEV2,
        Severity.SEV3,
        Severity.SEV3,
    ]
    assert (policy.outage_share, policy.degradation_share, policy.what_changed_hours) == (
        1.0,
        0.25,
        6.0,
    )
    assert policy.block_severities == (Severity.SEV1, Severity.SEV2)


def test_rules_must_be_listed_from_sev1_down() -> None:
    with pytest.raises(ValidationError) as refused:
        IncidentPolicy(
            severity=(
                SeverityRule(severity=Severity.SEV2, when=Conditions(campaigns=1)),
                SeverityRule(severity=Severity.SEV1, when=Conditions(campaign_tier=1)),
            )
        )

    assert "list severity rules from SEV1 down to SEV4" in str(refused.value)


def test_a_custom_policy_ands_the_conditions_of_a_rule() -> None:
    policy = IncidentPolicy(
        severity=(
            SeverityRule(
                severity=Severity.SEV1,
                when=Conditions(signal=Signal.OUTAGE, campaigns=2),
                note="two campaigns down",
            ),
            SeverityRule(severity=Severity.SEV2, when=Conditions(campaign_tier=2)),
        )
    )
    second = a_campaign("second", tier=3, revenue_per_hour=1_000.0)

    both_down = severity_of(inputs("landing-pages"), [BLACK_FRIDAY, second], policy=policy)
    one_down = severity_of(inputs("landing-pages"), [BLACK_FRIDAY], policy=policy)
    both_degraded = severity_of(
        inputs("landing-pages", signal=Signal.DEGRADATION), [BLACK_FRIDAY, second], policy=policy
    )

    assert (both_down.severity, both_down.rule) == (
        Severity.SEV1,
        "signal is outage and ≥ 2 campaign(s) affected (two campaigns down)",
    )
    assert (one_down.severity, one_down.rule) == (
        Severity.SEV2,
        "a tier-1..2 campaign is affected",
    )
    assert both_degraded.severity is Severity.SEV2


def test_a_custom_policy_with_no_matching_rule_is_sev4() -> None:
    policy = IncidentPolicy(
        severity=(SeverityRule(severity=Severity.SEV1, when=Conditions(campaign_tier=1)),)
    )

    assessment = severity_of(inputs("checkout-api"), [BLACK_FRIDAY], at=QUIET, policy=policy)

    assert (assessment.severity, assessment.rule) == (Severity.SEV4, "no severity rule matched")


def test_a_rule_without_conditions_matches_everything() -> None:
    policy = IncidentPolicy(severity=(SeverityRule(severity=Severity.SEV3),))

    assessment = severity_of(inputs("analytics"), [], at=QUIET, policy=policy)

    assert (assessment.severity, assessment.rule) == (Severity.SEV3, "always")


def test_a_campaign_tier_condition_counts_more_important_tiers() -> None:
    policy = IncidentPolicy(
        severity=(SeverityRule(severity=Severity.SEV2, when=Conditions(campaign_tier=2)),)
    )

    tier_1 = severity_of(inputs("checkout-api"), [BLACK_FRIDAY], policy=policy)
    tier_3 = severity_of(inputs("landing-pages"), [a_campaign("guide", tier=3)], policy=policy)

    assert (tier_1.severity, tier_3.severity) == (Severity.SEV2, Severity.SEV4)


@pytest.mark.parametrize(
    ("conditions", "text"),
    [
        (Conditions(), "always"),
        (Conditions(signal=Signal.DEGRADATION), "signal is degradation"),
        (Conditions(campaign_tier=1), "a tier-1 campaign is affected"),
        (Conditions(campaign_tier=3), "a tier-1..3 campaign is affected"),
        (Conditions(revenue_at_risk_per_hour=125_000), "revenue at risk ≥ 125,000/h"),
        (Conditions(campaigns=3), "≥ 3 campaign(s) affected"),
        (Conditions(system_tier=2), "a tier-1..2 system is affected"),
        (
            Conditions(
                signal=Signal.OUTAGE,
                campaign_tier=2,
                revenue_at_risk_per_hour=10_000,
                campaigns=1,
                system_tier=1,
            ),
            "signal is outage and a tier-1..2 campaign is affected and revenue at risk ≥ "
            "10,000/h and ≥ 1 campaign(s) affected and a tier-1 system is affected",
        ),
    ],
    ids=[
        "no condition",
        "signal",
        "tier-1 campaign",
        "tier-1..3 campaign",
        "revenue, with thousands separators",
        "campaign count",
        "system tier",
        "all of them, in a fixed order",
    ],
)
def test_conditions_describe_themselves(conditions: Conditions, text: str) -> None:
    assert conditions.describe() == text


@pytest.mark.parametrize(
    "fields",
    [
        {"campaign_tier": 0},
        {"campaign_tier": 4},
        {"revenue_at_risk_per_hour": -1},
        {"campaigns": 0},
        {"system_tier": 4},
        {"tier": 1},
    ],
    ids=[
        "campaign tier 0",
        "campaign tier 4",
        "negative revenue",
        "zero campaigns",
        "system tier 4",
        "an unknown condition",
    ],
)
def test_impossible_conditions_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Conditions(**fields)


@pytest.mark.parametrize(
    "fields",
    [{"outage_share": 0}, {"degradation_share": 1.5}, {"what_changed_hours": 0}],
    ids=["no share of an outage", "more than all traffic", "looking back no time at all"],
)
def test_impossible_policy_settings_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        IncidentPolicy(**fields)


def test_severity_ranks_sev1_as_the_worst() -> None:
    assert [s.rank for s in Severity] == [1, 2, 3, 4]


# --- severity changes during an incident --------------------------------------------------

DETECTED = datetime(2026, 11, 26, 20, tzinfo=UTC)
"""The evening before Black Friday: checkout-api is down with no campaign live on it."""
EMAIL_BLAST = a_campaign(
    "email-blast",
    name="E-mail blast",
    tier=1,
    systems=("email-renderer",),
    starts_at=BF_START,
    ends_at=BF_START + 6 * H,
)
"""Starts with Black Friday, on a system checkout-api does not reach."""


def changes_of(
    incident: ImpactInputs,
    occurrences: Sequence[Occurrence],
    *,
    since: datetime = DETECTED,
    until: datetime,
) -> list[tuple[datetime, Severity, Severity, str]]:
    policy = IncidentPolicy()
    current = assess(policy, incident, occurrences, at=since)
    found = severity_changes(
        policy, incident, occurrences, current=current, since=since, until=until
    )
    return [(c.at, c.before, c.after, c.why) for c in found]


def test_a_campaign_starting_mid_incident_raises_the_severity_at_its_start() -> None:
    policy = IncidentPolicy()
    incident = inputs("checkout-api")
    current = assess(policy, incident, [BLACK_FRIDAY], at=DETECTED)

    (change,) = severity_changes(
        policy,
        incident,
        [BLACK_FRIDAY],
        current=current,
        since=DETECTED,
        until=BF_START + 2 * H,
    )

    assert current.severity is Severity.SEV3
    assert (change.at, change.before, change.after) == (BF_START, Severity.SEV3, Severity.SEV1)
    assert change.why == "Black Friday 2026 started"
    assert change.assessment.at == BF_START
    assert change.assessment.revenue_at_risk_per_hour == {"USD": 185_000.0}


def test_the_campaign_s_end_lowers_it_again() -> None:
    found = changes_of(inputs("checkout-api"), [BLACK_FRIDAY], until=BF_END + H)

    assert found == [
        (BF_START, Severity.SEV3, Severity.SEV1, "Black Friday 2026 started"),
        (BF_END, Severity.SEV1, Severity.SEV3, "Black Friday 2026 ended"),
    ]


def test_boundaries_of_unrelated_campaigns_change_nothing() -> None:
    early_access = a_campaign(
        "early-access",
        name="Early access",
        systems=("landing-pages", "email-renderer"),
        starts_at=DETECTED - 24 * H,
        ends_at=BF_START - timedelta(minutes=1),
    )

    quiet = changes_of(inputs("checkout-api"), [EMAIL_BLAST, early_access], until=BF_END)
    both = changes_of(
        inputs("checkout-api"), [EMAIL_BLAST, early_access, BLACK_FRIDAY], until=BF_END - H
    )

    assert quiet == []
    # At the same instant as Black Friday: `why` names only the campaign that matters.
    assert both == [(BF_START, Severity.SEV3, Severity.SEV1, "Black Friday 2026 started")]


def test_a_boundary_is_counted_in_since_until_half_open_the_other_way() -> None:
    """A start at `since` is already in the current assessment; an end at `until` is a change."""
    at_since = changes_of(inputs("checkout-api"), [BLACK_FRIDAY], since=BF_START, until=BF_END)
    at_until = changes_of(inputs("checkout-api"), [BLACK_FRIDAY], until=BF_START)
    before = changes_of(
        inputs("checkout-api"), [BLACK_FRIDAY], until=BF_START - timedelta(seconds=1)
    )

    assert at_since == [(BF_END, Severity.SEV1, Severity.SEV3, "Black Friday 2026 ended")]
    assert at_until == [(BF_START, Severity.SEV3, Severity.SEV1, "Black Friday 2026 started")]
    assert before == []


def test_a_second_campaign_joining_at_the_same_severity_is_still_a_change() -> None:
    """The set of affected campaigns moved (more money at risk), though not the severity."""
    later = a_campaign(
        "flash-sale",
        name="Flash sale",
        tier=1,
        systems=("checkout-api",),
        starts_at=BF_START + 3 * H,
        ends_at=BF_START + 5 * H,
        revenue_per_hour=15_000.0,
    )
    policy = IncidentPolicy()
    incident = inputs("checkout-api")
    current = assess(policy, incident, [BLACK_FRIDAY, later], at=DETECTED)

    found = severity_changes(
        policy,
        incident,
        [BLACK_FRIDAY, later],
        current=current,
        since=DETECTED,
        until=BF_START + 6 * H,
    )

    assert [(c.at, c.before, c.after, c.why) for c in found] == [
        (BF_START, Severity.SEV3, Severity.SEV1, "Black Friday 2026 started"),
        (BF_START + 3 * H, Severity.SEV1, Severity.SEV1, "Flash sale started"),
        (BF_START + 5 * H, Severity.SEV1, Severity.SEV1, "Flash sale ended"),
    ]
    assert found[1].assessment.revenue_at_risk_per_hour == {"USD": 200_000.0}
    assert found[2].assessment.revenue_at_risk_per_hour == {"USD": 185_000.0}


def test_black_friday_then_cyber_monday_move_the_severity_four_times_in_order() -> None:
    cyber_monday = an_occurrence(
        "cyber-monday",
        name="Cyber Monday 2026",
        starts_at=datetime(2026, 11, 30, 5, tzinfo=UTC),
        ends_at=datetime(2026, 12, 1, 11, tzinfo=UTC),
        revenue_per_hour=220_000.0,
        systems=("landing-pages", "checkout-api"),
    )

    found = changes_of(
        inputs("checkout-api"),
        [cyber_monday, BLACK_FRIDAY],
        until=datetime(2026, 12, 2, tzinfo=UTC),
    )

    assert found == [
        (BF_START, Severity.SEV3, Severity.SEV1, "Black Friday 2026 started"),
        (BF_END, Severity.SEV1, Severity.SEV3, "Black Friday 2026 ended"),
        (cyber_monday.starts_at, Severity.SEV3, Severity.SEV1, "Cyber Monday 2026 started"),
        (cyber_monday.ends_at, Severity.SEV1, Severity.SEV3, "Cyber Monday 2026 ended"),
    ]
