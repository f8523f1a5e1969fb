"""`EventWriter`: group commit in front of the event store.

Every ingest request submits its batch (validated, as Arrow tables: see decode.py) and waits
on a Future. One writer thread takes
everything queued, commits it in one transaction (`EventStore.write_many`) and only then
resolves the futures, so an answer means durable, and N requests arriving during a commit cost
one commit, not N. Under load the groups grow and the commit's fixed cost (the WAL sync) is
shared; when idle a batch is committed at once.

A commit that fails fails the futures of its group, after each batch of the group has been
retried alone (one bad batch does not take the others down). `submit` refuses work beyond
`max_pending` events (`Overloaded`: the API answers 503 with Retry-After) and after `close()`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from launchdeck.errors import UpstreamError
from launchdeck.experiments.events import Event, Reject
from launchdeck.experiments.store import Batch, EventStore, WriteResult

__all__ = ["EventWriter", "Overloaded"]

log = logging.getLogger("launchdeck.experiments.writer")

MAX_GROUP_EVENTS: Final = 100_000
"""A commit takes queued batches until it holds this many events (then the next commit)."""


class Overloaded(UpstreamError):
    """More events are waiting for a commit than the writer accepts: retry shortly."""

    def __init__(self, pending: int) -> None:
        super().__init__(
            f"{pending:,} events are waiting to be written; retry shortly",
            hint="send smaller batches less often, or retry after the Retry-After seconds",
        )
        self.retry_after_s = 1


@dataclass(slots=True)
class _Submission:
    batch: Batch
    future: Future[WriteResult]

    @property
    def size(self) -> int:
        return self.batch.valid + len(self.batch.rejects)


class EventWriter:
    """One thread committing submitted batches to `store` in groups."""

    def __init__(self, store: EventStore, *, max_pending: int = 500_000) -> None:
        self.store = store
        self.max_pending = max_pending
        self._queue: deque[_Submission] = deque()
        self._pending = 0
        self._closed = False
        self._cond = threading.Condition()
        self.commits = 0
        """Transactions committed so far (groups, not batches)."""
        self._thread = threading.Thread(
            target=self._run, name="launchdeck-event-writer", daemon=True
        )
        self._thread.start()

    @property
    def pending(self) -> int:
        """Events submitted and not yet committed."""
        return self._pending

    def submit(
        self, events: Sequence[Event], rejects: Sequence[Reject], *, now: datetime
    ) -> Future[WriteResult]:
        """Queue a batch; the future resolves to its `WriteResult` once committed (or fails
        with the error the commit raised). Overloaded when too much is waiting."""
        return self.submit_batch(Batch(events, rejects, now))

    def submit_batch(self, batch: Batch) -> Future[WriteResult]:
        """`submit` for a batch built already (from a decoded body)."""
        submission = _Submission(batch, Future())
        with self._cond:
            if self._closed:
                raise UpstreamError(
                    "the event writer is shut down", hint="retry against a running server"
                )
            if self._pending and self._pending + submission.size > self.max_pending:
                raise Overloaded(self._pending)
            self._queue.append(submission)
            self._pending += submission.size
            self._cond.notify()
        return submission.future

    def close(self, timeout_s: float | None = None) -> None:
        """Refuse new batches, commit what is queued, stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout_s)

    def _take(self) -> list[_Submission] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            group: list[_Submission] = []
            size = 0
            while self._queue and (not group or size + self._queue[0].size <= MAX_GROUP_EVENTS):
                submission = self._queue.popleft()
                self._pending -= submission.size
                # A caller that gave up (its request was cancelled) is not written for.
                if submission.future.set_running_or_notify_cancel():
                    group.append(submission)
                    size += submission.size
            return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            if group:
                self._commit(group)

    def _commit(self, group: list[_Submission]) -> None:
        try:
            results = self.store.write_many([s.batch for s in group])
        except Exception as exc:
            if len(group) == 1:
                log.exception("an event batch could not be written")
                group[0].future.set_exception(exc)
                return
            for submission in group:  # find the batch that fails; commit the others
                self._commit([submission])
            return
        self.commits += 1
        for submission, result in zip(group, results, strict=True):
            submission.future.set_result(result)
