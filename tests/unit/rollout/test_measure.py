"""One measurement on readings from Prometheus or the web: thresholds, rates, no data, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from launchdeck.rollout.access_log import Traffic
from launchdeck.rollout.judge import Counts, Verdict
from launchdeck.rollout.measure import Reading, measure
from launchdeck.rollout.strategy import StrategySpec, parse_strategy

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
RATE = "total_query: 'sum(t{v=\"{{variant}}\"})', count_query: 'sum(c{v=\"{{variant}}\"})'"


def a_strategy(*, no_data: str = "inconclusive") -> StrategySpec:
    return parse_strategy(
        "strategy: canary\n"
        "steps: [{set_weight: 10}]\n"
        "metrics:\n"
        "  - {name: p99, kind: threshold, source: prometheus, query: 'p99{v=\"{{variant}}\"}',\n"
        f"     threshold_range: {{min: 0, max: 0.5}}, no_data: {no_data}}}\n"
        f"  - {{name: errors, kind: error_rate, source: prometheus, {RATE}, no_data: {no_data}}}\n"
        "  - {name: orders, kind: conversion_rate, source: web,\n"
        "     url: 'https://stats.example.com/{{variant}}',\n"
        "     total_json_path: $.visitors, count_json_path: $.orders}\n",
        source="s.yaml",
    )


STRATEGY = a_strategy()


def one(strategy: StrategySpec, name: str, reading: Reading) -> tuple[Verdict | None, str]:
    measurement = measure(strategy, [name], {}, AT, readings={name: reading})
    assert measurement.error is None, measurement.error
    (result,) = measurement.results
    return result.verdict, result.reason


@pytest.mark.parametrize(
    ("value", "verdict", "reason"),
    [
        (0.31, Verdict.PASS, "0.31 is within range"),
        (0.5, Verdict.PASS, "0.5 is within range"),
        (0.93, Verdict.FAIL, "0.93 is above 0.5"),
        (-1.0, Verdict.FAIL, "-1 is below 0"),
        (float("inf"), Verdict.FAIL, "inf is above 0.5"),
    ],
    ids=["inside", "on the bound", "above", "below", "an infinite latency"],
)
def test_a_threshold_judges_the_canarys_value_against_its_range(
    value: float, verdict: Verdict, reason: str
) -> None:
    assert one(STRATEGY, "p99", Reading({"canary": value})) == (verdict, reason)


@pytest.mark.parametrize(
    ("policy", "verdict"),
    [
        ("inconclusive", Verdict.INCONCLUSIVE),
        ("pause", Verdict.INCONCLUSIVE),
        ("fail", Verdict.NO_DATA),
        ("pass", Verdict.PASS),
    ],
    ids=["inconclusive waits", "pause asks a person", "fail counts as a failure", "pass passes"],
)
def test_no_data_means_what_the_metrics_policy_says(policy: str, verdict: Verdict) -> None:
    strategy = a_strategy(no_data=policy)

    empty = measure(
        strategy, ["p99", "errors"], {}, AT, readings={"p99": Reading({}), "errors": Reading({})}
    )

    assert [(r.name, r.verdict) for r in empty.results] == [("p99", verdict), ("errors", verdict)]
    assert "no value" in empty.results[0].reason
    assert "no units on the canary or the baseline" in empty.results[1].reason


def test_a_canary_with_more_5xx_fails_on_its_counts() -> None:
    reading = Reading({"canary": Counts(5_000, 400), "stable": Counts(45_000, 450)})

    verdict, reason = one(STRATEGY, "errors", reading)

    assert verdict is Verdict.FAIL
    assert reason.startswith("the canary's rate 8.0000% is higher than the baseline's 1.0000%")


def test_a_canary_as_good_as_stable_passes_on_its_counts() -> None:
    reading = Reading({"canary": Counts(5_000, 50), "stable": Counts(45_000, 450)})

    assert one(STRATEGY, "errors", reading)[0] is Verdict.PASS


def test_a_conversion_drop_read_from_the_web_fails() -> None:
    reading = Reading({"canary": Counts(4_000, 40), "stable": Counts(36_000, 2_160)})

    verdict, reason = one(STRATEGY, "orders", reading)

    assert verdict is Verdict.FAIL
    assert "lower than the baseline's" in reason


def test_a_metric_that_could_not_be_read_makes_the_measurement_an_error() -> None:
    readings = {
        "p99": Reading({"canary": 0.2}),
        "errors": Reading(error="could not reach Prometheus at http://127.0.0.1:1: refused"),
    }

    measurement = measure(STRATEGY, ["p99", "errors"], {}, AT, readings=readings)

    assert measurement.error == "errors: could not reach Prometheus at http://127.0.0.1:1: refused"
    assert measurement.results == ()
    assert measurement.verdict is None


def test_a_metric_left_unread_is_an_error_too() -> None:
    measurement = measure(STRATEGY, ["orders"], {}, AT)

    assert measurement.error == "orders: not read from its web source"


def test_a_failure_is_never_hidden_behind_another_metrics_error() -> None:
    readings = {"p99": Reading({"canary": 2.0}), "errors": Reading(error="timed out")}

    measurement = measure(STRATEGY, ["p99", "errors"], {}, AT, readings=readings)

    assert measurement.error is None
    assert measurement.verdict is Verdict.FAIL
    assert [r.name for r in measurement.results] == ["p99"]


@pytest.mark.parametrize(
    ("name", "reading", "error"),
    [
        ("p99", Reading({"canary": Counts(10, 1)}), "p99: a threshold metric needs one value"),
        (
            "errors",
            Reading({"canary": 0.1, "stable": 0.1}),
            "errors: error_rate needs counts per variant",
        ),
    ],
    ids=["counts for a threshold", "values for a rate"],
)
def test_a_reading_of_the_wrong_shape_is_an_error(name: str, reading: Reading, error: str) -> None:
    measurement = measure(STRATEGY, [name], {}, AT, readings={name: reading})

    assert (measurement.error or "").startswith(error)


def test_access_log_metrics_beside_read_ones_are_judged_on_the_traffic() -> None:
    traffic = {
        "canary": Traffic(requests=1_000, server_errors=300),
        "stable": Traffic(requests=9_000, server_errors=9),
    }

    measurement = measure(
        STRATEGY, ["error_rate", "p99"], traffic, AT, readings={"p99": Reading({"canary": 0.1})}
    )

    assert [(r.name, r.verdict) for r in measurement.results] == [
        ("error_rate", Verdict.FAIL),
        ("p99", Verdict.PASS),
    ]
