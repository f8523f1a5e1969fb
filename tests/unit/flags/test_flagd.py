"""flagd.py: export to and import from flagd flag-definition JSON.

Round trips are checked two ways: the imported FlagSpec equals the exported one where the
construct has one flagd form, and the Evaluator gives the same answers where it has several
(segments become `$evaluators`, a partial fallthrough rollout becomes a `fractional` with the
off variant's share).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from launchdeck.flags.evaluate import DISABLED, TARGETING_MATCH, Evaluator
from launchdeck.flags.flagd import (
    BUCKETING_MARK,
    SCHEMA_URL,
    FlagdError,
    export_flagd,
    import_flagd,
)
from launchdeck.flags.model import FlagSpec, SegmentSpec, Snapshot

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "flagd" / "flags.json"
ENV = "production"


def a_flag(
    key: str = "new-checkout",
    *,
    rules: Sequence[Mapping[str, Any]] = (),
    fallthrough: Mapping[str, Any] | None = None,
    enabled: bool = True,
    **spec: Any,
) -> FlagSpec:
    """A boolean flag (variants on/off, off variant `off`) configured in production only."""
    config: dict[str, Any] = {"enabled": enabled, "rules": list(rules)}
    config["fallthrough"] = dict(fallthrough) if fallthrough is not None else {"variant": "off"}
    return FlagSpec.model_validate({"key": key, **spec, "environments": {ENV: config}})


def a_rule(when: Mapping[str, Any], variant: str = "on") -> dict[str, Any]:
    return {"when": dict(when), "serve": {"variant": variant}}


def clause(attribute: str, op: str, *values: Any) -> dict[str, Any]:
    return {"attribute": attribute, "op": op, "values": list(values)}


def round_trip(
    flag: FlagSpec, segments: Sequence[SegmentSpec] = ()
) -> tuple[FlagSpec, dict[str, Any]]:
    document, _ = export_flagd([flag], segments, ENV)
    document = json.loads(json.dumps(document))
    (imported,), _ = import_flagd(document, environment=ENV)
    return imported, document


def answers(
    flag: FlagSpec, contexts: Sequence[Mapping[str, Any]], segments: Sequence[SegmentSpec] = ()
) -> list[str | None]:
    evaluator = Evaluator(Snapshot(environment=ENV, flags=(flag,), segments=tuple(segments)))
    return [evaluator.resolve(flag.key, ctx).variant for ctx in contexts]


ONE_FORM = {
    "in": a_flag(rules=[a_rule(clause("country", "in", "US", "CA"))]),
    "in over booleans and numbers": a_flag(rules=[a_rule(clause("beta", "in", True, 3))]),
    "not_in": a_flag(rules=[a_rule(clause("country", "not_in", "FR", "DE"))]),
    "equals with several values": a_flag(rules=[a_rule(clause("plan", "equals", "pro", "team"))]),
    "starts_with and ends_with": a_flag(
        rules=[
            a_rule(clause("userId", "starts_with", "staff-")),
            a_rule(clause("email", "ends_with", "@shop.example")),
        ]
    ),
    "contains": a_flag(rules=[a_rule(clause("email", "contains", "@faas"))]),
    "numeric operators": a_flag(
        rules=[
            a_rule(clause("age", "eq", 42)),
            a_rule(clause("age", "gt", 60.5)),
            a_rule(clause("age", "gte", 18)),
            a_rule(clause("age", "lt", 13)),
            a_rule(clause("age", "lte", 3)),
        ]
    ),
    "semver operators": a_flag(
        rules=[
            a_rule(clause("appVersion", f"semver_{op}", "2.4.0-rc.1"))
            for op in ("eq", "gt", "gte", "lt", "lte")
        ]
    ),
    "all, any and not, nested": a_flag(
        rules=[
            a_rule(
                {
                    "all": [
                        clause("country", "in", "US"),
                        {"any": [clause("plan", "equals", "pro"), clause("age", "gte", 21)]},
                        {"not": clause("email", "ends_with", "@test.example")},
                    ]
                }
            )
        ]
    ),
    "rules then a fallthrough rollout": a_flag(
        rules=[a_rule(clause("country", "in", "US"))],
        fallthrough={"rollout": {"weights": {"on": 25, "off": 75}}},
    ),
    "a rollout in a rule, bucketed by another attribute": a_flag(
        rules=[
            {
                "when": clause("country", "in", "US"),
                "serve": {"rollout": {"weights": {"on": 50, "off": 50}, "bucket_by": "userId"}},
            }
        ]
    ),
    "a re-randomised rollout with shares finer than 1 %": a_flag(
        fallthrough={"rollout": {"weights": {"on": 12.345, "off": 87.655}, "salt": "key#2"}},
    ),
    "a code-default fallthrough and no off variant": a_flag(
        off_variant=None, fallthrough={"code_default": True}
    ),
    "a rule serving the code default like the fallthrough": a_flag(
        off_variant=None,
        rules=[{"when": clause("country", "in", "US"), "serve": {"code_default": True}}],
        fallthrough={"code_default": True},
    ),
    "a disabled flag keeps its rules": a_flag(
        enabled=False, rules=[a_rule(clause("country", "in", "US"))]
    ),
    "an experiment with a description": a_flag(kind="experiment", description="New pricing page"),
    "a string flag": a_flag(
        type="string",
        variants={"red": "#FF0000", "blue": "#0000FF"},
        off_variant="red",
        fallthrough={"variant": "blue"},
    ),
    "an integer flag": a_flag(
        type="integer",
        variants={"small": 10, "large": 200},
        off_variant="small",
        fallthrough={"variant": "large"},
    ),
    "a float flag with a whole number": a_flag(
        type="float",
        variants={"none": 0, "some": 0.25},
        off_variant="none",
        fallthrough={"variant": "some"},
    ),
    "an object flag": a_flag(
        type="object",
        variants={"light": {"bg": "#fff"}, "dark": {"bg": "#111", "dim": True}},
        off_variant="light",
        fallthrough={"variant": "dark"},
    ),
}


@pytest.mark.parametrize("flag", list(ONE_FORM.values()), ids=list(ONE_FORM))
def test_a_construct_with_one_flagd_form_comes_back_unchanged(flag: FlagSpec) -> None:
    imported, _ = round_trip(flag)

    assert imported == flag


def test_export_writes_a_flagd_document_with_an_if_chain() -> None:
    flag = a_flag(
        rules=[a_rule(clause("country", "in", "US", "CA")), a_rule(clause("age", "gte", 18))]
    )

    document, warnings = export_flagd([flag], [], ENV)

    assert warnings == []
    assert document == {
        "$schema": SCHEMA_URL,
        "flags": {
            "new-checkout": {
                "state": "ENABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "off",
                "targeting": {
                    "if": [
                        {"in": [{"var": "country"}, ["US", "CA"]]},
                        "on",
                        {">=": [{"var": "age"}, 18]},
                        "on",
                        None,
                    ]
                },
                "metadata": {"launchdeckKind": "release", "launchdeckOffVariant": "off"},
            }
        },
        "metadata": {"launchdeckEnvironment": ENV},
    }


def test_a_flag_without_rules_has_no_targeting_and_a_disabled_one_says_so() -> None:
    document, _ = export_flagd([a_flag(enabled=False, fallthrough={"variant": "on"})], [], ENV)

    entry = document["flags"]["new-checkout"]
    assert (entry["state"], entry["defaultVariant"]) == ("DISABLED", "on")
    assert "targeting" not in entry


def test_a_flag_not_configured_in_the_environment_is_exported_disabled() -> None:
    document, _ = export_flagd([a_flag()], [], "staging")

    assert document["flags"]["new-checkout"]["state"] == "DISABLED"


def test_a_rollout_becomes_fractional_and_marks_launchdeck_bucketing() -> None:
    flag = a_flag(fallthrough={"rollout": {"weights": {"on": 25, "off": 75}}})

    document, _ = export_flagd([flag], [], ENV)

    entry = document["flags"]["new-checkout"]
    assert entry["targeting"] == {"fractional": [["on", 25], ["off", 75]]}
    assert entry["defaultVariant"] == "off"
    assert entry["metadata"][BUCKETING_MARK] == 1


def test_a_flag_without_a_rollout_is_not_marked() -> None:
    document, _ = export_flagd([a_flag()], [], ENV)

    assert BUCKETING_MARK not in document["flags"]["new-checkout"]["metadata"]


def test_a_rollout_bucketed_by_an_attribute_hashes_it_with_the_flag_key() -> None:
    flag = a_flag(fallthrough={"rollout": {"weights": {"on": 50, "off": 50}, "bucket_by": "org"}})

    document, _ = export_flagd([flag], [], ENV)

    assert document["flags"]["new-checkout"]["targeting"] == {
        "fractional": [
            {"cat": [{"var": "$flagd.flagKey"}, {"var": "org"}]},
            ["on", 50],
            ["off", 50],
        ]
    }


def test_shares_finer_than_a_percent_are_relative_weights_with_a_warning() -> None:
    flag = a_flag(fallthrough={"rollout": {"weights": {"on": 12.5, "off": 87.5}}})

    document, warnings = export_flagd([flag], [], ENV)

    assert document["flags"]["new-checkout"]["targeting"] == {
        "fractional": [["on", 12500], ["off", 87500]]
    }
    assert len(warnings) == 1
    assert "relative weights out of 100,000" in warnings[0]


def test_a_partial_fallthrough_rollout_gives_the_uncovered_share_to_the_off_variant() -> None:
    flag = a_flag(
        type="string",
        variants={"a": "a", "b": "b", "off": "off"},
        fallthrough={"rollout": {"coverage": 40, "weights": {"a": 50, "b": 50}}},
    )

    imported, document = round_trip(flag)

    assert document["flags"]["new-checkout"]["targeting"] == {
        "fractional": [["a", 20], ["b", 20], ["off", 60]]
    }
    rollout = imported.environment(ENV).fallthrough.rollout
    assert rollout is not None
    assert (rollout.coverage, rollout.weights) == (100.0, {"a": 20.0, "b": 20.0, "off": 60.0})


def test_segments_become_shared_evaluators_and_answer_the_same_after_import() -> None:
    beta = SegmentSpec.model_validate(
        {
            "key": "beta",
            "included": ["u-1", "u-2"],
            "excluded": ["u-3"],
            "rules": [
                clause("email", "ends_with", "@shop.example"),
                {"op": "in_segment", "values": ["staff"]},
            ],
        }
    )
    staff = SegmentSpec.model_validate(
        {"key": "staff", "key_attribute": "userId", "rules": [clause("plan", "equals", "staff")]}
    )
    flag = a_flag(rules=[a_rule({"op": "in_segment", "values": ["beta"]})])
    contexts = [
        {"targetingKey": "u-1"},
        {"targetingKey": "u-3", "email": "x@shop.example"},
        {"targetingKey": "u-4", "email": "x@shop.example"},
        {"targetingKey": "u-5", "plan": "staff"},
        {"targetingKey": "u-6", "email": "x@else.example"},
        {"email": "x@shop.example"},
    ]

    imported, document = round_trip(flag, [beta, staff])

    assert document["flags"]["new-checkout"]["targeting"]["if"][0] == {"$ref": "beta"}
    assert set(document["$evaluators"]) == {"beta"}
    expected = ["on", "off", "on", "on", "off", "on"]
    assert answers(flag, contexts, [beta, staff]) == expected
    assert answers(imported, contexts) == expected


def test_not_in_stays_false_for_a_missing_attribute_after_a_round_trip() -> None:
    flag = a_flag(rules=[a_rule(clause("country", "not_in", "FR"))])

    imported, _ = round_trip(flag)

    contexts: list[dict[str, Any]] = [{"country": "US"}, {"country": "FR"}, {}, {"country": None}]
    assert answers(imported, contexts) == answers(flag, contexts) == ["on", "off", "off", "off"]


def test_a_pending_schedule_is_not_exported_and_says_so() -> None:
    pending = {"at": "2030-01-01T00:00:00Z", "set": {"enabled": False}}
    done = {**pending, "done_at": "2029-12-31T00:00:00Z"}
    flag = FlagSpec.model_validate(
        {"key": "new-checkout", "environments": {ENV: {"schedule": [done, pending]}}}
    )

    _, warnings = export_flagd([flag], [], ENV)

    assert len(warnings) == 1
    assert warnings[0].startswith("flags.new-checkout.environments.production.schedule:")


NO_FORM = {
    "matches": (clause("email", "matches", "^a.*"), "`matches`"),
    "in_cidr": (clause("ip", "in_cidr", "10.0.0.0/8"), "`in_cidr`"),
    "before": (clause("signupDate", "before", "-30d"), "`before`"),
    "after": (clause("signupDate", "after", "2025-01-01T00:00:00Z"), "`after`"),
    "contains_ci": (clause("email", "contains_ci", "SHOP"), "`contains_ci`"),
    "equals_ci deep inside": (
        {"all": [clause("a", "in", "x"), {"not": clause("b", "equals_ci", "Y")}]},
        "`equals_ci`",
    ),
}


@pytest.mark.parametrize("when,operator", list(NO_FORM.values()), ids=list(NO_FORM))
def test_an_operator_without_a_jsonlogic_form_is_refused_naming_flag_and_rule(
    when: dict[str, Any], operator: str
) -> None:
    flag = a_flag(rules=[a_rule(clause("country", "in", "US")), a_rule(when)])

    with pytest.raises(FlagdError) as caught:
        export_flagd([flag], [], ENV)

    message = str(caught.value)
    assert "flag 'new-checkout', rules[1]" in message
    assert operator in message
    assert caught.value.field is not None
    assert caught.value.field.startswith("flags.new-checkout.environments.production.rules[1].when")
    assert caught.value.field.endswith(".op")


def test_lossy_export_skips_the_rule_and_warns() -> None:
    flag = a_flag(
        rules=[a_rule(clause("ip", "in_cidr", "10.0.0.0/8")), a_rule(clause("c", "in", "US"))]
    )

    document, warnings = export_flagd([flag], [], ENV, lossy=True)

    assert document["flags"]["new-checkout"]["targeting"] == {
        "if": [{"in": [{"var": "c"}, ["US"]]}, "on", None]
    }
    assert warnings == [
        "flags.new-checkout.environments.production.rules[0].when.op: `in_cidr` has no flagd "
        "(JsonLogic) form; rules[0] skipped"
    ]


def test_a_segment_flagd_cannot_express_names_the_segment_and_the_flag_rule() -> None:
    office = SegmentSpec.model_validate(
        {"key": "office", "rules": [clause("ip", "in_cidr", "10.0.0.0/8")]}
    )
    flag = a_flag(rules=[{**a_rule({"op": "in_segment", "values": ["office"]}), "name": "HQ"}])

    with pytest.raises(FlagdError) as caught:
        export_flagd([flag], [office], ENV)

    assert "flag 'new-checkout', rules[0] (HQ)" in str(caught.value)
    assert caught.value.field == "segments.office.rules[0].op"


REFUSED = {
    "prerequisites": (
        a_flag(prerequisites=[{"flag": "other"}]),
        "flags.new-checkout.prerequisites",
    ),
    "a partial rollout in a rule": (
        a_flag(
            rules=[
                {
                    "when": clause("c", "in", "US"),
                    "serve": {"rollout": {"coverage": 10, "weights": {"on": 100}}},
                }
            ]
        ),
        "flags.new-checkout.environments.production.rules[0].serve.rollout.coverage",
    ),
    "a rule serving the code default before a variant fallthrough": (
        a_flag(rules=[{"when": clause("c", "in", "US"), "serve": {"code_default": True}}]),
        "flags.new-checkout.environments.production.rules[0].serve",
    ),
    "a partial fallthrough rollout without an off variant": (
        a_flag(
            off_variant=None,
            fallthrough={"rollout": {"coverage": 10, "weights": {"on": 100}}},
        ),
        "flags.new-checkout.environments.production.fallthrough.rollout.coverage",
    ),
    "a list-valued object variant": (
        a_flag(
            type="object", variants={"off": {}, "many": [1, 2]}, fallthrough={"variant": "many"}
        ),
        "flags.new-checkout.variants.many",
    ),
}


@pytest.mark.parametrize("flag,field", list(REFUSED.values()), ids=list(REFUSED))
def test_what_flagd_cannot_express_is_refused_with_its_path(flag: FlagSpec, field: str) -> None:
    with pytest.raises(FlagdError) as caught:
        export_flagd([flag], [], ENV)

    assert caught.value.field == field
    assert caught.value.hint is not None
    assert "lossy" in caught.value.hint


def test_lossy_export_drops_prerequisites_and_unexportable_flags_with_warnings() -> None:
    needs = a_flag("needs-other", prerequisites=[{"flag": "other"}])
    partial = a_flag(
        "partial",
        off_variant=None,
        fallthrough={"rollout": {"coverage": 10, "weights": {"on": 100}}},
    )

    document, warnings = export_flagd([needs, partial], [], ENV, lossy=True)

    assert list(document["flags"]) == ["needs-other"]
    assert [w.split(":")[0] for w in warnings] == [
        "flags.needs-other.prerequisites",
        "flags.partial.environments.production.fallthrough.rollout.coverage",
    ]
    assert warnings[1].endswith("flag not exported")


# ---------------------------------------------------------------------------------- import


def load_fixture() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return document


def test_the_flagd_example_document_imports() -> None:
    flags, warnings = import_flagd(load_fixture(), environment=ENV, source="flags.json")

    by_key = {f.key: f for f in flags}
    assert list(by_key) == [
        "new-welcome-banner",
        "isColorYellow",
        "fibAlgo",
        "headerColor",
        "new-checkout",
        "search-ranking",
        "max-cart-items",
        "discount-rate",
        "theme-config",
        "legacy-export",
    ]
    assert {k: f.type.value for k, f in by_key.items()} == {
        "new-welcome-banner": "boolean",
        "isColorYellow": "boolean",
        "fibAlgo": "string",
        "headerColor": "string",
        "new-checkout": "boolean",
        "search-ranking": "string",
        "max-cart-items": "integer",
        "discount-rate": "float",
        "theme-config": "object",
        "legacy-export": "boolean",
    }
    assert warnings == [
        f"flags.json: flags.{path}.fractional: flagd's fractional bucketing differs from "
        "launchdeck's: the shares are kept, but individual users may get a different variant "
        "after the move"
        for path in ("headerColor.targeting.if[1]", "new-checkout.targeting.if[3]")
    ]


def test_the_imported_example_evaluates_as_flagd_describes_it() -> None:
    flags, _ = import_flagd(load_fixture(), environment=ENV)
    evaluator = Evaluator(Snapshot(environment=ENV, flags=tuple(flags)))

    def variant(key: str, **context: Any) -> str | None:
        return evaluator.resolve(key, context).variant

    assert variant("new-welcome-banner", email="noreply@example.com") == "true"
    assert variant("new-welcome-banner", email="someone@else.org") == "false"
    assert variant("isColorYellow", color="yellow") == "on"
    assert variant("fibAlgo", email="dev@faas.com") == "binet"
    assert variant("fibAlgo", email="dev@other.com") == "recursive"
    assert variant("headerColor", email="a@faas.com") in {"red", "blue", "green", "yellow"}
    assert variant("headerColor", email="a@other.com") == "red"
    assert variant("new-checkout", email="ops@shop.example", appVersion="1.0.0") == "on"
    assert variant("new-checkout", userId="u-1002") == "on"
    assert variant("new-checkout", appVersion="2.3.9", targetingKey="k") == "off"
    assert variant("search-ranking", country="CA", accountAgeDays=45, userId="u") == "semantic"
    assert variant("search-ranking", country="CA", accountAgeDays=45, userId="test-1") == "classic"
    assert variant("max-cart-items", plan="enterprise") == "large"
    assert variant("discount-rate", cartTotal=250) == "small"
    assert variant("discount-rate", cartTotal=500) == "big"
    assert variant("discount-rate", cartTotal=100) == "none"
    assert variant("theme-config", email="me@night-owls.io") == "dark"
    disabled = evaluator.resolve("legacy-export", {})
    assert (disabled.reason, disabled.code_default) == (DISABLED, True)


def test_a_fractional_in_the_example_becomes_a_rollout_in_a_rule() -> None:
    flags, _ = import_flagd(load_fixture(), environment=ENV)
    header = next(f for f in flags if f.key == "headerColor").environment(ENV)

    (rule,) = header.rules
    assert rule.model_dump(mode="json", by_alias=True, exclude_defaults=True) == {
        "when": {"attribute": "email", "op": "contains", "values": ["@faas.com"]},
        "serve": {
            "rollout": {
                "weights": {"red": 25.0, "blue": 25.0, "green": 25.0, "yellow": 25.0},
                "bucket_by": "email",
            }
        },
    }
    contexts = [{"email": f"user{i}@faas.com"} for i in range(400)]
    resolutions = [
        Evaluator(Snapshot(environment=ENV, flags=tuple(flags))).resolve("headerColor", c)
        for c in contexts
    ]
    assert {r.reason for r in resolutions} == {TARGETING_MATCH}
    assert {r.variant for r in resolutions} == {"red", "blue", "green", "yellow"}


def test_importing_a_launchdeck_export_does_not_warn_about_bucketing() -> None:
    flag = a_flag(fallthrough={"rollout": {"weights": {"on": 25, "off": 75}}})
    document, _ = export_flagd([flag], [], ENV)

    _, warnings = import_flagd(document, environment=ENV)

    assert warnings == []


def test_relative_and_shorthand_weights_import_as_percentages() -> None:
    document = {
        "flags": {
            "f": {
                "state": "ENABLED",
                "variants": {"a": "a", "b": "b", "c": "c"},
                "defaultVariant": "a",
                "targeting": {"fractional": [["a", 1], ["b", 1], ["c", 2]]},
                "metadata": {BUCKETING_MARK: 1},
            },
            "g": {
                "state": "ENABLED",
                "variants": {"a": "a", "b": "b", "c": "c"},
                "defaultVariant": "a",
                "targeting": {"fractional": [["a"], ["b"], ["c"]]},
                "metadata": {BUCKETING_MARK: 1},
            },
        }
    }

    (f, g), warnings = import_flagd(document, environment=ENV)

    f_rollout = f.environment(ENV).fallthrough.rollout
    g_rollout = g.environment(ENV).fallthrough.rollout
    assert f_rollout is not None and g_rollout is not None
    assert f_rollout.weights == {"a": 25.0, "b": 25.0, "c": 50.0}
    assert g_rollout.weights == {"a": 33.334, "b": 33.333, "c": 33.333}
    assert warnings == [
        "flagd.json: flags.g.targeting.fractional: weights rounded to 0.001 %, "
        "launchdeck's resolution"
    ]


def test_a_nested_if_reads_as_ordered_rules() -> None:
    document = {
        "flags": {
            "f": {
                "state": "ENABLED",
                "variants": {"a": "a", "b": "b", "c": "c"},
                "defaultVariant": "c",
                "targeting": {
                    "if": [
                        {"in": [{"var": "country"}, ["US"]]},
                        {"if": [{">": [{"var": "age"}, 20]}, "a", None]},
                        "b",
                    ]
                },
            }
        }
    }

    (flag,), _ = import_flagd(document, environment=ENV)

    contexts: list[dict[str, Any]] = [
        {"country": "US", "age": 30},
        {"country": "US", "age": 10},
        {"country": "FR"},
    ]
    assert answers(flag, contexts) == ["a", "c", "b"]


def test_an_imported_flag_has_no_off_variant_unless_the_metadata_names_one() -> None:
    document = {
        "flags": {
            "plain": {"state": "DISABLED", "variants": {"on": True, "off": False}},
            "named": {
                "state": "DISABLED",
                "variants": {"on": True, "off": False},
                "defaultVariant": "on",
                "metadata": {"launchdeckOffVariant": "off", "launchdeckKind": "ops"},
            },
        }
    }

    (plain, named), _ = import_flagd(document, environment=ENV)

    assert plain.off_variant is None
    assert plain.environment(ENV).fallthrough.code_default
    assert (named.off_variant, named.kind.value) == ("off", "ops")


def test_omitted_state_and_variants_take_flagd_defaults() -> None:
    document = {"flags": {"f": {"defaultVariant": "true"}}}

    (flag,), _ = import_flagd(document, environment=ENV)

    assert flag.variants == {"true": True, "false": False}
    assert flag.environment(ENV).enabled


def test_a_flags_array_imports_like_a_map() -> None:
    document = {
        "flags": [{"key": "f", "state": "ENABLED", "variants": {"x": 1}, "defaultVariant": "x"}]
    }

    (flag,), _ = import_flagd(document, environment=ENV)

    assert (flag.key, flag.variants) == ("f", {"x": 1})


def a_document(targeting: Any, **flag: Any) -> dict[str, Any]:
    entry = {
        "state": "ENABLED",
        "variants": {"on": True, "off": False},
        "defaultVariant": "off",
        "targeting": targeting,
        **flag,
    }
    return {"flags": {"new-checkout": entry}, "$evaluators": {"staff": {"some": [1, 2]}}}


UNREADABLE = {
    "an unknown operation": (
        {"if": [{"some": [{"var": "tags"}, {"==": [{"var": ""}, "x"]}]}, "on", "off"]},
        "flags.new-checkout.targeting.if[0].some",
    ),
    "a var with a default": (
        {"if": [{"==": [{"var": ["color", "red"]}, "red"]}, "on", "off"]},
        "flags.new-checkout.targeting.if[0].==[0].var",
    ),
    "a flagd timestamp": (
        {"if": [{">": [{"var": "$flagd.timestamp"}, 1700000000]}, "on", "off"]},
        "flags.new-checkout.targeting.if[0].>[0].var",
    ),
    "an unknown $ref": (
        {"if": [{"$ref": "nobody"}, "on", "off"]},
        "flags.new-checkout.targeting.if[0].$ref",
    ),
    "a problem inside a shared evaluator": (
        {"if": [{"$ref": "staff"}, "on", "off"]},
        "$evaluators.staff.some",
    ),
    "an unknown variant": (
        {"if": [{"in": [{"var": "c"}, ["US"]]}, "maybe", "off"]},
        "flags.new-checkout.targeting.if[1]",
    ),
    "a computed variant": (
        {"if": [{"in": [{"var": "c"}, ["US"]]}, {"var": "choice"}, "off"]},
        "flags.new-checkout.targeting.if[1]",
    ),
    "a caret sem_ver range": (
        {"if": [{"sem_ver": [{"var": "v"}, "^", "1.2.0"]}, "on", "off"]},
        "flags.new-checkout.targeting.if[0].sem_ver[1]",
    ),
    "a computed fractional weight": (
        {"fractional": [["on", {"var": "pct"}], ["off", 50]]},
        "flags.new-checkout.targeting.fractional[0][1]",
    ),
    "a bucketing expression of two attributes": (
        {"fractional": [{"cat": [{"var": "a"}, {"var": "b"}]}, ["on", 50], ["off", 50]]},
        "flags.new-checkout.targeting.fractional[0]",
    ),
    "a comparison with a non-number": (
        {"if": [{"<": [{"var": "signup"}, "2024-01-01"]}, "on", "off"]},
        "flags.new-checkout.targeting.if[0].<[1]",
    ),
    "a bare condition on a flag without true/false variants": (
        {"in": [{"var": "c"}, ["US"]]},
        "flags.new-checkout.targeting",
    ),
}


@pytest.mark.parametrize("targeting,path", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_targeting_launchdeck_cannot_read_fails_with_its_json_path(
    targeting: Any, path: str
) -> None:
    with pytest.raises(FlagdError) as caught:
        import_flagd(a_document(targeting), environment=ENV, source="flags.json")

    assert caught.value.field == path
    assert str(caught.value).startswith(f"flags.json: {path}: ")
    assert caught.value.hint


BROKEN = {
    "no flags": ({"flagz": {}}, "flags"),
    "a key launchdeck cannot take": (
        {"flags": {"new checkout": {"state": "ENABLED", "variants": {"a": 1}}}},
        "flags.new checkout",
    ),
    "variants of mixed types": (
        {"flags": {"f": {"state": "ENABLED", "variants": {"a": 1, "b": "1"}}}},
        "flags.f.variants",
    ),
    "a variant name launchdeck cannot take": (
        {"flags": {"f": {"state": "ENABLED", "variants": {"#red": "#f00"}}}},
        "flags.f.variants.#red",
    ),
    "an unknown default variant": (
        {"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "b"}}},
        "flags.f.defaultVariant",
    ),
    "an unknown state": (
        {"flags": {"f": {"state": "ON", "variants": {"a": 1}}}},
        "flags.f.state",
    ),
    "a self-referencing evaluator": (
        {
            "flags": {"f": {"variants": {"a": 1}, "targeting": {"if": [{"$ref": "x"}, "a", None]}}},
            "$evaluators": {"x": {"$ref": "x"}},
        },
        "$evaluators.x.$ref",
    ),
}


@pytest.mark.parametrize("document,path", list(BROKEN.values()), ids=list(BROKEN))
def test_a_document_launchdeck_cannot_read_fails_with_its_path(
    document: dict[str, Any], path: str
) -> None:
    with pytest.raises(FlagdError) as caught:
        import_flagd(document, environment=ENV)

    assert caught.value.field == path
