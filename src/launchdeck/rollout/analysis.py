"""An analysis run: measurements taken at an interval and what they add up to. Pure.

Argo Rollouts' AnalysisRun semantics: the first measurement is due `initial_delay` after the
start, the next ones `interval` after the previous; a measurement is the judge's verdict over
its metrics (the worst decides) or an error (the metrics could not be read). The run is

- **Failed** once more than `failure_limit` measurements failed (a metric Fail, or NoData whose
  policy is fail);
- **Error** once more than `consecutive_error_limit` measurements in a row could not be taken;
- **Inconclusive** once more than `inconclusive_limit` measurements were inconclusive, or at
  once when a metric's no-data policy says pause: the rollout pauses for a human. A measurement
  inconclusive only for want of data (a metric below its minimum sample, policy
  `inconclusive`) does not count: the analysis waits for more, extending the step up to
  `count` extra measurements before it pauses ("still not enough traffic");
- **Successful** after `count` measurements (a step's analysis; the background analysis has no
  count and runs until the release ends);
- **Running** otherwise.

The run is a value: `record` returns a new run, so a controller can persist it after every
measurement and pick it up again after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from launchdeck.rollout.judge import MetricResult, Verdict, decide
from launchdeck.rollout.strategy import AnalysisSpec

__all__ = ["AnalysisRun", "Measurement", "RunPhase"]


class RunPhase(StrEnum):
    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"

    @property
    def done(self) -> bool:
        return self is not RunPhase.RUNNING


@dataclass(frozen=True, slots=True)
class Measurement:
    at: datetime
    results: tuple[MetricResult, ...] = ()
    error: str | None = None
    """Why the metrics could not be read (then `results` is empty)."""

    @property
    def verdict(self) -> Verdict | None:
        """The worst metric's verdict; None for an error."""
        return None if self.error is not None else decide(self.results)

    @property
    def waiting(self) -> bool:
        """Inconclusive only for want of data (every undecided metric is waiting): it extends
        the analysis instead of counting."""
        undecided = [r for r in self.results if r.verdict is Verdict.INCONCLUSIVE]
        return self.verdict is Verdict.INCONCLUSIVE and all(r.waiting for r in undecided)


@dataclass(frozen=True, slots=True)
class AnalysisRun:
    spec: AnalysisSpec
    started_at: datetime
    count: int | None
    """Measurements to take (None: until stopped, the background analysis)."""
    measurements: tuple[Measurement, ...] = ()

    def record(self, measurement: Measurement) -> AnalysisRun:
        """The run with one more measurement (refused once the run is over)."""
        if self.phase.done:
            raise ValueError(f"the analysis is over ({self.phase}); start a new one")
        return replace(self, measurements=(*self.measurements, measurement))

    def next_due(self) -> datetime | None:
        """When the next measurement is due; None once the run is over."""
        if self.phase.done:
            return None
        if not self.measurements:
            return self.started_at + self.spec.initial_delay
        return self.measurements[-1].at + self.spec.interval

    def due(self, now: datetime) -> bool:
        when = self.next_due()
        return when is not None and now >= when

    @property
    def failures(self) -> int:
        return sum(m.verdict in (Verdict.FAIL, Verdict.NO_DATA) for m in self.measurements)

    @property
    def inconclusives(self) -> int:
        return sum(m.verdict is Verdict.INCONCLUSIVE and not m.waiting for m in self.measurements)

    @property
    def extensions(self) -> int:
        """Measurements that waited for more data."""
        return sum(m.waiting for m in self.measurements)

    @property
    def consecutive_errors(self) -> int:
        run = 0
        for measurement in reversed(self.measurements):
            if measurement.error is None:
                break
            run += 1
        return run

    @property
    def phase(self) -> RunPhase:
        spec = self.spec
        if self.failures > spec.failure_limit:
            return RunPhase.FAILED
        if self.consecutive_errors > spec.consecutive_error_limit:
            return RunPhase.ERROR
        paused = any(r.pauses for m in self.measurements for r in m.results)
        if paused or self.inconclusives > spec.inconclusive_limit:
            return RunPhase.INCONCLUSIVE
        if self.count is not None and self.extensions > self.count:  # waited twice as long
            return RunPhase.INCONCLUSIVE
        taken = sum(m.error is None and not m.waiting for m in self.measurements)
        if self.count is not None and taken >= self.count:
            return RunPhase.SUCCESSFUL
        return RunPhase.RUNNING

    def reason(self) -> str:
        """Why the run is where it is, with the metric that decided it."""
        phase = self.phase
        last = self.measurements[-1] if self.measurements else None
        if phase is RunPhase.FAILED:
            failing = [
                r
                for m in self.measurements
                for r in m.results
                if r.verdict in (Verdict.FAIL, Verdict.NO_DATA)
            ]
            culprit = failing[-1] if failing else None
            detail = f": {culprit.name}: {culprit.reason}" if culprit else ""
            return (
                f"{self.failures} failed measurements (more than the {self.spec.failure_limit} "
                f"tolerated){detail}"
            )
        if phase is RunPhase.ERROR:
            error = last.error if last else ""
            return f"{self.consecutive_errors} measurements in a row could not be taken: {error}"
        if (
            phase is RunPhase.INCONCLUSIVE
            and self.count is not None
            and self.extensions > self.count
        ):
            return (
                f"inconclusive: still not enough traffic after {self.extensions} extra "
                "measurements; a person decides (promote or abort)"
            )
        if phase is RunPhase.INCONCLUSIVE:
            undecided = [
                r for m in self.measurements for r in m.results if r.verdict is Verdict.INCONCLUSIVE
            ]
            detail = f": {undecided[-1].name}: {undecided[-1].reason}" if undecided else ""
            return f"inconclusive: a person decides (promote or abort){detail}"
        if phase is RunPhase.SUCCESSFUL:
            return f"{len(self.measurements)} measurements, none failing beyond the limits"
        due = self.next_due()
        return f"running: {len(self.measurements)} measurements so far; next at {due:%H:%M:%S}"
