"""Generated Prometheus rules, as data: Sloth's layout, names and labels, event-weighted periods.

promtool and a live Prometheus check the same output elsewhere; these assert its structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from launchdeck.reliability.budget import TargetSpan
from launchdeck.reliability.burn import DEFAULT_TIERS, AlertTier
from launchdeck.reliability.model import (
    BudgetingMethod,
    Indicator,
    IndicatorKind,
    Objective,
    SloDefinition,
    TimeWindow,
)
from launchdeck.reliability.rules import RuleSet, generate_rules, objective_id, rules_yaml

GOOD = 'sum(rate(http_requests_total{job="checkout",code!~"5.."}[{{.window}}]))'
TOTAL = 'sum(rate(http_requests_total{job="checkout"}[{{.window}}]))'
AVAILABILITY = Objective("availability", 0.999)
SEL = '{sloth_id="checkout-availability"}'
ON = "on(sloth_id, sloth_service, sloth_slo)"


def a_definition(
    *,
    method: BudgetingMethod = BudgetingMethod.OCCURRENCES,
    indicator: Indicator | None = None,
    window: str = "30d",
    objectives: Sequence[Objective] = (AVAILABILITY,),
    labels: dict[str, str] | None = None,
) -> SloDefinition:
    return SloDefinition(
        name="checkout-availability",
        system="checkout-web",
        service="checkout",
        display_name="Checkout availability",
        indicator=indicator or Indicator(IndicatorKind.GOOD_TOTAL, good=GOOD, total=TOTAL),
        window=TimeWindow(window),
        method=method,
        objectives=tuple(objectives),
        labels=labels or {},
    )


def groups_of(
    definition: SloDefinition | None = None,
    objective: Objective = AVAILABILITY,
    *,
    tiers: Sequence[AlertTier] = DEFAULT_TIERS,
    spans: Sequence[TargetSpan] = (),
    min_events: float = 0,
) -> dict[str, list[dict[str, Any]]]:
    rules = RuleSet(definition or a_definition(), objective, tiers, min_events, spans)
    return {g["name"]: g["rules"] for g in generate_rules([rules])["groups"]}


def record(rules: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [r for r in rules if r.get("record") == name]
    return found


SLI_GROUP = "sloth-slo-sli-recordings-checkout-availability"
META_GROUP = "sloth-slo-meta-recordings-checkout-availability"
ALERT_GROUP = "sloth-slo-alerts-checkout-availability"


def test_each_objective_gets_sloths_three_groups() -> None:
    assert list(groups_of()) == [SLI_GROUP, META_GROUP, ALERT_GROUP]


def test_sli_recordings_cover_every_alert_window_and_the_period() -> None:
    sli = groups_of()[SLI_GROUP]
    windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert [r["record"] for r in sli] == [f"slo:sli_error:ratio_rate{w}" for w in windows]
    assert [r["labels"]["sloth_window"] for r in sli] == windows
    assert sli[0]["expr"] == (
        '1 - ((sum(rate(http_requests_total{job="checkout",code!~"5.."}[5m]))) / '
        '(sum(rate(http_requests_total{job="checkout"}[5m]))))'
    )


def test_meta_recordings_use_sloths_names() -> None:
    meta = groups_of()[META_GROUP]
    assert [r["record"] for r in meta] == [
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    ]
    assert record(meta, "slo:objective:ratio")["expr"] == "vector(0.999)"
    assert record(meta, "slo:error_budget:ratio")["expr"] == f"1 - slo:objective:ratio{SEL}"
    assert record(meta, "slo:time_period:days")["expr"] == "vector(30)"
    assert record(meta, "slo:current_burn_rate:ratio")["expr"] == (
        f"slo:sli_error:ratio_rate5m{SEL} / {ON} group_left() slo:error_budget:ratio{SEL}"
    )
    assert record(meta, "slo:period_burn_rate:ratio")["expr"] == (
        f"slo:sli_error:ratio_rate30d{SEL} / {ON} group_left() slo:error_budget:ratio{SEL}"
    )
    assert record(meta, "slo:period_error_budget_remaining:ratio")["expr"] == (
        f"1 - slo:period_burn_rate:ratio{SEL}"
    )
    info = record(meta, "sloth_slo_info")
    assert info["expr"] == "vector(1)"
    assert info["labels"]["sloth_objective"] == "99.9"
    assert info["labels"]["sloth_mode"] == "launchdeck"


def test_every_rule_carries_sloths_identity_labels() -> None:
    expected = {
        "sloth_id": "checkout-availability",
        "sloth_service": "checkout",
        "sloth_slo": "checkout-availability",
    }
    for rules in groups_of().values():
        for rule in rules:
            assert expected.items() <= rule["labels"].items()


def test_the_occurrences_period_ratio_is_event_weighted_over_the_whole_period() -> None:
    period = record(groups_of()[SLI_GROUP], "slo:sli_error:ratio_rate30d")
    assert period["expr"] == (
        '1 - ((sum(rate(http_requests_total{job="checkout",code!~"5.."}[30d]))) / '
        '(sum(rate(http_requests_total{job="checkout"}[30d]))))'
    )
    assert "avg_over_time" not in period["expr"]
    assert "ratio_rate5m" not in period["expr"]


def test_a_bad_total_indicator_divides_bad_by_total() -> None:
    indicator = Indicator(
        IndicatorKind.BAD_TOTAL,
        bad='sum(rate(http_requests_total{code=~"5.."}[5m]))',
        total="sum(rate(http_requests_total[5m]))",
    )
    sli = groups_of(a_definition(indicator=indicator, window="28d"))[SLI_GROUP]
    assert record(sli, "slo:sli_error:ratio_rate28d")["expr"] == (
        '(sum(rate(http_requests_total{code=~"5.."}[28d]))) / (sum(rate(http_requests_total[28d])))'
    )


@pytest.mark.parametrize(
    ("raw_type", "expected"),
    [("failure", "(avg(errors_ratio[1h]))"), ("success", "1 - (avg(errors_ratio[1h]))")],
    ids=["a ratio of failures is the error ratio", "a ratio of successes is inverted"],
)
def test_a_raw_indicator_is_used_as_the_error_ratio(raw_type: str, expected: str) -> None:
    indicator = Indicator(IndicatorKind.RAW, raw="avg(errors_ratio[5m])", raw_type=raw_type)  # type: ignore[arg-type]
    sli = groups_of(a_definition(indicator=indicator))[SLI_GROUP]
    assert record(sli, "slo:sli_error:ratio_rate1h")["expr"] == expected


def test_a_threshold_indicator_counts_steps_breaking_the_objective() -> None:
    indicator = Indicator(
        IndicatorKind.THRESHOLD, threshold="histogram_quantile(0.95, sum by (le) (rate(b[5m])))"
    )
    objective = Objective("p95 under 300ms", 0.99, op="lt", value=0.3)
    sli = groups_of(a_definition(indicator=indicator, objectives=[objective]), objective)[SLI_GROUP]
    assert record(sli, "slo:sli_error:ratio_rate5m")["expr"] == (
        "(histogram_quantile(0.95, sum by (le) (rate(b[5m])))) >= bool 0.3"
    )


def test_timeslices_count_bad_slices_over_the_period() -> None:
    objective = Objective(
        "availability", 0.95, time_slice_target=0.9, time_slice_window=timedelta(minutes=1)
    )
    definition = a_definition(
        method=BudgetingMethod.TIMESLICES, window="14d", objectives=[objective]
    )
    sli = groups_of(definition, objective)[SLI_GROUP]
    assert sli[0]["record"] == "slo:sli_error:ratio_rate1m"
    period = record(sli, "slo:sli_error:ratio_rate14d")
    assert period["expr"].startswith(f"avg_over_time((slo:sli_error:ratio_rate1m{SEL} > bool 0.")
    assert period["expr"].endswith(")[14d:1m])")


def test_ratio_timeslices_average_the_slice_ratios_over_the_period() -> None:
    objective = Objective("availability", 0.95, time_slice_window=timedelta(minutes=1))
    definition = a_definition(
        method=BudgetingMethod.RATIO_TIMESLICES, window="14d", objectives=[objective]
    )
    period = record(groups_of(definition, objective)[SLI_GROUP], "slo:sli_error:ratio_rate14d")
    assert period["expr"] == f"avg_over_time(slo:sli_error:ratio_rate1m{SEL}[14d:1m])"


def test_a_calendar_month_uses_its_nominal_thirty_days() -> None:
    groups = groups_of(a_definition(window="1M"))
    assert groups[SLI_GROUP][-1]["record"] == "slo:sli_error:ratio_rate30d"
    assert record(groups[META_GROUP], "slo:time_period:days")["expr"] == "vector(30)"


def test_a_protected_span_switches_the_objective_on_the_clock() -> None:
    start = datetime(2026, 11, 27, tzinfo=UTC)
    end = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    spans = [
        TargetSpan(start, end, 0.9999, "Black Friday"),
        TargetSpan(start, end, 0.99, "looser than the base: ignored"),
    ]
    objective = record(groups_of(spans=spans)[META_GROUP], "slo:objective:ratio")
    assert objective["expr"] == (
        f"(vector(0.9999) and on() (vector(time()) >= {start.timestamp():.0f} "
        f"< {end.timestamp():.0f})) or on() vector(0.999)"
    )


def test_alerts_compare_both_windows_against_the_factor_times_the_budget() -> None:
    alerts = groups_of()[ALERT_GROUP]
    assert [a["alert"] for a in alerts] == [
        "CheckoutAvailabilityBurnRatePageFast",
        "CheckoutAvailabilityBurnRatePageSlow",
        "CheckoutAvailabilityBurnRateTicketFast",
        "CheckoutAvailabilityBurnRateTicketSlow",
    ]
    fast = alerts[0]
    assert f"max(slo:sli_error:ratio_rate1h{SEL} > {ON} group_left() " in fast["expr"]
    assert f"max(slo:sli_error:ratio_rate5m{SEL} > {ON} group_left() " in fast["expr"]
    assert f"(14.4 * slo:error_budget:ratio{SEL})) without (sloth_window)" in fast["expr"]
    assert "(0.933333 * slo:error_budget:ratio" not in fast["expr"]
    assert fast["labels"]["severity"] == fast["labels"]["sloth_severity"] == "page"
    assert fast["labels"]["tier"] == "page-fast"
    assert alerts[3]["labels"]["severity"] == "ticket"
    assert "(1 * slo:error_budget:ratio" in alerts[3]["expr"]
    assert "14.4x" in fast["annotations"]["title"]


def test_alerts_carry_the_slo_and_tier_labels() -> None:
    tiers = [replace(DEFAULT_TIERS[0], labels={"team": "sre", "route": "pager"})]
    (alert,) = groups_of(
        a_definition(labels={"team": "payments", "tier": "overridden"}), tiers=tiers
    )[ALERT_GROUP]
    assert alert["labels"]["route"] == "pager"
    assert alert["labels"]["team"] == "sre"  # the tier's own labels win
    assert alert["labels"]["tier"] == "page-fast"  # and the tier name beats an SLO label


def test_a_minimum_events_guard_joins_the_alert_expression() -> None:
    (alert, *_) = groups_of(min_events=100)[ALERT_GROUP]
    assert alert["expr"].endswith(
        '\nand on() ((sum(rate(http_requests_total{job="checkout"}[1h]))) * 3600 >= 100)'
    )
    (unguarded, *_) = groups_of()[ALERT_GROUP]
    assert ">= 100" not in unguarded["expr"]


def test_disabled_tiers_produce_no_alert_and_no_windows_of_their_own() -> None:
    tiers = [replace(t, enabled=t.name == "page-fast") for t in DEFAULT_TIERS]
    groups = groups_of(tiers=tiers)
    assert [a["alert"] for a in groups[ALERT_GROUP]] == ["CheckoutAvailabilityBurnRatePageFast"]
    assert [r["labels"]["sloth_window"] for r in groups[SLI_GROUP]] == ["5m", "1h", "30d"]
    none_enabled = groups_of(tiers=[replace(t, enabled=False) for t in DEFAULT_TIERS])
    assert list(none_enabled) == [SLI_GROUP, META_GROUP]


def test_a_factor_override_is_the_alert_threshold() -> None:
    tiers = [replace(DEFAULT_TIERS[0], factor_override=2.5)]
    (alert,) = groups_of(tiers=tiers)[ALERT_GROUP]
    assert f"(2.5 * slo:error_budget:ratio{SEL})" in alert["expr"]


def test_objectives_of_a_multi_objective_slo_get_their_own_ids_and_groups() -> None:
    fast = Objective("Latency < 300 ms", 0.99)
    slow = Objective("Latency < 1 s", 0.999)
    definition = a_definition(objectives=[fast, slow])
    assert objective_id(definition, fast) == "checkout-availability-latency-300-ms"
    assert objective_id(definition, slow) == "checkout-availability-latency-1-s"
    assert objective_id(a_definition(), AVAILABILITY) == "checkout-availability"
    rules = [RuleSet(definition, o, DEFAULT_TIERS) for o in (fast, slow)]
    names = [g["name"] for g in generate_rules(rules)["groups"]]
    assert len(names) == len(set(names)) == 6
    assert "sloth-slo-meta-recordings-checkout-availability-latency-1-s" in names
    slow_meta = generate_rules(rules)["groups"][4]["rules"]
    assert record(slow_meta, "slo:objective:ratio")["expr"] == "vector(0.999)"
    assert record(slow_meta, "slo:objective:ratio")["labels"]["sloth_slo"] == (
        "checkout-availability"
    )


def test_rules_yaml_parses_back_to_the_same_rules() -> None:
    rules = [RuleSet(a_definition(), AVAILABILITY, DEFAULT_TIERS, 100)]
    text = rules_yaml(rules)
    assert text.startswith("# Generated by launchdeck from OpenSLO definitions")
    assert yaml.safe_load(text) == generate_rules(rules)
    assert "expr: |" in text  # multi-line alert expressions stay readable
