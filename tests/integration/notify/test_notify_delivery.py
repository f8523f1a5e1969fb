"""Notifications over real HTTP: a receiver on loopback that records, fails, refuses or hangs.

Each test starts its own receiver (receiver.py) on 127.0.0.1, port 0, so tests run in
parallel. Timeouts and backoff are tiny (0.2 s, 0.01 s): the slowest test, the hanging receiver,
takes about 0.7 s.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from receiver import SECRET_PATH, Receiver, Reply, serving

from launchdeck.notify import Delivery, Fact, Link, Message, Tone
from launchdeck.notify.sender import Dispatcher
from launchdeck.notify.slack import render_slack
from launchdeck.notify.spec import NotificationsSpec
from launchdeck.notify.teams import render_teams
from launchdeck.notify.webhook import render_generic, verify

NOW = datetime(2026, 11, 27, 9, 45, tzinfo=UTC)
HMAC_KEY = "whsec_integration"
TIMEOUT_S = 0.2
BACKOFF_S = 0.01


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as running:
        yield running


def a_message(**fields: Any) -> Message:
    values: dict[str, Any] = {
        "kind": "incident.opened",
        "title": "Checkout API errors above 5 %",
        "summary": "Errors since 09:40 <script>&.",
        "tone": Tone.DANGER,
        "occurred_at": NOW,
        "systems": ("checkout-api",),
        "severity": "SEV1",
        "campaigns": ("Black Friday 2026",),
        "facts": (Fact(label="Error rate", value="7.2 %"),),
        "links": (Link(text="Incident", url="https://ld.example/incidents/1"),),
        **fields,
    }
    return Message(**values)


def a_dispatcher(
    channels: list[tuple[str, str]], environ: dict[str, str], **options: Any
) -> Dispatcher:
    """Channels (id, type) reading URL_<ID> (and KEY_<ID> for webhooks), one route to all."""
    documents: list[dict[str, Any]] = []
    for name, kind in channels:
        document: dict[str, Any] = {"id": name, "type": kind, "url": {"env": f"URL_{name}"}}
        if kind == "webhook":
            document["secret"] = {"env": f"KEY_{name}"}
        documents.append(document)
    spec = NotificationsSpec.model_validate(
        {"channels": documents, "routes": [{"channels": [name for name, _ in channels]}]}
    )
    settings: dict[str, Any] = {
        "timeout_s": TIMEOUT_S,
        "backoff_s": BACKOFF_S,
        "attempts": 3,
        "clock": lambda: NOW,
    }
    return Dispatcher(spec, environ=environ, **(settings | options))


def assert_no_secret(deliveries: tuple[Delivery, ...]) -> None:
    for delivery in deliveries:
        text = repr(delivery)
        assert "s3cr3t" not in text
        assert SECRET_PATH not in text
        assert HMAC_KEY not in text


def test_slack_teams_and_webhook_payloads_arrive_as_rendered_and_signed(
    receiver: Receiver,
) -> None:
    environ = {
        "URL_slack": receiver.url("slack"),
        "URL_teams": receiver.script("teams", Reply(202, b"")),
        "URL_hook": receiver.script("hook", Reply(204, b"")),
        "KEY_hook": HMAC_KEY,
    }
    channels = [("slack", "slack"), ("teams", "teams"), ("hook", "webhook")]
    dispatcher = a_dispatcher(channels, environ)
    message = a_message()

    deliveries = dispatcher.dispatch(message)

    assert deliveries == (
        Delivery("slack", ok=True, attempts=1, status=200),
        Delivery("teams", ok=True, attempts=1, status=202),
        Delivery("hook", ok=True, attempts=1, status=204),
    )
    (slack,), (teams,), (hook,) = receiver.at("slack"), receiver.at("teams"), receiver.at("hook")
    assert json.loads(slack.body) == render_slack(message)
    assert json.loads(teams.body) == render_teams(message)
    assert hook.body == render_generic(message)
    assert json.loads(hook.body)["message"]["title"] == message.title
    for hit in (slack, teams, hook):
        assert hit.headers["Content-Type"] == "application/json"
    assert verify(hook.body, hook.headers, HMAC_KEY, now=NOW) is True
    assert verify(hook.body, hook.headers, "whsec_wrong", now=NOW) is False
    assert "X-Launchdeck-Signature" not in slack.headers


def test_two_500s_then_a_200_is_delivered_on_the_third_attempt(receiver: Receiver) -> None:
    url = receiver.script("flaky", Reply(500), Reply(500), Reply(200))
    dispatcher = a_dispatcher([("flaky", "slack")], {"URL_flaky": url})

    deliveries = dispatcher.dispatch(a_message())

    assert deliveries == (Delivery("flaky", ok=True, attempts=3, status=200),)
    assert len(receiver.at("flaky")) == 3


def test_a_receiver_that_always_fails_gives_a_failed_delivery_after_three_attempts(
    receiver: Receiver,
) -> None:
    url = receiver.script("down", Reply(500, b"internal_error"))
    dispatcher = a_dispatcher([("down", "teams")], {"URL_down": url})

    deliveries = dispatcher.dispatch(a_message())

    assert deliveries == (Delivery("down", False, 3, 500, "HTTP 500 (internal_error)"),)
    assert len(receiver.at("down")) == 3
    assert_no_secret(deliveries)


def test_a_404_is_not_retried(receiver: Receiver) -> None:
    url = receiver.script("gone", Reply(404, f"no such hook {SECRET_PATH}".encode()))
    dispatcher = a_dispatcher([("gone", "slack")], {"URL_gone": url})

    deliveries = dispatcher.dispatch(a_message())

    assert deliveries == (Delivery("gone", False, 1, 404, "HTTP 404"),)
    assert len(receiver.at("gone")) == 1
    assert_no_secret(deliveries)


def test_a_429_is_retried_after_the_time_it_asks_for(receiver: Receiver) -> None:
    url = receiver.script("busy", Reply(429, headers=(("Retry-After", "0"),)), Reply(200))
    dispatcher = a_dispatcher([("busy", "slack")], {"URL_busy": url})

    deliveries = dispatcher.dispatch(a_message())

    assert deliveries == (Delivery("busy", ok=True, attempts=2, status=200),)


def test_a_hanging_receiver_fails_within_the_bound_and_does_not_delay_the_others(
    receiver: Receiver,
) -> None:
    environ = {
        "URL_slow": receiver.script("slow", Reply(hang_s=10)),
        "URL_fast": receiver.url("fast"),
    }
    dispatcher = a_dispatcher([("slow", "slack"), ("fast", "webhook")], environ)
    environ["KEY_fast"] = HMAC_KEY

    started = time.monotonic()
    deliveries = dispatcher.dispatch(a_message())
    elapsed = time.monotonic() - started

    assert deliveries == (
        Delivery("slow", False, 3, None, "timed out after 0.2 s"),
        Delivery("fast", ok=True, attempts=1, status=200),
    )
    bound = 3 * TIMEOUT_S + BACKOFF_S + 2 * BACKOFF_S
    assert 3 * TIMEOUT_S <= elapsed < bound + 0.5
    (fast,) = receiver.at("fast")
    assert fast.at - started < 3 * TIMEOUT_S  # sent while the slow one was still failing
    assert len(receiver.at("slow")) == 3
    assert_no_secret(deliveries)


def test_a_closed_port_is_a_failed_delivery_saying_the_connection_was_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dispatcher = a_dispatcher(
        [("nobody", "slack")], {"URL_nobody": f"http://127.0.0.1:{port}{SECRET_PATH}"}
    )

    deliveries = dispatcher.dispatch(a_message())

    assert deliveries == (
        Delivery("nobody", False, 3, None, "could not connect: Connection refused (ConnectError)"),
    )
    assert_no_secret(deliveries)


def test_a_missing_secret_names_the_variable_and_nothing_is_sent(receiver: Receiver) -> None:
    dispatcher = a_dispatcher(
        [("hook", "webhook"), ("slack", "slack")],
        {"URL_hook": receiver.url("hook"), "URL_slack": receiver.url("slack")},
    )

    deliveries = dispatcher.dispatch(a_message())

    assert deliveries == (
        Delivery("hook", False, 0, None, "environment variable KEY_hook is not set"),
        Delivery("slack", ok=True, attempts=1, status=200),
    )
    assert receiver.at("hook") == []
    assert_no_secret(deliveries)


def test_no_url_or_secret_reaches_the_logs(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    environ = {
        "URL_down": receiver.script("down", Reply(503)),
        "URL_gone": receiver.script("gone", Reply(410, SECRET_PATH.encode())),
        "URL_ok": receiver.url("ok"),
        "URL_hook": receiver.url("hook"),
        "KEY_hook": HMAC_KEY,
    }
    dispatcher = a_dispatcher(
        [("down", "slack"), ("gone", "teams"), ("ok", "slack"), ("hook", "webhook")], environ
    )

    with caplog.at_level(logging.DEBUG):
        deliveries = dispatcher.dispatch(a_message())

    assert [d.ok for d in deliveries] == [False, False, True, True]
    assert "failed after 3 attempt(s): HTTP 503" in caplog.text
    assert "s3cr3t" not in caplog.text
    assert HMAC_KEY not in caplog.text
    assert_no_secret(deliveries)
