"""Keeps open incidents' severity in step with the calendar while `launchdeck serve` runs.

Reads bring an incident up to date lazily (`IncidentService`); this thread makes it prompt: every
`interval_s` it reads the open incidents, so a campaign that starts mid-incident raises the
severity, and notifies, within one interval of its start rather than when someone next looks.
The entries are stamped with the campaign's start either way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from launchdeck.incidents.service import IncidentService

__all__ = ["Refresher"]

_log = logging.getLogger(__name__)


class Refresher:
    def __init__(
        self,
        service: Callable[[], IncidentService],
        *,
        interval_s: float,
        also: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.service = service
        self.interval_s = interval_s
        self.also = tuple(also)
        """Other calendar-driven work each round (flags: record scheduled changes that fired)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Bring every open incident up to date, then the other work; how many incidents are
        open. Never raises."""
        for work in self.also:
            try:
                work()
            except Exception:
                _log.exception("a calendar-driven round failed")
        try:
            return len(self.service().list_incidents())
        except Exception:
            _log.exception("open incidents could not be brought up to date")
            return 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="incident-refresher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.run_once()
