"""A release as a state machine: where it is, and what the target must serve. Pure.

    pending → progressing (step N) ⇄ paused → promoted | rolled back

A `Release` is a value. Every function here takes one and the time, and returns the next one;
nothing here talks to a target or a clock. The controller (to come) persists the value after
every change and makes the target serve `desired(release)`: that is what makes it crash-safe.
A controller killed at any point restarts, loads the release, computes `desired` again and
reconciles the target with it (the nginx-static target reads back what it serves), so there is
never a half-switched state or a forgotten canary; every effect is idempotent.

Canary: the steps of the strategy run in order. `set_weight` moves the canary's share (the
background analysis starts with the first weight); `pause` waits its duration, or for
`promote` when it has none; `analysis` runs an `AnalysisRun` of the step's count. A failed or
errored analysis (the step's or the background one) rolls the release back; an inconclusive one
pauses it for a person. After the last step the release is promoted.

Blue-green: the new version is served on the preview, then (preview checks and the step
analysis passed) switched to stable, with the previous version kept on the preview for an
instant rollback; a failure in the post-promotion window switches back.

The gate is asked at every step boundary (`gate` argument of `advance`): a freeze or an exhausted
error budget that begins mid-rollout pauses progression with its reason, and progression goes
on by itself once the gate allows it again. Rolling back is always allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Literal

from launchdeck.gate.model import CheckOutcome
from launchdeck.gate.model import Verdict as GateVerdict
from launchdeck.rollout.analysis import AnalysisRun, Measurement, RunPhase
from launchdeck.rollout.gate import CHECK as ACTIVE_RELEASE
from launchdeck.rollout.hooks import HookType
from launchdeck.rollout.strategy import Analysis, Pause, SetWeight, StrategySpec

__all__ = [
    "Desired",
    "Gate",
    "GateView",
    "Phase",
    "Release",
    "abort",
    "advance",
    "boundary_hook",
    "desired",
    "due",
    "measured_metrics",
    "own_gate",
    "pause",
    "previous_retires_at",
    "promote",
    "record",
    "resume",
    "start",
]

Which = Literal["step", "background"]


class Phase(StrEnum):
    PENDING = "pending"
    PROGRESSING = "progressing"
    PAUSED = "paused"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"

    @property
    def over(self) -> bool:
        return self in (Phase.PROMOTED, Phase.ROLLED_BACK)


@dataclass(frozen=True, slots=True)
class GateView:
    """The gate's answer for this system and environment now."""

    allows: bool
    reason: str = ""
    refusal: str = "the gate refuses"
    """How a refusal reads ("the gate refuses", "waiting for confirmation" for a hook)."""

    @property
    def why(self) -> str:
        return f"{self.refusal}: {self.reason}"


Gate = GateView | Callable[["Release"], GateView]
"""The gate's answer, or a function asked at each step boundary with the release as it stands
there (so a confirm-traffic-increase or confirm-promotion hook is asked at its own boundary)."""


def own_gate(verdict: GateVerdict) -> GateView:
    """The gate's verdict on a release's own change: every blocking check but active_release
    (the active release it sees is this one)."""
    blocking = [
        c.summary
        for c in verdict.checks
        if c.outcome is CheckOutcome.BLOCK and c.check != ACTIVE_RELEASE
    ]
    return GateView(allows=not blocking, reason="; ".join(blocking))


def boundary_hook(release: Release) -> HookType | None:
    """The confirm hook of the step boundary `release` stands at, if any: confirm-promotion
    before promotion (and before a blue-green switch), confirm-traffic-increase before the
    weight rises."""
    steps = release.strategy.steps
    if release.blue_green:
        return HookType.CONFIRM_PROMOTION if release.step == 0 else None
    if release.step >= len(steps):
        return HookType.CONFIRM_PROMOTION
    step = steps[release.step]
    if isinstance(step, SetWeight) and step.set_weight > release.weight:
        return HookType.CONFIRM_TRAFFIC_INCREASE
    return None


def previous_retires_at(release: Release, finished_at: datetime | None) -> datetime | None:
    """When a promoted blue-green release's previous colour leaves the preview (None: it has
    none to keep, or the release is not a promoted blue-green one)."""
    spec = release.strategy.blue_green
    if release.phase is not Phase.PROMOTED or spec is None or finished_at is None:
        return None
    return finished_at + spec.keep_previous


def _ask(gate: Gate, release: Release) -> GateView:
    return gate(release) if callable(gate) else gate


@dataclass(frozen=True, slots=True)
class Desired:
    """What the target must serve: the stable release, the canary and its weight, the preview."""

    stable: str | None
    canary: str | None = None
    weight: float = 0.0
    preview: str | None = None


@dataclass(frozen=True, slots=True)
class Release:
    system: str
    environment: str
    version: str
    previous: str | None
    """The version stable served when the release started (None: the first release)."""
    strategy: StrategySpec
    phase: Phase = Phase.PENDING
    step: int = 0
    """The step being run (canary: an index of the steps; blue-green: 0 preview, 1 switched)."""
    step_started_at: datetime | None = None
    weight: float = 0.0
    reason: str = "waiting to start"
    paused_by_gate: bool = False
    gate_passed: int = -1
    """The last step the gate allowed to begin."""
    step_run: AnalysisRun | None = None
    background_run: AnalysisRun | None = None
    history: tuple[tuple[datetime, Phase, str], ...] = ()

    @property
    def blue_green(self) -> bool:
        return self.strategy.strategy == "blue-green"

    @property
    def switched(self) -> bool:
        """Every visitor is on the new version and it is being verified against the period
        before (blue-green after its switch; a canary in its verification window)."""
        if self.phase.over or self.phase is Phase.PENDING:
            return False
        if self.blue_green:
            return self.step >= 1
        return self.step >= len(self.strategy.steps) and self.strategy.verification is not None


def desired(release: Release) -> Desired:
    """What the target must serve for `release` (the controller reconciles to it)."""
    if release.phase is Phase.PENDING:
        return Desired(stable=release.previous)
    if release.phase is Phase.ROLLED_BACK:
        return Desired(stable=release.previous)
    if release.phase is Phase.PROMOTED:
        return Desired(
            stable=release.version, preview=release.previous if release.blue_green else None
        )
    if release.blue_green:
        if release.step == 0:
            return Desired(stable=release.previous, preview=release.version)
        return Desired(stable=release.version, preview=release.previous)
    if release.switched:
        return Desired(stable=release.version)
    return Desired(stable=release.previous, canary=release.version, weight=release.weight)


def start(release: Release, now: datetime, *, gate: Gate) -> Release:
    """Begin a pending release (if the gate allows it), then run what is due."""
    if release.phase is not Phase.PENDING:
        raise ValueError(f"the release is {release.phase}, not pending")
    view = _ask(gate, release)
    if not view.allows:
        if release.reason == view.why:
            return release
        return _moved(release, now, Phase.PENDING, view.why)
    begun = _moved(release, now, Phase.PROGRESSING, "started", step=0, step_started_at=now)
    return advance(begun, now, gate=gate)


def advance(release: Release, now: datetime, *, gate: Gate) -> Release:
    """Run every step whose condition is met, asking the gate at each boundary."""
    if release.phase is Phase.PAUSED and release.paused_by_gate and _ask(gate, release).allows:
        release = _moved(release, now, Phase.PROGRESSING, "the gate allows it again")
    while release.phase is Phase.PROGRESSING:
        moved = _step(release, now, gate)
        if moved is release:
            break
        release = moved
    return release


def record(release: Release, which: Which, measurement: Measurement, now: datetime) -> Release:
    """Add a measurement to the step's or the background analysis, and act on its outcome."""
    run = release.step_run if which == "step" else release.background_run
    if run is None or release.phase.over:
        raise ValueError(f"no {which} analysis is running")
    run = run.record(measurement)
    release = replace(release, **{f"{which}_run": run})  # type: ignore[arg-type]
    phase = run.phase
    if phase in (RunPhase.FAILED, RunPhase.ERROR):
        return _moved(release, now, Phase.ROLLED_BACK, f"{which} analysis {phase}: {run.reason()}")
    if phase is RunPhase.INCONCLUSIVE:
        return _moved(release, now, Phase.PAUSED, f"{which} analysis {run.reason()}")
    return release


def due(release: Release, now: datetime) -> list[Which]:
    """Which analyses have a measurement due now."""
    if release.phase is not Phase.PROGRESSING:
        return []
    runs: list[tuple[Which, AnalysisRun | None]] = [
        ("step", release.step_run),
        ("background", release.background_run),
    ]
    return [which for which, run in runs if run is not None and run.due(now)]


def measured_metrics(release: Release, which: Which) -> tuple[str, ...]:
    """The metrics a measurement of the step's or the background analysis judges."""
    steps = release.strategy.steps
    verification = release.strategy.verification
    if which == "step" and release.step < len(steps):
        step = steps[release.step]
        if isinstance(step, Analysis):
            return step.analysis.metrics
    if which == "step" and release.switched and verification is not None:
        return verification.metrics
    return release.strategy.analysis.background


def promote(
    release: Release,
    now: datetime,
    *,
    full: bool = False,
    gate: Gate,
    reason: str | None = None,
) -> Release:
    """A person moves the release on: past the current step, or (`full`) straight to the end."""
    if release.phase.over:
        raise ValueError(f"the release is already {release.phase.replace('_', ' ')}")
    if full:
        view = _ask(gate, release)
        if not view.allows:
            raise ValueError(view.why)
        return _promoted(release, now, reason or "promoted in full by hand")
    skipped = _moved(
        release,
        now,
        Phase.PROGRESSING,
        reason or f"step {release.step + 1} promoted by hand",
        step=release.step + 1,
        step_started_at=now,
        step_run=None,
    )
    return advance(skipped, now, gate=gate)


def pause(release: Release, now: datetime, reason: str) -> Release:
    if release.phase.over:
        raise ValueError(f"the release is already {release.phase.replace('_', ' ')}")
    return _moved(release, now, Phase.PAUSED, reason)


def resume(release: Release, now: datetime, *, gate: Gate, reason: str | None = None) -> Release:
    if release.phase is not Phase.PAUSED:
        raise ValueError(f"the release is {release.phase}, not paused")
    view = _ask(gate, release)
    if not view.allows:
        raise ValueError(view.why)
    # An analysis that paused it (inconclusive) starts over; a passing one goes on.
    step_run, background = release.step_run, release.background_run
    if step_run is not None and step_run.phase is RunPhase.INCONCLUSIVE:
        step_run = None
    if background is not None and background.phase is RunPhase.INCONCLUSIVE:
        background = AnalysisRun(background.spec, now, count=None)
    resumed = _moved(
        release,
        now,
        Phase.PROGRESSING,
        reason or "resumed by hand",
        step_run=step_run,
        background_run=background,
    )
    return advance(resumed, now, gate=gate)


def abort(release: Release, now: datetime, reason: str) -> Release:
    """Roll back: stable serves the previous version again (allowed whatever the gate says).

    A promoted release can be rolled back too (releases are immutable on the target, so the
    previous one is still there): only the newest release of a system, which the caller checks.
    """
    if release.phase is Phase.ROLLED_BACK:
        return release
    if release.previous is None:
        raise ValueError(f"{release.version} is the first release: there is nothing to go back to")
    return _moved(
        release, now, Phase.ROLLED_BACK, reason, weight=0.0, step_run=None, background_run=None
    )


# ---------------------------------------------------------------------------------- internals


def _step(release: Release, now: datetime, gate: Gate) -> Release:
    """One move forward from the current step, or `release` itself when nothing is due."""
    if release.blue_green:
        return _blue_green_step(release, now, gate)
    steps = release.strategy.steps
    if release.gate_passed < release.step:  # a step boundary (promotion too): the gate is asked
        view = _ask(gate, release)
        if not view.allows:
            return _moved(release, now, Phase.PAUSED, view.why, paused_by_gate=True)
        return replace(release, gate_passed=release.step)
    if release.step >= len(steps):
        return _verified(release, now)
    step = steps[release.step]
    if isinstance(step, SetWeight):
        background = release.background_run
        if background is None and release.strategy.analysis.background:
            background = AnalysisRun(release.strategy.analysis, now, count=None)
        return _next(replace(release, weight=step.set_weight, background_run=background), now)
    if isinstance(step, Pause):
        if step.pause.duration is None:  # until a person promotes it (resume pauses again)
            return _moved(release, now, Phase.PAUSED, "waiting for promote")
        started = release.step_started_at or now
        return _next(release, now) if now >= started + step.pause.duration else release
    assert isinstance(step, Analysis)
    return _analysis_step(release, now, step.analysis.count)


def _verified(release: Release, now: datetime) -> Release:
    """Promote, after the verification window when the strategy has one."""
    verification = release.strategy.verification
    if verification is None:
        return _promoted(release, now, "every step passed")
    run = release.step_run
    if run is None:  # everyone on the new version now, compared with the period before it
        spec = release.strategy.analysis
        count = max(1, int(verification.window / spec.interval))
        return replace(release, step_run=AnalysisRun(spec, now, count=count), background_run=None)
    if run.phase is RunPhase.SUCCESSFUL:
        return _promoted(release, now, "every step and the verification window passed")
    return release


def _analysis_step(release: Release, now: datetime, count: int | None) -> Release:
    run = release.step_run
    if run is None:
        spec = release.strategy.analysis
        return replace(release, step_run=AnalysisRun(spec, now, count=count or spec.count))
    if run.phase is RunPhase.SUCCESSFUL:
        return _next(release, now)
    return release


def _blue_green_step(release: Release, now: datetime, gate: Gate) -> Release:
    if release.step >= 1:
        if release.step_run is None:
            window = release.strategy.blue_green
            if window is None:
                return _promoted(release, now, "switched")
            spec = release.strategy.analysis
            count = max(1, int(window.post_promotion / spec.interval))
            return replace(release, step_run=AnalysisRun(spec, now, count=count))
        if release.step_run.phase is RunPhase.SUCCESSFUL:
            return _promoted(release, now, "the post-promotion analysis passed")
        return release
    run = release.step_run
    if run is None:  # the pre-promotion analysis of the preview
        spec = release.strategy.analysis
        return replace(release, step_run=AnalysisRun(spec, now, count=spec.count))
    if run.phase is not RunPhase.SUCCESSFUL:
        return release
    view = _ask(gate, release)
    if not view.allows:  # the switch is a step boundary too
        return _moved(
            release,
            now,
            Phase.PAUSED,
            f"{view.refusal} the switch: {view.reason}",
            paused_by_gate=True,
        )
    return _moved(
        release, now, Phase.PROGRESSING, "switched to the new colour", step=1, step_run=None
    )


def _next(release: Release, now: datetime) -> Release:
    return replace(release, step=release.step + 1, step_started_at=now, step_run=None)


def _promoted(release: Release, now: datetime, reason: str) -> Release:
    return _moved(
        release, now, Phase.PROMOTED, reason, weight=0.0, step_run=None, background_run=None
    )


def _moved(
    release: Release, now: datetime, phase: Phase, reason: str, **changes: object
) -> Release:
    changes.setdefault("paused_by_gate", False)
    return replace(
        release,
        phase=phase,
        reason=reason,
        history=(*release.history, (now, phase, reason)),
        **changes,  # type: ignore[arg-type]
    )
