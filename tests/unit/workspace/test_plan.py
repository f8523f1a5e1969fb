"""plan.diff: what apply would change, resource by resource and field by field."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from launchdeck.workspace.model import (
    DesiredState,
    ResourceKind,
    SystemEnvironment,
    WorkspaceSettings,
    to_model,
)
from launchdeck.workspace.plan import Action, FieldChange, Plan, ResourceChange, diff, diff_fields
from strategies import property_settings, workspace_specs
from unit.builders import (
    a_campaign_model,
    a_state,
    a_system_model,
    an_environment_model,
)

Resources = dict[ResourceKind, dict[str, dict[str, Any]]]
SHOP = WorkspaceSettings(name="shop")


def plan_of(desired: DesiredState, current: DesiredState) -> Plan:
    return diff(desired, current, base_revision=7)


def summary(plan: Plan) -> list[tuple[str, str, str]]:
    return [(c.kind.value, c.id, c.action.value) for c in plan.changes]


def test_identical_states_give_an_empty_plan() -> None:
    state = a_state(
        workspace=SHOP,
        environments=[an_environment_model("production")],
        systems=[a_system_model("web")],
        campaigns=[a_campaign_model("sale")],
    )
    plan = plan_of(state, state.model_copy())
    assert (plan.changes, plan.has_changes, plan.base_revision) == ((), False, 7)
    assert plan.counts() == {Action.ADD: 0, Action.CHANGE: 0, Action.REMOVE: 0}


def test_a_new_resource_is_an_add_carrying_the_whole_resource() -> None:
    plan = plan_of(a_state(systems=[a_system_model("web", tier=1)]), a_state())
    [change] = plan.changes
    assert (change.kind, change.id, change.action) == (ResourceKind.SYSTEM, "web", Action.ADD)
    assert (change.before, change.fields) == (None, ())
    assert change.after is not None
    assert (change.after["id"], change.after["tier"]) == ("web", 1)


def test_a_resource_no_longer_desired_is_a_remove_carrying_what_was_stored() -> None:
    plan = plan_of(a_state(), a_state(campaigns=[a_campaign_model("sale")]))
    [change] = plan.changes
    assert (change.kind, change.id, change.action) == (ResourceKind.CAMPAIGN, "sale", Action.REMOVE)
    assert change.after is None
    assert change.before is not None
    assert change.before["starts_at"] == "2026-11-27T05:00:00Z"


def test_a_changed_resource_lists_each_changed_field_with_before_and_after() -> None:
    plan = plan_of(
        a_state(systems=[a_system_model("web", tier=1, owners=("@web",), description="new")]),
        a_state(systems=[a_system_model("web", tier=2, owners=("@web",))]),
    )
    [change] = plan.changes
    assert change.action is Action.CHANGE
    assert change.fields == (
        FieldChange(field="description", before=None, after="new"),
        FieldChange(field="tier", before=2, after=1),
    )
    assert change.before is not None
    assert change.after is not None
    assert (change.before["tier"], change.after["tier"]) == (2, 1)


def test_nested_fields_are_named_by_their_dotted_path() -> None:
    before = a_system_model(
        "web",
        environments={
            "production": SystemEnvironment(url="https://old.example", config={"ttl": 60}),
            "staging": SystemEnvironment(),
        },
    )
    after = a_system_model(
        "web",
        environments={
            "production": SystemEnvironment(url="https://new.example", config={"ttl": 120}),
            "qa": SystemEnvironment(),
        },
    )
    [change] = plan_of(a_state(systems=[after]), a_state(systems=[before])).changes
    assert change.fields == (
        FieldChange(
            field="environments.production.config.ttl",
            before=60,
            after=120,
        ),
        FieldChange(
            field="environments.production.url",
            before="https://old.example",
            after="https://new.example",
        ),
        FieldChange(
            field="environments.qa", before=None, after={"url": None, "config": {}, "target": None}
        ),
        FieldChange(
            field="environments.staging",
            before={"url": None, "config": {}, "target": None},
            after=None,
        ),
    )


def test_lists_are_compared_whole() -> None:
    [change] = plan_of(
        a_state(systems=[a_system_model("web", depends_on=("cms", "search", "cdn"))]),
        a_state(systems=[a_system_model("web", depends_on=("cms", "search"))]),
    ).changes
    assert change.fields == (
        FieldChange(field="depends_on", before=["cms", "search"], after=["cms", "search", "cdn"]),
    )


def test_a_reordered_list_is_a_change() -> None:
    [change] = plan_of(
        a_state(systems=[a_system_model("web", owners=("@b", "@a"))]),
        a_state(systems=[a_system_model("web", owners=("@a", "@b"))]),
    ).changes
    assert [f.field for f in change.fields] == ["owners"]


def test_workspace_settings_changes_are_planned_like_any_resource() -> None:
    plan = plan_of(
        a_state(workspace=WorkspaceSettings(name="shop", timezone="Europe/Berlin")),
        a_state(workspace=SHOP),
    )
    [change] = plan.changes
    assert (change.kind, change.id, change.action) == (
        ResourceKind.WORKSPACE,
        "workspace",
        Action.CHANGE,
    )
    assert change.fields == (FieldChange(field="timezone", before="UTC", after="Europe/Berlin"),)


def test_a_desired_state_without_workspace_settings_never_removes_the_stored_ones() -> None:
    plan = plan_of(
        a_state(systems=[a_system_model("web")]),
        a_state(workspace=SHOP, systems=[a_system_model("web")]),
    )
    assert plan.changes == ()


def test_changes_come_kind_by_kind_then_by_id() -> None:
    plan = plan_of(
        a_state(
            workspace=SHOP,
            campaigns=[a_campaign_model("b-sale"), a_campaign_model("a-sale")],
            systems=[a_system_model("web"), a_system_model("api", tier=1)],
            environments=[an_environment_model("staging")],
        ),
        a_state(
            systems=[a_system_model("api"), a_system_model("cms")],
            environments=[an_environment_model("production")],
        ),
    )
    assert summary(plan) == [
        ("workspace", "workspace", "add"),
        ("environment", "production", "remove"),
        ("environment", "staging", "add"),
        ("system", "api", "change"),
        ("system", "cms", "remove"),
        ("system", "web", "add"),
        ("campaign", "a-sale", "add"),
        ("campaign", "b-sale", "add"),
    ]
    assert plan.counts() == {Action.ADD: 5, Action.CHANGE: 1, Action.REMOVE: 2}


def test_diff_fields_sees_a_key_that_appears_or_disappears() -> None:
    assert diff_fields({"a": 1, "gone": "x"}, {"a": 1, "new": {"k": 1}}) == [
        FieldChange(field="gone", before="x", after=None),
        FieldChange(field="new", before=None, after={"k": 1}),
    ]


def test_diff_fields_reports_a_mapping_replaced_by_a_scalar_as_one_change() -> None:
    assert diff_fields({"a": {"b": 1}}, {"a": 2}) == [
        FieldChange(field="a", before={"b": 1}, after=2)
    ]


# Properties over generated workspaces ------------------------------------------------------


def applied(plan: Plan, resources: Resources) -> Resources:
    """`resources` after carrying out `plan` the way the store does: whole resources."""
    out = copy.deepcopy(resources)
    for change in plan.changes:
        if change.action is Action.REMOVE:
            del out[change.kind][change.id]
        else:
            assert change.after is not None
            out[change.kind][change.id] = change.after
    return out


def value_at(resource: dict[str, Any] | None, dotted: str) -> Any:
    node: Any = resource
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


states = workspace_specs(max_systems=5, max_campaigns=3).map(to_model)


@st.composite
def state_pairs(draw: st.DrawFn) -> tuple[DesiredState, DesiredState]:
    """(desired, current): independent states, where some of current's resources take
    desired's ids, so that plans hold changes as well as adds and removes."""
    desired, other = draw(states), draw(states)

    def relabelled(mine: tuple[Any, ...], theirs: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            item.model_copy(update={"id": theirs[n].id})
            if n < len(theirs) and draw(st.booleans())
            else item
            for n, item in enumerate(mine)
        )

    current = DesiredState(
        workspace=other.workspace,
        environments=relabelled(other.environments, desired.environments),
        systems=relabelled(other.systems, desired.systems),
        campaigns=relabelled(other.campaigns, desired.campaigns),
    )
    return desired, current


@property_settings(max_examples=40)
@given(states)
def test_a_state_diffed_against_itself_plans_nothing(state: DesiredState) -> None:
    assert plan_of(state, state).changes == ()


@property_settings(max_examples=40)
@given(states)
def test_against_an_empty_store_every_resource_is_added_once(state: DesiredState) -> None:
    plan = plan_of(state, DesiredState())
    expected = {(kind, rid) for kind, items in state.resources().items() for rid in items}
    assert {(c.kind, c.id) for c in plan.changes} == expected
    assert len(plan.changes) == len(expected)
    assert plan.counts() == {Action.ADD: len(expected), Action.CHANGE: 0, Action.REMOVE: 0}


@property_settings(max_examples=60)
@given(state_pairs())
def test_carrying_out_a_plan_reaches_the_desired_state(
    pair: tuple[DesiredState, DesiredState],
) -> None:
    desired, current = pair
    plan = plan_of(desired, current)
    assert applied(plan, current.resources()) == desired.resources()


@property_settings(max_examples=40)
@given(state_pairs())
def test_every_field_change_names_a_path_whose_values_it_reports(
    pair: tuple[DesiredState, DesiredState],
) -> None:
    desired, current = pair
    for change in plan_of(desired, current).changes:
        if change.action is not Action.CHANGE:
            assert change.fields == ()
            continue
        assert change.fields != ()
        for field in change.fields:
            assert field.before == value_at(change.before, field.field)
            assert field.after == value_at(change.after, field.field)
            assert field.before != field.after


@property_settings(max_examples=40)
@given(states, st.sampled_from([None, WorkspaceSettings(name="stored", timezone="Asia/Tokyo")]))
def test_without_workspace_settings_the_stored_ones_stay(
    state: DesiredState, stored: WorkspaceSettings | None
) -> None:
    desired = state.model_copy(update={"workspace": None})
    current = a_state(workspace=stored)
    plan = plan_of(desired, current)
    assert all(c.kind is not ResourceKind.WORKSPACE for c in plan.changes)
    after = applied(plan, current.resources())
    assert after[ResourceKind.WORKSPACE] == current.resources()[ResourceKind.WORKSPACE]


def test_a_plan_round_trips_through_json() -> None:
    plan = plan_of(
        a_state(workspace=SHOP, systems=[a_system_model("web", tier=1)]),
        a_state(systems=[a_system_model("web")], campaigns=[a_campaign_model("sale")]),
    )
    assert Plan.model_validate_json(plan.model_dump_json()) == plan
    assert isinstance(plan.changes[0], ResourceChange)
