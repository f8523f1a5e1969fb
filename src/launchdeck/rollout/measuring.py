"""Reading what a measurement judges: per-variant traffic from the access log (since the
canary started, or on both sides of a switch), Prometheus and web readings, a blue-green
preview's smoke checks. The shell half of `measure`.

Access logs are read incrementally from the offsets the release keeps (`controller["since"]`,
`["switch"]`), cached per release in this process; after a restart they are read again from
those offsets, so a measurement sees the same traffic whichever process takes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import httpx

from launchdeck.errors import LaunchdeckError
from launchdeck.rollout.access_log import AccessLog, Traffic, end_of, window
from launchdeck.rollout.analysis import Measurement
from launchdeck.rollout.judge import Counts, MetricResult, Verdict
from launchdeck.rollout.measure import Reading
from launchdeck.rollout.record import ReleaseRecord
from launchdeck.rollout.release import Release
from launchdeck.rollout.sites import access_log_path, preview_url
from launchdeck.rollout.sources import SourceContext, read_readings

if TYPE_CHECKING:
    from launchdeck.experiments.store import EventStore

__all__ = ["Measurer"]


class Measurer:
    def __init__(
        self,
        *,
        http: httpx.Client,
        prometheus_url: str,
        sites_dir: Path,
        events: Callable[[], EventStore] | None = None,
    ) -> None:
        self.http = http
        self.prometheus_url = prometheus_url
        self.sites_dir = sites_dir
        self.events = events
        """launchdeck's event store, for `source: events` metrics (None: not in this process)."""
        self._logs: dict[tuple[int, str], AccessLog] = {}

    def forget(self, release_id: int) -> None:
        """Drop the cached logs of a release that is over."""
        for key in [k for k in self._logs if k[0] == release_id]:
            del self._logs[key]

    def log_path(self, current: ReleaseRecord) -> Path:
        path = access_log_path(current.target)
        return path if path is not None else self.sites_dir / ".no-access-log"

    def readings(
        self,
        release: Release,
        metrics: Sequence[str],
        now: datetime,
        traffic: Mapping[str, Traffic],
    ) -> dict[str, Reading]:
        """Prometheus, web and events metrics read now (access-log metrics need none)."""
        started = next((at for at, _, why in release.history if why == "started"), None)
        context = SourceContext(
            system=release.system,
            environment=release.environment,
            at=now,
            interval=release.strategy.analysis.interval,
            prometheus_url=self.prometheus_url,
            environ=os.environ,
            since=started,
        )
        readings = read_readings(release.strategy, metrics, context=context, client=self.http)
        for name in dict.fromkeys(metrics):
            spec = release.strategy.metric(name)
            if spec.source == "events" and spec.event is not None:
                readings[name] = self._converted(spec.event, started or now, traffic)
        return readings

    def _converted(self, event: str, since: datetime, traffic: Mapping[str, Traffic]) -> Reading:
        """Each variant's visitors (the access log's cookies) and how many of them sent `event`
        since `since` (launchdeck's event store)."""
        if self.events is None:
            return Reading(error="launchdeck's event store is not open in this process")
        try:
            cursor = self.events().cursor()
            try:
                rows = cursor.execute(
                    "SELECT DISTINCT unit FROM metric_events WHERE event = ? AND timestamp >= ?",
                    [event, since.astimezone(UTC).replace(tzinfo=None)],
                ).fetchall()
            finally:
                cursor.close()
        except (LaunchdeckError, duckdb.Error) as exc:
            return Reading(error=f"launchdeck's event store cannot be read: {exc}")
        converted = {str(row[0]) for row in rows}
        values: dict[str, float | Counts | None] = {}
        for variant in ("canary", "stable"):
            visitors = traffic.get(variant, Traffic()).visitors
            values[variant] = Counts(len(visitors), len(visitors & converted))
        return Reading(values=values)

    def traffic(
        self, current: ReleaseRecord, release: Release, controller: dict[str, Any]
    ) -> dict[str, Traffic]:
        path = self.log_path(current)
        if path is None:
            return {}
        since = controller.get("since") or (0, None)
        if release.switched:  # the new version after the switch vs the old one before it
            switch = controller.get("switch") or end_of(path)
            before = window(path, since[0], switch[0]).get("stable", Traffic())
            after = self._log(current.id, "switch", path, switch).read().get("stable", Traffic())
            return {"canary": after, "stable": before}
        return self._log(current.id, "since", path, since).read()

    def _log(self, release_id: int, name: str, path: Path, start: Sequence[Any]) -> AccessLog:
        key = (release_id, name)
        if key not in self._logs:
            self._logs[key] = AccessLog(path, offset=int(start[0]), inode=start[1])
        return self._logs[key]

    def preview_checks(
        self, current: ReleaseRecord, release: Release, now: datetime
    ) -> Measurement:
        base = preview_url(current.target)
        spec = release.strategy.blue_green
        paths = spec.preview_checks if spec is not None else ("/",)
        if base is None:
            return Measurement(now, error="the target has no preview URL to check")
        results = []
        for path in paths:
            try:
                answer = self.http.get(base + path, headers={"X-Launchdeck-Check": "preview"})
                ok = answer.status_code == 200
                reason = f"GET {path} on the preview: {answer.status_code}"
                numbers = {"status": float(answer.status_code)}
            except httpx.HTTPError as exc:
                ok, reason, numbers = False, f"GET {path} on the preview failed: {exc}", {}
            results.append(
                MetricResult(
                    name=f"preview {path}",
                    verdict=Verdict.PASS if ok else Verdict.FAIL,
                    reason=reason,
                    numbers=numbers,
                    critical=True,
                )
            )
        return Measurement(now, tuple(results))
