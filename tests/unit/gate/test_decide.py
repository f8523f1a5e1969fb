"""The deploy decision: freezes through the dependency graph, overrides, other checks, the next
allowed time and the campaigns at stake. Input -> verdict, on hand-built data.

The graph is the Black Friday workspace's: a change to `cms` reaches `landing-pages`
(directly) and so every campaign that runs on the landing pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate_strategies import (
    BLACK_FRIDAY_GRAPH,
    GateScenario,
    a_request,
    a_result,
    a_window,
    an_occurrence,
    an_override,
    freeze_windows,
    gate_scenarios,
)
from launchdeck.calendar.freeze import campaign_windows
from launchdeck.calendar.model import ChangeType, FreezeKind, FreezeWindow, Occurrence
from launchdeck.gate.decide import HORIZON, blocking_windows, decide, next_allowed
from launchdeck.gate.model import (
    AffectedCampaign,
    CheckOutcome,
    CheckResult,
    Decision,
    GateRequest,
    Override,
    Verdict,
)
from launchdeck.workspace.spec import FreezesSpec
from strategies import property_settings

DEFAULTS = FreezesSpec().campaigns
BLACK_FRIDAY = an_occurrence()
"""Tier 1, 2026-11-27 05:00 to 11-29 05:00 UTC on landing-pages and checkout-api."""
EARLY_ACCESS = an_occurrence(
    "early-access",
    name="Early access",
    tier=2,
    revenue_per_hour=42_000.0,
    starts_at=datetime(2026, 11, 23, 14, tzinfo=UTC),
    ends_at=datetime(2026, 11, 27, 4, 59, tzinfo=UTC),
    systems=("landing-pages", "email-renderer", "crm-sync"),
)
DURING_BLACK_FRIDAY = datetime(2026, 11, 27, 12, tzinfo=UTC)
T0 = datetime(2026, 11, 20, tzinfo=UTC)
H = timedelta(hours=1)
BF_FREEZE = (
    "campaign freeze 'Black Friday 2026' (tier 1, 24 h before to 48 h after) on "
    "cms → landing-pages → Black Friday 2026 until 2026-12-01 05:00 UTC; allows hotfix, rollback"
)


def gate(
    request: GateRequest | None = None,
    *,
    at: datetime = DURING_BLACK_FRIDAY,
    production_like: bool = True,
    occurrences: Sequence[Occurrence] = (BLACK_FRIDAY,),
    windows: Sequence[FreezeWindow] | None = None,
    **kwargs: Any,
) -> Verdict:
    """`decide` over the Black Friday graph; windows default to the default campaign policies."""
    return decide(
        request or a_request("cms"),
        at=at,
        depends_on=BLACK_FRIDAY_GRAPH,
        production_like=production_like,
        occurrences=occurrences,
        windows=campaign_windows(occurrences, DEFAULTS) if windows is None else windows,
        **kwargs,
    )


def freeze_of(verdict: Verdict) -> CheckResult:
    [freeze] = [c for c in verdict.checks if c.check == "freeze_window"]
    return freeze


# --- campaign freezes -------------------------------------------------------------------


def test_a_feature_on_a_system_upstream_of_a_tier_1_campaign_is_blocked_with_its_path() -> None:
    verdict = gate(a_request("cms", change_type=ChangeType.FEATURE))
    assert verdict.decision is Decision.BLOCK
    assert verdict.checks == (
        CheckResult(
            check="freeze_window",
            outcome=CheckOutcome.BLOCK,
            summary=BF_FREEZE,
            facts={
                "windows": 1,
                "window": "campaign:black-friday",
                "until": "2026-12-01T05:00:00+00:00",
            },
        ),
    )
    assert verdict.next_allowed_at == datetime(2026, 12, 1, 5, tzinfo=UTC)
    assert verdict.next_allowed_note is None
    assert verdict.overrides == ()


@pytest.mark.parametrize(
    ("change_type", "decision"),
    [
        (ChangeType.HOTFIX, Decision.WARN),
        (ChangeType.ROLLBACK, Decision.WARN),
        (ChangeType.CONTENT, Decision.BLOCK),
        (ChangeType.CONFIG, Decision.BLOCK),
        (ChangeType.FLAG, Decision.BLOCK),
        (ChangeType.FEATURE, Decision.BLOCK),
    ],
    ids=[
        "a hotfix during a tier-1 freeze goes ahead with a warning",
        "a rollback during a tier-1 freeze goes ahead with a warning",
        "a content change during a tier-1 freeze is blocked",
        "a config change during a tier-1 freeze is blocked",
        "a flag change during a tier-1 freeze is blocked",
        "a feature during a tier-1 freeze is blocked",
    ],
)
def test_a_tier_1_freeze_allows_only_rollbacks_and_hotfixes(
    change_type: ChangeType, decision: Decision
) -> None:
    assert gate(a_request("cms", change_type=change_type)).decision is decision


def test_an_allowed_change_during_a_freeze_warns_and_says_why() -> None:
    verdict = gate(a_request("cms", change_type=ChangeType.HOTFIX))
    assert freeze_of(verdict) == CheckResult(
        check="freeze_window",
        outcome=CheckOutcome.WARN,
        summary="hotfix allowed during " + BF_FREEZE,
        facts={"windows": 1, "window": "campaign:black-friday"},
    )
    assert (verdict.decision, verdict.next_allowed_at, verdict.next_allowed_note) == (
        Decision.WARN,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("change_type", "outcome"),
    [
        (ChangeType.CONTENT, CheckOutcome.WARN),
        (ChangeType.CONFIG, CheckOutcome.WARN),
        (ChangeType.FEATURE, CheckOutcome.BLOCK),
    ],
    ids=[
        "a content change during a tier-2 campaign is allowed with a warning",
        "a config change during a tier-2 campaign is allowed with a warning",
        "a feature during a tier-2 campaign is blocked",
    ],
)
def test_a_tier_2_campaign_freezes_only_features(
    change_type: ChangeType, outcome: CheckOutcome
) -> None:
    at = datetime(2026, 11, 24, tzinfo=UTC)
    freeze = freeze_of(
        gate(a_request("cms", change_type=change_type), at=at, occurrences=[EARLY_ACCESS])
    )
    assert freeze.outcome is outcome
    assert freeze.summary.endswith(
        "campaign freeze 'Early access' (tier 2, during the campaign) on "
        "cms → email-renderer → Early access until 2026-11-27 04:59 UTC; "
        "allows config, content, flag, hotfix, reliability, rollback"
    )


def test_a_tier_3_campaign_is_not_frozen_but_is_still_at_stake() -> None:
    gift_guide = an_occurrence("gift-guide", name="Gift guide", tier=3, revenue_per_hour=9000.0)
    verdict = gate(occurrences=[gift_guide])
    assert freeze_of(verdict).summary == "no freeze window applies"
    assert verdict.decision is Decision.ALLOW
    assert [(a.campaign_id, a.path) for a in verdict.affected] == [
        ("gift-guide", ("cms", "landing-pages", "Gift guide"))
    ]
    assert verdict.revenue_per_hour_at_stake == pytest.approx(9000.0)


def test_a_system_that_does_not_reach_the_campaign_is_not_frozen() -> None:
    verdict = gate(a_request("crm-sync"))
    assert (verdict.decision, freeze_of(verdict).outcome, verdict.affected) == (
        Decision.ALLOW,
        CheckOutcome.PASS,
        (),
    )


@pytest.mark.parametrize(
    ("environments", "environment", "production_like", "decision"),
    [
        ((), "production", True, Decision.BLOCK),
        ((), "staging", False, Decision.ALLOW),
        (("staging",), "staging", False, Decision.BLOCK),
        (("production",), "production", False, Decision.BLOCK),
        (("production",), "staging", False, Decision.ALLOW),
        (("staging",), "production", True, Decision.ALLOW),
    ],
    ids=[
        "a window naming no environment freezes a production-like one",
        "a window naming no environment leaves a non-production-like one alone",
        "a window naming staging freezes staging although it is not production-like",
        "a window naming an environment freezes it whatever production_like says",
        "a window naming production leaves staging alone",
        "a window naming only staging leaves production alone",
    ],
)
def test_which_environments_a_window_freezes(
    environments: tuple[str, ...], environment: str, production_like: bool, decision: Decision
) -> None:
    window = a_window(
        starts_at=T0, ends_at=T0 + 4 * H, systems={"landing-pages"}, environments=environments
    )
    verdict = gate(
        a_request("cms", environment=environment),
        at=T0 + H,
        production_like=production_like,
        occurrences=[],
        windows=[window],
    )
    assert verdict.decision is decision


@pytest.mark.parametrize(
    ("window", "summary"),
    [
        (
            a_window(name="payment provider incident", reason="added by bob"),
            "freeze 'payment provider incident' (added by bob) on cms "
            "until 2026-11-21 00:00 UTC; allows hotfix, rollback",
        ),
        (
            a_window(
                kind=FreezeKind.RECURRING,
                name="weekend",
                systems={"search", "email-renderer"},
                allow=(),
            ),
            "recurring freeze 'weekend' on cms → email-renderer "
            "until 2026-11-21 00:00 UTC; allows nothing",
        ),
        (
            a_window(name="own freeze", systems={"cms", "landing-pages"}),
            "freeze 'own freeze' on cms until 2026-11-21 00:00 UTC; allows hotfix, rollback",
        ),
    ],
    ids=[
        "an ad-hoc freeze on every system names the changed system",
        "a freeze on dependents names the alphabetically first shortest path",
        "a freeze on the changed system itself names only it",
    ],
)
def test_a_block_summary_names_the_freeze_the_path_the_end_and_what_it_allows(
    window: FreezeWindow, summary: str
) -> None:
    verdict = gate(at=T0 + H, occurrences=[], windows=[window])
    assert freeze_of(verdict).summary == summary


def test_with_several_blocking_windows_the_block_names_the_one_that_ends_last() -> None:
    windows = [
        a_window("adhoc:short", starts_at=T0, ends_at=T0 + 2 * H),
        a_window("adhoc:long", starts_at=T0, ends_at=T0 + 9 * H),
        a_window("adhoc:allowing", starts_at=T0, ends_at=T0 + 20 * H, allow=set(ChangeType)),
    ]
    freeze = freeze_of(gate(at=T0 + H, occurrences=[], windows=windows))
    assert freeze.facts == {
        "windows": 2,
        "window": "adhoc:long",
        "until": (T0 + 9 * H).isoformat(),
    }


def test_an_allowed_change_under_several_windows_names_the_one_that_ends_first() -> None:
    windows = [
        a_window("adhoc:late", starts_at=T0, ends_at=T0 + 9 * H),
        a_window("adhoc:early", starts_at=T0, ends_at=T0 + 2 * H),
    ]
    freeze = freeze_of(
        gate(a_request(change_type=ChangeType.HOTFIX), at=T0 + H, occurrences=[], windows=windows)
    )
    assert (freeze.outcome, freeze.facts) == (
        CheckOutcome.WARN,
        {"windows": 2, "window": "adhoc:early"},
    )


@pytest.mark.parametrize(
    ("at", "decision"),
    [
        (T0 - timedelta(microseconds=1), Decision.ALLOW),
        (T0, Decision.BLOCK),
        (T0 + 2 * H - timedelta(microseconds=1), Decision.BLOCK),
        (T0 + 2 * H, Decision.ALLOW),
    ],
    ids=[
        "just before a freeze starts a change is allowed",
        "at the first instant of a freeze a change is blocked",
        "at the last instant of a freeze a change is blocked",
        "at the very end of a freeze a change is allowed (half-open)",
    ],
)
def test_a_freeze_window_is_half_open(at: datetime, decision: Decision) -> None:
    window = a_window(starts_at=T0, ends_at=T0 + 2 * H)
    assert gate(at=at, occurrences=[], windows=[window]).decision is decision


# --- overrides --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "decision"),
    [
        (an_override("cms"), Decision.WARN),
        (an_override("cms", environment="production"), Decision.WARN),
        (an_override("landing-pages"), Decision.BLOCK),
        (an_override("cms", environment="staging"), Decision.BLOCK),
        (
            an_override(
                "cms",
                starts_at=datetime(2026, 11, 25, tzinfo=UTC),
                ends_at=datetime(2026, 11, 26, tzinfo=UTC),
            ),
            Decision.BLOCK,
        ),
        (an_override("cms", ends_at=DURING_BLACK_FRIDAY), Decision.BLOCK),
        (an_override("cms", starts_at=DURING_BLACK_FRIDAY + H), Decision.BLOCK),
    ],
    ids=[
        "an override for the changed system turns the block into a warning",
        "an override for the changed system in this environment does too",
        "an override for another system, even one on the path, does not",
        "an override for another environment does not",
        "an expired override does not",
        "an override that ends exactly at the change does not (half-open)",
        "an override that has not started yet does not",
    ],
)
def test_an_override_turns_a_freeze_block_into_a_warning_only_for_its_system(
    override: Override, decision: Decision
) -> None:
    verdict = gate(overrides=[override])
    assert verdict.decision is decision
    assert verdict.overrides == ((override,) if decision is Decision.WARN else ())


def test_an_overridden_block_says_who_overrode_it_and_why() -> None:
    override = an_override("cms")
    verdict = gate(overrides=[override, an_override("search", id="ov2")])
    freeze = freeze_of(verdict)
    assert freeze.summary == (
        "overridden by alice until 2026-12-02 00:00 UTC (pricing bug on the landing page): "
        + BF_FREEZE
    )
    assert freeze.facts["override"] == "ov1"
    assert verdict.overrides == (override,)
    assert verdict.next_allowed_at is None


@pytest.mark.parametrize(
    "listed",
    [("ov1", "ov2"), ("ov2", "ov1")],
    ids=["overrides listed by id", "overrides listed the other way round"],
)
def test_several_active_overrides_are_listed_by_id_whatever_order_they_came_in(
    listed: tuple[str, str],
) -> None:
    overrides = {o: an_override("cms", id=o, created_by=f"admin-{o}") for o in listed}
    verdict = gate(overrides=[overrides[o] for o in listed])
    assert [o.id for o in verdict.overrides] == ["ov1", "ov2"]
    assert freeze_of(verdict).facts["override"] == "ov1"
    assert freeze_of(verdict).summary.startswith("overridden by admin-ov1 ")


def test_an_override_is_not_listed_when_nothing_was_blocked() -> None:
    verdict = gate(a_request(change_type=ChangeType.HOTFIX), overrides=[an_override("cms")])
    assert (verdict.decision, verdict.overrides) == (Decision.WARN, ())


# --- other checks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcomes", "decision"),
    [
        ((), Decision.ALLOW),
        ((CheckOutcome.PASS,), Decision.ALLOW),
        ((CheckOutcome.UNKNOWN,), Decision.ALLOW),
        ((CheckOutcome.UNKNOWN, CheckOutcome.UNKNOWN), Decision.ALLOW),
        ((CheckOutcome.UNKNOWN, CheckOutcome.WARN), Decision.WARN),
        ((CheckOutcome.PASS, CheckOutcome.BLOCK), Decision.BLOCK),
    ],
    ids=[
        "no other checks: allow",
        "a passing check: allow",
        "a check that could not decide never blocks: allow",
        "two unknowns are still allow",
        "a warning among unknowns: warn",
        "a blocking check among passes: block",
    ],
)
def test_other_checks_move_the_decision_by_their_worst_outcome(
    outcomes: tuple[CheckOutcome, ...], decision: Decision
) -> None:
    names = ("active_release", "error_budget")
    results = [a_result(name, outcome) for name, outcome in zip(names, outcomes, strict=False)]
    verdict = gate(occurrences=[], results=results)
    assert verdict.decision is decision
    assert verdict.checks[1:] == tuple(results)


def test_checks_are_listed_freeze_first_then_by_name() -> None:
    results = [a_result("open_incident"), a_result("active_release"), a_result("error_budget")]
    verdict = gate(occurrences=[], results=results)
    assert [c.check for c in verdict.checks] == [
        "freeze_window",
        "active_release",
        "error_budget",
        "open_incident",
    ]


@pytest.mark.parametrize(
    "occurrences",
    [(), (BLACK_FRIDAY,)],
    ids=["with no freeze", "during a freeze that has a known end"],
)
def test_a_block_from_another_check_has_no_next_allowed_time_and_names_the_check(
    occurrences: tuple[Occurrence, ...],
) -> None:
    results = [a_result("active_release", CheckOutcome.BLOCK), a_result("error_budget")]
    verdict = gate(occurrences=occurrences, results=results)
    assert verdict.decision is Decision.BLOCK
    assert verdict.next_allowed_at is None
    assert verdict.next_allowed_note == "blocked by active_release, which has no known end"


def test_several_blocking_checks_are_named_in_check_order_whatever_order_they_came_in() -> None:
    results = [
        a_result("open_incident", CheckOutcome.BLOCK),
        a_result("active_release", CheckOutcome.BLOCK),
    ]
    verdict = gate(occurrences=[], results=results)
    assert (verdict.next_allowed_note or "").startswith("blocked by active_release, open_incident,")


# --- the next allowed time --------------------------------------------------------------


def blocking(*spans: tuple[int, int]) -> list[FreezeWindow]:
    """Windows from T0 + a hours to T0 + b hours (ids in the order given)."""
    return [
        a_window(f"adhoc:{n}", starts_at=T0 + a * H, ends_at=T0 + b * H)
        for n, (a, b) in enumerate(spans)
    ]


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        (blocking((-1, 2)), T0 + 2 * H),
        (blocking((-1, 2), (1, 5)), T0 + 5 * H),
        (blocking((-1, 2), (2, 3)), T0 + 3 * H),
        (blocking((-1, 2), (2, 3), (3, 7)), T0 + 7 * H),
        (
            [
                *blocking((-1, 2)),
                a_window(
                    "adhoc:gap", starts_at=T0 + 2 * H + timedelta(seconds=1), ends_at=T0 + 9 * H
                ),
            ],
            T0 + 2 * H,
        ),
        (blocking((4, 9), (-1, 2), (2, 4)), T0 + 9 * H),
        (blocking((-1, 10), (2, 3)), T0 + 10 * H),
        (blocking((-9, -5), (-1, 2)), T0 + 2 * H),
        (blocking((-9, 0)), T0),
        (blocking((1, 3)), T0),
        ([], T0),
    ],
    ids=[
        "one window: its end",
        "overlapping windows chain",
        "touching windows chain",
        "a chain of three touching windows",
        "a one-second gap stops the chain",
        "windows listed out of order chain the same",
        "a window inside another does not shorten it",
        "a window over before the change is ignored",
        "a window that ends exactly at the change leaves it allowed",
        "a window that starts later leaves now allowed",
        "no windows: now",
    ],
)
def test_next_allowed_is_the_end_of_the_chain_of_windows_from_now(
    windows: list[FreezeWindow], expected: datetime
) -> None:
    assert next_allowed(windows, at=T0) == expected


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        (blocking((-1, 90 * 24)), T0 + HORIZON),
        (blocking((-1, 90 * 24 + 1)), None),
        (blocking((-1, 60 * 24), (60 * 24, 120 * 24)), None),
        (blocking((-1, 60 * 24), (60 * 24 + 1, 120 * 24)), T0 + 60 * 24 * H),
    ],
    ids=[
        "a chain ending exactly at the horizon ends in time",
        "a chain an hour past the horizon has no next time",
        "two touching windows past the horizon have no next time",
        "a gap before the horizon is found although a window runs past it",
    ],
)
def test_next_allowed_searches_up_to_the_horizon(
    windows: list[FreezeWindow], expected: datetime | None
) -> None:
    assert next_allowed(windows, at=T0, horizon=HORIZON) == expected


def test_a_chain_past_the_horizon_is_reported_as_none_within_90_days() -> None:
    windows = blocking((-1, 60 * 24), (60 * 24, 120 * 24))
    verdict = gate(at=T0, occurrences=[], windows=windows)
    assert (verdict.decision, verdict.next_allowed_at, verdict.next_allowed_note) == (
        Decision.BLOCK,
        None,
        "none within 90 days",
    )


def test_the_horizon_of_the_search_is_an_argument() -> None:
    verdict = gate(at=T0, occurrences=[], windows=blocking((-1, 8 * 24)), horizon=timedelta(days=7))
    assert (verdict.next_allowed_at, verdict.next_allowed_note) == (None, "none within 7 days")


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (a_window("adhoc:next", starts_at=T0 + 2 * H, ends_at=T0 + 6 * H), T0 + 6 * H),
        (
            a_window("adhoc:next", starts_at=T0 + 2 * H, ends_at=T0 + 6 * H, allow=ChangeType),
            T0 + 2 * H,
        ),
        (
            a_window(
                "adhoc:next", starts_at=T0 + 2 * H, ends_at=T0 + 6 * H, systems={"checkout-api"}
            ),
            T0 + 2 * H,
        ),
        (
            a_window(
                "adhoc:next", starts_at=T0 + 2 * H, ends_at=T0 + 6 * H, environments={"staging"}
            ),
            T0 + 2 * H,
        ),
    ],
    ids=[
        "a touching window that blocks the change extends the chain",
        "a touching window that allows the change does not",
        "a touching window on a system the change does not reach does not",
        "a touching window for another environment does not",
    ],
)
def test_only_windows_that_would_block_this_change_extend_the_wait(
    second: FreezeWindow, expected: datetime
) -> None:
    first = a_window("adhoc:now", starts_at=T0, ends_at=T0 + 2 * H)
    verdict = gate(at=T0 + H, occurrences=[], windows=[first, second])
    assert verdict.next_allowed_at == expected


def test_blocking_windows_are_those_that_apply_and_do_not_allow_the_change() -> None:
    windows = [
        a_window("adhoc:blocks"),
        a_window("adhoc:allows", allow={ChangeType.FEATURE}),
        a_window("adhoc:elsewhere", systems={"crm-sync"}),
        a_window("adhoc:downstream", systems={"landing-pages"}),
        a_window("adhoc:later", starts_at=T0 + 100 * H, ends_at=T0 + 101 * H),
    ]
    radius = {"cms": ("cms",), "landing-pages": ("cms", "landing-pages")}
    found = blocking_windows(windows, a_request("cms"), radius, production_like=True)
    assert [w.id for w in found] == ["adhoc:blocks", "adhoc:downstream", "adhoc:later"]


# --- campaigns at stake -----------------------------------------------------------------


def test_affected_campaigns_are_listed_with_tier_revenue_and_path() -> None:
    at = datetime(2026, 11, 26, 12, tzinfo=UTC)  # early access is live, Black Friday in its margin
    verdict = gate(at=at, occurrences=[EARLY_ACCESS, BLACK_FRIDAY])
    assert verdict.affected == (
        AffectedCampaign(
            campaign_id="black-friday",
            name="Black Friday 2026",
            tier=1,
            revenue_per_hour=185_000.0,
            currency="USD",
            starts_at=BLACK_FRIDAY.starts_at,
            ends_at=BLACK_FRIDAY.ends_at,
            path=("cms", "landing-pages", "Black Friday 2026"),
        ),
        AffectedCampaign(
            campaign_id="early-access",
            name="Early access",
            tier=2,
            revenue_per_hour=42_000.0,
            currency="USD",
            starts_at=EARLY_ACCESS.starts_at,
            ends_at=EARLY_ACCESS.ends_at,
            path=("cms", "email-renderer", "Early access"),
        ),
    )
    assert verdict.revenue_per_hour_at_stake == pytest.approx(227_000.0)


@pytest.mark.parametrize(
    ("at", "environment", "production_like", "expected"),
    [
        (datetime(2026, 11, 26, 12, tzinfo=UTC), "production", True, ["black-friday"]),
        (datetime(2026, 11, 30, 12, tzinfo=UTC), "production", True, ["black-friday"]),
        (datetime(2026, 11, 26, 12, tzinfo=UTC), "staging", False, []),
        (datetime(2026, 11, 28, 12, tzinfo=UTC), "staging", False, []),
        (datetime(2026, 11, 25, 12, tzinfo=UTC), "production", True, []),
        (datetime(2026, 12, 2, tzinfo=UTC), "production", True, []),
    ],
    ids=[
        "a campaign in its freeze margin before it starts is at stake",
        "a campaign in its freeze margin after it ends is at stake",
        "the margin does not count where the freeze does not apply",
        "a live campaign is not at stake from a staging deploy",
        "a campaign two days ahead, before its margin, is not",
        "a campaign past its margin is not",
    ],
)
def test_which_campaigns_are_at_stake(
    at: datetime, environment: str, production_like: bool, expected: list[str]
) -> None:
    verdict = gate(
        a_request("cms", environment=environment), at=at, production_like=production_like
    )
    assert [a.campaign_id for a in verdict.affected] == expected


def test_campaigns_at_stake_are_ordered_by_tier_then_revenue() -> None:
    at = datetime(2026, 11, 27, 12, tzinfo=UTC)
    occurrences = [
        an_occurrence("small", tier=2, revenue_per_hour=1_000.0),
        an_occurrence("big", tier=2, revenue_per_hour=50_000.0),
        an_occurrence("tier-one", tier=1, revenue_per_hour=10.0),
        an_occurrence("elsewhere", tier=1, systems=("crm-sync",)),
    ]
    verdict = gate(at=at, occurrences=occurrences)
    assert [a.campaign_id for a in verdict.affected] == ["tier-one", "big", "small"]
    assert verdict.revenue_per_hour_at_stake == pytest.approx(51_010.0)


# --- properties -------------------------------------------------------------------------

_RANK = {Decision.ALLOW: 0, Decision.WARN: 1, Decision.BLOCK: 2}


def _freeze_blocks(verdict: Verdict) -> bool:
    return freeze_of(verdict).outcome is CheckOutcome.BLOCK


def _fraction(data: st.DataObject) -> float:
    return data.draw(st.floats(min_value=0, max_value=1, exclude_max=True))


@property_settings(max_examples=150)
@given(
    scenario=gate_scenarios(others=False, horizons=(HORIZON, timedelta(days=1))),
    data=st.data(),
)
def test_the_next_allowed_time_is_allowed_and_every_instant_before_it_is_blocked(
    scenario: GateScenario, data: st.DataObject
) -> None:
    verdict = scenario.verdict()
    if verdict.decision is not Decision.BLOCK:
        assert (verdict.next_allowed_at, verdict.next_allowed_note) == (None, None)
        return
    assert _freeze_blocks(verdict)
    next_at = verdict.next_allowed_at
    if next_at is None:
        assert verdict.next_allowed_note == f"none within {scenario.horizon.days} days"
        until, closed = scenario.at + scenario.horizon, True
    else:
        assert verdict.next_allowed_note is None
        assert scenario.at < next_at <= scenario.at + scenario.horizon
        assert not _freeze_blocks(scenario.verdict(at=next_at))
        until, closed = next_at, False
    edges = {t for w in scenario.windows for t in (w.starts_at, w.ends_at)}
    points = {scenario.at + _fraction(data) * (until - scenario.at) for _ in range(3)}
    samples = {
        scenario.at,
        *(t for t in edges | points if scenario.at <= t < until or (closed and t == until)),
    }
    for instant in sorted(samples):
        assert _freeze_blocks(scenario.verdict(at=instant)), instant


@property_settings(max_examples=100)
@given(scenario=gate_scenarios(), data=st.data())
def test_adding_a_freeze_window_never_loosens_the_verdict(
    scenario: GateScenario, data: st.DataObject
) -> None:
    added = data.draw(freeze_windows("added", list(scenario.depends_on)))
    before = scenario.verdict()
    after = scenario.verdict(extra_windows=(*scenario.extra_windows, added))
    assert _RANK[after.decision] >= _RANK[before.decision]
    assert {a.campaign_id for a in before.affected} <= {a.campaign_id for a in after.affected}
    if before.decision is Decision.BLOCK:
        assert after.decision is Decision.BLOCK
        if before.next_allowed_at is None:
            assert after.next_allowed_at is None
        elif after.next_allowed_at is not None:
            assert after.next_allowed_at >= before.next_allowed_at


@property_settings(max_examples=100)
@given(scenario=gate_scenarios(), data=st.data())
def test_the_verdict_does_not_depend_on_the_order_anything_is_listed(
    scenario: GateScenario, data: st.DataObject
) -> None:
    def shuffled(items: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(data.draw(st.permutations(items)))

    systems = shuffled(list(scenario.depends_on))
    reordered = GateScenario(
        request=scenario.request,
        at=scenario.at,
        depends_on={s: shuffled(scenario.depends_on[s]) for s in systems},
        production_like=scenario.production_like,
        occurrences=shuffled(scenario.occurrences),
        policies=shuffled(scenario.policies),
        extra_windows=scenario.extra_windows,
        results=shuffled(scenario.results),
        overrides=shuffled(scenario.overrides),
        horizon=scenario.horizon,
    )
    windows = shuffled(reordered.windows)
    assert reordered.verdict(windows=windows) == scenario.verdict()


@property_settings(max_examples=50)
@given(scenario=gate_scenarios(), data=st.data())
def test_a_blocking_check_is_never_hidden_by_freezes_or_overrides(
    scenario: GateScenario, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(["active_release", "error_budget", "open_incident"]))
    results = (
        *(r for r in scenario.results if r.check != name),
        a_result(name, CheckOutcome.BLOCK),
    )
    verdict = scenario.verdict(results=results)
    assert verdict.decision is Decision.BLOCK
    assert verdict.next_allowed_at is None
    assert name in (verdict.next_allowed_note or "")


def test_a_freeze_that_names_staging_puts_its_campaign_at_stake_there() -> None:
    at = datetime(2026, 11, 28, 12, tzinfo=UTC)
    staging_freeze = a_window(
        "campaign:black-friday",
        kind=FreezeKind.CAMPAIGN,
        name="Black Friday 2026",
        starts_at=BLACK_FRIDAY.starts_at,
        ends_at=BLACK_FRIDAY.ends_at,
        systems=BLACK_FRIDAY.systems,
        environments={"staging"},
        campaign_id="black-friday",
    )

    verdict = gate(
        a_request("cms", environment="staging"),
        at=at,
        production_like=False,
        windows=[staging_freeze],
    )

    assert verdict.decision is Decision.BLOCK
    assert [a.campaign_id for a in verdict.affected] == ["black-friday"]
    assert verdict.revenue_per_hour_at_stake == pytest.approx(BLACK_FRIDAY.revenue_per_hour)
