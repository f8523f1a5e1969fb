"""Generated Prometheus rules through the real promtool: `check rules` on every SLO shape, and
`test rules` unit tests that replay traffic minute by minute and assert which alerts fire.

promtool's test clock starts at the Unix epoch, so a protected window is a `TargetSpan` around
epoch-relative instants. The generator's group order (SLI recordings, meta recordings, alerts)
is passed as `group_eval_order`, stating the order the tests rely on: alerts read the recordings
of their own evaluation.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from launchdeck.reliability.budget import TargetSpan, compute_budget
from launchdeck.reliability.burn import DEFAULT_TIERS, AlertTier
from launchdeck.reliability.definition import definition_of
from launchdeck.reliability.model import (
    Bucket,
    BudgetingMethod,
    Indicator,
    IndicatorKind,
    Objective,
    SloDefinition,
    TimeWindow,
)
from launchdeck.reliability.rules import RuleSet, generate_rules, rules_yaml
from launchdeck.workspace.model import Slo
from prometheus_server import prometheus_binaries

EXAMPLE_SLO = Path(__file__).resolve().parents[3] / "examples" / "black-friday" / "slos"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GOOD_SERIES = 'http_requests_total{service="checkout-api",code="200"}'
BAD_SERIES = 'http_requests_total{service="checkout-api",code="500"}'
SLOTH_BAD = 'sum(rate(http_requests_total{service="checkout-api",code=~"5.."}[{{.window}}]))'
SLOTH_TOTAL = 'sum(rate(http_requests_total{service="checkout-api"}[{{.window}}]))'
PAGE_FAST = "CheckoutApiAvailabilityBurnRatePageFast"
ALERTS = [
    PAGE_FAST,
    "CheckoutApiAvailabilityBurnRatePageSlow",
    "CheckoutApiAvailabilityBurnRateTicketFast",
    "CheckoutApiAvailabilityBurnRateTicketSlow",
]
IDENTITY = {
    "sloth_id": "checkout-api-availability",
    "sloth_service": "checkout-api",
    "sloth_slo": "checkout-api-availability",
}
PAGE_FAST_ALERT = {
    "exp_labels": {**IDENTITY, "severity": "page", "sloth_severity": "page", "tier": "page-fast"},
    "exp_annotations": {
        "title": "Checkout API availability: error budget burning 13.44x too fast",
        "summary": "Checkout API availability (checkout-api-availability) is burning its 28d "
        "error budget faster than 13.44x over 1h and 5m",
    },
}


def checkout_definition() -> SloDefinition:
    """The Black Friday example's checkout SLO (good/total, literal [5m] ranges, 99.9 % / 28d)."""
    path = EXAMPLE_SLO / "checkout-api.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    slo = Slo(
        id=document["metadata"]["name"],
        system="checkout-api",
        file="slos/checkout-api.yaml",
        document=document,
    )
    return definition_of(slo)


CHECKOUT = checkout_definition()
SLOTH_STYLE = replace(
    CHECKOUT, indicator=Indicator(IndicatorKind.BAD_TOTAL, bad=SLOTH_BAD, total=SLOTH_TOTAL)
)


def a_definition(
    name: str,
    indicator: Indicator,
    *objectives: Objective,
    method: BudgetingMethod = BudgetingMethod.OCCURRENCES,
    window: TimeWindow | None = None,
) -> SloDefinition:
    return SloDefinition(
        name=name,
        system="checkout-api",
        service="checkout-api",
        display_name=name.replace("-", " ").capitalize(),
        indicator=indicator,
        window=window or TimeWindow("28d"),
        method=method,
        objectives=objectives,
        labels={"team": "payments"},
    )


SLOTH_EVENTS = Indicator(IndicatorKind.BAD_TOTAL, bad=SLOTH_BAD, total=SLOTH_TOTAL)
RAW_FAILURES = Indicator(
    IndicatorKind.RAW, raw=f"{SLOTH_BAD} / {SLOTH_TOTAL}", raw_type="failure", counter=False
)
P99 = Indicator(
    IndicatorKind.THRESHOLD,
    threshold="histogram_quantile(0.99, sum by (le) "
    '(rate(http_request_duration_seconds_bucket{service="checkout-api"}[{{.window}}])))',
)
CUSTOM_TIERS = (
    AlertTier("burst", timedelta(minutes=30), timedelta(seconds=150), 0.01, "page", labels={}),
    replace(DEFAULT_TIERS[1], labels={"team": "payments-oncall", "channel": "#checkout"}),
    replace(DEFAULT_TIERS[2], enabled=False),
    replace(DEFAULT_TIERS[3], severity="ticket", labels={"routing": "jira"}),
)
BLACK_FRIDAY = TargetSpan(
    datetime(2026, 11, 27, 5, tzinfo=UTC), datetime(2026, 11, 29, 5, tzinfo=UTC), 0.9995, "BF"
)


def _sets(
    definition: SloDefinition,
    *,
    tiers: Sequence[AlertTier] = DEFAULT_TIERS,
    spans: Sequence[TargetSpan] = (),
    min_events: float = 100,
) -> list[RuleSet]:
    return [
        RuleSet(definition, objective, tiers, min_events, spans)
        for objective in definition.objectives
    ]


SHAPES: dict[str, list[RuleSet]] = {
    "the checkout example: good/total with literal ranges": _sets(CHECKOUT),
    "bad/total with Sloth's window placeholder": _sets(SLOTH_STYLE),
    "a raw failure ratio": _sets(
        a_definition("raw-errors", RAW_FAILURES, Objective("available", 0.995))
    ),
    "a latency threshold: p99 at most 300 ms": _sets(
        a_definition("latency", P99, Objective("p99 under 300ms", 0.99, op="lte", value=0.3))
    ),
    "Timeslices of one minute at 95 %": _sets(
        a_definition(
            "slices",
            SLOTH_EVENTS,
            Objective(
                "good minutes",
                0.99,
                time_slice_target=0.95,
                time_slice_window=timedelta(minutes=1),
            ),
            method=BudgetingMethod.TIMESLICES,
        )
    ),
    "RatioTimeslices of five minutes": _sets(
        a_definition(
            "ratio-slices",
            SLOTH_EVENTS,
            Objective("mean ratio", 0.999, time_slice_window=timedelta(minutes=5)),
            method=BudgetingMethod.RATIO_TIMESLICES,
        )
    ),
    "two objectives of one SLO": _sets(
        a_definition(
            "latency-two",
            P99,
            Objective("p99 under 300ms", 0.99, op="lte", value=0.3),
            Objective("p99 under 1s", 0.999, op="lt", value=1.0),
        )
    ),
    "a protected campaign window": _sets(CHECKOUT, spans=[BLACK_FRIDAY]),
    "custom tiers: one disabled, custom labels and severities": _sets(
        a_definition("custom", SLOTH_EVENTS, Objective("ok", 0.999)), tiers=CUSTOM_TIERS
    ),
    "a calendar month window without an events guard": _sets(
        a_definition(
            "monthly",
            SLOTH_EVENTS,
            Objective("ok", 0.999),
            window=TimeWindow("1M", rolling=False, calendar_start=datetime(2026, 1, 1)),
        ),
        min_events=0,
    ),
}


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    _, tool = prometheus_binaries()
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=120
    )


def rule_count(rule_sets: Sequence[RuleSet]) -> int:
    return sum(len(g["rules"]) for g in generate_rules(rule_sets)["groups"])


@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
def test_promtool_accepts_the_rules_of_every_slo_shape(shape: str, tmp_path: Path) -> None:
    rule_sets = SHAPES[shape]
    (tmp_path / "rules.yaml").write_text(rules_yaml(rule_sets), encoding="utf-8")

    result = promtool("check", "rules", "--lint=all", "--lint-fatal", "rules.yaml", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {rule_count(rule_sets)} rules found" in result.stdout


def test_promtool_accepts_every_shape_in_one_file(tmp_path: Path) -> None:
    """Group names stay unique across SLOs and objectives (promtool refuses repeated ones)."""
    # Several shapes are the checkout SLO again (other queries, a protected window): one each.
    first = {sets[0].definition.name: sets for sets in reversed(SHAPES.values())}
    every = [rules for sets in first.values() for rules in sets]
    assert len(every) == len(SHAPES) - 1
    (tmp_path / "rules.yaml").write_text(rules_yaml(every), encoding="utf-8")

    result = promtool("check", "rules", "rules.yaml", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {rule_count(every)} rules found" in result.stdout


# --- promtool test rules ------------------------------------------------------------------------

PerMinute = Callable[[int], float]
"""Events in minute (m - 1, m] of the test clock."""


def counter(per_minute: PerMinute, minutes: int) -> str:
    """A counter sampled at minutes 0..minutes, written out sample by sample."""
    value, values = 0.0, ["0"]
    for minute in range(1, minutes + 1):
        value += per_minute(minute)
        values.append(repr(value))
    return " ".join(values)


def buckets_of(good: PerMinute, bad: PerMinute, minutes: int) -> list[Bucket]:
    """The same traffic as exact one-minute buckets, for the evaluator's side of a comparison."""
    return [
        Bucket(EPOCH + timedelta(minutes=m - 1), good(m), good(m) + bad(m))
        for m in range(1, minutes + 1)
    ]


def at(minute: int) -> datetime:
    return EPOCH + timedelta(minutes=minute)


def no_alerts(times: Sequence[int], names: Sequence[str] = ALERTS) -> list[dict[str, Any]]:
    return [
        {"eval_time": f"{t}m", "alertname": name, "exp_alerts": []} for t in times for name in names
    ]


def page_fast(times: Sequence[int], *, firing: bool) -> list[dict[str, Any]]:
    expected = [PAGE_FAST_ALERT] if firing else []
    return [{"eval_time": f"{t}m", "alertname": PAGE_FAST, "exp_alerts": expected} for t in times]


def close_to(record: str, value: float, minute: int, **labels: str) -> dict[str, Any]:
    """A promql_expr_test that `record` of the checkout SLO is `value` (to 1e-9, relative)."""
    tolerance = 1e-9 * max(1.0, abs(value))
    all_labels = {**IDENTITY, **labels}
    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(all_labels.items()))
    return {
        "expr": f'abs({record}{{sloth_id="checkout-api-availability"}} - ({value!r})) '
        f"< bool {tolerance!r}",
        "eval_time": f"{minute}m",
        "exp_samples": [{"labels": "{" + shown + "}", "value": 1}],
    }


def run_rule_tests(
    tmp_path: Path,
    rule_sets: Sequence[RuleSet],
    *,
    good: PerMinute,
    bad: PerMinute,
    minutes: int,
    alerts: Sequence[Mapping[str, Any]] = (),
    exprs: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Write the rules and a promtool unit test replaying the traffic; fail with its output."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "rules.yaml").write_text(rules_yaml(rule_sets), encoding="utf-8")
    groups = [g["name"] for g in generate_rules(rule_sets)["groups"]]
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "group_eval_order": groups,
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": GOOD_SERIES, "values": counter(good, minutes)},
                    {"series": BAD_SERIES, "values": counter(bad, minutes)},
                ],
                "alert_rule_test": list(alerts),
                "promql_expr_test": list(exprs),
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")

    result = promtool("test", "rules", "test.yaml", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


OUTAGE = (120, 150)
"""Minutes of the test clock during which half the requests fail (600 good + 600 bad a minute)."""


def steady(per_minute: float) -> PerMinute:
    return lambda _minute: per_minute


def outage_errors(minute: int) -> float:
    return 600.0 if OUTAGE[0] < minute <= OUTAGE[1] else 0.0


@pytest.mark.parametrize(
    "definition",
    [CHECKOUT, SLOTH_STYLE],
    ids=["the checkout example's good/total queries", "Sloth-style bad/total queries"],
)
def test_a_hard_outage_pages_within_a_minute_and_stops_once_the_short_window_clears(
    definition: SloDefinition, tmp_path: Path
) -> None:
    start, end = OUTAGE
    good, minutes = steady(600), 240
    # The evaluator, on the same minutes, says what the period's budget must read afterwards.
    budget = compute_budget(
        BudgetingMethod.OCCURRENCES,
        definition.objectives[0],
        buckets_of(good, outage_errors, minutes),
        period_start=at(200) - timedelta(days=28),
        period_end=at(200),
        at=at(200),
    )
    assert budget.remaining is not None

    run_rule_tests(
        tmp_path,
        _sets(definition),
        good=good,
        bad=outage_errors,
        minutes=minutes,
        alerts=[
            *page_fast([start - 30, start], firing=False),
            *page_fast([start + 1, start + 15, end], firing=True),
            # The 1h window still burns after the outage, but from end + 5 the 5m one is clean.
            *page_fast([end + 4], firing=True),
            *page_fast([end + 5, end + 30], firing=False),
        ],
        exprs=[
            close_to("slo:sli_error:ratio_rate5m", 0.0, start, sloth_window="5m"),
            close_to("slo:sli_error:ratio_rate5m", 0.5, start + 10, sloth_window="5m"),
            close_to(
                "slo:sli_error:ratio_rate1h",
                30 * 600 / (60 * 600 + 30 * 600),
                end,
                sloth_window="1h",
            ),
            close_to("slo:objective:ratio", 0.999, end),
            close_to(
                "slo:period_error_budget_remaining:ratio", budget.remaining, 200, sloth_window="28d"
            ),
        ],
    )


def test_the_page_fast_tier_fires_the_minute_the_1h_error_ratio_passes_13_44_budgets(
    tmp_path: Path,
) -> None:
    """3 % errors (18 of 618 a minute) from minute 120: the 1h ratio 18k / (36000 + 18k) after k
    minutes crosses 13.44 x 0.001 between k = 27 and k = 28 (a 30-day factor, 14.4, would wait
    until k = 30)."""
    run_rule_tests(
        tmp_path,
        _sets(CHECKOUT),
        good=steady(600),
        bad=lambda minute: 18.0 if minute > 120 else 0.0,
        minutes=200,
        alerts=[
            *page_fast([120, 130, 147], firing=False),
            *page_fast([148, 160, 200], firing=True),
        ],
        exprs=[
            close_to(
                "slo:sli_error:ratio_rate1h", 18 * 27 / (36000 + 18 * 27), 147, sloth_window="1h"
            )
        ],
    )


def test_a_two_minute_blip_pages_no_one(tmp_path: Path) -> None:
    """12 failures a minute for two minutes of steady traffic: 0.8 % of the 5m window's requests,
    under page-fast's 1.344 % and every other tier's threshold."""
    run_rule_tests(
        tmp_path,
        _sets(CHECKOUT),
        good=steady(600),
        bad=lambda minute: 12.0 if minute in (121, 122) else 0.0,
        minutes=200,
        alerts=no_alerts([121, 122, 123, 125, 130, 180]),
        exprs=[close_to("slo:sli_error:ratio_rate5m", 24 / 3024, 124, sloth_window="5m")],
    )


def test_low_traffic_failing_completely_stays_quiet_below_the_minimum_events(
    tmp_path: Path,
) -> None:
    """A request every two minutes, all failing: 30 an hour, 90 in all, never the 100 needed."""
    minutes = 180
    no_good, trickle = steady(0), steady(0.5)
    times = [60, 120, minutes]
    run_rule_tests(
        tmp_path / "guarded",
        _sets(CHECKOUT, min_events=100),
        good=no_good,
        bad=trickle,
        minutes=minutes,
        alerts=no_alerts(times),
        exprs=[close_to("slo:sli_error:ratio_rate1h", 1.0, 120, sloth_window="1h")],
    )
    # Without the guard the same trickle pages: the guard, not the ratio, kept it quiet.
    run_rule_tests(
        tmp_path / "unguarded",
        _sets(CHECKOUT, min_events=0),
        good=no_good,
        bad=trickle,
        minutes=minutes,
        alerts=page_fast(times, firing=True),
    )


SPAN = (120, 240)
"""Test-clock minutes of the protected window: checkout held to 99.95 % instead of 99.9 %."""


def test_a_protected_window_pages_on_a_burn_the_base_objective_tolerates(tmp_path: Path) -> None:
    """1 % errors burn 10x a 99.9 % budget (under 13.44: quiet) but 20x a 99.95 % one."""
    span = TargetSpan(at(SPAN[0]), at(SPAN[1]), 0.9995, "Black Friday")
    start, end = SPAN
    run_rule_tests(
        tmp_path,
        _sets(CHECKOUT, spans=[span]),
        good=steady(594),
        bad=steady(6),
        minutes=300,
        alerts=[
            *page_fast([start - 60, start - 1], firing=False),
            *page_fast([start, start + 60, end - 1], firing=True),
            *page_fast([end, end + 60], firing=False),
        ],
        exprs=[
            close_to("slo:objective:ratio", 0.999, start - 1),
            close_to("slo:objective:ratio", 0.9995, start),
            close_to("slo:objective:ratio", 0.9995, end - 1),
            close_to("slo:objective:ratio", 0.999, end),
            close_to("slo:error_budget:ratio", 0.0005, start + 1),
            close_to("slo:current_burn_rate:ratio", 20.0, start + 1, sloth_window="5m"),
            close_to("slo:current_burn_rate:ratio", 10.0, end + 1, sloth_window="5m"),
        ],
    )


def test_timeslices_count_a_slice_at_exactly_its_target_as_good_as_the_evaluator_does(
    tmp_path: Path,
) -> None:
    """One-minute slices, good at 95 %: ten minutes at 9 % errors are bad slices, five at exactly
    5 % (570 good of 600) are good ones, in the rules as in the evaluator."""
    objective = Objective(
        "good minutes", 0.9, time_slice_target=0.95, time_slice_window=timedelta(minutes=1)
    )
    definition = replace(
        CHECKOUT,
        method=BudgetingMethod.TIMESLICES,
        window=TimeWindow("2h"),
        objectives=(objective,),
    )

    def good(minute: int) -> float:
        return 570.0 if 101 <= minute <= 105 else 600.0

    def bad(minute: int) -> float:
        return 60.0 if 61 <= minute <= 70 else 30.0 if 101 <= minute <= 105 else 0.0

    budget = compute_budget(
        BudgetingMethod.TIMESLICES,
        objective,
        buckets_of(good, bad, 180),
        period_start=at(60),
        period_end=at(180),
        at=at(180),
    )
    assert budget.bad == 10
    sel = '{sloth_id="checkout-api-availability"}'
    # The period's bad-slice share times the slices it averaged: the bad slices themselves.
    bad_slices = (
        f"sum(slo:sli_error:ratio_rate2h{sel}) "
        f"* on() sum(count_over_time(slo:sli_error:ratio_rate1m{sel}[2h:1m]))"
    )
    run_rule_tests(
        tmp_path,
        _sets(definition, tiers=()),
        good=good,
        bad=bad,
        minutes=180,
        exprs=[
            {
                "expr": f"abs({bad_slices} - {budget.bad!r}) < bool 1e-9",
                "eval_time": "180m",
                "exp_samples": [{"labels": "{}", "value": 1}],
            }
        ],
    )
