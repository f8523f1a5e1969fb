"""Experiments for people: the analysis tables and decisions, a plan, a validation, the list.

Every model here comes from the real pure functions (`analyse`, `design`, `validate`); the
assertions read the rendered text (and, for colour, the ANSI styles) for their numbers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from rich.console import Console

from launchdeck.experiments.analysis import Analysis, MetricResult, Verdict, analyse
from launchdeck.experiments.checks import Activity, Observations, validate
from launchdeck.experiments.design import Design, design
from launchdeck.experiments.model import ExperimentSpec, MetricSpec
from launchdeck.experiments.records import ExperimentInfo, phase_at
from launchdeck.experiments.render import (
    fmt_lift,
    fmt_p,
    print_analysis,
    print_design,
    print_experiments,
    print_validation,
)
from unit.experiments.specs import AT, METRICS, an_analysis, an_experiment, moments_of, rate

RED, BOLD_RED, GREEN = "\x1b[31m", "\x1b[1;31m", "\x1b[32m"


def plain() -> Console:
    return Console(record=True, width=250, highlight=False)


def coloured() -> Console:
    return Console(
        record=True, width=250, highlight=False, force_terminal=True, color_system="standard"
    )


def row(text: str, result: MetricResult) -> str:
    """The table line of one metric × treatment."""
    lines = [
        line
        for line in text.splitlines()
        if f"│ {result.name} " in line and f"│ {result.variant} " in line
    ]
    assert len(lines) == 1, lines
    return lines[0]


def lift(result: MetricResult) -> str:
    r = result.relative
    return f"{fmt_lift(r.estimate)} [{fmt_lift(r.low)}, {fmt_lift(r.high)}]"


# --- analysis ----------------------------------------------------------------------------


def test_an_analysis_shows_each_results_numbers_and_verdict_in_its_row() -> None:
    analysis = an_analysis()
    out = plain()

    print_analysis(out, analysis)

    text = out.export_text()
    conversion_b = next(r for r in analysis.results if (r.metric, r.variant) == ("conversion", "B"))
    assert row(text, conversion_b).split("│")[1:-1] == [
        " conversion ",
        " B       ",
        " 10.00% n=10,000 ",
        " 11.00% n=10,000 ",
        " +10.0% [+1.1%, +18.9%] ",
        " 0.021 ",
        "  0.021 ",
        " better       ",
        " z    ",
    ]
    verdicts = {Verdict.BETTER: "better", Verdict.FLAT: "inconclusive", Verdict.NO_DATA: "no data"}
    for r in analysis.results:
        line = row(text, r)
        if r.verdict is Verdict.NO_DATA:
            assert "no data" in line
            assert "no units" in line
            continue
        assert lift(r) in line
        assert fmt_p(r.p_value) in line
        assert f"n={r.treatment_units:,}" in line
        breached = r.metric == "revenue" and r.variant == "B"
        assert ("BREACHED" if breached else verdicts[r.verdict]) in line
    revenue_b = next(r for r in analysis.results if (r.metric, r.variant) == ("revenue", "B"))
    assert revenue_b.verdict is Verdict.WORSE
    assert "30.00 n=10,000" in row(text, revenue_b)
    assert "28.00 n=10,000" in row(text, revenue_b)


def test_an_analysis_ends_with_the_decisions_in_bold() -> None:
    analysis = an_analysis()
    out = coloured()

    print_analysis(out, analysis)

    styled = out.export_text(styles=True)
    assert analysis.decisions[0] == (
        "Variant B: +10.0% conversion (95% CI +1.1% to +18.9%), significant, better; "
        "revenue per visitor guardrail BREACHED (-6.7%)"
    )
    for decision in analysis.decisions:
        assert f"\x1b[1m{decision}\x1b[0m" in styled
    text = plain_text(analysis)
    assert text.splitlines()[-2:] == analysis.decisions


def plain_text(analysis: Analysis) -> str:
    out = plain()
    print_analysis(out, analysis)
    return out.export_text()


def test_verdicts_are_coloured_and_a_breached_guardrail_is_red() -> None:
    out = coloured()

    print_analysis(out, an_analysis())

    styled = out.export_text(styles=True)
    assert f"{BOLD_RED}BREACHED" in styled
    assert "\x1b[1;32mbetter" in styled
    assert "\x1b[33minconclusive" in styled


def test_tables_per_role_and_the_correction_in_their_titles() -> None:
    text = plain_text(an_analysis(analysis={"correction": "holm"}))

    lines = text.splitlines()
    titles = [
        line.strip() for line in lines if line.strip().startswith(("Primary", "Second", "Guard"))
    ]
    assert titles == [
        "Primary metric, Holm-corrected",
        "Secondary metrics, Holm-corrected",
        "Guardrails (never corrected)",
    ]
    headers = [line for line in lines if "┃ metric" in line]
    assert ["adj. p" in h for h in headers] == [True, True, False]
    assert all("lift (95% CI)" in h and "A (control)" in h for h in headers)


def test_a_sequential_bayesian_analysis_shows_its_sequences_and_chances() -> None:
    analysis = an_analysis(analysis={"method": "sequential", "bayesian": True})

    text = plain_text(analysis)

    assert "sequential (always valid), α = 0.05" in text
    assert "lift (95% CS)" in text
    assert "P(beat control)" in text
    for r in analysis.results:
        if r.chance_to_beat_control is not None and r.expected_loss is not None:
            line = row(text, r)
            assert f"{r.chance_to_beat_control:.1%}" in line
            assert f"{r.expected_loss * 100:.2f}%" in line
            assert lift(r) in line


def test_cuped_and_capping_are_noted_under_the_tables() -> None:
    import numpy as np

    rng = np.random.default_rng(2)
    x = rng.normal(10.0, 2.0, (2, 4000))
    y = x + rng.normal(0.0, 1.0, (2, 4000))
    moments = {
        "spend": {"A": moments_of(y[0], x[0]), "B": moments_of(y[1], x[1])},
        "revenue": {"A": moments_of(y[0]), "B": moments_of(y[1])},
    }
    experiment = an_experiment(primary_metric="spend")
    analysis = analyse(experiment, METRICS, moments, at=AT, capped_at={"revenue": 1234.5})

    text = plain_text(analysis)

    spend = analysis.results[0]
    assert spend.cuped_theta is not None and spend.variance_reduction is not None
    assert (
        f"spend · B: CUPED θ = {spend.cuped_theta:.3g}, "
        f"variance {spend.variance_reduction * 100:.0f}% lower"
    ) in text
    assert "revenue per visitor: per-unit values capped at 1,234.50" in text


def test_text_from_the_workspace_is_shown_as_written_not_as_markup() -> None:
    metrics = {
        **METRICS,
        "conversion": MetricSpec(key="conversion", name="[red]x[/red] conv", event="p"),
    }
    moments = {"conversion": {"A": rate(1000, 50), "B": rate(1000, 60)}}

    out = plain()
    print_analysis(out, analyse(an_experiment(guardrail_metrics=[]), metrics, moments, at=AT))

    text = out.export_text()
    assert "│ [red]x[/red] conv │" in text
    assert "Variant B: +20.0% [red]x[/red] conv" in text


# --- design ------------------------------------------------------------------------------


def a_plan(days: float, *, daily_units: float = 20_000, method: str = "fixed") -> Design:
    experiment = an_experiment(
        start=AT, end=AT + timedelta(days=days), analysis={"mde": 0.1, "method": method}
    )
    return design(
        experiment,
        now=AT,
        baseline=0.05,
        baseline_source="last 14 days",
        daily_units=daily_units,
        traffic_source="last 14 days",
    )


def test_a_plan_that_fits_shows_its_numbers_and_a_green_fit() -> None:
    plan = a_plan(30)
    out, styled = plain(), coloured()

    print_design(out, plan)
    print_design(styled, plan)

    lines = out.export_text().splitlines()
    assert lines[0].strip() == "Plan for bf-hero-banner"
    assert any("units per arm" in line and f"{plan.n_per_arm:,}" in line for line in lines)
    assert any("baseline rate" in line and "5.00% (last 14 days)" in line for line in lines)
    assert any("days needed" in line and f" {plan.days_needed} " in line for line in lines)
    assert any("feasible" in line and "yes" in line for line in lines)
    assert [line.strip() for line in lines[-3:]] == plan.summary
    assert f"{GREEN}fits: the experiment has 30.0 days before it ends" in styled.export_text(
        styles=True
    )


def test_a_plan_too_short_is_red_and_says_what_it_can_detect() -> None:
    plan = a_plan(2, daily_units=10_000)
    out = coloured()

    print_design(out, plan)

    styled = out.export_text(styles=True)
    assert plan.reachable_mde is not None
    too_short = next(line for line in plan.summary if line.startswith("TOO SHORT"))
    assert f"{BOLD_RED}{too_short}" in styled
    assert "NO: too short" in styled
    assert f"{plan.reachable_mde:.1%} relative" in styled


def test_a_sequential_plan_shows_the_fixed_horizon_for_comparison() -> None:
    plan = a_plan(30, method="sequential")
    out = plain()

    print_design(out, plan)

    assert f"{plan.n_per_arm:,} (fixed horizon: {plan.fixed_horizon_n_per_arm:,})" in (
        out.export_text()
    )


# --- validation --------------------------------------------------------------------------


def test_a_validation_marks_each_check_and_indents_the_details() -> None:
    seen = Observations(
        units={"A": 50_040, "B": 47_189},
        dimensions={
            "browser": {"safari": {"A": 20_000, "B": 17_100}, "chrome": {"A": 30_040, "B": 30_089}}
        },
        duplicates=700,
        received=10_000,
        activity=Activity(units=20_000, p50=3, p99=40, max=300, threshold=200, over=2),
    )
    validation = validate(an_experiment(), seen, at=AT)
    out = plain()

    print_validation(out, validation)

    lines = out.export_text().splitlines()
    assert lines[0] == "FAIL bf-hero-banner: 8 passed, 1 warned, 1 failed (at 2026-11-27 18:00:00Z)"
    srm, duplicates = validation.checks[0], validation.checks[6]
    assert lines[1] == f"  ✗ sample ratio: {srm.summary}"
    assert lines[2] == f"      {srm.details[0]}"
    assert lines[2].startswith("      browser=safari: A 20,000 (53.9%), B 17,100 (46.1%)")
    assert f"  ! duplicate events: {duplicates.summary}" in lines
    assert "  ✓ one variant per unit: no unit saw two variants" in lines
    assert len(lines) == 1 + len(validation.checks) + 1


def test_a_passing_validation_is_green() -> None:
    out = coloured()

    print_validation(out, validate(an_experiment(), Observations(units={"A": 10, "B": 10}), at=AT))

    styled = out.export_text(styles=True)
    assert styled.startswith("\x1b[1;32mPASS\x1b[0m bf-hero-banner: 10 passed, 0 warned, 0 failed")
    assert styled.count(f"{GREEN}✓\x1b[0m") == 10


# --- the list ----------------------------------------------------------------------------


def _info(spec: ExperimentSpec, *, now: datetime) -> ExperimentInfo:
    return ExperimentInfo(
        key=spec.key,
        flag=spec.flag,
        environment=spec.environment,
        phase=phase_at(spec, now),
        start=spec.start,
        end=spec.end,
        primary_metric=spec.primary_metric,
        spec=spec,
        metrics=[],
    )


@pytest.mark.parametrize(
    ("window", "status"),
    [
        ({}, "running"),
        ({"start": AT + timedelta(hours=1)}, "scheduled"),
        ({"start": AT - timedelta(days=2), "end": AT + timedelta(days=3)}, "running"),
        ({"start": AT - timedelta(days=9), "end": AT}, "ended"),
    ],
    ids=["no window", "starts later", "inside its window", "ended at now"],
)
def test_a_row_knows_whether_the_experiment_runs(window: dict[str, object], status: str) -> None:
    spec = an_experiment(**window)

    assert phase_at(spec, AT) == status


def test_the_list_shows_one_row_per_experiment() -> None:
    rows = [
        _info(an_experiment(start=AT - timedelta(days=7), end=AT + timedelta(days=3)), now=AT),
        _info(an_experiment(key="checkout-cta", flag="cta", primary_metric="signup"), now=AT),
    ]
    out = plain()

    print_experiments(out, rows)

    lines = out.export_text().splitlines()
    hero = next(line for line in lines if "bf-hero-banner" in line)
    assert [cell.strip() for cell in hero.split("│")[1:-1]] == [
        "bf-hero-banner",
        "hero-banner",
        "production",
        "running",
        "2026-11-20 18:00:00Z",
        "2026-11-30 18:00:00Z",
        "conversion",
    ]
    cta = next(line for line in lines if "checkout-cta" in line)
    assert [cell.strip() for cell in cta.split("│")[1:-1]][4:] == ["-", "-", "signup"]


def test_an_empty_list_says_where_experiments_come_from() -> None:
    out = plain()

    print_experiments(out, [])

    assert out.export_text() == (
        "no experiments: define them under `experiments:` in launchdeck.yaml\n"
    )
