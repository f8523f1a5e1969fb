"""The release state machine: steps in order, the gate at every boundary, analyses that roll
back or pause, commands, and what the target must serve at each point."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from launchdeck.rollout.analysis import Measurement, RunPhase
from launchdeck.rollout.judge import MetricResult, Verdict
from launchdeck.rollout.release import (
    Desired,
    GateView,
    Phase,
    Release,
    abort,
    advance,
    desired,
    due,
    pause,
    promote,
    record,
    resume,
    start,
)
from launchdeck.rollout.strategy import parse_strategy

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OPEN = GateView(allows=True)
FROZEN = GateView(allows=False, reason="freeze 'black-friday-weekend' until 11-30 23:59")
CANARY = parse_strategy(
    "strategy: canary\n"
    "steps:\n"
    "  - set_weight: 10\n"
    "  - pause: {duration: 5m}\n"
    "  - analysis: {metrics: [error_rate], count: 2}\n"
    "  - set_weight: 50\n"
    "  - pause: {}\n"
    "  - set_weight: 100\n"
    "analysis: {interval: 1m, background: [error_rate]}\n",
    source="canary.yaml",
)
BLUE_GREEN = parse_strategy(
    "strategy: blue-green\n"
    "analysis: {interval: 1m, count: 2, background: []}\n"
    "blue_green: {post_promotion: 3m}\n",
    source="bg.yaml",
)


def a_release(strategy: object = CANARY) -> Release:
    return Release("landing-pages", "production", "v2", "v1", strategy)  # type: ignore[arg-type]


def passing(at: datetime) -> Measurement:
    return Measurement(at, (MetricResult("error_rate", Verdict.PASS, "fine"),))


def failing(at: datetime) -> Measurement:
    return Measurement(at, (MetricResult("error_rate", Verdict.FAIL, "5xx 20 % vs 0.5 %"),))


def test_a_canary_walks_its_steps_and_the_target_follows() -> None:
    release = start(a_release(), T0, gate=OPEN)
    assert (release.phase, release.step, release.weight) == (Phase.PROGRESSING, 1, 10.0)
    assert desired(release) == Desired(stable="v1", canary="v2", weight=10.0)
    assert release.background_run is not None  # from the first weight on

    release = advance(release, T0 + timedelta(minutes=4), gate=OPEN)
    assert release.step == 1  # the pause has a minute to go
    release = advance(release, T0 + timedelta(minutes=5), gate=OPEN)
    assert release.step == 2
    assert due(release, T0 + timedelta(minutes=5)) == ["step", "background"]

    at = T0 + timedelta(minutes=5)
    for minute in range(2):
        now = at + timedelta(minutes=minute)
        release = record(release, "step", passing(now), now)
        release = advance(release, now, gate=OPEN)
    assert (release.phase, release.step, release.weight) == (Phase.PAUSED, 4, 50.0)
    assert release.reason == "waiting for promote"

    release = promote(release, at + timedelta(minutes=10), gate=OPEN)
    assert release.phase is Phase.PROMOTED
    assert desired(release) == Desired(stable="v2")
    assert [phase for _, phase, _ in release.history] == [
        Phase.PROGRESSING,
        Phase.PAUSED,
        Phase.PROGRESSING,
        Phase.PROMOTED,
    ]


def test_a_failing_background_analysis_rolls_back_with_its_evidence() -> None:
    release = start(a_release(), T0, gate=OPEN)
    for minute in range(2):
        now = T0 + timedelta(minutes=minute)
        release = record(release, "background", failing(now), now)

    assert release.phase is Phase.ROLLED_BACK
    assert release.reason.startswith("background analysis failed: 2 failed measurements")
    assert "5xx 20 % vs 0.5 %" in release.reason
    assert desired(release) == Desired(stable="v1")
    assert due(release, T0 + timedelta(hours=1)) == []
    with pytest.raises(ValueError, match="no step analysis is running"):
        record(release, "step", passing(T0), T0)


def test_an_inconclusive_step_pauses_and_resuming_measures_it_again() -> None:
    release = advance(start(a_release(), T0, gate=OPEN), T0 + timedelta(minutes=5), gate=OPEN)
    now = T0 + timedelta(minutes=5)
    undecided = Measurement(now, (MetricResult("error_rate", Verdict.INCONCLUSIVE, "120 units"),))

    paused = record(release, "step", undecided, now)
    resumed = resume(paused, now + timedelta(minutes=1), gate=OPEN)

    assert paused.phase is Phase.PAUSED
    assert "a person decides" in paused.reason
    assert resumed.phase is Phase.PROGRESSING
    assert resumed.step_run is not None and resumed.step_run.measurements == ()


def test_the_gate_is_asked_at_every_step_boundary_and_progression_waits_for_it() -> None:
    release = start(a_release(), T0, gate=OPEN)
    frozen = advance(release, T0 + timedelta(minutes=5), gate=FROZEN)  # the pause ends in a freeze

    assert frozen.phase is Phase.PAUSED
    assert frozen.step == 2 and frozen.step_run is None  # the analysis step did not begin
    assert frozen.reason == f"the gate refuses: {FROZEN.reason}"
    assert desired(frozen) == Desired(stable="v1", canary="v2", weight=10.0)  # nothing moved
    assert advance(frozen, T0 + timedelta(minutes=30), gate=FROZEN).phase is Phase.PAUSED
    thawed = advance(frozen, T0 + timedelta(hours=1), gate=OPEN)
    assert thawed.phase is Phase.PROGRESSING
    assert thawed.step_run is not None
    assert abort(frozen, T0 + timedelta(minutes=6), "rolled back during the freeze").phase is (
        Phase.ROLLED_BACK
    )  # rolling back is always allowed


def test_a_release_the_gate_refuses_does_not_start() -> None:
    waiting = start(a_release(), T0, gate=FROZEN)

    assert waiting.phase is Phase.PENDING
    assert desired(waiting) == Desired(stable="v1")
    assert start(waiting, T0 + timedelta(hours=1), gate=OPEN).phase is Phase.PROGRESSING


def test_commands_promote_pause_and_abort() -> None:
    release = start(a_release(), T0, gate=OPEN)

    assert promote(release, T0, full=True, gate=OPEN).phase is Phase.PROMOTED
    with pytest.raises(ValueError, match="the gate refuses"):
        promote(release, T0, full=True, gate=FROZEN)
    held = pause(release, T0, "paused by ana: checking the copy")
    assert held.phase is Phase.PAUSED
    assert due(held, T0 + timedelta(hours=1)) == []
    aborted = abort(held, T0, "aborted by ana")
    assert (aborted.phase, desired(aborted)) == (Phase.ROLLED_BACK, Desired(stable="v1"))
    promoted = promote(release, T0, full=True, gate=OPEN)
    with pytest.raises(ValueError, match="already promoted"):
        pause(promoted, T0, "too late")
    back = abort(promoted, T0, "the campaign page is wrong after all")
    assert back.phase is Phase.ROLLED_BACK
    assert desired(back) == Desired(stable=promoted.previous)


def test_blue_green_previews_switches_and_can_switch_back() -> None:
    release = start(a_release(BLUE_GREEN), T0, gate=OPEN)
    assert desired(release) == Desired(stable="v1", preview="v2")

    for minute in range(2):
        now = T0 + timedelta(minutes=minute)
        release = advance(record(release, "step", passing(now), now), now, gate=OPEN)
    assert (release.phase, release.step) == (Phase.PROGRESSING, 1)
    assert desired(release) == Desired(stable="v2", preview="v1")  # the old colour kept warm
    assert release.step_run is not None and release.step_run.count == 3  # 3 minutes

    bad = T0 + timedelta(minutes=3)
    rolled = record(record(release, "step", failing(bad), bad), "step", failing(bad), bad)
    assert rolled.phase is Phase.ROLLED_BACK
    assert desired(rolled) == Desired(stable="v1")

    for minute in range(3):
        now = T0 + timedelta(minutes=3 + minute)
        release = advance(record(release, "step", passing(now), now), now, gate=OPEN)
    assert release.phase is Phase.PROMOTED
    assert desired(release) == Desired(stable="v2", preview="v1")
    assert abort(release, T0 + timedelta(minutes=20), "rollback").phase is Phase.ROLLED_BACK


def test_blue_green_waits_for_the_gate_before_the_switch() -> None:
    release = start(a_release(BLUE_GREEN), T0, gate=OPEN)
    for minute in range(2):
        now = T0 + timedelta(minutes=minute)
        release = record(release, "step", passing(now), now)

    held = advance(release, T0 + timedelta(minutes=2), gate=FROZEN)

    assert held.phase is Phase.PAUSED
    assert held.reason.startswith("the gate refuses the switch")
    assert desired(held) == Desired(stable="v1", preview="v2")
    assert release.step_run is not None and release.step_run.phase is RunPhase.SUCCESSFUL
    assert advance(held, T0 + timedelta(hours=2), gate=OPEN).step == 1


def test_the_confirm_hook_of_each_boundary() -> None:
    from launchdeck.rollout.hooks import HookType
    from launchdeck.rollout.release import boundary_hook

    pending = a_release()
    assert boundary_hook(pending) is HookType.CONFIRM_TRAFFIC_INCREASE  # 0 → 10 %
    at_pause = replace(pending, step=1, weight=10)
    assert boundary_hook(at_pause) is None
    at_end = replace(pending, step=len(CANARY.steps), weight=50)
    assert boundary_hook(at_end) is HookType.CONFIRM_PROMOTION
    green = a_release(BLUE_GREEN)
    assert boundary_hook(green) is HookType.CONFIRM_PROMOTION  # before the switch
    assert boundary_hook(replace(green, step=1)) is None


def test_a_release_is_held_only_by_the_checks_that_are_not_itself() -> None:
    from launchdeck.gate.model import CheckOutcome, CheckResult, Decision, GateRequest, Verdict
    from launchdeck.rollout.release import own_gate

    def verdict(*checks: tuple[str, CheckOutcome]) -> Verdict:
        return Verdict(
            decision=Decision.BLOCK,
            request=GateRequest(system="landing-pages"),
            at=T0,
            checks=[CheckResult(check=c, outcome=o, summary=f"{c} says {o}") for c, o in checks],
        )

    itself = verdict(("active_release", CheckOutcome.BLOCK), ("freeze_window", CheckOutcome.WARN))
    assert own_gate(itself) == GateView(allows=True)
    frozen = verdict(
        ("freeze_window", CheckOutcome.BLOCK),
        ("active_release", CheckOutcome.BLOCK),
        ("error_budget", CheckOutcome.BLOCK),
    )
    assert own_gate(frozen) == GateView(
        allows=False, reason="freeze_window says block; error_budget says block"
    )


def test_the_previous_colour_is_kept_for_keep_previous_after_promotion() -> None:
    from launchdeck.rollout.release import previous_retires_at

    green = a_release(BLUE_GREEN)
    promoted = promote(start(green, T0, gate=OPEN), T0, full=True, gate=OPEN)
    spec = BLUE_GREEN.blue_green
    assert spec is not None
    assert previous_retires_at(promoted, T0) == T0 + spec.keep_previous
    assert previous_retires_at(promoted, None) is None
    assert previous_retires_at(green, T0) is None  # not promoted
    canary = promote(start(a_release(), T0, gate=OPEN), T0, full=True, gate=OPEN)
    assert previous_retires_at(canary, T0) is None  # a canary keeps no colour
