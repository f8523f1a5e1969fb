"""Bodies decoded and validated in worker processes (`Decoders`), as the server does."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from launchdeck.errors import UpstreamError, UsageError
from launchdeck.experiments.decode import (
    BodyError,
    Decoded,
    Decoders,
    PayloadTooLarge,
    decode_body,
)
from launchdeck.experiments.events import RejectReason
from launchdeck.experiments.model import Catalog
from launchdeck.experiments.store import EventStore, WriteResult

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CATALOG = Catalog(
    experiments={"hero": frozenset({"control", "urgency"})}, by_flag={"bf-hero-copy": "hero"}
)
LIMITS: dict[str, Any] = {"max_skew": timedelta(minutes=5), "max_age": timedelta(days=7)}


def body(*events: Any) -> bytes:
    return json.dumps({"events": list(events)}).encode()


EXPOSURE = {
    "id": "x-1",
    "type": "exposure",
    "flag": "bf-hero-copy",
    "variant": "urgency",
    "unit": "user-1",
    "timestamp": "2026-11-27T11:59:00Z",
    "attributes": {"browser": "firefox"},
}
PURCHASE = {
    "id": "m-1",
    "type": "metric",
    "event": "purchase",
    "value": 59.9,
    "unit": "user-1",
    "timestamp": "2026-11-27T11:59:30Z",
}
BAD_VARIANT = {**EXPOSURE, "id": "x-2", "variant": "bold"}


@pytest.fixture(scope="module")
def decoders() -> Iterator[Decoders]:
    pool = Decoders(workers=2)
    pool.start()
    yield pool
    pool.close()


def decode(pool: Decoders, raw: bytes) -> Decoded | BodyError:
    return pool.submit(raw, catalog=CATALOG, now=NOW, **LIMITS).result(timeout=60)


def test_a_worker_decodes_what_the_server_process_would(decoders: Decoders) -> None:
    raw = body(EXPOSURE, PURCHASE, BAD_VARIANT, "not an event")

    remote = decode(decoders, raw)
    local = decode_body(raw, catalog=CATALOG, now=NOW, **LIMITS)

    assert isinstance(remote, Decoded)
    assert remote == local
    batch = remote.batch(NOW)
    assert batch.exposures.to_pylist() == [
        {
            "id": "x-1",
            "experiment": "hero",
            "variant": "urgency",
            "unit": "user-1",
            "timestamp": datetime(2026, 11, 27, 11, 59),
            "attributes": '{"browser":"firefox"}',
        }
    ]
    assert batch.metrics.column("id").to_pylist() == ["m-1"]
    assert [(r.index, r.reason) for r in remote.rejects] == [
        (2, RejectReason.UNKNOWN_VARIANT),
        (3, RejectReason.NOT_AN_OBJECT),
    ]
    day = date(2026, 11, 27)
    assert remote.counts == Counter(
        {
            (day, "hero", "exposure", "accepted"): 1,
            (day, "", "metric", "accepted"): 1,
            (day, "hero", "exposure", "rejected:unknown_variant"): 1,
            (day, "", "", "rejected:not_an_object"): 1,
        }
    )


def test_a_decoded_batch_is_stored_like_one_built_in_process(
    decoders: Decoders, tmp_path: Any
) -> None:
    decoded = decode(decoders, body(EXPOSURE, PURCHASE, BAD_VARIANT))
    assert isinstance(decoded, Decoded)

    with EventStore(tmp_path / "events.duckdb") as store:
        first = store.write_many([decoded.batch(NOW)])
        again = store.write_many([decoded.batch(NOW)])
        stats = store.stats()

    assert first == [WriteResult(2, 0, 1)]
    assert again == [WriteResult(0, 2, 1)]
    assert (stats.exposures, stats.metric_events) == (1, 1)


@pytest.mark.parametrize(
    ("raw", "error", "message"),
    [
        (b"{not json", UsageError, "the body is not JSON"),
        (b'{"events": 3}', UsageError, 'the body is {"events": [...]}'),
        (body(*[{}] * 10_001), PayloadTooLarge, "10,001 events in one request"),
    ],
    ids=["not JSON", "not a list", "too many events"],
)
def test_a_bad_body_comes_back_as_the_error_the_api_answers(
    decoders: Decoders, raw: bytes, error: type[Exception], message: str
) -> None:
    refused = decode(decoders, raw)

    assert isinstance(refused, BodyError)
    raised = refused.error()
    assert type(raised) is error
    assert message in str(raised)


def test_without_workers_a_body_is_still_decoded() -> None:
    inline = Decoders(workers=0)
    future = inline.submit(body(PURCHASE), catalog=CATALOG, now=NOW, **LIMITS)
    decoded = future.result(timeout=60)

    assert isinstance(decoded, Decoded)
    assert decoded.batch(NOW).valid == 1
    inline.close()


def test_a_worker_that_dies_is_a_retryable_error_and_the_pool_is_replaced() -> None:
    pool = Decoders(workers=1)
    try:
        pool.start()
        assert isinstance(decode(pool, body(PURCHASE)), Decoded)
        worker = _worker_pid(pool)

        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        broken: Exception | None = None
        while broken is None and time.monotonic() < deadline:
            try:
                decode(pool, body(PURCHASE))
            except UpstreamError as exc:
                broken = exc
            time.sleep(0.05)

        assert broken is not None
        assert "decoding process died" in str(broken)
        assert isinstance(decode(pool, body(PURCHASE)), Decoded)  # a new pool took over
        assert _worker_pid(pool) != worker
    finally:
        pool.close()


def _worker_pid(pool: Decoders) -> int:
    from launchdeck.experiments.decode import _warm

    return int(pool._running().submit(_warm).result(timeout=60))
