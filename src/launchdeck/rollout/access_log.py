"""Per-variant traffic from the nginx-static target's JSON access log (one of the judge's
metric sources).

Each line is the object `nginx_config`'s `ld_json` format writes. `AccessLog.read()` reads the
lines added since the last read (whole lines only: a line nginx is still writing waits for
the next read; a log rotated or truncated since is read from its start) and adds them to the
running per-variant `Traffic`:

- requests and server errors (status ≥ 500) of page requests, and their latencies (seconds);
- visitors (distinct `ld_uid` cookies on page requests) and converting visitors (distinct ids
  that sent the conversion beacon), so the conversion rate is per visitor, not per hit.

`errors()` and `conversions()` give the judge's `Counts`; `latencies()` its samples. Lines that
are not JSON objects of that shape are counted in `skipped`, never fatal.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from launchdeck.rollout.judge import Counts
from launchdeck.rollout.targets.nginx_config import BEACON_PATH

__all__ = ["AccessLog", "Traffic", "end_of", "tally", "window"]


@dataclass
class Traffic:
    """One variant's traffic so far."""

    requests: int = 0
    server_errors: int = 0
    latencies: list[float] = field(default_factory=list)
    visitors: set[str] = field(default_factory=set)
    converted: set[str] = field(default_factory=set)
    beacons: int = 0

    def errors(self) -> Counts:
        return Counts(self.requests, self.server_errors)

    def conversions(self) -> Counts:
        # A beacon from a visitor whose page view fell before the window still counts them.
        visitors = self.visitors | self.converted
        return Counts(len(visitors), len(self.converted))


def tally(lines: list[str], into: dict[str, Traffic]) -> int:
    """Add access-log lines to per-variant traffic; the number of lines skipped."""
    skipped = 0
    for line in lines:
        try:
            entry = json.loads(line)
            variant = str(entry["variant"]) or "stable"
            status = int(entry["status"])
            uid = str(entry["uid"])
            uri = str(entry["uri"])
            seconds = float(entry["request_time"])
        except (ValueError, KeyError, TypeError):
            skipped += 1
            continue
        traffic = into.setdefault(variant, Traffic())
        if uri == BEACON_PATH:
            traffic.beacons += 1
            traffic.converted.add(uid)
            continue
        traffic.requests += 1
        traffic.server_errors += status >= 500
        traffic.latencies.append(seconds)
        traffic.visitors.add(uid)
    return skipped


class AccessLog:
    """A JSON access log read incrementally into per-variant `Traffic`."""

    def __init__(self, path: Path, *, offset: int = 0, inode: int | None = None) -> None:
        """Read `path` from `offset` (a position `position()` gave, in the file `inode`)."""
        self.path = path
        self.variants: dict[str, Traffic] = {}
        self.skipped = 0
        self._offset = offset
        self._inode = inode
        self._lock = threading.Lock()

    def position(self) -> tuple[int, int | None]:
        """Where the next read starts: (offset, inode), to persist and start from again."""
        with self._lock:
            return self._offset, self._inode

    def reset(self) -> None:
        """Forget what was read: the next window starts from the log's current end."""
        with self._lock:
            self.variants = {}
            self.skipped = 0
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                self._offset, self._inode = 0, None
                return
            self._offset, self._inode = stat.st_size, stat.st_ino

    def read(self) -> dict[str, Traffic]:
        """Read the lines added since the last read; the per-variant traffic so far."""
        with self._lock:
            try:
                stat = self.path.stat()
            except FileNotFoundError:
                return self.variants
            if self._inode is None:  # never looked at: the offset holds for this file
                self._inode = stat.st_ino
            if stat.st_ino != self._inode or stat.st_size < self._offset:  # rotated: anew
                self._offset, self._inode = 0, stat.st_ino
            with self.path.open("rb") as log:
                log.seek(self._offset)
                chunk = log.read()
            end = chunk.rfind(b"\n") + 1  # whole lines only
            self._offset += end
            lines = chunk[:end].decode("utf-8", errors="replace").splitlines()
            self.skipped += tally(lines, self.variants)
            return self.variants


def end_of(path: Path) -> tuple[int, int | None]:
    """The log's current end (offset, inode): where a window starting now begins."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return 0, None
    return stat.st_size, stat.st_ino


def window(path: Path, start: int, end: int) -> dict[str, Traffic]:
    """The traffic of the whole lines between two offsets (a closed window, e.g. the period
    before a blue-green switch)."""
    variants: dict[str, Traffic] = {}
    try:
        with path.open("rb") as log:
            log.seek(start)
            chunk = log.read(max(0, end - start))
    except FileNotFoundError:
        return variants
    cut = chunk.rfind(b"\n") + 1
    tally(chunk[:cut].decode("utf-8", errors="replace").splitlines(), variants)
    return variants
