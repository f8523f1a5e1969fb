"""Cross-reference checks: every problem at once, each with its path, message and hint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given

from launchdeck.workspace.spec import WorkspaceSpec
from launchdeck.workspace.validate import Problem, check, find_cycle, suggest
from strategies import property_settings, workspace_specs
from unit.builders import a_campaign, a_spec, a_system, an_environment


def test_a_valid_spec_has_no_problems() -> None:
    spec = a_spec(
        environments=[an_environment("staging"), an_environment("production")],
        systems=[
            a_system("cms", environments={"production": {"url": "https://cms.example"}}),
            a_system("web", depends_on=["cms"], slos=["slos/web.yaml"], rollout="r/web.yaml"),
        ],
        campaigns=[a_campaign("sale", systems=["web"])],
        references={"slos": ["slos/web.yaml"], "rollouts": ["r/web.yaml"]},
    )
    assert check(spec) == []


def test_unknown_dependency_is_named_with_a_suggestion() -> None:
    spec = a_spec(systems=[a_system("search"), a_system("web", depends_on=["serch"])])
    assert check(spec) == [
        Problem(("systems", 1, "depends_on", 0), "unknown system 'serch'", "did you mean 'search'?")
    ]


def test_unknown_dependency_with_nothing_close_lists_the_declared_systems() -> None:
    spec = a_spec(systems=[a_system("web", depends_on=["billing"]), a_system("cms")])
    [problem] = check(spec)
    assert problem.message == "unknown system 'billing'"
    assert problem.hint == "declare it under 'systems:' or use one of: cms, web"


def test_unknown_system_in_a_campaign_is_named_with_a_suggestion() -> None:
    spec = a_spec(
        systems=[a_system("checkout-api")],
        campaigns=[a_campaign("sale", systems=["checkout-api", "checkout-ap"])],
    )
    assert check(spec) == [
        Problem(
            ("campaigns", 0, "systems", 1),
            "unknown system 'checkout-ap'",
            "did you mean 'checkout-api'?",
        )
    ]


def test_campaign_systems_with_no_systems_declared_says_to_declare_them_first() -> None:
    spec = a_spec(campaigns=[a_campaign("sale", systems=["web"])])
    [problem] = check(spec)
    assert problem.hint == "declare it under 'systems:' first"


def test_unknown_environment_under_a_system_is_named_with_a_suggestion() -> None:
    spec = a_spec(
        environments=[an_environment("production")],
        systems=[a_system("web", environments={"prodution": {}})],
    )
    assert check(spec) == [
        Problem(
            ("systems", 0, "environments", "prodution"),
            "unknown environment 'prodution'",
            "did you mean 'production'?",
        )
    ]


def test_a_system_that_depends_on_itself_is_one_problem_not_also_a_cycle() -> None:
    spec = a_spec(systems=[a_system("cms"), a_system("web", depends_on=["cms", "web"])])
    assert check(spec) == [
        Problem(("systems", 1, "depends_on", 1), "system 'web' depends on itself")
    ]


def test_a_cycle_is_printed_as_a_closed_walk() -> None:
    spec = a_spec(
        systems=[
            a_system("a", depends_on=["b"]),
            a_system("b", depends_on=["c"]),
            a_system("c", depends_on=["a"]),
        ]
    )
    [problem] = check(spec)
    assert problem.path == ("systems", 0, "depends_on")
    assert problem.message == "dependency cycle: a → b → c → a"
    assert problem.hint is not None
    assert "remove one edge" in problem.hint


@pytest.mark.parametrize(
    ("section", "spec"),
    [
        ("environments", a_spec(environments=[an_environment("qa"), an_environment("qa")])),
        ("systems", a_spec(systems=[a_system("web"), a_system("cms"), a_system("web")])),
        ("campaigns", a_spec(campaigns=[a_campaign("sale"), a_campaign("sale")])),
    ],
    ids=["environments", "systems", "campaigns"],
)
def test_duplicate_ids_point_at_the_second_and_name_the_first(
    section: str, spec: WorkspaceSpec
) -> None:
    [problem] = check(spec)
    index = 2 if section == "systems" else 1
    assert problem.path == (section, index, "id")
    assert problem.message.endswith(f"(first used at {section}[0])")
    assert problem.message.startswith("duplicate id ")


def test_a_campaign_that_ends_before_it_starts_is_refused() -> None:
    spec = a_spec(
        campaigns=[a_campaign("sale", start="2026-11-28T00:00:00", end="2026-11-27T00:00:00")]
    )
    assert check(spec) == [
        Problem(
            ("campaigns", 0, "end"),
            "campaign 'sale' ends (2026-11-27T00:00:00) before it starts (2026-11-28T00:00:00)",
            "set end after start",
        )
    ]


def test_a_campaign_that_ends_when_it_starts_is_refused() -> None:
    spec = a_spec(campaigns=[a_campaign(start="2026-11-27T09:00:00", end="2026-11-27T09:00:00")])
    assert [p.path for p in check(spec)] == [("campaigns", 0, "end")]


def test_an_end_with_an_offset_is_compared_as_an_instant_with_a_naive_start_in_another_zone() -> (
    None
):
    # 09:00 in New York is 14:00 UTC; the end, 12:00 UTC, reads later on the clock but is not.
    spec = a_spec(
        timezone="America/New_York",
        campaigns=[a_campaign("sale", start="2026-11-27T09:00:00", end="2026-11-27T12:00:00Z")],
    )
    [problem] = check(spec)
    assert problem.path == ("campaigns", 0, "end")
    assert problem.message == (
        "campaign 'sale' ends (2026-11-27T12:00:00+00:00) before it starts (2026-11-27T09:00:00)"
    )


def test_a_naive_start_is_read_in_the_campaign_zone_before_the_workspace_zone() -> None:
    # In Tokyo 20:00 is 11:00 UTC, before the 12:00 UTC end; read in UTC it would be after.
    spec = a_spec(
        campaigns=[
            a_campaign(
                "sale",
                start="2026-11-27T20:00:00",
                end="2026-11-27T12:00:00+00:00",
                timezone="Asia/Tokyo",
            )
        ],
    )
    assert check(spec) == []


def test_slos_and_rollouts_must_be_listed_under_references() -> None:
    spec = a_spec(
        systems=[a_system("web", slos=["slos/web.yaml", "slos/cdn.yaml"], rollout="r/canary.yaml")],
        references={"slos": ["slos/web.yaml"]},
    )
    assert check(spec) == [
        Problem(
            ("systems", 0, "slos", 1),
            "SLO file 'slos/cdn.yaml' is not listed under references.slos",
            "add it to references.slos so launchdeck tracks it",
        ),
        Problem(
            ("systems", 0, "rollout"),
            "rollout strategy 'r/canary.yaml' is not listed under references.rollouts",
            "add it to references.rollouts",
        ),
    ]


def test_every_problem_is_reported_in_file_order() -> None:
    spec = a_spec(
        environments=[an_environment("qa"), an_environment("qa")],
        systems=[
            a_system("web", depends_on=["web", "nope"], environments={"prod": {}}),
            a_system("web"),
        ],
        campaigns=[a_campaign("sale", start="2026-12-01T00:00:00", systems=["nope"])],
    )
    assert [p.path for p in check(spec)] == [
        ("environments", 1, "id"),
        ("systems", 0, "depends_on", 0),
        ("systems", 0, "depends_on", 1),
        ("systems", 0, "environments", "prod"),
        ("systems", 1, "id"),
        ("campaigns", 0, "end"),
        ("campaigns", 0, "systems", 0),
    ]


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({}, None),
        ({"web": ["cms", "search"], "search": ["cms"], "cms": []}, None),
        ({"web": ["web"]}, ["web", "web"]),
        ({"a": ["b"], "b": ["c"], "c": ["d"], "d": ["e"], "e": ["b"]}, ["b", "c", "d", "e", "b"]),
        ({"a": ["b"], "b": [], "x": ["y"], "y": ["z"], "z": ["x"]}, ["x", "y", "z", "x"]),
        ({"a": ["ghost"], "ghost-free": []}, None),
        ({"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"]}, ["a", "b", "a"]),
    ],
    ids=[
        "an empty graph",
        "a diamond without a cycle",
        "a self-loop is a cycle of one",
        "a long cycle entered from outside it",
        "a cycle in the second component",
        "an unknown node is ignored",
        "of two cycles the one reached first",
    ],
)
def test_find_cycle(graph: Mapping[str, Sequence[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


def test_find_cycle_follows_a_chain_longer_than_the_recursion_limit() -> None:
    chain = {f"s{i:05}": [f"s{i + 1:05}"] for i in range(5000)}
    assert find_cycle(chain) is None
    chain["s05000"] = ["s00000"]
    cycle = find_cycle(chain)
    assert cycle is not None
    assert (len(cycle), cycle[0], cycle[-2], cycle[-1]) == (5002, "s00000", "s05000", "s00000")


@pytest.mark.parametrize(
    ("word", "hint"),
    [
        ("stagin", "did you mean 'staging'?"),
        ("PRODUCTION", None),
        ("xyz", None),
    ],
    ids=["a missing letter", "a different case is too far", "nothing close"],
)
def test_suggest(word: str, hint: str | None) -> None:
    assert suggest(word, ["staging", "production"]) == hint


@property_settings(max_examples=60)
@given(workspace_specs())
def test_any_generated_valid_spec_has_no_problems(spec: WorkspaceSpec) -> None:
    assert check(spec) == []


def _with_freezes(freezes: dict[str, object]) -> WorkspaceSpec:
    base = a_spec(systems=[a_system("web")], environments=[an_environment("production")])
    return WorkspaceSpec.model_validate({**base.model_dump(mode="json"), "freezes": freezes})


@pytest.mark.parametrize(
    ("freezes", "path", "message"),
    [
        (
            {
                "recurring": [
                    {
                        "id": "weekend",
                        "rrule": "FREQ=WEEKLY;BYDAY=FR",
                        "start": "2026-01-02T15:00:00",
                        "duration": "66h",
                        "systems": ["webb"],
                    }
                ]
            },
            ("freezes", "recurring", 0, "systems", 0),
            "unknown system 'webb'",
        ),
        (
            {
                "recurring": [
                    {
                        "id": "weekend",
                        "rrule": "FREQ=WEEKLY;BYDAY=FR",
                        "start": "2026-01-02T15:00:00",
                        "duration": "66h",
                        "environments": ["prod"],
                    }
                ]
            },
            ("freezes", "recurring", 0, "environments", 0),
            "unknown environment 'prod'",
        ),
        (
            {"campaigns": [{"tier": 1, "environments": ["staging"]}]},
            ("freezes", "campaigns", 0, "environments", 0),
            "unknown environment 'staging'",
        ),
    ],
    ids=[
        "a recurring freeze on an unknown system",
        "a recurring freeze in an unknown environment",
        "a campaign freeze in an unknown environment",
    ],
)
def test_freeze_policies_may_name_only_declared_systems_and_environments(
    freezes: dict[str, object], path: tuple[object, ...], message: str
) -> None:
    [problem] = check(_with_freezes(freezes))
    assert (problem.path, problem.message) == (path, message)


def test_freeze_policies_on_declared_names_are_valid() -> None:
    spec = _with_freezes(
        {
            "campaigns": [{"tier": 1, "environments": ["production"]}],
            "recurring": [
                {
                    "id": "weekend",
                    "rrule": "FREQ=WEEKLY;BYDAY=FR",
                    "start": "2026-01-02T15:00:00",
                    "duration": "66h",
                    "systems": ["web"],
                    "environments": ["production"],
                }
            ],
        }
    )
    assert check(spec) == []


def test_a_notification_route_for_an_unknown_system_is_named_with_a_suggestion() -> None:
    spec = WorkspaceSpec.model_validate(
        {
            **a_spec(systems=[a_system("checkout-api")]).model_dump(mode="json"),
            "notifications": {
                "channels": [{"id": "oncall", "type": "slack", "url": {"env": "HOOK"}}],
                "routes": [{"channels": ["oncall"], "systems": ["checkout-api", "chekout-api"]}],
            },
        }
    )

    assert check(spec) == [
        Problem(
            ("notifications", "routes", 0, "systems", 1),
            "unknown system 'chekout-api'",
            "did you mean 'checkout-api'?",
        )
    ]
