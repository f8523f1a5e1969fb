"""Sending events from an application: `EventClient`, the `track()` helper, the exposure sink.
Client side.

`EventClient` queues exposures and metric events in memory and one daemon thread posts them to
`POST /api/v1/events` in batches (`batch_size` events, or whatever is queued every
`flush_interval_s`). Each event gets its id (a UUID4) when it is queued, so a batch sent again
after a timeout, a 5xx or a restarted server is stored once: delivery is at least once, the
store makes it exactly once. Failed sends are retried with exponential backoff and full jitter
(capped at `backoff_max_s`); 429 and 503 answers are retried after their Retry-After. Answers
that no retry can change (400, 401, 403, 413, 422) drop the batch and count it as `failed`.
A full queue (`max_queue`) drops new events and counts them as `dropped`, so a server outage
never grows the application's memory without bound.

`exposure_sink(client, flags)` plugs the client into `LaunchdeckProvider(on_exposure=...)`:
evaluations that put a unit in an experiment's split (reason SPLIT, on a flag running an
experiment) become exposures, once per unit and variant; `track()` calls of the OpenFeature
client become metric events.

The module-level `init()` / `track()` / `expose()` / `shutdown()` are a convenience over one
process-wide client (configured from LAUNCHDECK_URL and LAUNCHDECK_EVENTS_KEY or
LAUNCHDECK_TOKEN when `init` was not called), flushed at exit.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httpx

from launchdeck import __version__
from launchdeck.errors import UsageError

if TYPE_CHECKING:
    from launchdeck.flags.openfeature import Exposure, ExposureSink

__all__ = [
    "ClientStats",
    "EventClient",
    "expose",
    "exposure_sink",
    "init",
    "shutdown",
    "track",
]

log = logging.getLogger("launchdeck.experiments.track")

EVENTS_PATH: Final = "/api/v1/events"
_RETRY_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
_SPLIT: Final = "SPLIT"


@dataclass(frozen=True, slots=True)
class ClientStats:
    """What a client did so far, in events."""

    queued: int
    """Waiting to be sent (or being sent)."""
    accepted: int
    duplicates: int
    """Acknowledged as stored before: a retry of a batch that had gone through."""
    rejected: int
    """Refused by the server, each with a reason (logged)."""
    failed: int
    """Dropped after an answer no retry can change (401, 403, 413 …) or at close."""
    dropped: int
    """Never queued: the queue was full."""
    retries: int
    """Batches sent again."""


class EventClient:
    """Batches events to a launchdeck server from a background thread (see the module docs)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
        max_queue: int = 100_000,
        timeout_s: float = 10.0,
        backoff_base_s: float = 0.1,
        backoff_max_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= batch_size <= 10_000:
            raise UsageError(f"batch_size {batch_size} is not between 1 and 10,000")
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_queue = max_queue
        self._backoff = (backoff_base_s, backoff_max_s)
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "User-Agent": f"launchdeck-events/{__version__}",
            },
            timeout=timeout_s,
            transport=transport,
        )
        self._queue: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._queued_total = 0  # events ever queued
        self._done_total = 0  # events acknowledged or given up, in queue order
        self._flush_wanted = 0  # flush() wants everything up to this sent without waiting
        self._oldest_at = 0.0  # when the oldest queued event was queued (monotonic)
        self._closing = False
        self._give_up_at = float("inf")
        self._counts = dict.fromkeys(
            ("accepted", "duplicates", "rejected", "failed", "dropped", "retries"), 0
        )
        self._thread = threading.Thread(
            target=self._run, name="launchdeck-event-client", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ queueing

    def expose(
        self,
        *,
        variant: str,
        unit: str,
        experiment: str | None = None,
        flag: str | None = None,
        attributes: Mapping[str, str | float | bool] | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Queue an exposure: `unit` was served `variant` of `experiment` (or of the
        experiment `flag` runs). `timestamp` in Unix seconds, default now."""
        if (experiment is None) == (flag is None):
            raise UsageError("an exposure names its experiment or its flag (one of them)")
        event: dict[str, Any] = {"type": "exposure", "variant": variant, "unit": unit}
        if experiment is not None:
            event["experiment"] = experiment
        else:
            event["flag"] = flag
        self._put(event, attributes, timestamp)

    def track(
        self,
        event: str,
        unit: str,
        value: float | None = None,
        attributes: Mapping[str, str | float | bool] | None = None,
        *,
        timestamp: float | None = None,
    ) -> None:
        """Queue a metric event: `unit` did `event` (a purchase, with its `value`)."""
        body: dict[str, Any] = {"type": "metric", "event": event, "unit": unit}
        if value is not None:
            body["value"] = value
        self._put(body, attributes, timestamp)

    def _put(
        self,
        event: dict[str, Any],
        attributes: Mapping[str, str | float | bool] | None,
        timestamp: float | None,
    ) -> None:
        event["id"] = str(uuid.uuid4())
        event["timestamp"] = self._clock() if timestamp is None else timestamp
        if attributes:
            event["attributes"] = dict(attributes)
        with self._cond:
            if self._closing:
                raise UsageError("the event client is closed")
            if len(self._queue) >= self.max_queue:
                self._counts["dropped"] += 1
                return
            if not self._queue:
                self._oldest_at = time.monotonic()
                self._cond.notify_all()  # the interval starts
            self._queue.append(event)
            self._queued_total += 1
            if len(self._queue) == self.batch_size:
                self._cond.notify_all()

    # ------------------------------------------------------------------ flushing

    def flush(self, timeout_s: float | None = None) -> bool:
        """Send everything queued so far now; True once all of it was acknowledged or given up
        (False if `timeout_s` passed first)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            target = self._queued_total
            self._flush_wanted = max(self._flush_wanted, target)
            self._cond.notify_all()
            while self._done_total < target:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is queued (retrying for up to `timeout_s`), then stop. What could not be
        sent by then counts as failed."""
        with self._cond:
            self._closing = True
            self._give_up_at = time.monotonic() + timeout_s
            self._cond.notify_all()
        self._thread.join(timeout_s + 5)
        self._http.close()

    def stats(self) -> ClientStats:
        with self._cond:
            return ClientStats(queued=len(self._queue), **self._counts)

    # ------------------------------------------------------------------ the thread

    def _next_batch(self) -> list[dict[str, Any]] | None:
        """Wait until a batch is due (full, flushed, its oldest event waited the interval, or
        closing); None when closed and drained."""
        with self._cond:
            while True:
                queued = len(self._queue)
                waited = time.monotonic() - self._oldest_at
                due = queued and (
                    queued >= self.batch_size
                    or self._flush_wanted > self._done_total
                    or waited >= self.flush_interval_s
                    or self._closing
                )
                if due:
                    break
                if self._closing:
                    return None  # nothing left
                self._cond.wait(self.flush_interval_s - waited if queued else None)
            count = min(self.batch_size, queued)
            batch = [self._queue.popleft() for _ in range(count)]
            self._oldest_at = time.monotonic()  # what is left waits from now on
            return batch

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                answer = self._deliver(batch)
            except Exception:  # a bug must not stop the thread (flush() would wait forever)
                log.exception("sending %d event(s) failed", len(batch))
                answer = None
            with self._cond:
                if answer is None:
                    self._counts["failed"] += len(batch)
                else:
                    for key in ("accepted", "duplicates", "rejected"):
                        self._counts[key] += int(answer.get(key, 0))
                self._done_total += len(batch)
                self._cond.notify_all()

    def _deliver(self, batch: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Post `batch` until the server answers for good; its answer, or None (failed)."""
        body = json.dumps({"events": batch}, separators=(",", ":")).encode()
        attempt = 0
        while True:
            wait_s: float | None
            if time.monotonic() >= self._give_up_at:
                return None
            try:
                response = self._http.post(EVENTS_PATH, content=body)
            except httpx.TransportError as exc:
                log.debug("posting events failed (%s); will retry", type(exc).__name__)
                wait_s = None
            else:
                if response.status_code == 200:
                    try:
                        answer: dict[str, Any] = response.json()
                    except ValueError:  # stored, but the answer is unreadable
                        log.warning("the server's answer to %d event(s) is not JSON", len(batch))
                        return {}
                    if answer.get("rejected"):
                        first = (answer.get("rejects") or [{}])[0]
                        log.warning(
                            "the server rejected %s event(s), e.g. %s: %s",
                            answer["rejected"],
                            first.get("reason"),
                            first.get("message"),
                        )
                    return answer
                if response.status_code not in _RETRY_STATUSES:
                    log.error(
                        "the server refused %d event(s) (%d): %s",
                        len(batch),
                        response.status_code,
                        response.text[:300],
                    )
                    return None
                wait_s = _retry_after_s(response.headers.get("retry-after"))
            attempt += 1
            if not self._pause(wait_s, attempt):
                return None
            with self._cond:
                self._counts["retries"] += 1

    def _pause(self, retry_after_s: float | None, attempt: int) -> bool:
        """Sleep before a retry (Retry-After, else full jitter); False when closing ran out of
        time."""
        base, cap = self._backoff
        if retry_after_s is not None:
            delay = retry_after_s + self._rng.uniform(0, base)
        else:
            delay = self._rng.uniform(0, min(cap, base * 2 ** min(attempt, 30)))
        with self._cond:
            until = time.monotonic() + delay
            if until > self._give_up_at:
                return False
            while (left := until - time.monotonic()) > 0:
                self._cond.wait(left)
                if time.monotonic() >= self._give_up_at:
                    return False
        return True


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:  # an HTTP date: not worth parsing, back off instead
        return None


# ---------------------------------------------------------------------- the exposure sink


def exposure_sink(
    client: EventClient, flags: Mapping[str, str], *, remember: int = 10_000
) -> ExposureSink:
    """An `on_exposure` sink for `LaunchdeckProvider`: an evaluation with reason SPLIT of a flag
    in `flags` (flag → the experiment it runs, `Catalog.by_flag`) becomes an exposure, once per
    unit, experiment and variant among the last `remember`; a tracked event becomes a metric
    event. The unit is the evaluation's targeting key; without one nothing is recorded."""
    recent: dict[tuple[str, str, str], None] = {}
    lock = threading.Lock()

    def sink(exposure: Exposure) -> None:
        unit = exposure.targeting_key
        if not unit:
            return
        if not exposure.is_exposure:
            assert exposure.event is not None
            client.track(
                exposure.event,
                unit,
                exposure.value,
                dict(exposure.attributes) or None,
                timestamp=exposure.timestamp,
            )
            return
        experiment = flags.get(exposure.flag_key or "")
        variant = exposure.variant
        if exposure.reason != _SPLIT or experiment is None or variant is None:
            return
        key = (experiment, unit, variant)
        with lock:
            if key in recent:
                return
            recent[key] = None
            if len(recent) > remember:
                del recent[next(iter(recent))]
        client.expose(
            experiment=experiment, variant=variant, unit=unit, timestamp=exposure.timestamp
        )

    return sink


# ---------------------------------------------------------------------- module-level helpers

_default: EventClient | None = None
_default_lock = threading.Lock()


def init(base_url: str, token: str, **options: Any) -> EventClient:
    """Make the process-wide client `track()` and `expose()` use (closing a previous one)."""
    global _default
    with _default_lock:
        previous, _default = _default, EventClient(base_url, token, **options)
        client = _default
    if previous is not None:
        previous.close()
    atexit.register(shutdown)
    return client


def _client() -> EventClient:
    client = _default
    if client is not None:
        return client
    url = os.environ.get("LAUNCHDECK_URL")
    token = os.environ.get("LAUNCHDECK_EVENTS_KEY") or os.environ.get("LAUNCHDECK_TOKEN")
    if not url or not token:
        raise UsageError(
            "no event client: call launchdeck.experiments.track.init(url, key) first",
            hint="or set LAUNCHDECK_URL and LAUNCHDECK_EVENTS_KEY (an SDK key)",
        )
    with _default_lock:
        if _default is not None:
            return _default
    return init(url, token)


def track(
    event: str,
    unit: str,
    value: float | None = None,
    attributes: Mapping[str, str | float | bool] | None = None,
    *,
    timestamp: float | None = None,
) -> None:
    """Queue a metric event on the process-wide client (see `EventClient.track`)."""
    _client().track(event, unit, value, attributes, timestamp=timestamp)


def expose(
    *,
    variant: str,
    unit: str,
    experiment: str | None = None,
    flag: str | None = None,
    attributes: Mapping[str, str | float | bool] | None = None,
    timestamp: float | None = None,
) -> None:
    """Queue an exposure on the process-wide client (see `EventClient.expose`)."""
    _client().expose(
        variant=variant,
        unit=unit,
        experiment=experiment,
        flag=flag,
        attributes=attributes,
        timestamp=timestamp,
    )


def shutdown(timeout_s: float = 10.0) -> None:
    """Send what the process-wide client holds and close it (registered to run at exit)."""
    global _default
    with _default_lock:
        client, _default = _default, None
    if client is not None:
        client.close(timeout_s)
