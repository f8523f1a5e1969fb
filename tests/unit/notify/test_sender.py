"""The dispatcher over a mock transport: retries, waits, failures as data, secrets kept out.

The same behaviour over real HTTP, with real timeouts, is in tests/integration/notify.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchdeck.errors import ConfigError
from launchdeck.notify import Delivery, Message, NullNotifier, sender
from launchdeck.notify.model import encode_json
from launchdeck.notify.sender import Dispatcher, proxy_for, resolve_secret
from launchdeck.notify.slack import render_slack
from launchdeck.notify.spec import SecretRef
from launchdeck.notify.teams import render_teams
from launchdeck.notify.webhook import render_generic, verify
from unit.notify.builders import a_channel, a_message, a_route, a_spec

URL = "https://hooks.example/services/T000/B000/s3cr3t-path-token"
KEY = "whsec_unit"
NOW = datetime(2026, 11, 27, 9, 45, tzinfo=UTC)

Answer = httpx.Response | Exception


@dataclass
class Script:
    """A transport that answers from a list (the last answer repeats) and records requests."""

    answers: list[Answer]
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class Run:
    deliveries: tuple[Delivery, ...]
    requests: list[httpx.Request]
    waits: list[float]


@pytest.fixture
def dispatch() -> Iterator[Callable[..., Run]]:
    def run(
        *answers: Answer,
        kind: str = "slack",
        environ: dict[str, str] | None = None,
        message: Message | None = None,
        clock: Callable[[], datetime] = lambda: NOW,
        **options: Any,
    ) -> Run:
        script = Script(list(answers) or [httpx.Response(200, text="ok")])
        waits: list[float] = []
        spec = a_spec(channels=[a_channel(kind=kind)], routes=[a_route()])
        dispatcher = Dispatcher(
            spec,
            environ={"HOOK_URL": URL, "HOOK_SECRET": KEY} if environ is None else environ,
            transport=httpx.MockTransport(script.handle),
            sleep=waits.append,
            clock=clock,
            **({"backoff_s": 0.5} | options),
        )
        deliveries = dispatcher.dispatch(message or a_message())
        return Run(deliveries, script.requests, waits)

    yield run


def test_a_slack_message_is_posted_as_json_to_the_url(dispatch: Callable[..., Run]) -> None:
    message = a_message(severity="SEV1")

    run = dispatch(message=message)

    assert run.deliveries == (Delivery("oncall", ok=True, attempts=1, status=200),)
    (request,) = run.requests
    assert (request.method, str(request.url)) == ("POST", URL)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("launchdeck/")
    assert request.content == encode_json(render_slack(message))


def test_a_teams_message_is_its_adaptive_card(dispatch: Callable[..., Run]) -> None:
    message = a_message()

    run = dispatch(httpx.Response(202), kind="teams", message=message)

    assert run.deliveries == (Delivery("oncall", ok=True, attempts=1, status=202),)
    assert json.loads(run.requests[0].content) == render_teams(message)


def test_a_webhook_is_signed_afresh_for_each_attempt(dispatch: Callable[..., Run]) -> None:
    message = a_message()
    ticks = iter([NOW, NOW + timedelta(seconds=7)])

    run = dispatch(
        httpx.Response(503), httpx.Response(204), kind="webhook", clock=lambda: next(ticks)
    )

    assert run.deliveries[0].ok is True
    stamps = [r.headers["x-launchdeck-timestamp"] for r in run.requests]
    assert stamps == [str(int(NOW.timestamp())), str(int(NOW.timestamp()) + 7)]
    for request in run.requests:
        assert request.content == render_generic(message)
        assert verify(request.content, dict(request.headers), KEY, now=NOW) is True


def test_5xx_is_retried_with_exponential_backoff(dispatch: Callable[..., Run]) -> None:
    run = dispatch(httpx.Response(500), httpx.Response(502), httpx.Response(200))

    assert run.deliveries == (Delivery("oncall", ok=True, attempts=3, status=200),)
    assert run.waits == [0.5, 1.0]


def test_retries_stop_after_the_last_attempt(dispatch: Callable[..., Run]) -> None:
    run = dispatch(httpx.Response(500), attempts=4)

    assert run.deliveries == (Delivery("oncall", False, 4, 500, "HTTP 500"),)
    assert run.waits == [0.5, 1.0, 2.0]


@pytest.mark.parametrize(
    ("retry_after", "waited"),
    [("2", 2.0), ("0", 0.5), ("120", 10.0), ("Fri, 27 Nov 2026 09:45:03 GMT", 3.0), ("soon", 0.5)],
    ids=["seconds", "zero: the backoff", "capped at 10 s", "an HTTP date", "unreadable: backoff"],
)
def test_429_waits_as_retry_after_asks_up_to_the_cap(
    dispatch: Callable[..., Run], retry_after: str, waited: float
) -> None:
    run = dispatch(httpx.Response(429, headers={"Retry-After": retry_after}), httpx.Response(200))

    assert run.deliveries[0].attempts == 2
    assert run.waits == [waited]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 302])
def test_other_answers_are_not_retried(dispatch: Callable[..., Run], status: int) -> None:
    run = dispatch(httpx.Response(status))

    assert run.deliveries == (Delivery("oncall", False, 1, status, f"HTTP {status}"),)
    assert run.waits == []


def test_slacks_error_code_is_kept_but_not_an_arbitrary_body(dispatch: Callable[..., Run]) -> None:
    coded = dispatch(httpx.Response(400, text="invalid_blocks"))
    echoed = dispatch(httpx.Response(400, text=f"bad url {URL}"))

    assert coded.deliveries[0].error == "HTTP 400 (invalid_blocks)"
    assert echoed.deliveries[0].error == "HTTP 400"


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ConnectTimeout("connect"), "timed out after 5 s"),
        (httpx.ReadTimeout("read"), "timed out after 5 s"),
        (
            httpx.ConnectError(f"cannot reach {URL}"),
            "could not connect (ConnectError)",
        ),
        (httpx.RemoteProtocolError("closed"), "connection failed (RemoteProtocolError)"),
    ],
    ids=["connect timeout", "read timeout", "connection error", "protocol error"],
)
def test_network_failures_are_retried_and_described_without_the_url(
    dispatch: Callable[..., Run], failure: Exception, error: str
) -> None:
    run = dispatch(failure)

    assert run.deliveries == (Delivery("oncall", False, 3, None, error),)
    assert len(run.requests) == 3


def test_the_operating_systems_reason_is_given_when_known(dispatch: Callable[..., Run]) -> None:
    failure = httpx.ConnectError("boom")
    failure.__cause__ = ConnectionRefusedError(111, "Connection refused")

    run = dispatch(failure, attempts=1)

    assert run.deliveries[0].error == "could not connect: Connection refused (ConnectError)"


@pytest.mark.parametrize(
    ("failure", "error", "tries"),
    [
        (httpx.UnsupportedProtocol("no"), "request failed (UnsupportedProtocol)", 1),
        (RuntimeError(URL), "unexpected error (RuntimeError)", 1),
    ],
    ids=["an httpx error not worth retrying", "a bug"],
)
def test_anything_else_is_a_failed_delivery_not_an_exception(
    dispatch: Callable[..., Run], failure: Exception, error: str, tries: int
) -> None:
    run = dispatch(failure)

    assert run.deliveries == (Delivery("oncall", False, tries, None, error),)


def test_a_receiver_that_outlasts_every_timeout_is_given_up_at_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A receiver that drips bytes can outlast httpx's per-read timeouts; dispatch cannot."""
    monkeypatch.setattr(sender, "GRACE_S", 0.1)
    stuck = threading.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "stuck.example":
            stuck.wait(5)  # ignores every timeout, as a dripping receiver would
        return httpx.Response(200)

    channels = [
        a_channel("stuck", url={"env": "STUCK_URL"}),
        a_channel("fine", url={"env": "FINE_URL"}),
    ]
    dispatcher = Dispatcher(
        a_spec(channels=channels, routes=[a_route("stuck", "fine")]),
        environ={"STUCK_URL": "https://stuck.example/x", "FINE_URL": "https://fine.example/x"},
        transport=httpx.MockTransport(answer),
        timeout_s=0.05,
        attempts=1,
    )
    started = time.monotonic()
    try:
        deliveries = dispatcher.dispatch(a_message())
    finally:
        stuck.set()

    assert time.monotonic() - started < 1.0
    assert deliveries == (
        Delivery("stuck", False, 1, None, "no answer within 0.15 s"),
        Delivery("fine", ok=True, attempts=1, status=200),
    )


def test_a_missing_secret_fails_naming_the_variable_without_a_request(
    dispatch: Callable[..., Run],
) -> None:
    run = dispatch(kind="webhook", environ={"HOOK_URL": URL})

    assert run.deliveries == (
        Delivery("oncall", False, 0, None, "environment variable HOOK_SECRET is not set"),
    )
    assert run.requests == []


def test_a_secret_that_is_not_a_url_is_not_echoed(dispatch: Callable[..., Run]) -> None:
    run = dispatch(environ={"HOOK_URL": "hooks.example/s3cr3t"})

    assert run.deliveries[0].error == "environment variable HOOK_URL does not hold an http(s) URL"


def test_secrets_are_read_from_files_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "slack"
    secret.write_text(f"{URL}\n", encoding="utf-8")

    assert resolve_secret(SecretRef(file=str(secret)), environ={}) == URL


@pytest.mark.parametrize(
    ("content", "error"),
    [(None, "cannot be read (No such file or directory)"), ("\n", "is empty")],
    ids=["missing", "empty"],
)
def test_an_unusable_secret_file_fails_with_its_path(
    tmp_path: Path, content: str | None, error: str
) -> None:
    path = tmp_path / "secret"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError, match=r"file .*secret") as caught:
        resolve_secret(SecretRef(file=str(path)), environ={})

    assert str(caught.value).endswith(error)


def test_a_proxy_that_is_not_a_url_fails_the_channel_without_echoing_it() -> None:
    spec = a_spec(channels=[a_channel()], routes=[a_route()])
    environ = {"HOOK_URL": URL, "HTTPS_PROXY": "user:pa55word@proxy"}

    deliveries = Dispatcher(spec, environ=environ).dispatch(a_message())

    assert deliveries == (
        Delivery(
            "oncall",
            False,
            0,
            None,
            "the proxy set for it (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) is not a URL",
        ),
    )


def test_a_message_no_route_takes_is_sent_nowhere(dispatch: Callable[..., Run]) -> None:
    spec = a_spec(channels=[a_channel()], routes=[a_route(events=["gate.*"])])
    seen: list[httpx.Request] = []
    dispatcher = Dispatcher(spec, environ={}, transport=httpx.MockTransport(seen.append))

    assert dispatcher.notify(a_message(kind="incident.opened")) == ()
    assert seen == []


def test_the_null_notifier_sends_nothing() -> None:
    assert NullNotifier().notify(a_message()) == ()


@pytest.mark.parametrize(
    "options",
    [{"attempts": 0}, {"timeout_s": 0}, {"backoff_s": -1}, {"max_wait_s": -1}],
    ids=["no attempt", "no timeout", "negative backoff", "negative cap"],
)
def test_nonsense_settings_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="attempts >= 1"):
        Dispatcher(a_spec(), **options)


def test_the_worst_case_counts_every_timeout_and_capped_wait() -> None:
    dispatcher = Dispatcher(a_spec(), timeout_s=2, attempts=3, max_wait_s=10)

    assert dispatcher.worst_case_s == 3 * 2 + 2 * 10


@pytest.mark.parametrize(
    ("environ", "url", "proxy"),
    [
        ({}, "https://hooks.slack.com/x", None),
        ({"HTTPS_PROXY": "http://proxy:3128"}, "https://hooks.slack.com/x", "http://proxy:3128"),
        ({"https_proxy": "http://p:1"}, "https://hooks.slack.com/x", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1"}, "https://hooks.slack.com/x", None),
        ({"ALL_PROXY": "http://p:1"}, "https://hooks.slack.com/x", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "slack.com"}, "https://hooks.slack.com/", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".slack.com"}, "https://hooks.slack.com/", None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "https://hooks.slack.com/", None),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "notslack.com,example.org"},
            "https://hooks.slack.com/x",
            "http://p:1",
        ),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "127.0.0.1:8080"}, "http://127.0.0.1:9/", None),
    ],
    ids=[
        "no proxy",
        "HTTPS_PROXY",
        "lower case",
        "HTTP_PROXY is not for https",
        "ALL_PROXY",
        "NO_PROXY domain",
        "NO_PROXY leading dot",
        "NO_PROXY star",
        "NO_PROXY other domains",
        "NO_PROXY host with port",
    ],
)
def test_the_proxy_comes_from_the_environment(
    environ: dict[str, str], url: str, proxy: str | None
) -> None:
    assert proxy_for(url, environ) == proxy
