"""The `notifications:` section: secrets by reference only, checked references, and routing."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from launchdeck.notify import Audience
from launchdeck.notify.spec import ChannelType, NotificationsSpec, SecretRef, route
from launchdeck.yamlpos import schema_problems
from unit.notify.builders import a_channel, a_message, a_route, a_spec

SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"


class Workspace(BaseModel):
    """Stands in for WorkspaceSpec: the section nested in a model with default settings."""

    notifications: NotificationsSpec = NotificationsSpec()


def refusal(document: dict[str, Any]) -> tuple[str, list[tuple[tuple[str | int, ...], str]]]:
    """The error text of validating `document` as a workspace, and the loader's problems."""
    with pytest.raises(ValidationError) as caught:
        Workspace.model_validate(document)
    problems = schema_problems(caught.value, document, Workspace)
    shown = [(problem.path, problem.message) for problem, _ in problems]
    return str(caught.value) + repr(caught.value.errors()) + repr(problems), shown


def test_a_full_section_parses() -> None:
    spec = a_spec(
        channels=[
            a_channel("payments-oncall", "slack", url={"env": "SLACK_PAYMENTS_WEBHOOK"}),
            a_channel("marketing", "teams", url={"file": "/run/secrets/teams-marketing"}),
            a_channel("audit", "webhook"),
        ],
        routes=[
            a_route(
                "payments-oncall",
                events=["incident.*", "gate.blocked"],
                systems=["checkout-api"],
                min_severity="SEV2",
            ),
            a_route("marketing", audience="campaign_owners"),
        ],
    )

    assert [(c.id, c.type) for c in spec.channels] == [
        ("payments-oncall", ChannelType.SLACK),
        ("marketing", ChannelType.TEAMS),
        ("audit", ChannelType.WEBHOOK),
    ]
    assert spec.channels[1].url == SecretRef(file="/run/secrets/teams-marketing")
    assert spec.channels[2].secret == SecretRef(env="HOOK_SECRET")
    assert spec.routes[1].events == ("*",)
    assert spec.routes[1].audience is Audience.CAMPAIGN_OWNERS
    assert NotificationsSpec() == a_spec()


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (a_channel(url=SLACK_URL), "a webhook URL is a secret: use {env: NAME} or {file: PATH}"),
        (
            a_channel("audit", "webhook", secret=SLACK_URL),
            "an HMAC key is a secret: use {env: NAME} or {file: PATH}",
        ),
        (
            a_channel(url={"env": SLACK_URL}),
            "env: takes the name of an environment variable (letters, digits and _), not its value",
        ),
        (
            a_channel(url={"file": SLACK_URL}),
            "file: takes the absolute path of a file that holds the secret",
        ),
    ],
    ids=["a literal URL", "a literal HMAC key", "a URL as env name", "a URL as file path"],
)
def test_a_secret_written_in_the_file_is_refused_and_never_echoed(
    channel: dict[str, Any], message: str
) -> None:
    text, problems = refusal({"notifications": {"channels": [channel]}})

    assert SLACK_URL not in text
    assert "hooks.slack.com" not in text
    assert len(problems) == 1
    path, said = problems[0]
    assert said.startswith(message)
    assert path[:3] == ("notifications", "channels", 0)


def test_the_literal_url_error_says_what_to_write_instead() -> None:
    with pytest.raises(ValidationError, match=r"use \{env: NAME\} or \{file: PATH\}") as caught:
        a_spec(channels=[a_channel(url=SLACK_URL)])

    assert SLACK_URL not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ({"env": "A", "file": "/run/secrets/a"}, "give exactly one of env: or file:"),
        ({}, "give exactly one of env: or file:"),
        ({"file": "secrets/slack"}, "file: takes the absolute path"),
        ({"env": "HOOK", "value": "x"}, "unknown key 'value'"),
    ],
    ids=["both", "neither", "a relative path", "an unknown key"],
)
def test_a_secret_ref_names_exactly_one_place(url: dict[str, str], message: str) -> None:
    _, problems = refusal({"notifications": {"channels": [a_channel(url=url)]}})

    assert len(problems) == 1
    assert problems[0][1].startswith(message)


def test_a_webhook_channel_needs_a_secret_and_only_webhooks_take_one() -> None:
    _, missing = refusal(
        {"notifications": {"channels": [{"id": "a", "type": "webhook", "url": {"env": "U"}}]}}
    )
    _, extra = refusal({"notifications": {"channels": [a_channel(secret={"env": "HOOK_SECRET"})]}})

    assert missing == [
        (
            ("notifications", "channels", 0),
            "a webhook channel needs secret:, the key its receiver checks signatures with",
        )
    ]
    assert extra == [
        (
            ("notifications", "channels", 0, "secret"),
            "secret: is only for type webhook; slack webhooks are not signed",
        )
    ]


def test_a_route_to_an_unknown_channel_says_which_one_was_meant() -> None:
    _, problems = refusal(
        {
            "notifications": {
                "channels": [a_channel("payments-oncall")],
                "routes": [a_route("payments-oncall", "payments-oncal", "zzz")],
            }
        }
    )

    assert problems == [
        (
            ("notifications", "routes", 0, "channels", 1),
            "unknown channel 'payments-oncal': did you mean 'payments-oncall'?",
        ),
        (("notifications", "routes", 0, "channels", 2), "unknown channel 'zzz'"),
    ]


def test_a_channel_id_is_declared_once() -> None:
    with pytest.raises(ValidationError, match="channel 'oncall' is declared twice"):
        a_spec(channels=[a_channel(), a_channel(kind="teams")])


@pytest.mark.parametrize(
    "route_fields",
    [
        {"events": ["Incident.*"]},
        {"events": ["incident opened"]},
        {"events": []},
        {"channels": []},
        {"min_severity": "SEV5"},
        {"audience": "everyone"},
    ],
    ids=["upper case", "a space", "no events", "no channels", "SEV5", "unknown audience"],
)
def test_a_malformed_route_is_refused(route_fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        a_spec(channels=[a_channel()], routes=[a_route(**route_fields)])


# --- routing ---------------------------------------------------------------------------------


def routed(*routes: dict[str, Any], **message: Any) -> list[str]:
    channels = [a_channel(name) for name in ("a", "b", "c")]
    spec = a_spec(channels=channels, routes=list(routes))
    return [channel.id for channel in route(spec, a_message(**message))]


@pytest.mark.parametrize(
    ("events", "kind", "expected"),
    [
        (["incident.*"], "incident.opened", ["a"]),
        (["incident.*"], "incident.severity_changed", ["a"]),
        (["incident.*"], "gate.blocked", []),
        (["gate.blocked"], "gate.blocked", ["a"]),
        (["gate.blocked"], "gate.blocked_again", []),
        (["*"], "release.rolled_back", ["a"]),
        (["deploy.*", "gate.blocked"], "gate.blocked", ["a"]),
    ],
    ids=[
        "a prefix pattern",
        "a prefix pattern, other event",
        "a prefix pattern, other family",
        "an exact name",
        "an exact name is not a prefix",
        "everything",
        "any of several patterns",
    ],
)
def test_events_are_fnmatch_patterns_on_the_kind(
    events: list[str], kind: str, expected: list[str]
) -> None:
    assert routed(a_route("a", events=events), kind=kind) == expected


@pytest.mark.parametrize(
    ("systems", "expected"),
    [
        (("checkout-api", "cms"), ["a"]),
        (("cms",), []),
        ((), []),
    ],
    ids=["one of them", "another system", "no system at all"],
)
def test_a_route_with_systems_takes_messages_about_any_of_them(
    systems: tuple[str, ...], expected: list[str]
) -> None:
    assert routed(a_route("a", systems=["checkout-api"]), systems=systems) == expected


def test_a_route_without_systems_takes_every_system() -> None:
    assert routed(a_route("a"), systems=("anything",)) == ["a"]


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("SEV1", ["a"]), ("SEV2", ["a"]), ("SEV3", []), ("SEV4", []), (None, ["a"])],
    ids=["more severe", "as severe", "less severe", "least severe", "no severity passes"],
)
def test_min_severity_lets_the_more_severe_through(
    severity: str | None, expected: list[str]
) -> None:
    assert routed(a_route("a", min_severity="SEV2"), severity=severity) == expected


def test_each_audience_reaches_only_its_own_routes() -> None:
    routes = (a_route("a"), a_route("b", audience="campaign_owners"))

    assert routed(*routes) == ["a"]
    assert routed(*routes, audience=Audience.CAMPAIGN_OWNERS) == ["b"]


def test_channels_are_listed_once_in_the_order_routes_name_them() -> None:
    routes = (
        a_route("c", "a", events=["incident.*"]),
        a_route("b", "c"),
        a_route("a", events=["gate.*"]),
    )

    assert routed(*routes, kind="incident.opened") == ["c", "a", "b"]
    assert routed(*routes, kind="gate.blocked") == ["b", "c", "a"]


def test_no_route_means_no_channel() -> None:
    assert route(a_spec(channels=[a_channel()]), a_message()) == ()
