"""Validation of an experiment's implementation: each check reads `Observations` and answers
pass / warn / fail with its numbers. SRM against SciPy's chi-square, assignment against what the
flag really serves (the experiment compiled onto its flag and evaluated)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from scipy import stats

from launchdeck.experiments.checks import (
    Activity,
    Check,
    Observations,
    Status,
    bot_threshold,
    validate,
)
from launchdeck.experiments.design import design
from launchdeck.experiments.model import ExperimentSpec, compile_into
from launchdeck.flags.bucketing import pick_variant
from launchdeck.flags.evaluate import Evaluator
from launchdeck.flags.model import FlagSpec, Snapshot, percent_units
from unit.experiments.specs import AT, an_experiment

CHECKS = [
    "sample ratio",
    "one variant per unit",
    "assignment",
    "conversions from unexposed units",
    "tracking by variant",
    "exposure window",
    "duplicate events",
    "bot-like units",
    "power",
    "peeking",
]
FIRST_DAY = date(2026, 11, 20)


def check(name: str, seen: Observations, experiment: ExperimentSpec | None = None) -> Check:
    validation = validate(experiment or an_experiment(), seen, at=AT)
    return next(c for c in validation.checks if c.name == name)


def observed(**fields: Any) -> Observations:
    return Observations(units=fields.pop("units", {"A": 10_000, "B": 10_000}), **fields)


def test_a_clean_experiment_passes_every_check_in_order() -> None:
    validation = validate(an_experiment(), observed(), at=AT)

    assert [c.name for c in validation.checks] == CHECKS
    assert [c.status for c in validation.checks] == [Status.PASS] * len(CHECKS)
    assert validation.status is Status.PASS
    assert (validation.experiment, validation.at) == ("bf-hero-banner", AT)


def test_the_worst_check_is_the_verdict() -> None:
    warn = validate(an_experiment(), observed(duplicates=80, received=1000), at=AT)
    fail = validate(
        an_experiment(), observed(duplicates=80, received=1000, units={"A": 10_000}), at=AT
    )

    assert warn.status is Status.WARN
    assert fail.status is Status.FAIL


# --- sample ratio mismatch ---------------------------------------------------------------


def test_a_split_that_matches_the_weights_passes_with_its_chi_square() -> None:
    experiment = an_experiment(variants={"A": 50, "B": 30, "C": 20})
    units = {"A": 50_210, "B": 29_880, "C": 19_910}

    srm = check("sample ratio", observed(units=units), experiment)

    oracle = stats.chisquare([50_210, 29_880, 19_910], [50_000, 30_000, 20_000])
    assert srm.status is Status.PASS
    assert srm.facts["chi2"] == pytest.approx(oracle.statistic, rel=1e-12)
    assert srm.facts["p_value"] == pytest.approx(oracle.pvalue, rel=1e-9)
    assert srm.summary.startswith("A 50,210 (50.21%), B 29,880 (29.88%), C 19,910 (19.91%)")


def test_a_mismatch_fails_and_the_drill_down_names_the_browser_that_loses_units() -> None:
    dimensions = {
        "browser": {
            "chrome": {"A": 30_000, "B": 30_080},
            "safari": {"A": 20_000, "B": 17_100},  # B's redirect breaks on Safari
            "lynx": {"A": 40, "B": 9},  # too few units to test
        },
        "country": {"fr": {"A": 25_020, "B": 23_600}, "de": {"A": 25_020, "B": 23_589}},
    }
    units = {"A": 50_040, "B": 47_189}

    srm = check("sample ratio", observed(units=units, dimensions=dimensions))

    oracle = stats.chisquare([50_040, 47_189])
    assert srm.status is Status.FAIL
    assert srm.facts["p_value"] == pytest.approx(oracle.pvalue, rel=1e-9)
    assert srm.summary.startswith("SAMPLE RATIO MISMATCH: A 50,040 (51.47%), B 47,189 (48.53%)")
    assert "expected A 50.00%, B 50.00%" in srm.summary
    safari = stats.chisquare([20_000, 17_100]).pvalue
    assert srm.details[0] == (
        "browser=safari: A 20,000 (53.9%), B 17,100 (46.1%); overall A 51.5%, B 48.5%; "
        f"p = {safari:.2g} — look here first"
    )
    assert not any("chrome" in d or "lynx" in d for d in srm.details)
    # Both countries carry the imbalance evenly (the same split in each): country cannot
    # explain it, so neither is named.
    assert [d.split(":")[0] for d in srm.details] == ["browser=safari"]


def test_a_mismatch_no_dimension_explains_says_where_else_to_look() -> None:
    srm = check("sample ratio", observed(units={"A": 10_400, "B": 9_600}))

    assert srm.status is Status.FAIL
    assert srm.details == ["no single dimension value explains it: check redirects, caching, bots"]


def test_no_exposed_units_is_a_warning_not_a_pass() -> None:
    srm = check("sample ratio", observed(units={}))

    assert srm.status is Status.WARN
    assert srm.summary == "no exposed units yet"


# --- assignment --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "status"),
    [(0, Status.PASS), (60, Status.WARN), (250, Status.FAIL)],
    ids=["nobody saw two variants", "a few did", "more than one percent did"],
)
def test_units_that_saw_two_variants(units: int, status: Status) -> None:
    seen = observed(multi_variant_units=units, total_units=20_000)

    result = check("one variant per unit", seen)

    assert result.status is status
    assert result.facts == {"units": units, "share": units / 20_000}


def a_flag() -> FlagSpec:
    return FlagSpec.model_validate(
        {
            "key": "hero-banner",
            "type": "string",
            "variants": {"A": "classic", "B": "countdown", "C": "video", "off": "classic"},
            "off_variant": "off",
            "environments": {"production": {"enabled": True}},
        }
    )


def served(experiment: ExperimentSpec, units: range) -> list[tuple[str, str]]:
    """What the flag, with the experiment compiled in, serves each unit: the exposures an SDK
    logs (a split, not the off variant).

    The experiment is compiled without its consent rule: `compile_into` writes that rule as
    `eq [true]`, which the flag compiler refuses (reported to the lead); the split is the same.
    """
    flag = compile_into(a_flag(), experiment.model_copy(update={"consent": None}))
    evaluator = Evaluator(Snapshot(environment="production", flags=(flag,)))
    logged = []
    for i in units:
        unit = f"visitor-{i}"
        answer = evaluator.resolve(flag.key, {"targetingKey": unit, "analytics_consent": True})
        if answer.reason == "SPLIT":
            assert answer.variant is not None
            logged.append((unit, answer.variant))
    return logged


SPLITS = {
    "an even split": {"variants": {"A": 50, "B": 50}},
    "three uneven variants": {"variants": {"A": 50, "B": 25, "C": 25}},
    "on 40 % of traffic": {"variants": {"A": 50, "B": 50}, "coverage": 40},
    "thirds on 33.5 %": {"variants": {"A": 33.333, "B": 33.333, "C": 33.334}, "coverage": 33.5},
}


@pytest.mark.parametrize("fields", SPLITS.values(), ids=SPLITS.keys())
def test_exposures_the_flag_served_agree_with_the_bucketing_spec(fields: dict[str, Any]) -> None:
    experiment = an_experiment(**fields)
    logged = served(experiment, range(3000))

    result = check("assignment", observed(assignment=logged), experiment)

    assert len(logged) == pytest.approx(3000 * experiment.coverage / 100, rel=0.1)
    assert result.status is Status.PASS
    assert result.facts == {
        "sample": len(logged),
        "mismatched": 0,
        "outside_coverage": 0,
        "share": 0.0,
    }


def test_variants_logged_by_something_other_than_the_flag_are_caught() -> None:
    experiment = an_experiment()
    logged = served(experiment, range(2000))
    swapped = {i for i in range(0, 2000, 80)}  # 25 units logged with the other variant
    tampered = [
        (unit, {"A": "B", "B": "A"}[variant] if i in swapped else variant)
        for i, (unit, variant) in enumerate(logged)
    ]

    result = check("assignment", observed(assignment=tampered), experiment)

    assert result.status is Status.FAIL  # 25 / 2000 = 1.25 % > 0.5 %
    assert result.facts["mismatched"] == len(swapped)
    assert result.facts["outside_coverage"] == 0
    unit, variant = tampered[0]
    expected = logged[0][1]
    assert result.details[0] == (f"unit {unit!r}: logged {variant!r}, bucketing gives {expected!r}")
    assert len(result.details) == 3


def test_a_few_mismatches_only_warn() -> None:
    experiment = an_experiment()
    logged = served(experiment, range(2000))
    unit, variant = logged[0]
    tampered = [(unit, "B" if variant == "A" else "A"), *logged[1:]]

    result = check("assignment", observed(assignment=tampered), experiment)

    assert result.status is Status.WARN
    assert result.facts["mismatched"] == 1


def test_exposures_bucketed_with_the_flag_key_instead_of_the_experiment_key_fail() -> None:
    # An SDK that salts with the flag key assigns other units to each variant: about half.
    experiment = an_experiment()
    names = list(experiment.variants)
    weights = [percent_units(w) for w in experiment.variants.values()]
    units = [f"visitor-{i}" for i in range(2000)]
    logged = [(u, pick_variant(experiment.flag, u, names, weights)) for u in units]

    result = check("assignment", observed(assignment=logged), experiment)

    assert result.status is Status.FAIL
    assert result.facts["mismatched"] == pytest.approx(1000, abs=5 * 22.4)


def test_exposures_of_units_outside_the_coverage_are_counted_apart() -> None:
    experiment = an_experiment(coverage=40)
    inside = served(experiment, range(1000))
    covered = {unit for unit, _ in inside}
    outside = [(f"visitor-{i}", "B") for i in range(1000) if f"visitor-{i}" not in covered]

    result = check("assignment", observed(assignment=inside + outside), experiment)

    assert result.status is Status.FAIL
    assert result.facts["mismatched"] == 0
    assert result.facts["outside_coverage"] == len(outside) == 1000 - len(inside)
    assert result.facts["share"] == pytest.approx(len(outside) / 1000)


# --- tracking ----------------------------------------------------------------------------


def days(counts: Mapping[str, list[int]]) -> dict[date, dict[str, int]]:
    """Events per day and variant from one list of daily counts per variant."""
    length = len(next(iter(counts.values())))
    return {
        FIRST_DAY + timedelta(days=d): {v: c[d] for v, c in counts.items()} for d in range(length)
    }


def test_a_variant_whose_tag_stopped_firing_fails_tracking() -> None:
    daily = {
        "purchase": days({"A": [90, 110, 95, 100, 104, 98, 101], "B": [92, 99, 97, 103] + [0] * 3})
    }

    result = check("tracking by variant", observed(daily_events=daily))

    assert result.status is Status.FAIL
    assert result.summary == (
        "BROKEN TRACKING: 'B' logged no 'purchase' events on 3 day(s) from 2026-11-24 while the "
        "others logged plenty"
    )
    assert result.facts == {"silent": {"purchase:B": 3}}


def test_a_variant_that_never_logged_an_event_fails_tracking() -> None:
    daily = {
        "signup": days({"A": [30, 31, 29], "B": [28, 33, 30]}),
        "purchase": days({"A": [90, 110, 95], "B": [0, 0, 0]}),
    }

    result = check("tracking by variant", observed(daily_events=daily))

    assert result.status is Status.FAIL
    assert result.details == ["'B' logged no 'purchase' events at all; the others logged A 295"]


@pytest.mark.parametrize(
    "counts",
    [
        {"A": [3, 5, 4, 2], "B": [0, 4, 0, 3]},
        {"A": [90, 19, 95], "B": [88, 0, 101]},
        {"A": [90, 110, 95], "B": [88, 104, 101]},
    ],
    ids=["too few events to tell", "a quiet day when the others were quiet too", "all logging"],
)
def test_quiet_days_without_a_busy_other_variant_pass(counts: dict[str, list[int]]) -> None:
    result = check("tracking by variant", observed(daily_events={"purchase": days(counts)}))

    assert result.status is Status.PASS


@pytest.mark.parametrize(
    ("unexposed", "coverage", "status"),
    [(300, 100, Status.PASS), (1200, 100, Status.WARN), (1200, 50, Status.PASS)],
    ids=["3 % unexposed", "12 % unexposed", "12 % unexposed at half coverage"],
)
def test_conversions_from_units_never_exposed(
    unexposed: int, coverage: float, status: Status
) -> None:
    experiment = an_experiment(coverage=coverage)
    seen = observed(unexposed_events=unexposed, metric_events=10_000)

    result = check("conversions from unexposed units", seen, experiment)

    assert result.status is status
    assert result.facts["share"] == unexposed / 10_000
    assert result.summary.startswith(f"{unexposed:,} of 10,000 metric events")


@pytest.mark.parametrize(
    ("window", "before", "after", "status"),
    [
        ({}, 50, 50, Status.PASS),
        ({"start": AT - timedelta(days=7)}, 0, 0, Status.PASS),
        ({"start": AT - timedelta(days=7)}, 12, 0, Status.WARN),
        ({"end": AT}, 0, 40, Status.WARN),
    ],
    ids=["no window set", "nothing outside", "exposures before the start", "after the end"],
)
def test_exposures_outside_the_window(
    window: dict[str, Any], before: int, after: int, status: Status
) -> None:
    seen = observed(before_start=before, after_end=after)

    result = check("exposure window", seen, an_experiment(**window))

    assert result.status is status
    assert result.facts == {"before_start": before, "after_end": after}


@pytest.mark.parametrize(
    ("duplicates", "status"),
    [(0, Status.PASS), (400, Status.PASS), (600, Status.WARN)],
    ids=["none", "4 %", "6 %"],
)
def test_the_duplicate_rate(duplicates: int, status: Status) -> None:
    result = check("duplicate events", observed(duplicates=duplicates, received=10_000))

    assert result.status is status
    assert result.facts["rate"] == duplicates / 10_000
    assert ("a tag may fire twice" in result.summary) is (status is Status.WARN)


def test_bot_like_units_warn_with_the_distribution() -> None:
    activity = Activity(units=20_000, p50=3, p99=41, max=12_480, threshold=200, over=35)

    result = check("bot-like units", observed(activity=activity))

    assert result.status is Status.WARN
    assert result.summary == (
        "35 units above 200 events (median 3, p99 41, max 12,480); filter bots before trusting "
        "revenue"
    )


def test_a_handful_of_heavy_users_is_not_a_bot_problem() -> None:
    activity = Activity(units=20_000, p50=3, p99=41, max=900, threshold=200, over=2)

    assert check("bot-like units", observed(activity=activity)).status is Status.PASS


# --- readiness ---------------------------------------------------------------------------


def a_plan(experiment: ExperimentSpec, daily_units: float) -> Any:
    return design(
        experiment,
        now=AT,
        baseline=0.05,
        baseline_source="given",
        daily_units=daily_units,
        traffic_source="given",
    )


def test_an_under_powered_experiment_that_runs_out_of_time_warns() -> None:
    experiment = an_experiment(start=AT, end=AT + timedelta(days=3))
    plan = a_plan(experiment, 10_000)
    seen = observed(units={"A": 4000, "B": 3950}, design=plan)

    result = check("power", seen, experiment)

    assert plan.feasible is False
    assert result.status is Status.WARN
    assert result.summary == (
        f"UNDER-POWERED: 3,950 of {plan.n_per_arm:,} units per arm, and at the current traffic "
        f"the end comes first; detectable by then: {plan.reachable_mde:.1%} (planned 5.0%)"
    )
    assert result.details == plan.summary


@pytest.mark.parametrize(
    ("have", "summary"),
    [(200_000, "the planned {n:,} reached"), (1000, "1,000 of {n:,} units per arm so far")],
    ids=["planned sample reached", "on track"],
)
def test_power_on_track_or_reached_passes(have: int, summary: str) -> None:
    experiment = an_experiment(start=AT, end=AT + timedelta(days=90))
    plan = a_plan(experiment, 50_000)

    result = check("power", observed(units={"A": have, "B": have}, design=plan), experiment)

    assert plan.feasible is True
    assert result.status is Status.PASS
    assert summary.format(n=plan.n_per_arm) in result.summary


@pytest.mark.parametrize(
    ("method", "peeks", "status"),
    [("fixed", 1, Status.PASS), ("fixed", 6, Status.WARN), ("sequential", 40, Status.PASS)],
    ids=["one look", "six early looks", "sequential looks are free"],
)
def test_peeking_at_a_fixed_horizon(method: str, peeks: int, status: Status) -> None:
    experiment = an_experiment(analysis={"method": method})

    result = check("peeking", observed(peeks=peeks), experiment)

    assert result.status is status
    assert result.facts == {"early_analyses": peeks, "method": method}
    if status is Status.WARN:
        assert result.summary.startswith("PEEKING: analysed 6 times before the planned sample")


def test_srm_simulated_on_correct_splits_rarely_fires() -> None:
    # 2,000 correct 50/50 splits of 20,000 units: the check fails about 0.1 % of them.
    rng = np.random.default_rng(17)
    b = rng.binomial(20_000, 0.5, size=2000)
    experiment = an_experiment()
    fails = sum(
        check(
            "sample ratio", observed(units={"A": 20_000 - int(n), "B": int(n)}), experiment
        ).status
        is Status.FAIL
        for n in b
    )
    assert fails <= stats.binom.ppf(0.9995, 2000, 0.001)


def test_the_bot_threshold_is_ten_times_the_p99_but_never_below_fifty_events() -> None:
    assert bot_threshold(1.0) == 50.0
    assert bot_threshold(5.0) == 50.0
    assert bot_threshold(12.0) == 120.0
