"""The event client against a mock transport: batching, retries that keep ids, the sink."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from launchdeck.errors import UsageError
from launchdeck.experiments import track as track_module
from launchdeck.experiments.track import EventClient, exposure_sink
from launchdeck.flags.openfeature import Exposure

Handler = Callable[[list[dict[str, Any]], int], httpx.Response]
"""(the events of a request, its number from 0) -> the answer."""


def ok(events: list[dict[str, Any]], _number: int) -> httpx.Response:
    return httpx.Response(
        200, json={"accepted": len(events), "duplicates": 0, "rejected": 0, "rejects": []}
    )


class Server:
    """A mock transport recording every request's events and when it came."""

    def __init__(self, handler: Handler = ok) -> None:
        self.handler = handler
        self.requests: list[list[dict[str, Any]]] = []
        self.times: list[float] = []
        self.headers: list[httpx.Headers] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        with self._lock:
            number = len(self.requests)
            self.requests.append(events)
            self.times.append(time.monotonic())
            self.headers.append(request.headers)
        return self.handler(events, number)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@pytest.fixture
def clients() -> Iterator[Callable[..., EventClient]]:
    made: list[EventClient] = []

    def make(server: Server, **options: Any) -> EventClient:
        options = {"flush_interval_s": 60.0, "backoff_base_s": 0.001, **options}
        client = EventClient(
            "http://launchdeck.test", "lds_1_secret", transport=server.transport, **options
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close(timeout_s=1)


def test_events_go_out_in_batches_with_an_id_each(clients: Callable[..., EventClient]) -> None:
    server = Server()
    client = clients(server, batch_size=3)

    for i in range(7):
        client.track("purchase", f"user-{i}", value=10.0 + i, attributes={"country": "FR"})
    assert client.flush(timeout_s=5)

    assert [len(r) for r in server.requests] == [3, 3, 1]
    sent = [e for r in server.requests for e in r]
    assert [e["unit"] for e in sent] == [f"user-{i}" for i in range(7)]
    assert len({e["id"] for e in sent}) == 7
    assert all(uuid.UUID(e["id"]).version == 4 for e in sent)
    assert sent[0] | {"id": "-", "timestamp": 0} == {
        "type": "metric",
        "event": "purchase",
        "unit": "user-0",
        "value": 10.0,
        "attributes": {"country": "FR"},
        "id": "-",
        "timestamp": 0,
    }
    assert server.headers[0]["authorization"] == "Bearer lds_1_secret"
    assert client.stats().accepted == 7


def test_an_exposure_names_its_experiment_or_its_flag(
    clients: Callable[..., EventClient],
) -> None:
    server = Server()
    client = clients(server)

    client.expose(experiment="hero", variant="urgency", unit="user-1", timestamp=1795000000.5)
    client.expose(flag="bf-hero-copy", variant="control", unit="user-2")
    with pytest.raises(UsageError):
        client.expose(variant="control", unit="user-3")
    client.flush(timeout_s=5)

    sent = server.requests[0]
    assert {k: v for k, v in sent[0].items() if k != "id"} == {
        "type": "exposure",
        "experiment": "hero",
        "variant": "urgency",
        "unit": "user-1",
        "timestamp": 1795000000.5,
    }
    assert sent[1]["flag"] == "bf-hero-copy"
    assert "experiment" not in sent[1]


def test_a_503_is_retried_after_its_retry_after_with_the_same_ids(
    clients: Callable[..., EventClient],
) -> None:
    def busy_once(events: list[dict[str, Any]], number: int) -> httpx.Response:
        if number == 0:
            return httpx.Response(503, headers={"Retry-After": "0.3"})
        return ok(events, number)

    server = Server(busy_once)
    client = clients(server)

    client.track("purchase", "user-1")
    client.track("purchase", "user-2")
    assert client.flush(timeout_s=5)

    assert len(server.requests) == 2
    assert server.requests[0] == server.requests[1]
    assert server.times[1] - server.times[0] >= 0.3
    stats = client.stats()
    assert (stats.accepted, stats.retries, stats.failed) == (2, 1, 0)


def test_a_lost_connection_is_retried_until_the_server_answers(
    clients: Callable[..., EventClient],
) -> None:
    def flaky(events: list[dict[str, Any]], number: int) -> httpx.Response:
        if number < 3:
            raise httpx.ConnectError("connection refused")
        return ok(events, number)

    server = Server(flaky)
    client = clients(server)

    client.track("signup", "user-1")
    assert client.flush(timeout_s=5)

    assert len(server.requests) == 4
    assert len({r[0]["id"] for r in server.requests}) == 1
    assert (client.stats().accepted, client.stats().retries) == (1, 3)


@pytest.mark.parametrize("status", [400, 401, 403, 413, 422], ids=lambda s: f"status {s}")
def test_an_answer_no_retry_can_change_drops_the_batch(
    clients: Callable[..., EventClient], status: int
) -> None:
    server = Server(lambda _events, _n: httpx.Response(status, json={"detail": "no"}))
    client = clients(server)

    client.track("purchase", "user-1")
    assert client.flush(timeout_s=5)

    assert len(server.requests) == 1
    assert (client.stats().failed, client.stats().accepted) == (1, 0)


def test_rejects_and_duplicates_are_counted(clients: Callable[..., EventClient]) -> None:
    def answer(events: list[dict[str, Any]], _n: int) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "accepted": 1,
                "duplicates": 1,
                "rejected": 1,
                "rejects": [{"index": 2, "reason": "unknown_variant", "message": "no such"}],
            },
        )

    client = clients(Server(answer))
    for unit in ("a", "b", "c"):
        client.track("purchase", unit)
    client.flush(timeout_s=5)

    stats = client.stats()
    assert (stats.accepted, stats.duplicates, stats.rejected) == (1, 1, 1)


def test_a_partial_batch_goes_out_after_the_flush_interval(
    clients: Callable[..., EventClient],
) -> None:
    server = Server()
    client = clients(server, flush_interval_s=0.1)

    queued_at = time.monotonic()
    client.track("purchase", "user-1")
    deadline = queued_at + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)

    assert len(server.requests) == 1
    assert 0.1 <= server.times[0] - queued_at < 2


def test_a_full_queue_drops_new_events_and_counts_them(
    clients: Callable[..., EventClient],
) -> None:
    gate = threading.Event()

    def slow(events: list[dict[str, Any]], number: int) -> httpx.Response:
        gate.wait(5)
        return ok(events, number)

    server = Server(slow)
    client = clients(server, batch_size=2, max_queue=3)
    client.track("a", "u")
    client.track("a", "u")  # a full batch: taken by the thread, which then waits
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    for _ in range(5):
        client.track("a", "u")
    gate.set()
    client.flush(timeout_s=5)

    assert (client.stats().dropped, client.stats().accepted) == (2, 5)


def test_close_sends_what_is_queued_and_then_refuses_events(
    clients: Callable[..., EventClient],
) -> None:
    server = Server()
    client = clients(server)
    client.track("purchase", "user-1")

    client.close()

    assert len(server.requests) == 1
    with pytest.raises(UsageError):
        client.track("purchase", "user-2")


def test_close_gives_up_on_a_server_that_stays_down(clients: Callable[..., EventClient]) -> None:
    def down(_events: list[dict[str, Any]], _n: int) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    client = clients(Server(down), backoff_base_s=0.05, backoff_max_s=0.05)
    client.track("purchase", "user-1")

    started = time.monotonic()
    client.close(timeout_s=0.5)

    assert time.monotonic() - started < 3
    assert client.stats().failed == 1


def _exposure(flag: str, variant: str, reason: str, unit: str | None) -> Exposure:
    return Exposure(flag, variant, reason, unit, 1795000000.0)


def test_the_sink_records_split_evaluations_of_experiment_flags_once_per_unit(
    clients: Callable[..., EventClient],
) -> None:
    server = Server()
    client = clients(server)
    sink = exposure_sink(client, {"bf-hero-copy": "hero"})

    for exposure in (
        _exposure("bf-hero-copy", "urgency", "SPLIT", "user-1"),
        _exposure("bf-hero-copy", "urgency", "SPLIT", "user-1"),  # evaluated again: once
        _exposure("bf-hero-copy", "control", "SPLIT", "user-2"),
        _exposure("bf-hero-copy", "control", "TARGETING_MATCH", "user-3"),  # no consent
        _exposure("dark-mode", "on", "SPLIT", "user-4"),  # runs no experiment
        _exposure("bf-hero-copy", "urgency", "SPLIT", None),  # no unit
        Exposure(None, None, None, "user-1", 1795000100.0, event="purchase", value=59.9),
    ):
        sink(exposure)
    client.flush(timeout_s=5)

    sent = [{k: v for k, v in e.items() if k != "id"} for e in server.requests[0]]
    assert sent == [
        {
            "type": "exposure",
            "experiment": "hero",
            "variant": "urgency",
            "unit": "user-1",
            "timestamp": 1795000000.0,
        },
        {
            "type": "exposure",
            "experiment": "hero",
            "variant": "control",
            "unit": "user-2",
            "timestamp": 1795000000.0,
        },
        {
            "type": "metric",
            "event": "purchase",
            "unit": "user-1",
            "value": 59.9,
            "timestamp": 1795000100.0,
        },
    ]


def test_the_sink_forgets_the_oldest_units_beyond_its_memory(
    clients: Callable[..., EventClient],
) -> None:
    server = Server()
    client = clients(server)
    sink = exposure_sink(client, {"f": "hero"}, remember=2)

    for unit in ("a", "b", "c", "a"):
        sink(_exposure("f", "control", "SPLIT", unit))
    client.flush(timeout_s=5)

    assert [e["unit"] for e in server.requests[0]] == ["a", "b", "c", "a"]


def test_the_module_level_track_uses_the_client_init_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = Server()
    monkeypatch.setattr(track_module, "_default", None)
    track_module.init("http://launchdeck.test", "lds_1_secret", transport=server.transport)
    try:
        track_module.track("purchase", "user-1", 12.5)
        track_module.expose(experiment="hero", variant="control", unit="user-1")
    finally:
        track_module.shutdown()

    assert [(e["type"], e["unit"]) for r in server.requests for e in r] == [
        ("metric", "user-1"),
        ("exposure", "user-1"),
    ]


def test_the_module_level_track_needs_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(track_module, "_default", None)
    for name in ("LAUNCHDECK_URL", "LAUNCHDECK_EVENTS_KEY", "LAUNCHDECK_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    with pytest.raises(UsageError, match="no event client"):
        track_module.track("purchase", "user-1")
