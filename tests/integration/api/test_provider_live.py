"""LaunchdeckProvider against the real server (uvicorn on loopback, SQLite and PostgreSQL):
a change made through the API reaches it through the event stream, or through ETag polling
with the stream off (304s otherwise); a stopped server or a revoked key leaves the last
configuration served as STALE; a forked child follows changes on its own."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from api_builders import bearer
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent
from openfeature.flag_evaluation import Reason

from launchdeck.flags.openfeature import LaunchdeckProvider
from launchdeck.store import Database
from launchdeck.workspace.service import WorkspaceService
from launchdeck.workspace.spec import WorkspaceSpec

WAIT_S = 30.0
KEY = "new-checkout"
FLAG: dict[str, Any] = {
    "key": KEY,
    "environments": {"staging": {"enabled": True, "fallthrough": {"variant": "on"}}},
}
WORKSPACE: dict[str, Any] = {
    "version": 1,
    "workspace": {"name": "provider-suite", "timezone": "UTC"},
    "environments": [{"id": "staging"}, {"id": "production", "production_like": True}],
}
USER = EvaluationContext("user-1", {"country": "FR"})


@dataclass
class Served:
    """A launchdeck server a test can stop."""

    url: str
    stop: Callable[[], None]


@pytest.fixture
def stoppable_server(db: Database, clock: Any, prometheus_url: str) -> Iterator[Served]:
    """Like `live_server`, with event streams that end after a second, so stopping it (a
    graceful uvicorn shutdown, which waits for open responses) takes about that long."""
    import socket

    import uvicorn

    from launchdeck.api.app import create_app
    from launchdeck.reliability.service import prometheus_sources
    from launchdeck.settings import Settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    settings = Settings(notify_in_background=False, sse_max_stream_s=1.0)
    app = create_app(
        settings, db=db, clock=clock, sources=prometheus_sources(prometheus_url, timeout_s=10)
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the API server did not start within 10 s")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=WAIT_S)
        assert not thread.is_alive(), "the API server did not stop"

    yield Served(f"http://127.0.0.1:{port}", stop)
    stop()


Setup = Callable[[str], str]


@pytest.fixture
def flags_on(db: Database, clock: Any, admin_token: str) -> Setup:
    """flags_on(server_url) -> an SDK key of staging, where `new-checkout` is on."""

    def setup(url: str) -> str:
        WorkspaceService(db, actor="gitops", clock=clock).apply(
            WorkspaceSpec.model_validate(WORKSPACE)
        )
        with httpx.Client(base_url=url, headers=bearer(admin_token), timeout=30) as http:
            created = http.post("/api/v1/flags", json=FLAG)
            assert created.status_code == 201, created.text
            key = http.post("/api/v1/sdk-keys", json={"name": "web", "environment": "staging"})
            assert key.status_code == 201, key.text
        sdk_key: str = key.json()["key"]
        return sdk_key

    return setup


def turn_off(url: str, admin_token: str) -> None:
    with httpx.Client(base_url=url, headers=bearer(admin_token), timeout=30) as http:
        changed = http.post(
            f"/api/v1/flags/{KEY}/changes",
            json={"environment": "staging", "patch": {"enabled": False}},
        )
    assert changed.status_code == 200, changed.text
    assert changed.json()["outcome"] == "applied"


@dataclass
class Bound:
    provider: LaunchdeckProvider
    client: Any
    seen: dict[ProviderEvent, list[EventDetails]]
    signals: dict[ProviderEvent, threading.Event]


@pytest.fixture
def bind() -> Iterator[Callable[..., Bound]]:
    """bind(provider) -> the provider behind an OpenFeature client, its events recorded; the
    providers are shut down afterwards (before the server stops)."""

    def make(provider: LaunchdeckProvider) -> Bound:
        domain = f"live-{id(provider)}"
        api.set_provider_and_wait(provider, domain=domain)
        client = api.get_client(domain=domain)
        seen: dict[ProviderEvent, list[EventDetails]] = {event: [] for event in ProviderEvent}
        signals = {event: threading.Event() for event in ProviderEvent}
        for event in ProviderEvent:

            def record(details: EventDetails, event: ProviderEvent = event) -> None:
                seen[event].append(details)
                signals[event].set()

            client.add_handler(event, record)
        return Bound(provider, client, seen, signals)

    yield make
    api.clear_providers()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {WAIT_S:.0f} s")
        time.sleep(0.01)


def listening(provider: LaunchdeckProvider) -> bool:
    """The stream is up and its catch-up fetch is done (answered 304)."""
    status = provider.sync_status()
    return status.streaming and status.not_modified >= 1


def test_a_change_reaches_the_provider_through_the_event_stream(
    live_server: Any, flags_on: Setup, admin_token: str, bind: Callable[..., Bound]
) -> None:
    sdk_key = flags_on(live_server.url)
    provider = LaunchdeckProvider(live_server.url, sdk_key=sdk_key, poll_interval_s=3600)
    bound = bind(provider)
    before = bound.client.get_boolean_details(KEY, False, USER)
    assert (before.value, before.variant, before.reason) == (True, "on", Reason.STATIC)
    wait_until(lambda: listening(provider), "the event stream was not connected")

    turn_off(live_server.url, admin_token)

    changed = bound.signals[ProviderEvent.PROVIDER_CONFIGURATION_CHANGED]
    assert changed.wait(WAIT_S), "no PROVIDER_CONFIGURATION_CHANGED"
    assert bound.seen[ProviderEvent.PROVIDER_CONFIGURATION_CHANGED][0].flags_changed == [KEY]
    after = bound.client.get_boolean_details(KEY, True, USER)
    assert (after.value, after.variant, after.reason) == (False, "off", Reason.DISABLED)
    assert provider.sync_status().fetched == 2  # the first snapshot, then the event's


def test_with_the_stream_off_polling_brings_the_change_and_304s_otherwise(
    live_server: Any, flags_on: Setup, admin_token: str, bind: Callable[..., Bound]
) -> None:
    sdk_key = flags_on(live_server.url)
    provider = LaunchdeckProvider(
        live_server.url, sdk_key=sdk_key, stream=False, poll_interval_s=0.1
    )
    bound = bind(provider)
    wait_until(lambda: provider.sync_status().not_modified >= 3, "no 304 answers to polls")
    assert provider.sync_status().fetched == 1

    turn_off(live_server.url, admin_token)

    assert bound.signals[ProviderEvent.PROVIDER_CONFIGURATION_CHANGED].wait(WAIT_S)
    assert bound.client.get_boolean_value(KEY, True, USER) is False
    status = provider.sync_status()
    assert (status.fetched, status.streaming, status.stale) == (2, False, False)


def test_a_stopped_server_leaves_the_last_configuration_served_as_stale(
    stoppable_server: Served, flags_on: Setup, bind: Callable[..., Bound]
) -> None:
    sdk_key = flags_on(stoppable_server.url)
    provider = LaunchdeckProvider(stoppable_server.url, sdk_key=sdk_key, poll_interval_s=0.2)
    bound = bind(provider)
    wait_until(lambda: listening(provider), "the event stream was not connected")

    stoppable_server.stop()

    assert bound.signals[ProviderEvent.PROVIDER_STALE].wait(WAIT_S), "no PROVIDER_STALE"
    details = bound.client.get_boolean_details(KEY, False, USER)
    assert (details.value, details.variant, details.reason) == (True, "on", Reason.STALE)
    assert details.error_code is None
    assert bound.client.get_provider_status().value == "STALE"
    status = provider.sync_status()
    assert (status.stale, status.streaming) == (True, False)
    assert status.last_error is not None
    assert f"cannot reach {stoppable_server.url}/api/v1/sdk/snapshot" in status.last_error


def test_a_revoked_key_is_an_error_and_the_last_configuration_keeps_serving(
    live_server: Any, flags_on: Setup, admin_token: str, bind: Callable[..., Bound]
) -> None:
    sdk_key = flags_on(live_server.url)
    provider = LaunchdeckProvider(
        live_server.url, sdk_key=sdk_key, stream=False, poll_interval_s=0.1
    )
    bound = bind(provider)
    key_id = sdk_key.split("_")[1]
    with httpx.Client(base_url=live_server.url, headers=bearer(admin_token)) as http:
        assert http.delete(f"/api/v1/sdk-keys/{key_id}").status_code == 200

    assert bound.signals[ProviderEvent.PROVIDER_ERROR].wait(WAIT_S), "no PROVIDER_ERROR"
    message = bound.seen[ProviderEvent.PROVIDER_ERROR][0].message
    assert message is not None
    assert "refused the SDK key (401, SDK key 'web' was revoked)" in message
    details = bound.client.get_boolean_details(KEY, False, USER)
    assert (details.value, details.reason, details.error_code) == (True, Reason.STALE, None)


def test_an_api_token_reads_the_environment_it_names(
    live_server: Any, flags_on: Setup, read_token: str
) -> None:
    flags_on(live_server.url)
    provider = LaunchdeckProvider(
        live_server.url, sdk_key=read_token, environment="staging", stream=False
    )
    try:
        provider.initialize(EvaluationContext())
        answer = provider.resolve_boolean_details(KEY, False, USER)
        assert (answer.value, answer.reason) == (True, Reason.STATIC)
        assert provider.sync_status().environment == "staging"
    finally:
        provider.shutdown()


def test_a_forked_child_follows_changes_on_its_own(
    live_server: Any, flags_on: Setup, admin_token: str
) -> None:
    sdk_key = flags_on(live_server.url)
    provider = LaunchdeckProvider(live_server.url, sdk_key=sdk_key, poll_interval_s=3600)
    provider.initialize(EvaluationContext())
    wait_until(lambda: listening(provider), "the event stream was not connected")
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: evaluate, say so, then wait for the change to arrive
        status = 99
        try:
            os.close(ready_r)
            first = provider.resolve_boolean_details(KEY, False, USER)
            status = 1 if first.value is not True else 0
            os.write(ready_w, b"1")
            deadline = time.monotonic() + WAIT_S
            while status == 0 and provider.resolve_boolean_details(KEY, True, USER).value:
                status = 2 if time.monotonic() > deadline else 0
                time.sleep(0.01)
        finally:
            os._exit(status)
    try:
        os.close(ready_w)
        readable, _, _ = select.select([ready_r], [], [], WAIT_S)
        assert readable, "the child did not evaluate"
        assert os.read(ready_r, 1) == b"1"
        os.close(ready_r)
        turn_off(live_server.url, admin_token)
        deadline = time.monotonic() + 2 * WAIT_S
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("the forked child did not finish")
            time.sleep(0.01)
        assert os.waitstatus_to_exitcode(done[1]) == 0
        wait_until(
            lambda: provider.resolve_boolean_details(KEY, True, USER).value is False,
            "the parent did not see the change",
        )
    finally:
        provider.shutdown()
