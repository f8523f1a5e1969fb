"""What an experiment is: the spec's own validation, and its compilation into its flag, checked
through the real flag evaluator (consent rule → control, then the salted split)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from launchdeck.experiments.model import (
    Catalog,
    ExperimentSpec,
    MetricSpec,
    SourceSpec,
    TableSpec,
    compile_into,
    consent_rule_name,
)
from launchdeck.flags.bucketing import in_coverage, pick_variant
from launchdeck.flags.evaluate import DEFAULT, SPLIT, TARGETING_MATCH, Evaluator
from launchdeck.flags.model import FlagSpec, Rollout, Serve, Snapshot, percent_units

ENV = "production"
UNITS = [f"visitor-{i:04d}" for i in range(2000)]


def an_experiment(**fields: Any) -> ExperimentSpec:
    """A three-arm experiment on `hero` with unequal weights (so the order of arms matters)."""
    return ExperimentSpec.model_validate(
        {
            "key": "bf-hero-test",
            "flag": "hero",
            "control": "control",
            "variants": {"control": 20, "urgency": 30, "savings": 50},
            "primary_metric": "purchase",
            **fields,
        }
    )


def a_flag(**fields: Any) -> FlagSpec:
    """A string flag with the experiment's variants and an off variant, on in production."""
    return FlagSpec.model_validate(
        {
            "key": "hero",
            "kind": "experiment",
            "type": "string",
            "variants": {
                "off": "Shop the sale",
                "control": "Up to 50% off",
                "urgency": "Ends tonight",
                "savings": "Save $20",
            },
            "environments": {ENV: {"enabled": True}},
            **fields,
        }
    )


def an_evaluator(flag: FlagSpec) -> Evaluator:
    return Evaluator(Snapshot(environment=ENV, flags=(flag,)))


def expected_variant(experiment: ExperimentSpec, unit: str) -> str:
    """The bucketing spec's answer for a covered unit: salted with the experiment key."""
    names = list(experiment.variants)
    weights = [percent_units(w) for w in experiment.variants.values()]
    return pick_variant(experiment.key, unit, names, weights)


# --------------------------------------------------------------------------- metric specs


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "ratio", "numerator": {"event": "purchase"}}, "needs `numerator` and"),
        ({"type": "ratio", "denominator": {"event": "visit"}}, "needs `numerator` and"),
        (
            {
                "type": "ratio",
                "event": "purchase",
                "numerator": {"event": "purchase"},
                "denominator": {"event": "visit"},
            },
            "not `event`",
        ),
        (
            {
                "type": "ratio",
                "numerator": {"event": "purchase"},
                "denominator": {"event": "visit"},
                "cuped": True,
            },
            "CUPED is for binomial and mean metrics",
        ),
        ({"type": "binomial"}, "a binomial metric needs `event`"),
        ({"type": "mean"}, "a mean metric needs `event`"),
        (
            {"event": "purchase", "numerator": {"event": "purchase"}},
            "are for ratio metrics only",
        ),
        ({"event": "purchase", "capping": 99}, "capping is for mean and ratio metrics"),
        ({"type": "mean", "event": "purchase", "capping": 50}, "greater than 50"),
        ({"type": "mean", "event": "purchase", "capping": 100}, "less than 100"),
        ({"event": "Purchase!"}, "should match pattern"),
        ({"event": "purchase", "window": "1d"}, "Extra inputs are not permitted"),
    ],
    ids=[
        "a ratio without a denominator",
        "a ratio without a numerator",
        "a ratio with an event",
        "a ratio with CUPED",
        "a binomial without an event",
        "a mean without an event",
        "a binomial with a numerator",
        "capping a binomial",
        "capping at the median",
        "capping at 100",
        "an event name that is not a key",
        "an unknown field",
    ],
)
def test_a_malformed_metric_is_refused_with_the_reason(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        MetricSpec.model_validate({"key": "m", **document})


def test_a_metric_lists_the_events_it_reads_once_each() -> None:
    aov = MetricSpec.model_validate(
        {
            "key": "aov",
            "type": "ratio",
            "numerator": {"event": "purchase"},
            "denominator": {"event": "purchase", "value": "count"},
        }
    )
    per_visit = MetricSpec.model_validate(
        {
            "key": "per-visit",
            "type": "ratio",
            "numerator": {"event": "purchase"},
            "denominator": {"event": "visit", "value": "count"},
        }
    )
    revenue = MetricSpec.model_validate(
        {"key": "revenue", "type": "mean", "event": "purchase", "capping": 99.9}
    )

    assert aov.events() == ("purchase",)
    assert per_visit.events() == ("purchase", "visit")
    assert (revenue.events(), revenue.capping) == (("purchase",), 99.9)


def test_a_conversion_window_reads_as_a_duration() -> None:
    metric = MetricSpec.model_validate({"key": "m", "event": "purchase", "conversion_window": "2h"})
    assert metric.conversion_window is not None
    assert metric.conversion_window.total_seconds() == 7200


# --------------------------------------------------------------------------- experiment specs


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"variants": {"control": 50, "urgency": 40}}, "add up to 90 %, not 100 %"),
        ({"variants": {"control": 50, "urgency": 50.5}}, "add up to 100.5 %, not 100 %"),
        ({"variants": {"control": 100}}, "at least 2 items"),
        ({"control": "baseline"}, "control 'baseline' is not one of the variants"),
        (
            {"start": "2026-11-28T00:00:00Z", "end": "2026-11-27T00:00:00Z"},
            "`end` must be after `start`",
        ),
        (
            {"start": "2026-11-28T00:00:00Z", "end": "2026-11-28T00:00:00Z"},
            "`end` must be after `start`",
        ),
        ({"start": "2026-11-28T00:00:00"}, "timezone"),
        ({"secondary_metrics": ["purchase"]}, "a metric is named twice"),
        ({"guardrail_metrics": ["revenue", "revenue"]}, "a metric is named twice"),
        ({"coverage": 0}, "greater than 0"),
        ({"analysis": {"alpha": 0.5}}, "less than 0.5"),
        ({"analysis": {"method": "bandit"}}, "'sequential' or 'fixed'"),
        ({"dimensions": ["browser; DROP TABLE exposures"]}, "should match pattern"),
        ({"weights": {"control": 50}}, "Extra inputs are not permitted"),
    ],
    ids=[
        "weights below 100",
        "weights above 100",
        "a single variant",
        "a control that is not a variant",
        "an end before the start",
        "an end at the start",
        "a start without a zone",
        "a secondary that is the primary",
        "a guardrail named twice",
        "no coverage",
        "alpha of one half",
        "an unknown method",
        "a dimension that is not an identifier",
        "an unknown field",
    ],
)
def test_a_malformed_experiment_is_refused_with_the_reason(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        an_experiment(**{"variants": {"control": 50, "urgency": 50}, **fields})


def test_an_experiment_knows_its_treatments_metrics_and_shares() -> None:
    experiment = an_experiment(
        variants={"urgency": 25, "control": 25.5, "savings": 49.5},
        secondary_metrics=["add-to-cart"],
        guardrail_metrics=["revenue"],
    )

    assert experiment.treatments() == ("urgency", "savings")
    assert experiment.metric_keys() == ("purchase", "add-to-cart", "revenue")
    assert experiment.weight_shares() == {"urgency": 0.25, "control": 0.255, "savings": 0.495}
    assert sum(experiment.weight_shares().values()) == pytest.approx(1.0, abs=1e-12)


def test_the_catalog_maps_experiments_to_variants_flags_and_windows() -> None:
    hero = an_experiment(start="2026-11-27T05:00:00Z")
    ship = an_experiment(key="bf-ship", flag="ship", variants={"control": 50, "banner": 50})

    catalog = Catalog.of((hero, ship))

    assert catalog.experiments == {
        "bf-hero-test": frozenset({"control", "urgency", "savings"}),
        "bf-ship": frozenset({"control", "banner"}),
    }
    assert catalog.by_flag == {"hero": "bf-hero-test", "ship": "bf-ship"}
    assert catalog.windows == {"bf-hero-test": (hero.start, None), "bf-ship": (None, None)}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"type": "parquet", "exposures": {"path": "x.parquet"}}, "needs `path` for exposures"),
        ({"type": "postgres"}, "a postgres source needs `url`"),
        ({"type": "duckdb"}, "a duckdb source needs `url`"),
        ({"exposures": {"table": "exposures; DROP TABLE users"}}, "should match pattern"),
        ({"exposures": {"table": "a.b.c.d"}}, "should match pattern"),
        ({"metrics": {"columns": {"unit": "user id"}}}, "should match pattern"),
        ({"metrics": {"columns": {"user": "user_id"}}}, "Input should be 'id'"),
    ],
    ids=[
        "parquet without the metrics path",
        "postgres without a URL",
        "duckdb without a URL",
        "a table name with SQL in it",
        "a table name with four parts",
        "a column name with a space",
        "an unknown logical column",
    ],
)
def test_a_malformed_event_source_is_refused(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SourceSpec.model_validate(document)


def test_a_table_mapping_renames_only_the_columns_it_names() -> None:
    table = TableSpec(table="analytics.events", columns={"unit": "user_id"})
    assert (table.column("unit"), table.column("timestamp")) == ("user_id", "timestamp")


# --------------------------------------------------------------------------- compile_into


def test_compiling_adds_the_consent_rule_last_and_the_salted_split_as_fallthrough() -> None:
    employees = {
        "name": "employees see savings",
        "when": {"attribute": "email", "op": "ends_with", "values": ["@northwind.example"]},
        "serve": {"variant": "savings"},
    }
    flag = a_flag(
        environments={
            ENV: {"enabled": True, "rules": [employees]},
            "staging": {"enabled": True, "fallthrough": {"variant": "urgency"}},
        }
    )
    experiment = an_experiment(coverage=80, unit="userId")

    compiled = compile_into(flag, experiment)

    env = compiled.environments[ENV]
    assert env.enabled is True
    assert [rule.name for rule in env.rules] == [
        "employees see savings",
        consent_rule_name("bf-hero-test"),
    ]
    consent = env.rules[-1]
    assert consent.serve == Serve(variant="control")
    assert consent.when.model_dump(by_alias=True) == {
        "not": {
            "attribute": "analytics_consent",
            "op": "in",
            "values": (True,),
            "timezone": "UTC",
        }
    }
    assert env.fallthrough == Serve(
        rollout=Rollout(
            coverage=80,
            weights={"control": 20, "urgency": 30, "savings": 50},
            bucket_by="userId",
            salt="bf-hero-test",
        )
    )
    assert compiled.environments["staging"] == flag.environments["staging"]
    assert (compiled.key, compiled.variants) == (flag.key, flag.variants)
    assert flag.environments[ENV].rules[-1].name == "employees see savings"  # input unchanged


def test_compiling_with_a_custom_consent_attribute_tests_that_attribute() -> None:
    compiled = compile_into(a_flag(), an_experiment(consent={"attribute": "consent.analytics"}))

    [rule] = compiled.environments[ENV].rules
    assert rule.when.model_dump(by_alias=True)["not"]["attribute"] == "consent.analytics"


def test_compiling_without_a_consent_requirement_adds_no_rule() -> None:
    compiled = compile_into(a_flag(), an_experiment(consent=None))

    assert compiled.environments[ENV].rules == ()
    assert compiled.environments[ENV].fallthrough.rollout is not None


def test_compiling_into_another_environment_leaves_production_alone() -> None:
    flag = a_flag(environments={ENV: {"enabled": True}, "staging": {"enabled": True}})

    compiled = compile_into(flag, an_experiment(environment="staging"))

    assert compiled.environments[ENV] == flag.environments[ENV]
    assert compiled.environments["staging"].fallthrough.rollout is not None


@pytest.mark.parametrize(
    "fallthrough",
    [{"variant": "urgency"}, {"rollout": {"weights": {"control": 50, "urgency": 50}}}],
    ids=["a fixed variant", "a rollout of its own"],
)
def test_a_flag_with_its_own_fallthrough_cannot_carry_an_experiment(
    fallthrough: dict[str, Any],
) -> None:
    flag = a_flag(environments={ENV: {"enabled": True, "fallthrough": fallthrough}})

    with pytest.raises(ValueError, match="sets its own fallthrough in 'production'"):
        compile_into(flag, an_experiment())


def test_a_flag_own_fallthrough_elsewhere_does_not_matter() -> None:
    flag = a_flag(
        environments={ENV: {"enabled": True}, "staging": {"fallthrough": {"variant": "urgency"}}}
    )
    assert compile_into(flag, an_experiment()).environments[ENV].fallthrough.rollout is not None


def test_a_flag_without_the_experiment_variants_cannot_carry_it() -> None:
    flag = a_flag(variants={"off": "", "control": "a", "urgency": "b"})

    with pytest.raises(ValueError) as caught:
        compile_into(flag, an_experiment())

    assert str(caught.value) == (
        "variants ['savings'] are not variants of flag 'hero' "
        "(it has ['control', 'off', 'urgency'])"
    )


# --------------------------------------------------------------------------- evaluated


@pytest.mark.parametrize(
    "consent",
    [None, False, "true", 1, "granted"],
    ids=["no attribute", "false", "the string true", "the number 1", "another string"],
)
def test_without_analytics_consent_every_unit_gets_control_by_the_consent_rule(
    consent: object,
) -> None:
    evaluator = an_evaluator(compile_into(a_flag(), an_experiment()))

    answers = set()
    for unit in UNITS[:500]:
        context: dict[str, object] = {"targetingKey": unit}
        if consent is not None:
            context["analytics_consent"] = consent
        resolution = evaluator.resolve("hero", context)
        answers.add((resolution.variant, resolution.value, resolution.reason))

    assert answers == {("control", "Up to 50% off", TARGETING_MATCH)}


def test_with_consent_the_split_follows_the_bucketing_spec_salted_with_the_experiment_key() -> None:
    experiment = an_experiment()
    evaluator = an_evaluator(compile_into(a_flag(), experiment))

    served = {}
    for unit in UNITS:
        resolution = evaluator.resolve("hero", {"targetingKey": unit, "analytics_consent": True})
        assert resolution.reason == SPLIT
        served[unit] = resolution.variant

    assert served == {unit: expected_variant(experiment, unit) for unit in UNITS}
    # The salt is the experiment's key, not the flag's: salted by the flag key, units would move.
    by_flag_key = {
        unit: pick_variant("hero", unit, ["control", "urgency", "savings"], [20000, 30000, 50000])
        for unit in UNITS
    }
    assert served != by_flag_key
    counts = {v: list(served.values()).count(v) for v in experiment.variants}
    assert 300 <= counts["control"] <= 500 < counts["urgency"] < 700 < counts["savings"]


def test_with_partial_coverage_units_outside_get_the_off_variant() -> None:
    experiment = an_experiment(coverage=40)
    evaluator = an_evaluator(compile_into(a_flag(), experiment))
    covered_units = percent_units(40)

    outside = 0
    for unit in UNITS:
        resolution = evaluator.resolve("hero", {"targetingKey": unit, "analytics_consent": True})
        if in_coverage(experiment.key, unit, covered_units):
            assert (resolution.variant, resolution.reason) == (
                expected_variant(experiment, unit),
                SPLIT,
            )
        else:
            outside += 1
            assert (resolution.variant, resolution.reason) == ("off", DEFAULT)

    assert 1000 < outside < 1400  # about 60 % of 2,000


def test_units_are_bucketed_by_the_experiment_unit_attribute() -> None:
    experiment = an_experiment(unit="userId")
    evaluator = an_evaluator(compile_into(a_flag(), experiment))

    for unit in UNITS[:300]:
        by_user = evaluator.resolve(
            "hero", {"targetingKey": "same-device", "userId": unit, "analytics_consent": True}
        )
        assert (by_user.variant, by_user.reason) == (expected_variant(experiment, unit), SPLIT)
    anonymous = evaluator.resolve("hero", {"targetingKey": "u1", "analytics_consent": True})
    assert (anonymous.variant, anonymous.reason) == ("off", DEFAULT)


def test_a_rule_written_before_the_experiment_still_comes_first() -> None:
    employees = {
        "when": {"attribute": "email", "op": "ends_with", "values": ["@northwind.example"]},
        "serve": {"variant": "savings"},
    }
    flag = a_flag(environments={ENV: {"enabled": True, "rules": [employees]}})
    evaluator = an_evaluator(compile_into(flag, an_experiment()))

    staff = evaluator.resolve("hero", {"targetingKey": "u1", "email": "dana@northwind.example"})
    shopper = evaluator.resolve("hero", {"targetingKey": "u1", "email": "sam@example.com"})

    assert (staff.variant, staff.reason) == ("savings", TARGETING_MATCH)
    assert (shopper.variant, shopper.reason) == ("control", TARGETING_MATCH)
