"""Spec -> model: names default to ids, campaign times become UTC instants read in the right zone.

Expected instants are worked out by hand from the zone's offsets (EDT is UTC-4, EST UTC-5,
JST UTC+9, NPT UTC+5:45) and cross-checked against zoneinfo.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given

from launchdeck.workspace.model import (
    DesiredState,
    ResourceKind,
    SystemEnvironment,
    WorkspaceSettings,
    campaign_window,
    to_model,
)
from launchdeck.workspace.spec import CampaignSpec, References, WorkspaceSpec
from strategies import property_settings, workspace_specs
from unit.builders import a_campaign, a_spec, a_system, an_environment

NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def window_of(workspace_zone: str = "UTC", **campaign: Any) -> tuple[datetime, datetime, str]:
    return campaign_window(CampaignSpec.model_validate(a_campaign(**campaign)), workspace_zone)


def test_naive_times_are_read_in_the_workspace_zone_when_the_campaign_has_none() -> None:
    starts_at, ends_at, zone = window_of(
        "America/New_York", start="2026-11-27T00:00:00", end="2026-11-28T23:59:00"
    )
    assert (starts_at, ends_at, zone) == (
        utc(2026, 11, 27, 5),
        utc(2026, 11, 29, 4, 59),
        "America/New_York",
    )


def test_naive_times_are_read_in_the_campaign_zone_before_the_workspace_zone() -> None:
    starts_at, ends_at, zone = window_of(
        "America/New_York",
        start="2026-11-27T09:00:00",
        end="2026-11-27T21:00:00",
        timezone="Asia/Tokyo",
    )
    assert (starts_at, ends_at, zone) == (utc(2026, 11, 27, 0), utc(2026, 11, 27, 12), "Asia/Tokyo")


def test_a_quarter_hour_zone_is_honoured() -> None:
    starts_at, _, _ = window_of(start="2026-05-01T12:00:00", timezone="Asia/Kathmandu")
    assert starts_at == utc(2026, 5, 1, 6, 15)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-11-27T09:00:00Z", utc(2026, 11, 27, 9)),
        ("2026-11-27T09:00:00+01:00", utc(2026, 11, 27, 8)),
        ("2026-11-27T09:00:00-08:00", utc(2026, 11, 27, 17)),
    ],
    ids=["Z", "plus one hour", "minus eight hours"],
)
def test_an_explicit_offset_wins_over_every_zone(start: str, expected: datetime) -> None:
    starts_at, _, _ = window_of(
        "America/New_York", start=start, end="2026-12-01T00:00:00Z", timezone="Asia/Tokyo"
    )
    assert starts_at == expected
    assert starts_at.tzinfo is UTC


def test_the_first_occurrence_of_an_ambiguous_hour_is_taken() -> None:
    # 2026-11-01 01:30 happens twice in New York: 05:30 UTC (EDT), then 06:30 UTC (EST).
    starts_at, ends_at, _ = window_of(
        start="2026-11-01T01:30:00", end="2026-11-01T03:00:00", timezone="America/New_York"
    )
    assert starts_at == utc(2026, 11, 1, 5, 30)
    assert starts_at == datetime(2026, 11, 1, 1, 30, fold=0, tzinfo=NEW_YORK).astimezone(UTC)
    assert ends_at == utc(2026, 11, 1, 8)


def test_a_campaign_across_the_end_of_dst_lasts_an_extra_hour() -> None:
    starts_at, ends_at, _ = window_of(
        start="2026-10-31T12:00:00", end="2026-11-01T12:00:00", timezone="America/New_York"
    )
    assert (starts_at, ends_at) == (utc(2026, 10, 31, 16), utc(2026, 11, 1, 17))
    assert ends_at - starts_at == timedelta(hours=25)


def test_a_campaign_across_the_start_of_dst_lasts_an_hour_less() -> None:
    starts_at, ends_at, _ = window_of(
        start="2026-03-07T12:00:00", end="2026-03-08T12:00:00", timezone="America/New_York"
    )
    assert (starts_at, ends_at) == (utc(2026, 3, 7, 17), utc(2026, 3, 8, 16))
    assert ends_at - starts_at == timedelta(hours=23)


def test_a_wall_time_skipped_by_dst_is_read_with_the_offset_before_the_change() -> None:
    # 02:30 does not exist on 2026-03-08 in New York; PEP 495 reads it as EST (UTC-5),
    # which is 03:30 EDT once the clocks have moved.
    starts_at, _, _ = window_of(
        start="2026-03-08T02:30:00", end="2026-03-09T00:00:00", timezone="America/New_York"
    )
    assert starts_at == utc(2026, 3, 8, 7, 30)


def test_names_default_to_ids() -> None:
    model = to_model(
        a_spec(
            environments=[an_environment("staging"), an_environment("production", name="Prod")],
            systems=[a_system("web"), a_system("cms", name="Headless CMS")],
        )
    )
    assert [e.name for e in model.environments] == ["staging", "Prod"]
    assert [s.name for s in model.systems] == ["web", "Headless CMS"]


def test_the_workspace_settings_carry_zone_description_and_references() -> None:
    spec = WorkspaceSpec.model_validate(
        {
            "workspace": {"name": "shop", "timezone": "Europe/Berlin", "description": "d"},
            "references": {"slos": ["slos/web.yaml"]},
        }
    )
    assert to_model(spec).workspace == WorkspaceSettings(
        name="shop",
        timezone="Europe/Berlin",
        description="d",
        references=References(slos=("slos/web.yaml",)),
    )


def test_every_system_field_is_carried_over() -> None:
    spec = a_spec(
        environments=[an_environment("production")],
        systems=[
            a_system("cms"),
            a_system(
                "web",
                tier=1,
                owners=["@web"],
                depends_on=["cms"],
                description="the shop",
                environments={"production": {"url": "https://x.example", "config": {"ttl": 60}}},
                slos=["slos/web.yaml"],
                rollout="r/web.yaml",
            ),
        ],
        references={"slos": ["slos/web.yaml"], "rollouts": ["r/web.yaml"]},
    )
    web = to_model(spec).systems[1]
    assert (web.tier, web.owners, web.depends_on, web.description) == (
        1,
        ("@web",),
        ("cms",),
        "the shop",
    )
    assert web.environments == {
        "production": SystemEnvironment(url="https://x.example", config={"ttl": 60})
    }
    assert (web.slos, web.rollout) == (("slos/web.yaml",), "r/web.yaml")


def test_a_campaign_model_holds_utc_instants_and_the_zone_it_was_written_in() -> None:
    spec = a_spec(
        timezone="America/New_York",
        systems=[a_system("web")],
        campaigns=[
            a_campaign(
                "black-friday",
                name="Black Friday",
                start="2026-11-27T00:00:00",
                end="2026-11-28T23:59:00",
                tier=1,
                revenue_per_hour=185000,
                channels=["email"],
                systems=["web"],
            )
        ],
    )
    [campaign] = to_model(spec).campaigns
    assert (campaign.starts_at, campaign.ends_at) == (
        utc(2026, 11, 27, 5),
        utc(2026, 11, 29, 4, 59),
    )
    assert (campaign.timezone, campaign.tier, campaign.systems) == ("America/New_York", 1, ("web",))
    assert campaign.revenue_per_hour == pytest.approx(185000.0)


def test_resources_are_canonical_json_by_kind_then_id() -> None:
    state = to_model(a_spec(systems=[a_system("web")], campaigns=[a_campaign("sale")]))
    resources = state.resources()
    assert list(resources) == list(ResourceKind)
    assert list(resources[ResourceKind.WORKSPACE]) == ["workspace"]
    assert resources[ResourceKind.ENVIRONMENT] == {}
    assert resources[ResourceKind.SYSTEM]["web"]["environments"] == {}
    assert resources[ResourceKind.CAMPAIGN]["sale"]["starts_at"] == "2026-11-27T00:00:00Z"


def test_a_state_without_workspace_settings_has_no_workspace_resource() -> None:
    assert DesiredState().resources()[ResourceKind.WORKSPACE] == {}


@property_settings(max_examples=60)
@given(workspace_specs())
def test_any_generated_valid_spec_maps_to_a_model_of_utc_instants(spec: WorkspaceSpec) -> None:
    model = to_model(spec)
    assert [s.id for s in model.systems] == [s.id for s in spec.systems]
    for campaign in model.campaigns:
        assert campaign.starts_at.utcoffset() == timedelta(0)
        assert campaign.ends_at > campaign.starts_at
