"""definition_of / tiers_of: stored OpenSLO documents become the model the evaluator uses."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from launchdeck.reliability.burn import DEFAULT_TIERS
from launchdeck.reliability.definition import definition_of, tiers_of
from launchdeck.reliability.model import BudgetingMethod, IndicatorKind
from launchdeck.reliability.openslo_files import parse_openslo, resolve
from launchdeck.reliability.sloth import import_sloth
from launchdeck.workspace.model import Slo

ROOT = Path(__file__).resolve().parents[3]


def stored(text: str) -> Slo:
    """The SLO as the workspace loader stores it: resolved, dumped to JSON."""
    [resolved] = resolve(parse_openslo(text, source="slo.yaml"))
    return Slo(
        id=resolved.slo.metadata.name,
        system="checkout-api",
        file="slo.yaml",
        document=resolved.slo.model_dump(mode="json", exclude_none=True),
        datasource=(
            resolved.data_source.model_dump(mode="json", exclude_none=True)
            if resolved.data_source
            else None
        ),
    )


def an_slo(indicator: str, *, extra: str = "", objectives: str = "    - target: 0.999") -> str:
    return f"""
apiVersion: openslo/v1
kind: SLO
metadata: {{name: checkout-availability, displayName: Checkout availability}}
spec:
  service: checkout-api
  budgetingMethod: Occurrences
  timeWindow: [{{duration: 28d, isRolling: true}}]
  indicator:
    metadata: {{name: checkout-sli}}
    spec:
{indicator}
  objectives:
{objectives}
{extra}"""


GOOD_TOTAL = """      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(ok[5m]))'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(all[5m]))'}}}"""


def test_a_good_total_ratio_maps_its_queries_window_method_and_objective() -> None:
    d = definition_of(stored(an_slo(GOOD_TOTAL)))

    assert d.name == "checkout-availability"
    assert d.display_name == "Checkout availability"
    assert d.system == d.service == "checkout-api"
    assert d.indicator.kind is IndicatorKind.GOOD_TOTAL
    assert (d.indicator.good, d.indicator.total) == ("sum(rate(ok[5m]))", "sum(rate(all[5m]))")
    assert (d.window.duration, d.window.rolling) == ("28d", True)
    assert d.method is BudgetingMethod.OCCURRENCES
    assert [(o.name, o.target) for o in d.objectives] == [("objective-1", 0.999)]


def test_bad_total_and_raw_ratios_keep_their_kind() -> None:
    bad = """      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(err[5m]))'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'sum(rate(all[5m]))'}}}"""
    raw = """      ratioMetric:
        rawType: failure
        raw: {metricSource: {type: Prometheus, spec: {query: 'error_ratio'}}}"""

    assert definition_of(stored(an_slo(bad))).indicator.kind is IndicatorKind.BAD_TOTAL
    raw_indicator = definition_of(stored(an_slo(raw))).indicator
    assert (raw_indicator.kind, raw_indicator.raw, raw_indicator.raw_type) == (
        IndicatorKind.RAW,
        "error_ratio",
        "failure",
    )


def test_a_threshold_objective_keeps_its_op_and_value() -> None:
    threshold = """      thresholdMetric:
        metricSource: {type: Prometheus, spec: {query: 'histogram_quantile(0.99, x)'}}"""
    d = definition_of(
        stored(
            an_slo(
                threshold,
                objectives="    - {displayName: Fast, op: lte, value: 0.3, target: 0.99}",
            )
        )
    )

    assert d.indicator.kind is IndicatorKind.THRESHOLD
    [objective] = d.objectives
    assert (objective.name, objective.op, objective.value, objective.target) == (
        "Fast",
        "lte",
        0.3,
        0.99,
    )


def test_target_percent_and_slice_windows_become_ratios_and_durations() -> None:
    text = an_slo(
        GOOD_TOTAL,
        objectives="    - {targetPercent: 99.5, timeSliceTarget: 0.9, timeSliceWindow: 5}\n"
        "    - {targetPercent: 99, timeSliceTarget: 0.95, timeSliceWindow: 1h}",
    ).replace("budgetingMethod: Occurrences", "budgetingMethod: Timeslices")
    d = definition_of(stored(text))

    assert d.method is BudgetingMethod.TIMESLICES
    assert [o.target for o in d.objectives] == pytest.approx([0.995, 0.99])
    assert [o.time_slice_window for o in d.objectives] == [
        timedelta(minutes=5),  # a bare number is minutes
        timedelta(hours=1),
    ]


def test_a_calendar_window_keeps_its_start_and_zone() -> None:
    text = an_slo(GOOD_TOTAL).replace(
        "timeWindow: [{duration: 28d, isRolling: true}]",
        "timeWindow: [{duration: 1M, calendar: "
        "{startTime: '2026-01-01 00:00:00', timeZone: America/New_York}}]",
    )
    window = definition_of(stored(text)).window

    assert (window.duration, window.rolling, window.timezone) == ("1M", False, "America/New_York")
    assert window.calendar_start == datetime(2026, 1, 1)


def test_a_data_source_url_is_where_the_sli_is_read() -> None:
    text = (
        an_slo(GOOD_TOTAL.replace("type: Prometheus, spec", "metricSourceRef: prom, spec"))
        + """---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec: {type: Prometheus, connectionDetails: {url: 'http://prometheus.internal:9090'}}
"""
    )
    assert definition_of(stored(text)).indicator.source_url == "http://prometheus.internal:9090"


def test_without_burnrate_conditions_the_default_tiers_apply() -> None:
    assert tiers_of(stored(an_slo(GOOD_TOTAL)), DEFAULT_TIERS) == list(DEFAULT_TIERS)


def test_openslo_burnrate_conditions_become_the_tiers() -> None:
    policies = """  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: checkout-paging, labels: {team: payments}}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: fast-burn}
            spec:
              severity: page
              condition: {kind: burnrate, op: gt, threshold: 14.4, lookbackWindow: 1h,
                          alertAfter: 5m}
        notificationTargets:
          - kind: AlertNotificationTarget
            metadata: {name: payments-pager}
            spec: {target: pagerduty}
"""
    [tier] = tiers_of(stored(an_slo(GOOD_TOTAL, extra=policies)), DEFAULT_TIERS)

    assert (tier.name, tier.severity, tier.long, tier.short) == (
        "fast-burn",
        "page",
        timedelta(hours=1),
        timedelta(minutes=5),
    )
    assert tier.factor(timedelta(days=28)) == 14.4  # given outright, not derived
    assert dict(tier.labels) == {"team": "payments"}


def test_an_imported_sloth_spec_keeps_its_disabled_alerts_and_labels() -> None:
    documents = import_sloth(ROOT / "tests" / "fixtures" / "openslo" / "sloth-checkout.yaml")
    by_name = {
        d.metadata.name: tiers_of(
            Slo(
                id=d.metadata.name,
                system="checkout-api",
                file="sloth.yaml",
                document=d.model_dump(mode="json", exclude_none=True),
            ),
            DEFAULT_TIERS,
        )
        for d in documents
        if d.kind == "SLO"
    }

    availability = by_name["checkout-api-requests-availability"]
    authorisation = by_name["checkout-api-payment-authorisation"]
    assert all(t.enabled for t in availability)
    page = [t for t in availability if t.severity == "page"]
    ticket = [t for t in availability if t.severity == "ticket"]
    assert {t.labels["routing_key"] for t in page} == {"payments"}
    assert {t.labels["slack_channel"] for t in ticket} == {"#alerts-payments"}
    assert {t.labels["category"] for t in availability} == {"availability"}
    # page_alert.disable: the page tiers are off, the ticket tiers stay on.
    assert [t.enabled for t in authorisation if t.severity == "page"] == [False, False]
    assert [t.enabled for t in authorisation if t.severity == "ticket"] == [True, True]
