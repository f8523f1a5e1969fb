"""The OpenSLO v1 models: every kind parses, and every mistake says what to write instead."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from launchdeck.reliability import openslo
from launchdeck.reliability.model import BudgetingMethod
from launchdeck.reliability.openslo import (
    SLI,
    SLO,
    AlertCondition,
    AlertNotificationTarget,
    AlertNotificationTargetRef,
    AlertPolicy,
    AlertPolicyRef,
    DataSource,
    Objective,
    Service,
    parse_document,
)
from launchdeck.reliability.openslo_types import fixed_duration, name_problem, split_duration
from launchdeck.yamlpos import Problem, schema_problems, without_echoes


def a_metric(query: str = "sum(rate(http_requests_total[5m]))") -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def an_indicator(**spec: Any) -> dict[str, Any]:
    ratio = {"counter": True, "good": a_metric("good"), "total": a_metric("total")}
    return {"metadata": {"name": "good-requests"}, "spec": spec or {"ratioMetric": ratio}}


def an_slo(**spec: Any) -> dict[str, Any]:
    """The smallest valid SLO document; keyword arguments replace fields of `spec`."""
    base: dict[str, Any] = {
        "service": "checkout-api",
        "indicator": an_indicator(),
        "timeWindow": [{"duration": "28d", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"displayName": "Available", "target": 0.999}],
    }
    merged = {key: value for key, value in {**base, **spec}.items() if value is not None}
    return {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {"name": "checkout-availability"},
        "spec": merged,
    }


def problems(data: dict[str, Any]) -> list[Problem]:
    """The located problems of an invalid document, as a loader reports them."""
    model = openslo.DOCUMENT_KINDS[data["kind"]]
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    found = schema_problems(caught.value, data, model, tags=openslo.UNION_TAGS)
    return [p for p, _ in without_echoes(found)]


def only(data: dict[str, Any]) -> Problem:
    found = problems(data)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("data", "model"),
    [
        ({"kind": "Service", "metadata": {"name": "checkout-api"}}, Service),
        (
            {
                "kind": "DataSource",
                "metadata": {"name": "prometheus"},
                "spec": {"type": "Prometheus", "connectionDetails": {"url": "http://p:9090"}},
            },
            DataSource,
        ),
        ({"kind": "SLI", **an_indicator()}, SLI),
        (an_slo(), SLO),
        (
            {
                "kind": "AlertCondition",
                "metadata": {"name": "fast-burn"},
                "spec": {
                    "severity": "page",
                    "condition": {"kind": "burnrate", "threshold": 14.4, "lookbackWindow": "1h"},
                },
            },
            AlertCondition,
        ),
        (
            {
                "kind": "AlertNotificationTarget",
                "metadata": {"name": "on-call"},
                "spec": {"target": "pagerduty"},
            },
            AlertNotificationTarget,
        ),
        (
            {
                "kind": "AlertPolicy",
                "metadata": {"name": "page"},
                "spec": {
                    "conditions": [{"conditionRef": "fast-burn"}],
                    "notificationTargets": [{"targetRef": "on-call"}],
                },
            },
            AlertPolicy,
        ),
    ],
    ids=[
        "Service",
        "DataSource",
        "SLI",
        "SLO",
        "AlertCondition",
        "AlertNotificationTarget",
        "AlertPolicy",
    ],
)
def test_every_kind_parses_by_its_kind(data: dict[str, Any], model: type) -> None:
    document = parse_document({"apiVersion": "openslo/v1", **data})
    assert type(document) is model
    assert document.metadata.name == data["metadata"]["name"]


def test_a_slo_reads_as_the_spec_writes_it() -> None:
    slo = parse_document(
        an_slo(
            description="Checkout requests without a server error",
            alertPolicies=[
                {"alertPolicyRef": "page"},
                {
                    "kind": "AlertPolicy",
                    "metadata": {"name": "inline"},
                    "spec": {
                        "conditions": [{"conditionRef": "fast-burn"}],
                        "notificationTargets": [
                            {
                                "kind": "AlertNotificationTarget",
                                "metadata": {"name": "mail"},
                                "spec": {"target": "email"},
                            },
                        ],
                    },
                },
            ],
        )
    )
    assert isinstance(slo, SLO)
    assert slo.spec.budgetingMethod is BudgetingMethod.OCCURRENCES
    assert slo.spec.window.duration == "28d"
    assert slo.spec.window.rolling is True
    assert isinstance(slo.spec.alertPolicies[0], AlertPolicyRef)
    inline = slo.spec.alertPolicies[1]
    assert isinstance(inline, AlertPolicy)
    assert inline.spec.alertWhenBreaching is True
    assert inline.spec.alertWhenNoData is False
    assert isinstance(inline.spec.notificationTargets[0], AlertNotificationTarget)


def test_a_calendar_window_keeps_a_naive_start_and_its_zone() -> None:
    calendar = {"startTime": "2026-01-01 00:00:00", "timeZone": "America/New_York"}
    slo = SLO.model_validate(an_slo(timeWindow=[{"duration": "1M", "calendar": calendar}]))
    window = slo.spec.window
    assert window.rolling is False
    assert window.calendar is not None
    assert window.calendar.startTime == datetime(2026, 1, 1)
    assert window.calendar.model_dump()["startTime"] == "2026-01-01 00:00:00"


@pytest.mark.parametrize(
    ("objective", "ratio"),
    [({"target": 0.999}, 0.999), ({"targetPercent": 99.95}, 0.9995), ({"target": 0}, 0.0)],
    ids=["a target is already a ratio", "a percentage is divided by 100", "zero is allowed"],
)
def test_an_objective_gives_its_target_as_a_ratio(
    objective: dict[str, float], ratio: float
) -> None:
    assert Objective.model_validate(objective).target_ratio == pytest.approx(ratio)


@pytest.mark.parametrize(
    ("window", "length"),
    [(5, timedelta(minutes=5)), (1.5, timedelta(seconds=90)), ("2h", timedelta(hours=2))],
    ids=["a bare number counts minutes", "fractions of a minute", "a shorthand"],
)
def test_a_time_slice_window_reads_as_a_timedelta(window: float | str, length: timedelta) -> None:
    objective = Objective.model_validate({"target": 0.99, "timeSliceWindow": window})
    assert objective.time_slice == length


def test_durations_split_and_fixed_units_convert() -> None:
    assert split_duration("28d") == (28, "d")
    assert fixed_duration("4w") == timedelta(weeks=4)
    assert fixed_duration("1M") is None
    with pytest.raises(ValueError, match="not a duration shorthand"):
        split_duration("28 days")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("checkout-api", True),
        ("a" * 63, True),
        ("team.checkout/api", True),
        ("a" * 256, False),
        ("Checkout", False),
        ("checkout_api", False),
        ("-checkout", False),
    ],
    ids=[
        "rfc1123",
        "63 characters",
        "extended characters",
        "too long",
        "uppercase",
        "underscore",
        "leading dash",
    ],
)
def test_names_follow_rfc1123_or_the_extended_form(name: str, ok: bool) -> None:
    assert (name_problem(name) is None) is ok


CASES = [
    (
        "a target written as a percentage",
        an_slo(objectives=[{"target": 99.9}]),
        ("spec", "objectives", 0, "target"),
        "target 99.9 is a percentage, but target is a ratio in [0, 1)",
        "write targetPercent: 99.9 (or target: 0.999)",
    ),
    (
        "a target of 1 leaves no budget",
        an_slo(objectives=[{"target": 1}]),
        ("spec", "objectives", 0, "target"),
        "target 1 (100 %) leaves no error budget",
        "the highest target is below 1",
    ),
    (
        "target and targetPercent together",
        an_slo(objectives=[{"target": 0.99, "targetPercent": 99}]),
        ("spec", "objectives", 0, "targetPercent"),
        "give target or targetPercent, not both",
        "keep one",
    ),
    (
        "an objective without a target",
        an_slo(objectives=[{"displayName": "Available"}]),
        ("spec", "objectives", 0),
        "an objective needs a target",
        "add target: 0.999 or targetPercent: 99.9",
    ),
    (
        "a timeSliceTarget written as a percentage",
        an_slo(objectives=[{"target": 0.99, "timeSliceTarget": 95}]),
        ("spec", "objectives", 0, "timeSliceTarget"),
        "timeSliceTarget 95.0 is a percentage, but it is a ratio in (0, 1]",
        "write timeSliceTarget: 0.95",
    ),
    (
        "a duration with a space and a word",
        an_slo(timeWindow=[{"duration": "30 days", "isRolling": True}]),
        ("spec", "timeWindow", 0, "duration"),
        "'30 days' is not a duration shorthand",
        "write 30d",
    ),
    (
        "a duration with an upper-case day",
        an_slo(timeWindow=[{"duration": "30D", "isRolling": True}]),
        ("spec", "timeWindow", 0, "duration"),
        "'30D' is not a duration shorthand",
        "did you mean 30d? units are case-sensitive",
    ),
    (
        "two time windows",
        an_slo(timeWindow=[{"duration": "28d", "isRolling": True}] * 2),
        ("spec", "timeWindow"),
        "timeWindow takes exactly one window, got 2",
        "e.g. timeWindow: [{duration: 28d, isRolling: true}]",
    ),
    (
        "a window neither rolling nor calendar-aligned",
        an_slo(timeWindow=[{"duration": "28d"}]),
        ("spec", "timeWindow", 0),
        "the window is neither rolling nor calendar-aligned",
        "add isRolling: true, or calendar: {startTime: ..., timeZone: ...}",
    ),
    (
        "a rolling window with a calendar",
        an_slo(
            timeWindow=[
                {
                    "duration": "1M",
                    "isRolling": True,
                    "calendar": {"startTime": "2026-01-01 00:00:00", "timeZone": "UTC"},
                }
            ]
        ),
        ("spec", "timeWindow", 0, "calendar"),
        "a rolling window has no calendar",
        "remove calendar:, or set isRolling: false for a calendar-aligned window",
    ),
    (
        "a misspelt time zone",
        an_slo(
            timeWindow=[
                {
                    "duration": "1M",
                    "calendar": {"startTime": "2026-01-01 00:00:00", "timeZone": "Europe/Pari"},
                }
            ]
        ),
        ("spec", "timeWindow", 0, "calendar", "timeZone"),
        "unknown time zone 'Europe/Pari'",
        "did you mean 'Europe/Paris'?",
    ),
    (
        "a start time with its own offset",
        an_slo(
            timeWindow=[
                {
                    "duration": "1M",
                    "calendar": {
                        "startTime": datetime.fromisoformat("2026-01-01T00:00:00+01:00"),
                        "timeZone": "Europe/Paris",
                    },
                }
            ]
        ),
        ("spec", "timeWindow", 0, "calendar", "startTime"),
        "startTime has no time zone of its own",
        "put it in timeZone; write it as 'YYYY-MM-DD HH:MM:SS', e.g. 2026-01-01 00:00:00",
    ),
    (
        "an indicator and an indicatorRef",
        an_slo(indicatorRef="good-requests"),
        ("spec", "indicatorRef"),
        "give indicator or indicatorRef, not both",
        None,
    ),
    (
        "no indicator at all",
        {**an_slo(), "spec": {**an_slo()["spec"], "indicator": None}},
        ("spec",),
        "an SLO needs an indicator",
        "add indicatorRef: <SLI name> or indicator:",
    ),
    (
        "Timeslices without a slice window",
        an_slo(budgetingMethod="Timeslices", objectives=[{"target": 0.99, "timeSliceTarget": 0.9}]),
        ("spec", "objectives", 0),
        "budgetingMethod Timeslices needs timeSliceWindow",
        "add timeSliceWindow: 5m (the size of one slice)",
    ),
    (
        "a time slice of a month",
        an_slo(
            budgetingMethod="RatioTimeslices",
            objectives=[{"target": 0.99, "timeSliceWindow": "1M"}],
        ),
        ("spec", "objectives", 0, "timeSliceWindow"),
        "'1M' is not a fixed length",
        "use minutes, hours, days or weeks",
    ),
    (
        "a threshold objective without op and value",
        an_slo(indicator=an_indicator(thresholdMetric=a_metric("latency"))),
        ("spec", "objectives", 0),
        "a thresholdMetric objective needs op and value",
        "e.g. op: lte and value: 0.3 (good while the value is at most 0.3)",
    ),
    (
        "a threshold SLO with two objectives",
        an_slo(
            indicator=an_indicator(thresholdMetric=a_metric("latency")),
            objectives=[{"op": "lte", "value": 1, "target": 0.9}] * 2,
        ),
        ("spec", "objectives"),
        "a thresholdMetric SLO takes exactly one objective, got 2",
        "split it into one SLO per threshold",
    ),
    (
        "an SLI with both metrics",
        an_slo(
            indicator=an_indicator(
                thresholdMetric=a_metric(),
                ratioMetric={"good": a_metric(), "total": a_metric()},
            )
        ),
        ("spec", "indicator", "spec"),
        "an SLI needs exactly one of ratioMetric or thresholdMetric (got both)",
        "ratioMetric counts good (or bad) events out of total; "
        "thresholdMetric compares one value with each objective",
    ),
    (
        "good and bad together",
        an_slo(
            indicator=an_indicator(
                ratioMetric={"good": a_metric(), "bad": a_metric(), "total": a_metric()}
            )
        ),
        ("spec", "indicator", "spec", "ratioMetric", "bad"),
        "give good or bad, not both",
        "keep one numerator",
    ),
    (
        "raw without rawType",
        an_slo(indicator=an_indicator(ratioMetric={"raw": a_metric()})),
        ("spec", "indicator", "spec", "ratioMetric"),
        "raw needs rawType",
        "add rawType: success (a ratio of good) or failure (a ratio of bad)",
    ),
    (
        "a ratio without total",
        an_slo(indicator=an_indicator(ratioMetric={"bad": a_metric()})),
        ("spec", "indicator", "spec", "ratioMetric"),
        "a ratioMetric needs total",
        "add total: with the query of all events",
    ),
    (
        "a metric source with neither type nor reference",
        an_slo(
            indicator=an_indicator(thresholdMetric={"metricSource": {"spec": {"query": "q"}}}),
            objectives=[{"op": "lte", "value": 1, "target": 0.9}],
        ),
        ("spec", "indicator", "spec", "thresholdMetric", "metricSource"),
        "a metricSource needs a type or a metricSourceRef",
        "add type: Prometheus, or metricSourceRef: <DataSource name>",
    ),
    (
        "an upper-case name",
        {**an_slo(), "metadata": {"name": "Checkout_API"}},
        ("metadata", "name"),
        "'Checkout_API' is not a valid name: use lowercase letters, digits and '-', "
        "starting and ending with a letter or digit",
        "e.g. 'checkout-api'",
    ),
    (
        "an unquoted boolean label",
        {**an_slo(), "metadata": {"name": "x", "labels": {"userImpacting": True}}},
        ("metadata", "labels", "userImpacting"),
        "label values are strings or lists of strings, got True",
        'quote it: userImpacting: "true"',
    ),
    (
        "an annotation key with a bad prefix",
        {**an_slo(), "metadata": {"name": "x", "annotations": {"Launch_Deck/owner": "me"}}},
        ("metadata", "annotations", "Launch_Deck/owner"),
        "key prefix 'Launch_Deck' must be a DNS subdomain (lowercase, dots, at most 253)",
        "e.g. launchdeck.dev/owner",
    ),
    (
        "an unknown key in an inline alert policy",
        an_slo(
            alertPolicies=[
                {
                    "metadata": {"name": "p"},
                    "spec": {
                        "conditions": [{"conditionRef": "c"}],
                        "notificationTargets": [],
                        "alertWhenBreachng": True,
                    },
                }
            ]
        ),
        ("spec", "alertPolicies", 0, "spec", "alertWhenBreachng"),
        "unknown key 'alertWhenBreachng'",
        "did you mean 'alertWhenBreaching'?",
    ),
]


@pytest.mark.parametrize(
    ("data", "path", "message", "hint"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_mistake_names_its_field_and_the_fix(
    data: dict[str, Any], path: tuple[str | int, ...], message: str, hint: str | None
) -> None:
    assert only(data) == Problem(path, message, hint)


def test_all_the_time_slice_needs_of_every_objective_are_reported_together() -> None:
    found = problems(
        an_slo(
            budgetingMethod="Timeslices",
            objectives=[{"target": 0.99, "timeSliceWindow": 5}, {"target": 0.9}],
        )
    )
    assert [(p.path, p.message) for p in found] == [
        (("spec", "objectives", 0), "budgetingMethod Timeslices needs timeSliceTarget"),
        (("spec", "objectives", 1), "budgetingMethod Timeslices needs timeSliceWindow"),
        (("spec", "objectives", 1), "budgetingMethod Timeslices needs timeSliceTarget"),
    ]


def test_ratio_timeslices_needs_a_window_but_no_slice_target() -> None:
    slo = SLO.model_validate(
        an_slo(
            budgetingMethod="RatioTimeslices",
            objectives=[{"target": 0.99, "timeSliceWindow": "1m"}],
        )
    )
    assert slo.spec.budgetingMethod is BudgetingMethod.RATIO_TIMESLICES


def test_the_inline_or_reference_unions_pick_by_the_reference_key() -> None:
    policy = AlertPolicy.model_validate(
        {
            "metadata": {"name": "p"},
            "spec": {
                "conditions": [{"conditionRef": "c"}],
                "notificationTargets": [{"targetRef": "t"}],
            },
        }
    )
    assert isinstance(policy.spec.notificationTargets[0], AlertNotificationTargetRef)
    found = problems(
        {
            "kind": "AlertPolicy",
            "metadata": {"name": "p"},
            "spec": {"conditions": [{"conditionRef": "c", "extra": 1}], "notificationTargets": []},
        }
    )
    assert found == [
        Problem(
            ("spec", "conditions", 0, "extra"), "unknown key 'extra'", "allowed keys: conditionRef"
        )
    ]
