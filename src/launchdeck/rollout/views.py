"""What the releases API and CLI exchange: requests and read models. Pure (pydantic only)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from launchdeck.calendar.model import ChangeType
from launchdeck.rollout.analysis import AnalysisRun
from launchdeck.rollout.record import ReleaseRecord
from launchdeck.rollout.release import Phase, desired
from launchdeck.rollout.strategy import StrategySpec

__all__ = [
    "ActionRequest",
    "AnalysisView",
    "DeployRequest",
    "JudgeView",
    "MetricView",
    "ReleaseView",
    "StepView",
    "view",
]

_Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Version = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeployRequest(_Frozen):
    """`launchdeck deploy`: release `version` of `system` in `environment`."""

    system: _Id
    environment: _Id = "production"
    version: Version
    artifact: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    """A directory (nginx-static) or whatever the command target's deploy script takes; read by
    the process that runs the release (the server in remote mode)."""
    strategy: StrategySpec | None = None
    """The strategy to run (the CLI sends the system's rollout file); None: the default."""
    kind: Literal["canary", "blue-green"] | None = None
    change_type: ChangeType = ChangeType.FEATURE


class ActionRequest(_Frozen):
    """promote / pause / resume / abort / rollback: why (and, for promote, whether in full)."""

    reason: Annotated[str, StringConstraints(max_length=2000)] = ""
    full: bool = False


class MetricView(_Frozen):
    name: str
    verdict: str
    reason: str
    numbers: dict[str, float] = Field(default_factory=dict)


class AnalysisView(_Frozen):
    phase: str
    measurements: int
    failures: int
    count: int | None
    last: list[MetricView] = Field(default_factory=list)
    """The metrics of the last measurement."""
    error: str | None = None


class StepView(_Frozen):
    index: int
    text: str
    state: Literal["done", "current", "next"]


class ReleaseView(_Frozen):
    id: int
    system: str
    environment: str
    version: str
    previous: str | None
    strategy: str
    phase: Phase
    reason: str
    step: int
    steps: list[StepView]
    weight: float
    stable: str | None
    canary: str | None
    preview: str | None
    paused_by_gate: bool
    change_type: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    passed_at: datetime | None
    url: str | None = None
    preview_url: str | None = None
    step_analysis: AnalysisView | None = None
    background_analysis: AnalysisView | None = None
    history: list[tuple[datetime, Phase, str]] = Field(default_factory=list)
    revenue: dict[str, float | str | None] | None = None
    """What the canary's conversion drop has cost: per_hour, lost, lost_at_least, budget."""
    failing: dict[str, str | int] | None = None
    """The controller's passes fail: since (ISO time), passes, error (None: they go through)."""


class JudgeView(_Frozen):
    """The judge's answer now, for an outside controller (Argo Rollouts' web metric)."""

    release: int | None
    verdict: Literal["pass", "fail", "inconclusive", "no_data"]
    metrics: list[MetricView]


def _analysis(run: AnalysisRun | None) -> AnalysisView | None:
    if run is None:
        return None
    last = run.measurements[-1] if run.measurements else None
    return AnalysisView(
        phase=str(run.phase),
        measurements=len(run.measurements),
        failures=run.failures,
        count=run.count,
        last=[
            MetricView(
                name=r.name, verdict=str(r.verdict), reason=r.reason, numbers=dict(r.numbers)
            )
            for r in (last.results if last else ())
        ],
        error=last.error if last else None,
    )


def _span(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _steps(record: ReleaseRecord) -> list[StepView]:
    release = record.release
    if release.blue_green:
        texts = ["preview: checks and analysis", "switch, then post-promotion analysis"]
    else:
        texts = []
        for step in release.strategy.steps:
            data = step.model_dump(mode="json")
            key, value = next(iter(data.items()))
            if key == "set_weight":
                texts.append(f"set weight {value:g} %")
            elif key == "pause":
                duration = step.pause.duration  # type: ignore[union-attr]
                texts.append(f"pause {_span(duration)}" if duration else "pause until promoted")
            else:
                texts.append(f"analysis: {', '.join(value['metrics'])}")
    promoted = any(phase is Phase.PROMOTED for _, phase, _ in release.history)
    done = len(texts) if promoted else release.step
    return [
        StepView(
            index=i,
            text=text,
            state="done"
            if i < done
            else "current"
            if i == done and not release.phase.over
            else "next",
        )
        for i, text in enumerate(texts)
    ]


def view(
    record: ReleaseRecord, *, url: str | None = None, preview: str | None = None
) -> ReleaseView:
    release = record.release
    want = desired(release)
    return ReleaseView(
        id=record.id,
        system=release.system,
        environment=release.environment,
        version=release.version,
        previous=release.previous,
        strategy=release.strategy.strategy,
        phase=release.phase,
        reason=release.reason,
        step=release.step,
        steps=_steps(record),
        weight=want.weight,
        stable=want.stable,
        canary=want.canary,
        preview=want.preview,
        paused_by_gate=release.paused_by_gate,
        change_type=record.change_type,
        created_by=record.created_by,
        created_at=record.created_at,
        updated_at=record.updated_at,
        finished_at=record.finished_at,
        passed_at=record.passed_at,
        url=url,
        preview_url=preview,
        step_analysis=_analysis(release.step_run),
        background_analysis=_analysis(release.background_run),
        history=list(release.history),
        revenue=record.controller.get("revenue"),
        failing=record.controller.get("failing"),
    )
