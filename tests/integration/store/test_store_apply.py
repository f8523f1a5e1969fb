"""Apply on a real database: what is stored, what the next plan shows, what the timeline says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from store_builders import Data, edited, item

from launchdeck.store import Database
from launchdeck.timeline.model import Event, TimelineQuery
from launchdeck.timeline.service import TimelineService
from launchdeck.workspace.model import ResourceKind, to_model
from launchdeck.workspace.plan import Action, FieldChange, ResourceChange
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec


def _all_events(db: Database) -> list[Event]:
    return list(TimelineService(db).query(TimelineQuery(limit=500)).events)


def test_apply_then_plan_again_shows_no_changes(
    service: WorkspaceService, example_spec: WorkspaceSpec
) -> None:
    first = service.apply(example_spec)

    again = service.plan(example_spec)

    assert first.revision == 1
    # 1 workspace + 2 environments + 8 systems + 5 campaigns (plain data: no calendar or SLO
    # file) + 2 flags, 4 metrics and 2 experiments.
    assert first.plan.counts() == {Action.ADD: 24, Action.CHANGE: 0, Action.REMOVE: 0}
    assert again.base_revision == 1
    assert again.changes == ()


def test_a_second_apply_of_the_same_spec_writes_nothing(
    service: WorkspaceService, example_spec: WorkspaceSpec, db: Database
) -> None:
    service.apply(example_spec)

    second = service.apply(example_spec)

    assert (second.revision, second.event_ids, second.plan.changes) == (1, (), ())
    assert len(_all_events(db)) == 24  # the first apply's: one per resource


def test_stored_resources_equal_the_model(
    service: WorkspaceService, example_spec: WorkspaceSpec
) -> None:
    model = to_model(example_spec)

    service.apply(example_spec)

    info = service.info()
    assert info.settings == model.workspace
    assert info.counts == {
        ResourceKind.ENVIRONMENT: 2,
        ResourceKind.SYSTEM: 8,
        ResourceKind.CAMPAIGN: 5,
        ResourceKind.SLO: 0,  # the SLO files are read by load_workspace, not parse_workspace
    }
    assert service.environments() == sorted(model.environments, key=lambda e: e.id)
    assert service.systems() == sorted(model.systems, key=lambda s: s.id)
    assert service.campaigns() == sorted(model.campaigns, key=lambda c: c.id)
    assert service.system("landing-pages") == next(
        s for s in model.systems if s.id == "landing-pages"
    )


def test_campaign_instants_come_back_as_aware_utc(
    service: WorkspaceService, example_spec: WorkspaceSpec
) -> None:
    service.apply(example_spec)

    campaign = service.campaign("black-friday")

    # 2026-11-27T00:00 and 2026-11-28T23:59 in America/New_York (EST, UTC-5).
    assert campaign.starts_at == datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    assert campaign.ends_at == datetime(2026, 11, 29, 4, 59, tzinfo=UTC)
    for stored in service.campaigns():
        for instant in (stored.starts_at, stored.ends_at):
            assert instant.tzinfo is UTC
            assert instant.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("system_id", "key", "expected"),
    [
        ("tracking-pixel", "sample_rate", 1.0),
        ("tracking-pixel", "consent_mode", "strict"),
        ("landing-pages", "cache_ttl_s", 120),
        ("landing-pages", "edge_cache", True),
        ("recommendations", "model", "bf-2026-v3"),
    ],
    ids=[
        "a float stays a float",
        "a str stays a str",
        "an int stays an int",
        "a bool stays a bool",
        "a str that looks like a version stays a str",
    ],
)
def test_nested_config_values_round_trip_with_their_type(
    service: WorkspaceService,
    example_spec: WorkspaceSpec,
    system_id: str,
    key: str,
    expected: object,
) -> None:
    service.apply(example_spec)

    value = service.system(system_id).environments["production"].config[key]

    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("edit", "kind", "resource_id", "expected_fields"),
    [
        (
            lambda d: item(d, "campaigns", "black-friday").update(revenue_per_hour=190000),
            ResourceKind.CAMPAIGN,
            "black-friday",
            (FieldChange(field="revenue_per_hour", before=185000.0, after=190000.0),),
        ),
        (
            lambda d: item(d, "systems", "search").update(depends_on=["cms", "tracking-pixel"]),
            ResourceKind.SYSTEM,
            "search",
            (FieldChange(field="depends_on", before=["cms"], after=["cms", "tracking-pixel"]),),
        ),
        (
            lambda d: item(d, "systems", "tracking-pixel")["environments"]["production"][
                "config"
            ].update(sample_rate=0.25),
            ResourceKind.SYSTEM,
            "tracking-pixel",
            (
                FieldChange(
                    field="environments.production.config.sample_rate", before=1.0, after=0.25
                ),
            ),
        ),
        (
            lambda d: item(d, "environments", "staging").update(production_like=True),
            ResourceKind.ENVIRONMENT,
            "staging",
            (FieldChange(field="production_like", before=False, after=True),),
        ),
        (
            lambda d: d["workspace"].update(description="Growth engineering"),
            ResourceKind.WORKSPACE,
            "workspace",
            (
                FieldChange(
                    field="description",
                    before="Growth and marketing engineering at Northwind Outfitters",
                    after="Growth engineering",
                ),
            ),
        ),
    ],
    ids=[
        "a campaign's revenue_per_hour",
        "a system's depends_on",
        "a nested config value",
        "an environment flag",
        "the workspace description",
    ],
)
def test_changing_one_field_plans_exactly_that_field(
    service: WorkspaceService,
    example_spec: WorkspaceSpec,
    edit: Callable[[Data], None],
    kind: ResourceKind,
    resource_id: str,
    expected_fields: tuple[FieldChange, ...],
) -> None:
    service.apply(example_spec)

    plan = service.plan(edited(edit))

    assert [(c.kind, c.id, c.action, c.fields) for c in plan.changes] == [
        (kind, resource_id, Action.CHANGE, expected_fields)
    ]


def test_changing_the_workspace_time_zone_moves_campaigns_written_in_it(
    service: WorkspaceService, example_spec: WorkspaceSpec
) -> None:
    """Naive campaign times are read in the workspace zone, so their instants move with it."""
    service.apply(example_spec)

    plan = service.plan(edited(lambda d: d["workspace"].update(timezone="UTC")))

    changed = {(c.kind, c.id) for c in plan.changes}
    assert changed == {(ResourceKind.WORKSPACE, "workspace")} | {
        (ResourceKind.CAMPAIGN, c.id) for c in example_spec.campaigns
    }


def _with_extra_system(data: Data) -> None:
    data["systems"].append(
        {"id": "loyalty-widget", "name": "Loyalty widget", "tier": 3, "owners": ["@growth-eng"]}
    )


def test_removing_a_system_plans_a_remove_with_the_stored_resource(
    service: WorkspaceService, example_spec: WorkspaceSpec
) -> None:
    service.apply(edited(_with_extra_system))

    plan = service.plan(example_spec)

    assert len(plan.changes) == 1
    change = plan.changes[0]
    assert (change.kind, change.id, change.action) == (
        ResourceKind.SYSTEM,
        "loyalty-widget",
        Action.REMOVE,
    )
    assert change.after is None
    assert change.before is not None
    assert change.before["name"] == "Loyalty widget"
    assert change.before["tier"] == 3


def test_applying_a_removal_deletes_the_row(
    service: WorkspaceService, example_spec: WorkspaceSpec
) -> None:
    service.apply(edited(_with_extra_system))

    result = service.apply(example_spec)

    assert result.revision == 2
    assert [s.id for s in service.systems()] == sorted(s.id for s in example_spec.systems)


def _mixed_edit(data: Data) -> None:
    item(data, "campaigns", "cyber-monday").update(revenue_per_hour=250000)
    data["systems"].append({"id": "gift-finder", "name": "Gift finder", "tier": 3})
    # loyalty-widget, stored by the previous apply, is not in the example: it is removed.


def test_each_applied_change_writes_exactly_one_event(
    service: WorkspaceService, db: Database, clock: Any
) -> None:
    service.apply(edited(_with_extra_system))
    before = {e.id for e in _all_events(db)}
    clock.advance(timedelta(hours=1))

    result = service.apply(edited(_mixed_edit))

    new_events = sorted((e for e in _all_events(db) if e.id not in before), key=lambda e: e.id)
    assert result.revision == 2
    assert tuple(e.id for e in new_events) == result.event_ids
    assert len(new_events) == len(result.plan.changes) == 3
    for change, event in zip(result.plan.changes, new_events, strict=True):
        _assert_event_records(change, event, revision=2)
    assert [e.kind for e in new_events] == ["system.added", "system.removed", "campaign.changed"]
    assert {e.occurred_at for e in new_events} == {datetime(2026, 11, 20, 13, 0, tzinfo=UTC)}


def test_the_first_apply_records_every_resource_added_at_revision_one(
    service: WorkspaceService, example_spec: WorkspaceSpec, db: Database
) -> None:
    result = service.apply(example_spec)

    events = sorted(_all_events(db), key=lambda e: e.id)
    assert len(events) == 24  # one per resource (counted in the first test above)
    for change, event in zip(result.plan.changes, events, strict=True):
        _assert_event_records(change, event, revision=1)
    assert {e.kind for e in events} == {
        "workspace.added",
        "environment.added",
        "system.added",
        "campaign.added",
        "flag.added",
        "metric.added",
        "experiment.added",
    }


def _assert_event_records(change: ResourceChange, event: Event, *, revision: int) -> None:
    verb = {Action.ADD: "added", Action.CHANGE: "changed", Action.REMOVE: "removed"}
    assert event.kind == f"{change.kind}.{verb[change.action]}"
    assert event.actor == "alice"
    assert event.subject == f"{change.kind}/{change.id}"
    expected_system = change.id if change.kind is ResourceKind.SYSTEM else None
    assert event.system == expected_system
    assert event.payload == {
        "revision": revision,
        "fields": [f.field for f in change.fields],
        "before": change.before,
        "after": change.after,
    }
