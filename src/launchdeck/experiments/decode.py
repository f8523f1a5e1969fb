"""Ingest bodies decoded and validated in worker processes, stored by the one writer.

Decoding JSON, validating each event and building the Arrow tables is pure Python: about ten
microseconds an event, all of it holding the GIL. In the server's process it would take the
GIL from the event loop and from the writer thread (which gives the GIL up for every DuckDB
call and then waits to get it back), so the server would use one core whatever the machine.
`Decoders` runs that work in a pool of worker processes instead and hands back what the
writer needs: the two tables as Arrow IPC streams (read back without a copy), the rejects and
the batch's counts. The server process only moves bytes and commits.

`decode_body` is also what runs in a thread of the server when the pool has no workers
(`workers=0`, for a machine where processes cannot be started).

A body that is not `{"events": [...]}` comes back as a `BodyError` (re-raised in the server
as UsageError or PayloadTooLarge): exceptions with keyword arguments do not survive pickling.
A worker that dies (killed, out of memory) breaks the pool: the pool is replaced and the
request answered 503, to be retried; no body is lost that a client was told was stored.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from pydantic_core import from_json

from launchdeck.errors import LaunchdeckError, UpstreamError, UsageError
from launchdeck.experiments.events import Reject, validate_batch
from launchdeck.experiments.model import Catalog

if TYPE_CHECKING:  # DuckDB and Arrow load with the first event, not with the server
    import pyarrow as pa

    from launchdeck.experiments.store import Batch, CountKey

__all__ = [
    "MAX_EVENTS",
    "BodyError",
    "Decoded",
    "Decoders",
    "PayloadTooLarge",
    "decode_body",
    "parse_body",
]

log = logging.getLogger("launchdeck.experiments.decode")

MAX_EVENTS: Final = 10_000
PARENT_POLL_S: Final = 1.0
"""How often a worker checks that the server is still there."""
MAX_WORKERS: Final = 4
"""Worker processes at most (one per CPU up to this): beyond it the writer is the limit."""


class PayloadTooLarge(LaunchdeckError):
    code = "payload_too_large"
    status = 413


class BodyError(NamedTuple):
    """A body refused as a whole: `too_large` (413) or not (400)."""

    message: str
    hint: str | None
    too_large: bool

    def error(self) -> LaunchdeckError:
        kind = PayloadTooLarge if self.too_large else UsageError
        return kind(self.message, hint=self.hint)


class Decoded(NamedTuple):
    """A body's valid events as Arrow IPC streams, its rejects and its counts."""

    exposures: bytes
    metrics: bytes
    rejects: list[Reject]
    counts: Counter[CountKey]

    def batch(self, now: datetime) -> Batch:
        """The writer's batch (the tables read back from the IPC buffers without a copy)."""
        from launchdeck.experiments.store import Batch

        return Batch.from_tables(
            _read(self.exposures), _read(self.metrics), self.rejects, now, self.counts
        )


def parse_body(body: bytes) -> list[Any]:
    """The events of a `{"events": [...]}` body; UsageError or PayloadTooLarge."""
    try:
        document = _json(body)
    except (ValueError, RecursionError) as exc:
        raise UsageError(
            f"the body is not JSON: {str(exc)[:200]}", hint='send {"events": [...]}'
        ) from None
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise UsageError(
            'the body is {"events": [...]}, a list of event objects',
            hint="see /api/docs for the event format",
        )
    if len(events) > MAX_EVENTS:
        raise PayloadTooLarge(
            f"{len(events):,} events in one request; at most {MAX_EVENTS:,}",
            hint="split the batch",
        )
    return events


def _json(body: bytes) -> Any:
    """pydantic-core's parser (faster than json's), but json decides what is refused: a body
    json takes (a lone surrogate escape: that event's reject, not the whole batch's) is taken,
    and a body it refuses gets its error message."""
    try:
        return from_json(body)
    except ValueError:
        return json.loads(body)


def decode_body(
    body: bytes,
    *,
    catalog: Catalog,
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None,
) -> Decoded | BodyError:
    """Parse, validate and tabulate one body (in a worker process, or in-process)."""
    from launchdeck.experiments.store import Batch

    try:
        items = parse_body(body)
    except (UsageError, PayloadTooLarge) as exc:
        return BodyError(exc.message, exc.hint, isinstance(exc, PayloadTooLarge))
    validated = validate_batch(items, catalog=catalog, now=now, max_skew=max_skew, max_age=max_age)
    batch = Batch(validated.accepted, validated.rejects, now)
    return Decoded(_ipc(batch.exposures), _ipc(batch.metrics), validated.rejects, batch.counts)


def _ipc(table: pa.Table) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return bytes(sink.getvalue())


def _read(buffer: bytes) -> pa.Table:
    import pyarrow as pa

    return pa.ipc.open_stream(buffer).read_all()


def _watch(server: int) -> None:
    """A worker's initializer: exit as soon as the server process is gone.

    Pool workers wait on a shared queue and a server killed with SIGKILL never tells them to
    stop; without this they (and the fork server they keep alive) would outlive it for good.
    """

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            try:
                os.kill(server, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid was reused by another user's process
                os._exit(0)

    threading.Thread(target=watch, name="launchdeck-decode-watch", daemon=True).start()


def _warm() -> int:
    """A no-op task: a worker that ran it has imported DuckDB and Arrow."""
    import launchdeck.experiments.store  # noqa: F401

    return os.getpid()


class Decoders:
    """A pool of `workers` processes decoding bodies (0: in one thread of this process).

    Started on first use. Workers come from a fork server that has imported this module and
    the store (DuckDB, Arrow), so a new one starts in milliseconds, and none inherits the
    server's threads or sockets (as a fork of the server itself would).
    """

    def __init__(self, workers: int | None = None) -> None:
        cpus = os.cpu_count() or 1
        self.workers = min(cpus, MAX_WORKERS) if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        self._inline: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(
        self,
        body: bytes,
        *,
        catalog: Catalog,
        now: datetime,
        max_skew: timedelta,
        max_age: timedelta | None,
    ) -> Future[Decoded | BodyError]:
        """Decode `body` in a worker; the future fails with UpstreamError if the pool broke."""
        work = partial(
            decode_body, body, catalog=catalog, now=now, max_skew=max_skew, max_age=max_age
        )
        if not self.workers:  # one thread of this process: never the caller's event loop
            with self._lock:
                if self._inline is None:
                    self._inline = ThreadPoolExecutor(1, thread_name_prefix="launchdeck-decode")
                return self._inline.submit(work)
        pool = self._running()
        try:
            future = pool.submit(work)
        except BrokenProcessPool:
            self._replace(pool)
            raise _broken() from None
        return _checked(future, lambda: self._replace(pool))

    def start(self) -> None:
        """Start the workers now (and wait until they have imported what they need)."""
        if self.workers:
            pool = self._running()
            for future in [pool.submit(_warm) for _ in range(self.workers)]:
                future.result()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            inline, self._inline = self._inline, None
        for executor in (pool, inline):
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(
                    ["launchdeck.experiments.decode", "launchdeck.experiments.store"]
                )
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=_watch, initargs=(os.getpid(),)
                )
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                log.error("an event decoding process died: starting new ones")
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)


def _broken() -> UpstreamError:
    return UpstreamError("an event decoding process died", hint="retry the same batch shortly")


def _checked(
    future: Future[Decoded | BodyError], on_broken: Callable[[], None]
) -> Future[Decoded | BodyError]:
    """`future`, with a broken pool turned into a retryable UpstreamError (and replaced)."""
    out: Future[Decoded | BodyError] = Future()

    def settle(done: Future[Decoded | BodyError]) -> None:
        if done.cancelled():
            out.cancel()
            return
        exc = done.exception()
        if isinstance(exc, BrokenProcessPool):
            on_broken()
            out.set_exception(_broken())
        elif exc is not None:
            out.set_exception(exc)
        else:
            out.set_result(done.result())

    future.add_done_callback(settle)
    return out
