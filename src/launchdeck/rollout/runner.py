"""The release controller as a thread of `launchdeck serve`: a pass over the active releases
every `interval_s` (`launchdeck controller` is the same loop as a process of its own)."""

from __future__ import annotations

import logging
import threading

from launchdeck.rollout.service import RolloutService

__all__ = ["ControllerThread"]

_log = logging.getLogger(__name__)


class ControllerThread:
    def __init__(self, service: RolloutService, *, interval_s: float) -> None:
        self.service = service
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="release-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.service.pass_all()
            except Exception:  # the store away for a moment: the next pass tries again
                _log.exception("the release controller's pass failed")
