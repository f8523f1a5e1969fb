"""Experiments in launchdeck.yaml: cross-reference problems with their paths (and, through the
loader, file:line:column), and the model they become — the campaign's window resolved, the
experiment compiled into its flag."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

import pytest

from launchdeck.errors import ValidationFailed
from launchdeck.experiments.model import consent_rule_name
from launchdeck.workspace.load import parse_workspace
from launchdeck.workspace.model import ResourceKind, to_model
from launchdeck.workspace.spec import WorkspaceSpec
from launchdeck.workspace.validate import Problem, check

BF_START = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
"""Black Friday 00:00 in New York, the workspace's zone."""
BF_END = datetime(2026, 11, 29, 4, 59, tzinfo=UTC)


def a_flag(key: str = "hero", **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "experiment",
        "type": "string",
        "variants": {"off": "a", "control": "b", "urgency": "c"},
        "environments": {"production": {"enabled": True}},
        **fields,
    }


def an_experiment(key: str = "hero-test", **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "flag": "hero",
        "control": "control",
        "variants": {"control": 50, "urgency": 50},
        "primary_metric": "purchase",
        **fields,
    }


def a_workspace(
    *,
    flags: list[dict[str, Any]] | None = None,
    metrics: list[dict[str, Any]] | None = None,
    experiments: list[dict[str, Any]] | None = None,
) -> WorkspaceSpec:
    """New York's shop with staging and production, Black Friday, flag `hero`, and the
    metrics purchase, add-to-cart and revenue."""
    return WorkspaceSpec.model_validate(
        {
            "workspace": {"name": "shop", "timezone": "America/New_York"},
            "environments": [{"id": "staging"}, {"id": "production"}],
            "campaigns": [
                {
                    "id": "black-friday",
                    "name": "Black Friday",
                    "start": "2026-11-27T00:00:00",
                    "end": "2026-11-28T23:59:00",
                }
            ],
            "flags": [a_flag()] if flags is None else flags,
            "metrics": (
                [
                    {"key": "purchase", "event": "purchase"},
                    {"key": "add-to-cart", "event": "add_to_cart"},
                    {"key": "revenue", "type": "mean", "event": "purchase"},
                ]
                if metrics is None
                else metrics
            ),
            "experiments": [an_experiment()] if experiments is None else experiments,
        }
    )


def test_a_valid_experiment_has_no_problems() -> None:
    spec = a_workspace(
        experiments=[
            an_experiment(
                campaign="black-friday",
                secondary_metrics=["add-to-cart"],
                guardrail_metrics=["revenue"],
            )
        ]
    )
    assert check(spec) == []


def test_an_unknown_flag_is_named_with_a_suggestion() -> None:
    spec = a_workspace(experiments=[an_experiment(flag="heor")])
    assert check(spec) == [
        Problem(
            ("experiments", 0, "flag"),
            "experiment 'hero-test' is on flag 'heor', which is not in launchdeck.yaml `flags:`",
            "did you mean 'hero'?",
        )
    ]


def test_an_unknown_flag_with_nothing_close_says_to_manage_it_in_launchdeck_yaml() -> None:
    spec = a_workspace(flags=[], experiments=[an_experiment(flag="checkout-button")])
    [problem] = check(spec)
    assert problem.path == ("experiments", 0, "flag")
    assert problem.hint == (
        "experiments run on flags managed in launchdeck.yaml; add the flag there"
    )


def test_unknown_metrics_are_named_at_their_place_in_each_list() -> None:
    spec = a_workspace(
        experiments=[
            an_experiment(
                primary_metric="purchse",
                secondary_metrics=["add-to-cart", "checkout-started"],
                guardrail_metrics=["revenu"],
            )
        ]
    )
    assert check(spec) == [
        Problem(
            ("experiments", 0, "primary_metric"),
            "unknown metric 'purchse'",
            "did you mean 'purchase'?",
        ),
        Problem(
            ("experiments", 0, "secondary_metrics", 1),
            "unknown metric 'checkout-started'",
            "declare it under 'metrics:' or use one of: add-to-cart, purchase, revenue",
        ),
        Problem(
            ("experiments", 0, "guardrail_metrics", 0),
            "unknown metric 'revenu'",
            "did you mean 'revenue'?",
        ),
    ]


def test_a_metric_with_no_metrics_declared_says_to_declare_them_first() -> None:
    [problem] = check(a_workspace(metrics=[]))
    assert problem == Problem(
        ("experiments", 0, "primary_metric"),
        "unknown metric 'purchase'",
        "declare it under 'metrics:' first",
    )


def test_an_unknown_environment_and_campaign_are_named() -> None:
    spec = a_workspace(experiments=[an_experiment(environment="prodution", campaign="black-fridy")])
    assert check(spec) == [
        Problem(
            ("experiments", 0, "environment"),
            "unknown environment 'prodution'",
            "did you mean 'production'?",
        ),
        Problem(
            ("experiments", 0, "campaign"),
            "unknown campaign 'black-fridy'",
            "did you mean 'black-friday'?",
        ),
    ]


def test_two_experiments_on_one_flag_and_environment_are_refused_at_the_second() -> None:
    spec = a_workspace(
        experiments=[
            an_experiment("hero-test"),
            an_experiment("hero-test-2", variants={"control": 30, "urgency": 70}),
        ]
    )
    assert check(spec) == [
        Problem(
            ("experiments", 1, "flag"),
            "experiments 'hero-test' and 'hero-test-2' both run on flag 'hero' in 'production'",
            "run one experiment per flag and environment (use another flag)",
        )
    ]


def test_the_same_flag_may_run_one_experiment_per_environment() -> None:
    spec = a_workspace(
        flags=[a_flag(environments={"production": {"enabled": True}, "staging": {}})],
        experiments=[
            an_experiment("hero-test"),
            an_experiment("hero-staging", environment="staging"),
        ],
    )
    assert check(spec) == []


def test_a_flag_that_cannot_carry_the_experiment_is_a_problem_at_its_flag() -> None:
    spec = a_workspace(
        flags=[
            a_flag(),
            a_flag("ship", environments={"production": {"fallthrough": {"variant": "urgency"}}}),
        ],
        experiments=[
            an_experiment(variants={"control": 50, "savings": 50}),
            an_experiment("ship-test", flag="ship"),
        ],
    )
    assert check(spec) == [
        Problem(
            ("experiments", 0, "flag"),
            "experiment 'hero-test': variants ['savings'] are not variants of flag 'hero' "
            "(it has ['control', 'off', 'urgency'])",
        ),
        Problem(
            ("experiments", 1, "flag"),
            "experiment 'ship-test': flag 'ship' sets its own fallthrough in 'production'; "
            "remove it: the experiment's split is the fallthrough",
        ),
    ]


@pytest.mark.parametrize(
    ("document", "where", "message"),
    [
        (
            {
                "metrics": [
                    {"key": "purchase", "event": "purchase"},
                    {"key": "purchase", "event": "buy"},
                ]
            },
            ("metrics", 1),
            "duplicate id 'purchase' (first used at metrics[0])",
        ),
        (
            {"experiments": [an_experiment(), an_experiment(environment="staging")]},
            ("experiments", 1),
            "duplicate id 'hero-test' (first used at experiments[0])",
        ),
    ],
    ids=["a metric", "an experiment"],
)
def test_a_key_used_twice_is_refused_at_the_second(
    document: dict[str, Any], where: tuple[str, int], message: str
) -> None:
    problems = check(a_workspace(**document))
    assert [p.message for p in problems if p.path[:2] == where] == [message]


def test_a_workspace_without_experiments_or_metrics_is_not_checked_for_them() -> None:
    assert check(a_workspace(flags=[], metrics=[], experiments=[])) == []


# --------------------------------------------------------------------------- through the loader


def test_experiment_problems_point_at_the_offending_value_in_the_file() -> None:
    text = textwrap.dedent("""\
        workspace: {name: shop}
        environments:
          - id: production
        flags:
          - key: hero
            type: string
            variants: {"off": a, control: b, urgency: c}
            environments:
              production: {enabled: true}
        metrics:
          - key: purchase
            event: purchase
        experiments:
          - key: hero-test
            flag: heor
            control: control
            variants: {control: 50, urgency: 50}
            primary_metric: purchase
            guardrail_metrics: [purchase-value]
        """)
    with pytest.raises(ValidationFailed) as caught:
        parse_workspace(text, source="launchdeck.yaml")

    assert [(p.where, p.message, p.hint) for p in caught.value.problems] == [
        (
            "launchdeck.yaml:15:11",
            "experiments[0].flag: experiment 'hero-test' is on flag 'heor', which is not in "
            "launchdeck.yaml `flags:`",
            "did you mean 'hero'?",
        ),
        (
            "launchdeck.yaml:19:25",
            "experiments[0].guardrail_metrics[0]: unknown metric 'purchase-value'",
            "did you mean 'purchase'?",
        ),
    ]


def test_a_spec_error_in_an_experiment_points_at_the_experiment() -> None:
    text = textwrap.dedent("""\
        workspace: {name: shop}
        experiments:
          - key: hero-test
            flag: hero
            control: control
            variants: {control: 50, urgency: 40}
            primary_metric: purchase
        """)
    with pytest.raises(ValidationFailed) as caught:
        parse_workspace(text, source="launchdeck.yaml")

    [problem] = caught.value.problems
    assert problem.where == "launchdeck.yaml:6:15"
    assert "the variant weights add up to 90 %, not 100 %" in problem.message


# --------------------------------------------------------------------------- the model


def test_an_experiment_on_a_campaign_takes_its_window() -> None:
    state = to_model(a_workspace(experiments=[an_experiment(campaign="black-friday")]))

    [experiment] = state.experiments
    assert (experiment.id, experiment.flag, experiment.environment) == (
        "hero-test",
        "hero",
        "production",
    )
    assert (experiment.spec.start, experiment.spec.end) == (BF_START, BF_END)
    assert experiment.document["start"] == "2026-11-27T05:00:00Z"


def test_a_written_start_or_end_wins_over_the_campaign() -> None:
    own_end = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
    own_start = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    state = to_model(
        a_workspace(
            experiments=[
                an_experiment(campaign="black-friday", end=own_end.isoformat()),
                an_experiment(
                    "hero-staging",
                    environment="staging",
                    campaign="black-friday",
                    start=own_start.isoformat(),
                ),
            ]
        )
    )

    windows = {e.id: (e.spec.start, e.spec.end) for e in state.experiments}
    assert windows == {"hero-test": (BF_START, own_end), "hero-staging": (own_start, BF_END)}


def test_an_experiment_without_a_campaign_keeps_its_open_window() -> None:
    state = to_model(a_workspace())
    assert (state.experiments[0].spec.start, state.experiments[0].spec.end) == (None, None)


def test_the_model_carries_the_flag_with_the_experiment_compiled_in() -> None:
    state = to_model(a_workspace(experiments=[an_experiment(coverage=50)]))

    [flag] = state.flags
    env = flag.environments["production"]
    assert [rule.name for rule in env.rules] == [consent_rule_name("hero-test")]
    assert env.fallthrough.rollout is not None
    assert (env.fallthrough.rollout.salt, env.fallthrough.rollout.coverage) == ("hero-test", 50)
    resources = state.resources()
    assert set(resources[ResourceKind.EXPERIMENT]) == {"hero-test"}
    assert set(resources[ResourceKind.METRIC]) == {"purchase", "add-to-cart", "revenue"}
    assert resources[ResourceKind.FLAG]["hero"]["environments"]["production"]["fallthrough"][
        "rollout"
    ]["salt"] == ("hero-test")


def test_a_start_after_the_campaigns_end_is_a_problem_at_start() -> None:
    spec = a_workspace(
        experiments=[an_experiment(campaign="black-friday", start="2026-12-01T00:00:00Z")]
    )

    [problem] = check(spec)

    assert problem.path == ("experiments", 0, "start")
    assert "the end is not after the start" in problem.message
    assert "2026-11-29T04:59:00+00:00" in problem.message  # Black Friday's end, in UTC


def test_cuped_without_a_start_is_a_problem() -> None:
    spec = a_workspace(
        metrics=[
            {"key": "purchase", "event": "purchase"},
            {"key": "revenue", "type": "mean", "event": "purchase", "cuped": True},
        ],
        experiments=[an_experiment(guardrail_metrics=["revenue"])],
    )

    [problem] = check(spec)

    assert problem.path == ("experiments", 0, "start")
    assert "revenue use CUPED" in problem.message


def test_a_scheduled_change_of_the_rules_would_drop_the_consent_rule() -> None:
    change = {"at": "2026-11-28T00:00:00Z", "set": {"rules": []}}
    spec = a_workspace(
        flags=[a_flag(environments={"production": {"enabled": True, "schedule": [change]}})]
    )

    [problem] = check(spec)

    assert problem.path == ("experiments", 0, "flag")
    assert "schedule[0]" in problem.message
    assert "schedule only `enabled`" in problem.message
