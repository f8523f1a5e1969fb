"""Running a runbook: a dry run calls nothing, a real run calls the actions in order with
resolved params, a person can decline, and failures stop the run unless tolerated.

`RecordingActions` is a test double of the `Actions` port: it records every call and answers
with a summary, a shell result or an error chosen by the test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from launchdeck.errors import LaunchdeckError, UpstreamError
from launchdeck.incidents.runbook import BoundStep, StepKind, parse_runbook
from launchdeck.incidents.runner import (
    Answer,
    RunResult,
    ShellActions,
    ShellResult,
    StepRecord,
    StepStatus,
    run,
)

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

RUNBOOK = """\
name: checkout-rollback
title: Roll back checkout
params:
  system: {required: true}
  environment: {default: production}
  flag: {default: checkout-new-flow}
steps:
  - name: Confirm the symptom
    instruction: Check the error rate of {system}.
  - name: Freeze
    action: freeze
    with: {system: "{system}", duration: 2h, reason: "incident {incident}"}
  - name: Flag off
    action: flag_off
    with: {flag: "{flag}", environment: "{environment}"}
  - name: Roll back
    action: rollback
    with: {system: "{system}", environment: "{environment}"}
  - name: Purge
    action: shell
    with: {command: "purge {system}", timeout: 30s}
"""


@dataclass
class RecordingActions:
    """The Actions port, recording calls; `errors` and `shell_result` say how to answer."""

    calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    errors: dict[str, Exception] = field(default_factory=dict)
    shell_result: ShellResult = field(default_factory=lambda: ShellResult(0, "purged"))

    def _call(self, name: str, **kwargs: object) -> None:
        self.calls.append((name, kwargs))
        if name in self.errors:
            raise self.errors[name]

    def freeze(
        self, *, system: str | None, environment: str | None, duration: timedelta, reason: str
    ) -> str:
        self._call(
            "freeze", system=system, environment=environment, duration=duration, reason=reason
        )
        return "freeze f3a1 until 11:00"

    def flag_off(self, *, flag: str, environment: str, reason: str) -> str:
        self._call("flag_off", flag=flag, environment=environment, reason=reason)
        return f"{flag} is off in {environment}"

    def rollback(self, *, system: str, environment: str, reason: str) -> str:
        self._call("rollback", system=system, environment=environment, reason=reason)
        return f"{system} rolled back to v41"

    def shell(self, command: str, *, timeout_s: float) -> ShellResult:
        self._call("shell", command=command, timeout_s=timeout_s)
        return self.shell_result


@dataclass
class Harness:
    """Everything `run` needs, with what it was asked and what it recorded."""

    actions: RecordingActions = field(default_factory=RecordingActions)
    answers: dict[int, bool | Answer] = field(default_factory=dict)
    asked: list[int] = field(default_factory=list)
    recorded: list[StepRecord] = field(default_factory=list)
    ticks: int = 0

    def confirm(self, step: BoundStep) -> bool | Answer:
        self.asked.append(step.index)
        return self.answers.get(step.index, True)

    def clock(self) -> datetime:
        self.ticks += 1
        return START + timedelta(seconds=self.ticks)

    def run(self, text: str = RUNBOOK, *, dry_run: bool = False) -> RunResult:
        runbook = parse_runbook(text, source="rb.yaml")
        steps = runbook.bind({"system": "checkout-api"}, incident="INC-3")
        return run(
            runbook,
            steps,
            actions=self.actions,
            dry_run=dry_run,
            confirm=self.confirm,
            record=self.recorded.append,
            clock=self.clock,
        )


def with_continue_on_error(step_name: str) -> str:
    """RUNBOOK with `continue_on_error: true` on the step named `step_name`."""
    marker = f"  - name: {step_name}\n"
    assert marker in RUNBOOK
    return RUNBOOK.replace(marker, marker + "    continue_on_error: true\n")


def statuses(result: RunResult) -> list[tuple[int, str]]:
    """(index, status) of each record; statuses are StrEnums, compared by their wire value."""
    return [(r.index, r.status.value) for r in result.records]


def test_a_dry_run_calls_nothing_asks_nothing_and_records_what_would_run() -> None:
    harness = Harness()

    result = harness.run(dry_run=True)

    assert harness.actions.calls == []
    assert harness.asked == []
    assert [(r.status, r.detail) for r in result.records] == [
        (StepStatus.DRY_RUN, "ask a person to confirm: Check the error rate of checkout-api."),
        (
            StepStatus.DRY_RUN,
            "freeze deploys of checkout-api in every environment for 2h (reason: incident INC-3)",
        ),
        (
            StepStatus.DRY_RUN,
            "turn flag checkout-new-flow off in production "
            "(reason: runbook checkout-rollback, incident INC-3)",
        ),
        (
            StepStatus.DRY_RUN,
            "roll back checkout-api in production "
            "(reason: runbook checkout-rollback, incident INC-3)",
        ),
        (StepStatus.DRY_RUN, "bash -c: purge checkout-api (timeout 30s)"),
    ]
    assert harness.recorded == list(result.records)
    assert (result.ok, result.stopped_at, result.runbook) == (True, None, "checkout-rollback")


def test_a_run_calls_the_actions_in_order_with_resolved_params() -> None:
    harness = Harness()

    result = harness.run()

    reason = "runbook checkout-rollback, incident INC-3"
    assert harness.actions.calls == [
        (
            "freeze",
            {
                "system": "checkout-api",
                "environment": None,
                "duration": timedelta(hours=2),
                "reason": "incident INC-3",
            },
        ),
        ("flag_off", {"flag": "checkout-new-flow", "environment": "production", "reason": reason}),
        ("rollback", {"system": "checkout-api", "environment": "production", "reason": reason}),
        ("shell", {"command": "purge checkout-api", "timeout_s": 30.0}),
    ]
    assert harness.asked == [1, 2, 3, 4, 5]
    assert [(r.index, r.name, r.kind, r.status, r.detail) for r in result.records] == [
        (1, "Confirm the symptom", "instruction", "done", "confirmed done by the operator"),
        (2, "Freeze", "freeze", "done", "freeze f3a1 until 11:00"),
        (3, "Flag off", "flag_off", "done", "checkout-new-flow is off in production"),
        (4, "Roll back", "rollback", "done", "checkout-api rolled back to v41"),
        (5, "Purge", "shell", "done", "exit 0\npurged"),
    ]
    assert harness.recorded == list(result.records)
    assert (result.ok, result.stopped_at) == (True, None)


def test_each_record_is_timed_by_the_clock_from_question_to_answer() -> None:
    harness = Harness()

    result = harness.run()

    assert [(r.started_at, r.finished_at) for r in result.records[:2]] == [
        (START + timedelta(seconds=1), START + timedelta(seconds=2)),
        (START + timedelta(seconds=3), START + timedelta(seconds=4)),
    ]


def test_declining_an_instruction_stops_the_run() -> None:
    harness = Harness(answers={1: False})

    result = harness.run()

    assert statuses(result) == [(1, "declined")]
    assert harness.actions.calls == []
    assert (result.ok, result.stopped_at) == (False, 1)
    assert harness.recorded == list(result.records)


def test_declining_an_action_stops_before_calling_it() -> None:
    harness = Harness(answers={3: Answer.NO})

    result = harness.run()

    assert statuses(result) == [(1, "done"), (2, "done"), (3, "declined")]
    assert [name for name, _ in harness.actions.calls] == ["freeze"]
    assert result.records[-1].detail == (
        "declined by the operator: turn flag checkout-new-flow off in production "
        "(reason: runbook checkout-rollback, incident INC-3)"
    )
    assert (result.ok, result.stopped_at) == (False, 3)


def test_a_skipped_step_is_recorded_and_the_run_goes_on() -> None:
    harness = Harness(answers={2: Answer.SKIP})

    result = harness.run()

    assert statuses(result)[:3] == [(1, "done"), (2, "skipped"), (3, "done")]
    assert [name for name, _ in harness.actions.calls] == ["flag_off", "rollback", "shell"]
    assert (result.ok, result.stopped_at) == (True, None)


def test_a_failing_shell_step_stops_the_run() -> None:
    harness = Harness(actions=RecordingActions(shell_result=ShellResult(3, "no such zone")))
    text = RUNBOOK + "  - {name: After, instruction: Never shown.}\n"

    result = harness.run(text)

    assert statuses(result)[-1] == (5, "failed")
    assert result.records[-1].detail == "exit 3\nno such zone"
    assert harness.asked == [1, 2, 3, 4, 5]
    assert (result.ok, result.stopped_at) == (False, 5)


def test_a_shell_timeout_is_a_failure_that_says_so() -> None:
    result_of_shell = ShellResult(-9, "", timed_out=True)
    harness = Harness(actions=RecordingActions(shell_result=result_of_shell))

    result = harness.run()

    assert (result.records[-1].status, result.records[-1].detail) == (
        StepStatus.FAILED,
        "timed out after 30s",
    )
    assert result.ok is False


def test_a_launchdeck_error_from_an_action_is_a_failed_step_not_a_crash() -> None:
    error = LaunchdeckError(
        "the flags capability is not installed", hint="install launchdeck[flags]"
    )
    harness = Harness(actions=RecordingActions(errors={"flag_off": error}))

    result = harness.run()

    assert statuses(result) == [(1, "done"), (2, "done"), (3, "failed")]
    assert result.records[-1].detail == (
        "the flags capability is not installed (hint: install launchdeck[flags])"
    )
    assert [name for name, _ in harness.actions.calls] == ["freeze", "flag_off"]
    assert (result.ok, result.stopped_at) == (False, 3)
    assert harness.recorded == list(result.records)


def test_continue_on_error_records_the_failure_and_goes_on() -> None:
    harness = Harness(actions=RecordingActions(errors={"rollback": UpstreamError("api down")}))

    result = harness.run(with_continue_on_error("Roll back"))

    assert statuses(result) == [
        (1, "done"),
        (2, "done"),
        (3, "done"),
        (4, "failed"),
        (5, "done"),
    ]
    assert result.records[3].detail == "api down"
    assert (result.ok, result.stopped_at) == (True, None)


def test_an_unexpected_error_is_recorded_as_failed_then_raised() -> None:
    harness = Harness(actions=RecordingActions(errors={"freeze": RuntimeError("bug")}))

    with pytest.raises(RuntimeError, match="bug"):
        harness.run()

    assert [(r.index, r.status, r.detail) for r in harness.recorded] == [
        (1, StepStatus.DONE, "confirmed done by the operator"),
        (2, StepStatus.FAILED, "unexpected error: RuntimeError: bug"),
    ]


def test_a_record_summarises_itself_in_one_line() -> None:
    record = StepRecord(
        5, "Purge", StepKind.SHELL, StepStatus.FAILED, "exit 3\nmore output", START, START
    )

    assert record.summary == "step 5 'Purge' (shell): failed: exit 3"


# --- ShellActions: real bash ---------------------------------------------------------------


def test_shell_actions_capture_the_output_of_a_command() -> None:
    result = ShellActions().shell("echo hello; echo oops >&2", timeout_s=5)

    assert result == ShellResult(0, "hello\noops")


def test_shell_actions_return_a_non_zero_exit_without_raising() -> None:
    result = ShellActions().shell("echo failing; exit 3", timeout_s=5)

    assert result == ShellResult(3, "failing")


def test_shell_actions_kill_a_command_that_runs_too_long() -> None:
    began = time.monotonic()

    result = ShellActions().shell("echo started; sleep 5; echo never", timeout_s=0.2)

    assert time.monotonic() - began < 2
    assert result.timed_out is True
    assert result.returncode != 0
    assert result.output == "started"


def test_shell_actions_keep_only_the_tail_of_long_output() -> None:
    result = ShellActions(tail_bytes=100).shell(
        "for i in $(seq 1 500); do echo line $i; done", timeout_s=5
    )

    assert result.output.startswith("…")
    assert result.output.endswith("line 499\nline 500")
    assert len(result.output.encode()) <= 100 + len("…".encode())


def test_shell_actions_report_a_process_that_cannot_start(tmp_path: Path) -> None:
    result = ShellActions(cwd=tmp_path / "missing").shell("true", timeout_s=5)

    assert result.returncode == 127
    assert result.output.startswith("cannot start bash:")


class RealShell(RecordingActions):
    """Recording actions whose shell is ShellActions, as the CLI composes them."""

    def shell(self, command: str, *, timeout_s: float) -> ShellResult:
        return ShellActions().shell(command, timeout_s=timeout_s)


def test_a_bound_param_reaches_bash_as_one_word() -> None:
    runbook = parse_runbook(
        "name: echo\ntitle: Echo\nparams: {value: {}}\n"
        "steps: [{name: Echo, action: shell, with: {command: 'printf \"<%s>\" {value}'}}]\n",
        source="echo.yaml",
    )
    steps = runbook.bind({"value": "x; echo injected"}, incident=None)
    harness = Harness()

    result = run(
        runbook,
        steps,
        actions=RealShell(),
        dry_run=False,
        confirm=harness.confirm,
        record=harness.recorded.append,
        clock=harness.clock,
    )

    assert result.records[0].detail == "exit 0\n<x; echo injected>"
