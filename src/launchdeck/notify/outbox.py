"""Sending launchdeck's news where the workspace routes it, and keeping failures visible.

`Notifications.send` reads the routing from the stored workspace, dispatches (retries and
timeouts are the Dispatcher's), and records every failed delivery on the timeline as
`notify.failed` (and on the incident's own timeline when the news is an incident's). It never
raises: a notification must never fail the action that sent it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime

from launchdeck.gate.model import Verdict
from launchdeck.incidents.model import EntryKind, IncidentView
from launchdeck.notify.messages import gate_blocked, incident_messages, recorded_change
from launchdeck.notify.model import Delivery, Message
from launchdeck.notify.spec import NotificationsSpec
from launchdeck.store import Database, SqlStateStore, SqlTimeline
from launchdeck.store.incidents import SqlIncidentStore
from launchdeck.timeline.model import Event, NewEvent
from launchdeck.workspace.model import Campaign

__all__ = ["Notifications"]

_log = logging.getLogger(__name__)


class Notifications:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        environ: Mapping[str, str] = os.environ,
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        executor: Executor | None = None,
    ) -> None:
        """With `executor` (the API server's), the hooks return at once and the news goes out
        after the response; without it (a CLI command, which exits when done) they wait."""
        self.db = db
        self.executor = executor
        self.clock = clock
        self.environ = environ
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s

    def send(self, message: Message, *, incident_id: int | None = None) -> tuple[Delivery, ...]:
        """Send `message` where it is routed and record the outcome; never raises."""
        return self.send_all([message], incident_id=incident_id)[0]

    def send_all(
        self, messages: Sequence[Message], *, incident_id: int | None = None
    ) -> list[tuple[Delivery, ...]]:
        """Send side by side (a hanging channel delays the action by one message's bound, not
        by each), then record in the messages' order."""
        with ThreadPoolExecutor(max_workers=max(1, len(messages))) as pool:
            sent = list(pool.map(self._deliver, messages))
        for message, deliveries in zip(messages, sent, strict=True):
            try:
                self._record(message, deliveries, incident_id)
            except Exception:
                _log.exception("the outcome of notification %s was not recorded", message.kind)
        return sent

    def _deliver(self, message: Message) -> tuple[Delivery, ...]:
        try:
            with self.db.read() as session:
                settings = SqlStateStore(session).settings()
            spec = settings.notifications if settings else NotificationsSpec()
            if not spec.channels:
                return ()
            from launchdeck.notify.sender import Dispatcher

            return Dispatcher(
                spec,
                environ=self.environ,
                timeout_s=self.timeout_s,
                attempts=self.attempts,
                backoff_s=self.backoff_s,
            ).dispatch(message)
        except Exception:
            _log.exception("notification of %s could not be sent", message.kind)
            return ()

    def _record(
        self, message: Message, deliveries: Sequence[Delivery], incident_id: int | None
    ) -> None:
        if not deliveries:
            return
        now = self.clock()
        with self.db.unit_of_work() as uow:
            timeline = SqlTimeline(uow.session)
            for d in deliveries:
                if not d.ok:
                    timeline.append(
                        NewEvent(
                            occurred_at=now,
                            actor="launchdeck",
                            kind="notify.failed",
                            subject=f"channel/{d.channel}",
                            system=message.systems[0] if message.systems else None,
                            environment=message.environment,
                            payload={
                                "message": message.kind,
                                "title": message.title,
                                "channel": d.channel,
                                "attempts": d.attempts,
                                "status": d.status,
                                "error": d.error,
                            },
                        )
                    )
            if incident_id is not None:
                store = SqlIncidentStore(uow.session)
                for d in deliveries:
                    outcome = "told" if d.ok else f"could not tell ({d.error}, {d.attempts} tries)"
                    store.add_entry(
                        incident_id,
                        at=now,
                        kind=EntryKind.NOTIFICATION,
                        actor="launchdeck",
                        text=f"{outcome} {d.channel} ({message.audience}): {message.title}",
                        data={"channel": d.channel, "ok": d.ok, "status": d.status},
                    )
            uow.commit()

    # The hooks other services call.

    def incident_changed(
        self, kind: str, view: IncidentView, campaigns: Sequence[Campaign]
    ) -> None:
        self._post(incident_messages(kind, view, campaigns), incident_id=view.incident.id)

    def gate_blocked(self, verdict: Verdict) -> None:
        self._post([gate_blocked(verdict)])

    def change_recorded(self, event: Event) -> None:
        self._post([recorded_change(event)])

    def _post(self, messages: Sequence[Message], *, incident_id: int | None = None) -> None:
        if self.executor is None:
            self.send_all(messages, incident_id=incident_id)
            return
        try:
            self.executor.submit(self.send_all, messages, incident_id=incident_id)
        except RuntimeError:  # the server is shutting down: send now rather than drop it
            self.send_all(messages, incident_id=incident_id)
