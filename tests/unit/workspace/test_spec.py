"""The launchdeck.yaml schema: field rules, defaults and what each rejection says."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from launchdeck.workspace.spec import (
    CampaignSpec,
    EnvironmentSpec,
    SystemEnvironmentSpec,
    SystemSpec,
    WorkspaceSpec,
    check_timezone,
)
from unit.builders import a_campaign, a_system, an_environment


def errors_of(model: type[Any], data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [(tuple(e["loc"]), e["msg"]) for e in caught.value.errors(include_url=False)]


@pytest.mark.parametrize(
    "system_id",
    ["web", "a", "0", "checkout-api", "a" * 63, "x1-2-3"],
    ids=["a word", "one letter", "one digit", "with a dash", "63 characters", "mixed"],
)
def test_ids_are_lowercase_dns_labels(system_id: str) -> None:
    assert SystemSpec.model_validate(a_system(system_id)).id == system_id


@pytest.mark.parametrize(
    "system_id",
    ["Web", "-web", "web_api", "web api", "", "a" * 64, "wéb"],
    ids=[
        "an uppercase letter",
        "a leading dash",
        "an underscore",
        "a space",
        "empty",
        "64 characters",
        "an accent",
    ],
)
def test_ids_outside_the_pattern_are_refused(system_id: str) -> None:
    [(loc, message)] = errors_of(SystemSpec, a_system(system_id))
    assert loc == ("id",)
    assert message == "String should match pattern '^[a-z0-9][a-z0-9-]{0,62}$'"


def test_a_system_has_documented_defaults() -> None:
    system = SystemSpec.model_validate(a_system("web"))
    assert (system.name, system.tier, system.owners, system.depends_on) == (None, 2, (), ())
    assert (system.environments, system.rollout, system.slos) == ({}, None, ())


@pytest.mark.parametrize("tier", [1, 2, 3], ids=["tier 1", "tier 2", "tier 3"])
def test_tiers_one_to_three_are_accepted(tier: int) -> None:
    assert SystemSpec.model_validate(a_system(tier=tier)).tier == tier


@pytest.mark.parametrize(
    ("tier", "message"),
    [
        (0, "Input should be greater than or equal to 1"),
        (4, "Input should be less than or equal to 3"),
        (1.5, "Input should be a valid integer, got a number with a fractional part"),
    ],
    ids=["zero", "four", "a fraction"],
)
def test_tiers_outside_one_to_three_are_refused(tier: float, message: str) -> None:
    assert errors_of(SystemSpec, a_system(tier=tier)) == [(("tier",), message)]


@pytest.mark.parametrize(
    "owner",
    ["@growth-eng", "web-platform@northwind.example", "first.last+tag@mail.co.uk", "payments"],
    ids=["a handle", "an e-mail address", "an address with plus and subdomains", "a team"],
)
def test_owners_may_be_handles_addresses_or_team_names(owner: str) -> None:
    assert SystemSpec.model_validate(a_system(owners=[owner])).owners == (owner,)


@pytest.mark.parametrize(
    "owner",
    ["growth eng", "@", "a@b", "x@y..z", "team!"],
    ids=["a space", "a bare at sign", "an address without a domain dot", "a double dot", "!"],
)
def test_owners_that_are_not_handles_addresses_or_teams_are_refused_by_index(owner: str) -> None:
    [(loc, message)] = errors_of(SystemSpec, a_system(owners=["@ok", owner]))
    assert loc == ("owners", 1)
    assert message == (
        f"Value error, owner {owner!r} is not an e-mail address, a @handle or a team name"
    )


def test_surrounding_whitespace_is_stripped_from_text() -> None:
    system = SystemSpec.model_validate(a_system(" web ", name="  Web shop \n", owners=[" @web "]))
    assert (system.id, system.name, system.owners) == ("web", "Web shop", ("@web",))


def test_a_blank_name_is_refused() -> None:
    [(loc, _)] = errors_of(EnvironmentSpec, an_environment("production", name="   "))
    assert loc == ("name",)


def test_unknown_keys_are_refused_at_every_level() -> None:
    errors = errors_of(
        WorkspaceSpec,
        {
            "workspace": {"name": "shop", "colour": "blue"},
            "systems": [a_system(environments={"production": {"urll": "x"}})],
            "extra": 1,
        },
    )
    assert [(loc, message) for loc, message in errors] == [
        (("workspace", "colour"), "Extra inputs are not permitted"),
        (("systems", 0, "environments", "production", "urll"), "Extra inputs are not permitted"),
        (("extra",), "Extra inputs are not permitted"),
    ]


@pytest.mark.parametrize(
    ("value", "kind"),
    [("strict", str), (50, int), (0.25, float), (True, bool), (False, bool)],
    ids=["a string", "an integer", "a float", "true", "false"],
)
def test_config_values_keep_their_type(value: object, kind: type) -> None:
    env = SystemEnvironmentSpec.model_validate({"config": {"key": value}})
    assert env.config["key"] == value
    assert type(env.config["key"]) is kind


@pytest.mark.parametrize(
    "value",
    [[1, 2], {"nested": 1}, None, float("nan"), float("inf")],
    ids=["a list", "a mapping", "null", "not a number", "infinity"],
)
def test_config_values_that_are_not_scalars_or_not_finite_are_refused(value: object) -> None:
    errors = errors_of(SystemEnvironmentSpec, {"config": {"key": value}})
    assert {loc[:2] for loc, _ in errors} == {("config", "key")}


@pytest.mark.parametrize(
    "name",
    ["UTC", "America/New_York", "Asia/Kathmandu", "Europe/Berlin"],
    ids=["utc", "new york", "kathmandu", "berlin"],
)
def test_iana_time_zones_are_accepted(name: str) -> None:
    assert check_timezone(name) == name


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus", "EST-5", "", "../etc/passwd", "america/new york", "Z" * 300],
    ids=[
        "a made-up zone",
        "a posix string",
        "empty",
        "a path",
        "a misspelling",
        "longer than a file name may be",
    ],
)
def test_unknown_time_zones_are_refused_with_an_example_of_a_good_one(name: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone") as caught:
        check_timezone(name)
    assert "'America/New_York'" in str(caught.value)


def test_a_campaign_has_documented_defaults() -> None:
    campaign = CampaignSpec.model_validate(a_campaign("sale"))
    assert (campaign.timezone, campaign.tier, campaign.revenue_per_hour) == (None, 2, 0.0)
    assert (campaign.currency, campaign.channels, campaign.systems) == ("USD", (), ())


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"currency": "usd"}, ("currency",)),
        ({"currency": "EURO"}, ("currency",)),
        ({"revenue_per_hour": -1}, ("revenue_per_hour",)),
        ({"timezone": "Mars/Olympus"}, ("timezone",)),
        ({"start": "1969-12-31T23:00:00"}, ("start",)),
        ({"end": "3000-01-01T00:00:00"}, ("end",)),
        ({"start": "next friday"}, ("start",)),
    ],
    ids=[
        "a lowercase currency",
        "a four-letter currency",
        "a negative revenue",
        "an unknown zone",
        "a start before 1970",
        "an end after 2999",
        "a start that is not a time",
    ],
)
def test_campaign_fields_are_checked(fields: dict[str, Any], loc: tuple[str, ...]) -> None:
    assert [loc_ for loc_, _ in errors_of(CampaignSpec, a_campaign(**fields))] == [loc]


@pytest.mark.parametrize(
    ("model", "data", "loc"),
    [
        (EnvironmentSpec, an_environment(name="Prod\x00"), ("name",)),
        (SystemSpec, a_system(description="a\x00b"), ("description",)),
        (CampaignSpec, a_campaign(name="Black\x00Friday"), ("name",)),
        (SystemEnvironmentSpec, {"url": "https://x.example/\x00"}, ("url",)),
        (SystemEnvironmentSpec, {"config": {"mode": "strict\x00"}}, ("config",)),
        (SystemEnvironmentSpec, {"config": {"mo\x00de": "strict"}}, ("config",)),
        (CampaignSpec, a_campaign(channels=["email", "s\x00ms"]), ("channels",)),
    ],
    ids=[
        "a name",
        "a description",
        "a campaign name",
        "a url",
        "a config value",
        "a config key",
        "a channel",
    ],
)
def test_text_containing_nul_is_refused_where_it_is(
    model: type[Any], data: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    # YAML can write NUL as "\0" and JSON as "\u0000"; PostgreSQL text cannot store it.
    errors = errors_of(model, data)
    assert [e_loc for e_loc, _ in errors] == [loc]
    assert all("NUL character" in message for _, message in errors)


def test_only_version_1_is_understood() -> None:
    [(loc, message)] = errors_of(WorkspaceSpec, {"version": 2, "workspace": {"name": "shop"}})
    assert loc == ("version",)
    assert message == "Input should be 1"


def test_a_spec_is_frozen() -> None:
    spec = WorkspaceSpec.model_validate({"workspace": {"name": "shop"}})
    with pytest.raises(ValidationError, match="frozen"):
        spec.version = 1  # type: ignore[misc]
