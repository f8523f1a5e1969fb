"""LaunchdeckProvider without a launchdeck server: offline from a snapshot or a bootstrap file,
and online against an in-process fake of the SDK endpoints (an httpx.MockTransport), so
freshness, STALE marking and the event stream run with no network and a clock tests move."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import select
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEvent, ProviderEventDetails
from openfeature.exception import ErrorCode, GeneralError, ProviderFatalError
from openfeature.flag_evaluation import Reason
from openfeature.provider import FeatureProvider
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider
from openfeature.track import TrackingEventDetails

from launchdeck.errors import ConfigError
from launchdeck.flags.model import Snapshot
from launchdeck.flags.openfeature import (
    SNAPSHOT_PATH,
    SSE_PATH,
    Exposure,
    ExposureHook,
    LaunchdeckProvider,
    changed_flags,
    load_snapshot,
)

BASE_URL = "http://launchdeck.test"
SDK_KEY = "lds_0123456789abcdef_secret"
T0 = 1_790_000_000.0
WAIT_S = 10.0


# ---------------------------------------------------------------- builders


def _flags(banner: str = "on") -> list[dict[str, Any]]:
    def env(**config: Any) -> dict[str, Any]:
        return {"production": config}

    return [
        {"key": "banner", "environments": env(enabled=True, fallthrough={"variant": banner})},
        {
            "key": "checkout",
            "environments": env(
                enabled=True,
                rules=[
                    {
                        "when": {"attribute": "country", "op": "in", "values": ["US"]},
                        "serve": {"variant": "on"},
                    }
                ],
                fallthrough={"variant": "off"},
            ),
        },
        {
            "key": "theme",
            "type": "string",
            "variants": {"dark": "dark", "light": "light"},
            "off_variant": "light",
            "environments": env(
                enabled=True, fallthrough={"rollout": {"weights": {"dark": 50, "light": 50}}}
            ),
        },
        {
            "key": "max-items",
            "type": "integer",
            "variants": {"few": 3, "many": 30},
            "off_variant": "few",
            "environments": env(enabled=False, fallthrough={"variant": "many"}),
        },
        {
            "key": "ratio",
            "type": "float",
            "variants": {"one": 1, "half": 0.5},
            "off_variant": None,
            "environments": env(enabled=True, fallthrough={"variant": "one"}),
        },
        {
            "key": "layout",
            "type": "object",
            "variants": {"grid": {"columns": 3}, "list": {"columns": 1}},
            "off_variant": "list",
            "environments": env(enabled=True, fallthrough={"variant": "grid"}),
        },
        {"key": "beta", "environments": env(enabled=True, fallthrough={"code_default": True})},
        {"key": "legacy", "off_variant": None, "environments": env(enabled=False)},
    ]


def a_snapshot(
    *, banner: str = "on", revision: int = 1, environment: str = "production"
) -> Snapshot:
    return Snapshot.model_validate(
        {
            "environment": environment,
            "revision": revision,
            "etag": f'"rev-{revision}"',
            "flags": _flags(banner),
        }
    )


def user(key: str | None = "user-1", **attributes: Any) -> EvaluationContext:
    return EvaluationContext(key, attributes)


@dataclass
class FakeClock:
    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Events:
    """What the provider emitted (the SDK's registry attaches the same way)."""

    seen: list[tuple[ProviderEvent, ProviderEventDetails]] = field(default_factory=list)
    changed: threading.Event = field(default_factory=threading.Event)

    def __call__(
        self, provider: FeatureProvider, event: ProviderEvent, details: ProviderEventDetails
    ) -> None:
        self.seen.append((event, details))
        if event is ProviderEvent.PROVIDER_CONFIGURATION_CHANGED:
            self.changed.set()

    def kinds(self) -> list[ProviderEvent]:
        return [event for event, _ in self.seen]


class EventStream(httpx.SyncByteStream):
    """A text/event-stream body that stays open until the fake closes it or the client does."""

    def __init__(self, source: queue.Queue[str | None]) -> None:
        self.source = source
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield b": connected\n\n"
        while not self.closed.is_set():
            try:
                item = self.source.get(timeout=0.02)
            except queue.Empty:
                continue
            if item is None:
                return
            yield item.encode()

    def close(self) -> None:
        self.closed.set()


class FakeServer:
    """launchdeck's SDK endpoints, in process. The snapshot lives in a file, so a forked child's
    copy of the fake serves what the parent publishes."""

    def __init__(self, path: Path, snapshot: Snapshot) -> None:
        self.path = path
        self.down = False
        self.status = 200
        self.requests: list[httpx.Request] = []
        self.events: queue.Queue[str | None] = queue.Queue()
        self.streams: list[EventStream] = []
        self.publish(snapshot)

    def publish(self, snapshot: Snapshot) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(snapshot.model_dump_json(by_alias=True))
        tmp.replace(self.path)

    def push(self, text: str) -> None:
        self.events.put(text)

    def snapshot_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == SNAPSHOT_PATH]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == SNAPSHOT_PATH:
            body = self.path.read_bytes()
            etag = json.loads(body)["etag"]
            if self.status != 200:
                return httpx.Response(self.status, json={"detail": "no"})
            if request.headers.get("If-None-Match") == etag:
                return httpx.Response(304, headers={"ETag": etag})
            return httpx.Response(200, content=body, headers={"ETag": etag})
        if request.url.path == SSE_PATH:
            stream = EventStream(self.events)
            self.streams.append(stream)
            return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, stream=stream)
        return httpx.Response(404)


@pytest.fixture
def server(tmp_path: Path) -> FakeServer:
    return FakeServer(tmp_path / "served.json", a_snapshot())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


Online = Callable[..., tuple[LaunchdeckProvider, Events]]


@pytest.fixture
def online(server: FakeServer, clock: FakeClock) -> Iterator[Online]:
    """online(**options) -> (provider on the fake server, the events it emitted); shut down
    after the test."""
    made: list[LaunchdeckProvider] = []

    def make(**options: Any) -> tuple[LaunchdeckProvider, Events]:
        settings: dict[str, Any] = {
            "sdk_key": SDK_KEY,
            "poll_interval_s": 3600.0,
            "stream": False,
            "clock": clock,
            "transport": httpx.MockTransport(server.handler),
        }
        settings.update(options)
        provider = LaunchdeckProvider(BASE_URL, **settings)
        events = Events()
        provider.attach(events)
        made.append(provider)
        return provider, events

    yield make
    for provider in made:
        provider.shutdown()


@pytest.fixture
def client_for() -> Iterator[Callable[[FeatureProvider], Any]]:
    """An OpenFeature client on `provider` (its own domain); providers cleared afterwards."""

    def bind(provider: FeatureProvider) -> Any:
        domain = f"test-{id(provider)}"
        api.set_provider_and_wait(provider, domain=domain)
        return api.get_client(domain=domain)

    yield bind
    api.clear_providers()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {WAIT_S:.0f} s")
        time.sleep(0.005)


def wait_streaming(provider: LaunchdeckProvider, server: FakeServer) -> None:
    """Until the stream is up and its catch-up fetch (after initialize's) was made."""
    wait_until(
        lambda: provider.sync_status().streaming and len(server.snapshot_requests()) >= 2,
        "the stream was not connected",
    )


# ---------------------------------------------------------------- offline: answers


def test_a_bootstrap_file_serves_every_type_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(a_snapshot().model_dump(mode="json", by_alias=True)))
    provider = LaunchdeckProvider(bootstrap=path)

    banner = provider.resolve_boolean_details("banner", False, user())
    assert (banner.value, banner.variant, banner.reason) == (True, "on", Reason.STATIC)
    us = provider.resolve_boolean_details("checkout", False, user(country="US"))
    assert (us.value, us.variant, us.reason) == (True, "on", Reason.TARGETING_MATCH)
    fr = provider.resolve_boolean_details("checkout", True, user(country="FR"))
    assert (fr.value, fr.variant, fr.reason) == (False, "off", Reason.DEFAULT)
    theme = provider.resolve_string_details("theme", "none", user("user-7"))
    assert theme.reason == Reason.SPLIT
    assert theme.value == theme.variant
    assert theme.value in {"dark", "light"}
    items = provider.resolve_integer_details("max-items", 0, user())
    assert (items.value, items.variant, items.reason) == (3, "few", Reason.DISABLED)
    layout = provider.resolve_object_details("layout", {}, user())
    assert (layout.value, layout.variant, layout.reason) == ({"columns": 3}, "grid", Reason.STATIC)
    assert banner.error_code is None
    assert provider.sync_status().stale is False


def test_a_split_is_sticky_per_targeting_key_and_needs_one() -> None:
    provider = LaunchdeckProvider(snapshot=a_snapshot())
    answers = {
        provider.resolve_string_details("theme", "x", user("user-7")).value for _ in range(5)
    }
    assert len(answers) == 1
    variants = {
        provider.resolve_string_details("theme", "x", user(f"u{i}")).value for i in range(50)
    }
    assert variants == {"dark", "light"}
    anonymous = provider.resolve_string_details("theme", "x", user(None))
    assert (anonymous.value, anonymous.variant, anonymous.reason) == ("light", "light", "DEFAULT")


def test_a_float_flag_answers_a_float_even_for_a_whole_variant() -> None:
    provider = LaunchdeckProvider(snapshot=a_snapshot())
    ratio = provider.resolve_float_details("ratio", 0.0, None)
    assert (ratio.value, type(ratio.value), ratio.variant) == (1.0, float, "one")


def test_the_code_default_is_the_callers_default() -> None:
    provider = LaunchdeckProvider(snapshot=a_snapshot())
    beta = provider.resolve_boolean_details("beta", True, user())
    assert (beta.value, beta.variant, beta.reason, beta.error_code) == (True, None, "DEFAULT", None)
    legacy = provider.resolve_boolean_details("legacy", True, user())
    assert (legacy.value, legacy.variant, legacy.reason) == (True, None, Reason.DISABLED)


def test_an_unknown_flag_is_flag_not_found_with_the_default() -> None:
    provider = LaunchdeckProvider(snapshot=a_snapshot())
    answer = provider.resolve_string_details("nope", "fallback", user())
    assert (answer.value, answer.reason, answer.error_code) == (
        "fallback",
        Reason.ERROR,
        ErrorCode.FLAG_NOT_FOUND,
    )
    assert answer.error_message is not None
    assert "'nope'" in answer.error_message
    assert "production" in answer.error_message


@pytest.mark.parametrize(
    ("key", "ask"),
    [
        ("theme", "boolean"),
        ("banner", "string"),
        ("ratio", "integer"),
        ("max-items", "float"),
        ("banner", "object"),
        ("beta", "string"),
    ],
    ids=[
        "a string flag asked as a boolean",
        "a boolean flag asked as a string",
        "a float flag asked as an integer",
        "an integer flag asked as a float",
        "a boolean flag asked as an object",
        "a code-default boolean asked as a string",
    ],
)
def test_asking_for_another_type_is_a_type_mismatch(key: str, ask: str) -> None:
    provider = LaunchdeckProvider(snapshot=a_snapshot())
    resolve = getattr(provider, f"resolve_{ask}_details")
    default = {"boolean": False, "string": "d", "integer": 7, "float": 7.5, "object": []}[ask]
    answer = resolve(key, default, user())
    assert (answer.value, answer.reason, answer.error_code) == (
        default,
        Reason.ERROR,
        ErrorCode.TYPE_MISMATCH,
    )
    assert answer.error_message is not None
    assert repr(key) in answer.error_message


def test_through_the_sdk_errors_come_back_as_the_default(client_for: Callable[..., Any]) -> None:
    client = client_for(LaunchdeckProvider(snapshot=a_snapshot()))
    assert client.get_boolean_value("checkout", False, user(country="US")) is True
    missing = client.get_boolean_details("nope", True, user())
    assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
    mismatch = client.get_integer_details("theme", 5, user())
    assert (mismatch.value, mismatch.error_code) == (5, ErrorCode.TYPE_MISMATCH)
    ratio = client.get_float_details("ratio", 0.0)
    assert (ratio.value, ratio.error_code) == (1.0, None)


def test_async_resolution_gives_the_sync_answers(client_for: Callable[..., Any]) -> None:
    provider = LaunchdeckProvider(snapshot=a_snapshot())
    client = client_for(provider)

    async def both() -> tuple[Any, Any]:
        direct = await provider.resolve_boolean_details_async("checkout", False, user(country="US"))
        through = await client.get_string_details_async("theme", "x", user("user-7"))
        return direct, through

    direct, through = asyncio.run(both())
    assert (direct.value, direct.reason) == (True, Reason.TARGETING_MATCH)
    assert through.value == provider.resolve_string_details("theme", "x", user("user-7")).value
    assert through.reason == Reason.SPLIT


# ---------------------------------------------------------------- offline: set-up errors


def test_a_missing_bootstrap_file_says_which_and_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        LaunchdeckProvider(bootstrap=tmp_path / "absent.json")
    assert raised.value.where == str(tmp_path / "absent.json")
    assert "cannot read the bootstrap file" in raised.value.message
    assert raised.value.hint is not None
    assert "--snapshot" in raised.value.hint


def test_a_bootstrap_that_is_not_a_snapshot_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "flagd.json"
    path.write_text(json.dumps({"environment": "production", "flags": [{"key": "x", "type": 3}]}))
    with pytest.raises(ConfigError) as raised:
        load_snapshot(path)
    assert raised.value.field == "flags.0.type"
    assert "not a launchdeck snapshot" in raised.value.message


def test_a_snapshot_of_another_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="holds environment 'staging', not 'production'"):
        LaunchdeckProvider(snapshot=a_snapshot(environment="staging"), environment="production")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "needs a server"),
        ({"base_url": BASE_URL}, "`sdk_key` is required"),
        ({"base_url": BASE_URL, "sdk_key": "an-api-token"}, "pass `environment=`"),
        ({"snapshot": a_snapshot(), "poll_interval_s": 0}, "positive seconds"),
    ],
    ids=[
        "no server and no snapshot",
        "a server without a key",
        "an API token without an environment",
        "a zero poll interval",
    ],
)
def test_misconfiguration_is_refused_with_a_reason(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LaunchdeckProvider(**arguments)


# ---------------------------------------------------------------- exposures and track


def test_each_successful_resolution_is_an_exposure(clock: FakeClock) -> None:
    seen: list[Exposure] = []
    provider = LaunchdeckProvider(snapshot=a_snapshot(), on_exposure=seen.append, clock=clock)
    provider.resolve_boolean_details("checkout", False, user("u-1", country="US"))
    clock.advance(2)
    provider.resolve_boolean_details("beta", False, user(None))
    provider.resolve_boolean_details("nope", False, user("u-1"))
    provider.resolve_string_details("banner", "x", user("u-1"))
    assert seen == [
        Exposure("checkout", "on", "TARGETING_MATCH", "u-1", T0),
        Exposure("beta", None, "DEFAULT", None, T0 + 2),
    ]
    assert seen[0].is_exposure


def test_a_failing_sink_never_breaks_an_evaluation(caplog: pytest.LogCaptureFixture) -> None:
    def broken(exposure: Exposure) -> None:
        raise RuntimeError("queue full")

    provider = LaunchdeckProvider(snapshot=a_snapshot(), on_exposure=broken)
    with caplog.at_level(logging.ERROR, logger="launchdeck.flags.openfeature"):
        answer = provider.resolve_boolean_details("banner", False, user())
    assert answer.value is True
    assert "the exposure sink failed for flag 'banner'" in caplog.text


def test_track_hands_conversions_to_the_same_sink(
    clock: FakeClock, client_for: Callable[..., Any]
) -> None:
    seen: list[Exposure] = []
    provider = LaunchdeckProvider(snapshot=a_snapshot(), on_exposure=seen.append, clock=clock)
    client = client_for(provider)
    client.get_boolean_value("banner", False, user("u-9"))
    details = TrackingEventDetails(value=42.5).add("currency", "EUR")
    client.track("purchase", user("u-9", plan="pro"), details)
    provider.track("signup")
    assert seen == [
        Exposure("banner", "on", "STATIC", "u-9", T0),
        Exposure(None, None, None, "u-9", T0, "purchase", 42.5, {"currency": "EUR"}),
        Exposure(None, None, None, None, T0, "signup"),
    ]
    assert not seen[1].is_exposure


def test_track_without_a_sink_does_nothing() -> None:
    provider = LaunchdeckProvider(snapshot=a_snapshot())
    provider.track("purchase", user(), TrackingEventDetails(value=1.0))
    assert provider.resolve_boolean_details("banner", False).value is True


def test_the_exposure_hook_records_for_any_provider(client_for: Callable[..., Any]) -> None:
    seen: list[Exposure] = []
    flag = InMemoryFlag("on", {"on": True, "off": False})
    client = client_for(InMemoryProvider({"banner": flag}))
    client.add_hooks([ExposureHook(seen.append, clock=lambda: T0)])
    assert client.get_boolean_value("banner", False, user("u-3")) is True
    assert client.get_boolean_value("nope", False, user("u-3")) is False
    assert seen == [Exposure("banner", "on", "STATIC", "u-3", T0)]


# ---------------------------------------------------------------- online: fetching


def test_initialize_fetches_with_the_key_and_then_asks_with_the_etag(
    online: Online, server: FakeServer
) -> None:
    provider, _ = online()
    assert provider.resolve_boolean_details("banner", False).reason == Reason.ERROR
    provider.initialize(EvaluationContext())
    assert provider.resolve_boolean_details("banner", False).value is True
    assert provider.refresh() is True
    first, second = server.snapshot_requests()
    assert first.headers["Authorization"] == f"Bearer {SDK_KEY}"
    assert "If-None-Match" not in first.headers
    assert "X-Launchdeck-Environment" not in first.headers
    assert second.headers["If-None-Match"] == '"rev-1"'
    status = provider.sync_status()
    assert (status.fetched, status.not_modified, status.etag, status.revision) == (
        1,
        1,
        '"rev-1"',
        1,
    )
    assert status.refreshing is True


def test_an_api_token_names_its_environment(online: Online, server: FakeServer) -> None:
    provider, _ = online(sdk_key="ld_api_token", environment="production")
    provider.initialize(EvaluationContext())
    assert server.snapshot_requests()[0].headers["X-Launchdeck-Environment"] == "production"


def test_a_change_is_swapped_in_and_announced_with_the_flags_it_touches(
    online: Online, server: FakeServer
) -> None:
    provider, events = online()
    provider.initialize(EvaluationContext())
    server.publish(a_snapshot(banner="off", revision=2))
    assert provider.refresh() is True
    assert provider.resolve_boolean_details("banner", True).value is False
    (kind, details), *_ = events.seen
    assert kind is ProviderEvent.PROVIDER_CONFIGURATION_CHANGED
    assert details.flags_changed == ["banner"]


def test_a_server_down_at_start_serves_the_bootstrap_as_stale(
    online: Online, server: FakeServer
) -> None:
    server.down = True
    provider, _ = online(snapshot=a_snapshot(banner="off"))
    provider.initialize(EvaluationContext())
    answer = provider.resolve_boolean_details("banner", True)
    assert (answer.value, answer.variant, answer.reason) == (False, "off", Reason.STALE)
    server.down = False
    assert provider.refresh() is True
    answer = provider.resolve_boolean_details("banner", False)
    assert (answer.value, answer.reason) == (True, Reason.STATIC)


def test_a_server_down_at_start_without_a_bootstrap_is_an_error_until_it_answers(
    online: Online, server: FakeServer
) -> None:
    server.down = True
    provider, events = online()
    with pytest.raises(GeneralError, match="no bootstrap to serve meanwhile"):
        provider.initialize(EvaluationContext())
    answer = provider.resolve_boolean_details("banner", False)
    assert answer.error_code == ErrorCode.PROVIDER_NOT_READY
    server.down = False
    assert provider.refresh() is True
    assert provider.resolve_boolean_details("banner", False).value is True
    assert events.kinds() == [ProviderEvent.PROVIDER_READY]


def test_a_refused_key_is_fatal_at_start(online: Online, server: FakeServer) -> None:
    server.status = 401
    provider, _ = online()
    with pytest.raises(ProviderFatalError, match="refused the SDK key"):
        provider.initialize(EvaluationContext())
    assert provider.sync_status().refreshing is False


def test_a_key_of_another_environment_is_fatal_at_start(online: Online) -> None:
    provider, _ = online(sdk_key="api-token", environment="staging")
    with pytest.raises(
        ProviderFatalError, match="answered environment 'production', not 'staging'"
    ):
        provider.initialize(EvaluationContext())


# ---------------------------------------------------------------- online: STALE


def test_a_failed_poll_without_a_stream_is_stale_at_once_and_fresh_after(
    online: Online, server: FakeServer
) -> None:
    provider, events = online()
    provider.initialize(EvaluationContext())
    server.down = True
    assert provider.refresh() is False
    answer = provider.resolve_boolean_details("banner", False, user())
    assert (answer.value, answer.variant, answer.reason) == (True, "on", Reason.STALE)
    status = provider.sync_status()
    assert status.stale is True
    assert status.last_error is not None
    assert "cannot reach http://launchdeck.test/api/v1/sdk/snapshot" in status.last_error
    server.down = False
    assert provider.refresh() is True
    assert provider.resolve_boolean_details("banner", False).reason == Reason.STATIC
    assert events.kinds() == [ProviderEvent.PROVIDER_STALE, ProviderEvent.PROVIDER_READY]


def test_with_the_stream_up_failed_polls_turn_stale_after_two_intervals(
    online: Online, server: FakeServer, clock: FakeClock
) -> None:
    provider, events = online(stream=True, poll_interval_s=60.0)
    provider.initialize(EvaluationContext())
    wait_streaming(provider, server)
    server.status = 503
    assert provider.refresh() is False
    clock.advance(120)
    assert provider.resolve_boolean_details("banner", False).reason == Reason.STATIC
    clock.advance(0.5)
    answer = provider.resolve_boolean_details("banner", False)
    assert (answer.value, answer.reason) == (True, Reason.STALE)
    provider.refresh()
    assert ProviderEvent.PROVIDER_STALE in events.kinds()


def test_a_lost_stream_after_a_failed_poll_is_stale(online: Online, server: FakeServer) -> None:
    provider, _ = online(stream=True, poll_interval_s=60.0)
    provider.initialize(EvaluationContext())
    wait_streaming(provider, server)
    server.status = 503
    assert provider.refresh() is False
    assert provider.resolve_boolean_details("banner", False).reason == Reason.STATIC
    server.down = True
    server.push("")  # a blank line, then the stream ends
    server.events.put(None)
    wait_until(lambda: not provider.sync_status().streaming, "the stream did not end")
    assert provider.resolve_boolean_details("banner", False).reason == Reason.STALE


# ---------------------------------------------------------------- online: the event stream


def test_a_refetch_event_brings_the_change(online: Online, server: FakeServer) -> None:
    provider, events = online(stream=True)
    provider.initialize(EvaluationContext())
    wait_streaming(provider, server)
    fetched_before = len(server.snapshot_requests())
    server.push(': keep-alive\n\ndata: {"type": "refetchEvaluation", "etag": "\\"rev-1\\""}\n\n')
    server.publish(a_snapshot(banner="off", revision=2))
    server.push(
        'event: message\ndata: {"type": "refetchEvaluation",\ndata: "etag": "\\"rev-2\\""}\n\n'
    )
    assert events.changed.wait(WAIT_S), "no PROVIDER_CONFIGURATION_CHANGED"
    server.down = True  # from here on a reconnection fetches nothing
    server.events.put(None)
    wait_until(lambda: not provider.sync_status().streaming, "the stream did not end")
    assert len(server.snapshot_requests()) == fetched_before + 1  # the event naming rev-1: none
    assert provider.resolve_boolean_details("banner", True).value is False
    changed = [d for e, d in events.seen if e is ProviderEvent.PROVIDER_CONFIGURATION_CHANGED]
    assert [d.flags_changed for d in changed] == [["banner"]]


def test_shutdown_ends_the_stream_and_the_thread(online: Online, server: FakeServer) -> None:
    provider, _ = online(stream=True)
    provider.initialize(EvaluationContext())
    wait_streaming(provider, server)
    provider.shutdown()
    status = provider.sync_status()
    assert (status.refreshing, status.streaming) == (False, False)
    assert server.streams[0].closed.is_set()
    assert provider.resolve_boolean_details("banner", False).value is True


def test_through_the_sdk_the_provider_reports_ready_then_stale(
    online: Online, server: FakeServer, client_for: Callable[..., Any]
) -> None:
    provider, _ = online()
    client = client_for(provider)
    assert client.get_provider_status().value == "READY"
    server.down = True
    provider.refresh()
    assert client.get_provider_status().value == "STALE"
    details = client.get_boolean_details("banner", False, user())
    assert (details.value, details.reason, details.error_code) == (True, Reason.STALE, None)


# ---------------------------------------------------------------- changed flags


def _with(snapshot: Snapshot, **changes: Any) -> Snapshot:
    data = snapshot.model_dump(mode="json", by_alias=True)
    data.update(changes)
    return Snapshot.model_validate(data)


def test_changed_flags_follow_segments_and_prerequisites() -> None:
    flags = [
        {"key": "base", "environments": {"production": {"enabled": True}}},
        {
            "key": "needs-base",
            "prerequisites": [{"flag": "base"}],
            "environments": {"production": {"enabled": True}},
        },
        {
            "key": "for-vips",
            "environments": {
                "production": {
                    "enabled": True,
                    "rules": [
                        {
                            "when": {"not": {"op": "in_segment", "values": ["vips"]}},
                            "serve": {"variant": "off"},
                        }
                    ],
                }
            },
        },
        {"key": "other", "environments": {"production": {"enabled": True}}},
    ]
    vips = {"key": "vips", "rules": [{"op": "in_segment", "values": ["staff"]}]}
    staff = {"key": "staff", "included": ["ann"]}
    old = Snapshot.model_validate(
        {"environment": "production", "flags": flags, "segments": [vips, staff]}
    )
    assert changed_flags(old, old) == []
    assert changed_flags(None, old) == ["base", "for-vips", "needs-base", "other"]
    staff_changed = _with(old, segments=[vips, {"key": "staff", "included": ["bob"]}])
    assert changed_flags(old, staff_changed) == ["for-vips"]
    base_off = _with(
        old, flags=[{"key": "base", "environments": {"production": {"enabled": False}}}, *flags[1:]]
    )
    assert changed_flags(old, base_off) == ["base", "needs-base"]
    removed = _with(old, flags=flags[:3])
    assert changed_flags(old, removed) == ["other"]


# ---------------------------------------------------------------- fork


def _fork(check: Callable[[], int]) -> int:
    """Run `check` in a forked child, which exits with its result; the child's pid."""
    pid = os.fork()
    if pid == 0:
        status = 99
        try:
            status = check()
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(status)
    return pid


def _exit_code(pid: int) -> int:
    deadline = time.monotonic() + 2 * WAIT_S
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child did not finish")
        time.sleep(0.01)


def test_a_forked_child_evaluates_from_the_parents_snapshot() -> None:
    provider = LaunchdeckProvider(snapshot=a_snapshot())

    def check() -> int:
        answer = provider.resolve_boolean_details("checkout", False, user(country="US"))
        return 0 if (answer.value, answer.reason) == (True, "TARGETING_MATCH") else 1

    assert _exit_code(_fork(check)) == 0


def test_a_forked_child_refreshes_on_its_own(online: Online, server: FakeServer) -> None:
    provider, _ = online(poll_interval_s=0.05, clock=time.time)
    provider.initialize(EvaluationContext())
    assert provider.sync_status().refreshing is True
    ready_r, ready_w = os.pipe()

    def check() -> int:
        os.close(ready_r)
        if provider.sync_status().refreshing:
            return 1  # the parent's thread is not the child's
        if provider.resolve_boolean_details("banner", False).value is not True:
            return 2
        os.write(ready_w, b"1")
        deadline = time.monotonic() + WAIT_S
        while provider.resolve_boolean_details("banner", True).value is not False:
            if time.monotonic() > deadline:
                return 3
            time.sleep(0.01)
        return 0 if provider.sync_status().refreshing else 4

    pid = _fork(check)
    os.close(ready_w)
    readable, _, _ = select.select([ready_r], [], [], WAIT_S)
    ready = os.read(ready_r, 1) if readable else b""
    os.close(ready_r)
    server.publish(a_snapshot(banner="off", revision=2))
    assert (ready, _exit_code(pid)) == (b"1", 0)
