"""Run a runbook's bound steps, in order, through ports: the same run works in the CLI's local
and remote modes, and tests drive it with a fake.

A person confirms each step: an instruction when it is done, an action before it runs. Declining
stops the run; so does a failed action, unless its step says `continue_on_error: true`. A dry
run asks nothing and calls nothing: it records, for every step, exactly what would happen.
Every step is passed to `record` as it finishes, so the incident's timeline follows the run.

`ShellActions` runs shell steps with `bash -c <command>` (the command's substituted values are
already shell-quoted by `Runbook.bind`), in a process group of its own that a timeout kills
whole, with stdin closed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from launchdeck.errors import LaunchdeckError
from launchdeck.incidents.runbook import (
    ActionCall,
    BoundStep,
    FlagOffCall,
    FreezeCall,
    RollbackCall,
    Runbook,
    ShellCall,
    StepKind,
    format_duration,
)

__all__ = [
    "Actions",
    "Answer",
    "Confirm",
    "RunResult",
    "ShellActions",
    "ShellResult",
    "StepRecord",
    "StepStatus",
    "run",
]


@dataclass(frozen=True, slots=True)
class ShellResult:
    returncode: int
    output: str
    """The last part of stdout and stderr together (ShellActions keeps about 2 KB)."""
    timed_out: bool = False


class Actions(Protocol):
    """What a runbook can make launchdeck do; each returns a one-line summary for the record."""

    def freeze(
        self, *, system: str | None, environment: str | None, duration: timedelta, reason: str
    ) -> str: ...
    def flag_off(self, *, flag: str, environment: str, reason: str) -> str: ...
    def rollback(self, *, system: str, environment: str, reason: str) -> str: ...
    def shell(self, command: str, *, timeout_s: float) -> ShellResult: ...


class Answer(StrEnum):
    """A person's answer to a step, for a `confirm` that offers more than yes and no."""

    YES = "yes"
    SKIP = "skip"
    """Go on without this step (it is recorded as skipped)."""
    NO = "no"
    """Stop the run here."""


Confirm = Callable[[BoundStep], bool | Answer]
"""True (yes) or False (no, stop), or an Answer; asked before every step of a real run."""


class StepStatus(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"
    DRY_RUN = "dry_run"
    FAILED = "failed"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class StepRecord:
    index: int
    """1-based, as in the runbook."""
    name: str
    kind: StepKind
    status: StepStatus
    detail: str
    """What happened: the action's summary, the shell's exit code and output tail, the error;
    for a dry run, exactly what would run."""
    started_at: datetime
    finished_at: datetime

    @property
    def summary(self) -> str:
        """One line for a timeline entry: `step 2 "Freeze deploys" (freeze): done: …`."""
        first = self.detail.splitlines()[0] if self.detail else ""
        return f"step {self.index} {self.name!r} ({self.kind}): {self.status}" + (
            f": {first}" if first else ""
        )


@dataclass(frozen=True, slots=True)
class RunResult:
    runbook: str
    records: tuple[StepRecord, ...]
    ok: bool
    """Every step done, skipped or dry-run, or failed with `continue_on_error`."""
    stopped_at: int | None
    """The index of the step that was declined or failed and ended the run early."""


def run(
    runbook: Runbook,
    bound_steps: Sequence[BoundStep],
    *,
    actions: Actions,
    dry_run: bool,
    confirm: Confirm,
    record: Callable[[StepRecord], None],
    clock: Callable[[], datetime],
) -> RunResult:
    """Run `bound_steps` in order; stops at a declined step or a failure not tolerated.

    An exception from an action that is not a LaunchdeckError is recorded as a failed step,
    then raised (a bug, not an answer).
    """
    records: list[StepRecord] = []
    for step in bound_steps:
        started = clock()
        if dry_run:
            status, detail = StepStatus.DRY_RUN, step.preview
        else:
            status, detail = _answered(step, confirm(step), actions, started, record, clock)
        finished = StepRecord(step.index, step.name, step.kind, status, detail, started, clock())
        records.append(finished)
        record(finished)
        failed = status is StepStatus.FAILED and not step.continue_on_error
        if failed or status is StepStatus.DECLINED:
            return RunResult(runbook.name, tuple(records), ok=False, stopped_at=step.index)
    return RunResult(runbook.name, tuple(records), ok=True, stopped_at=None)


def _answered(
    step: BoundStep,
    answer: bool | Answer,
    actions: Actions,
    started: datetime,
    record: Callable[[StepRecord], None],
    clock: Callable[[], datetime],
) -> tuple[StepStatus, str]:
    if answer is Answer.SKIP:
        return StepStatus.SKIPPED, "skipped by the operator"
    if answer is False or answer is Answer.NO:
        return StepStatus.DECLINED, f"declined by the operator: {step.preview}"
    if step.action is None:
        return StepStatus.DONE, "confirmed done by the operator"
    try:
        return _perform(step.action, actions)
    except LaunchdeckError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        return StepStatus.FAILED, f"{exc}{hint}"
    except Exception as exc:
        detail = f"unexpected error: {type(exc).__name__}: {exc}"
        failed = StepStatus.FAILED
        record(StepRecord(step.index, step.name, step.kind, failed, detail, started, clock()))
        raise


def _perform(action: ActionCall, actions: Actions) -> tuple[StepStatus, str]:
    match action:
        case FreezeCall(system, environment, duration, reason):
            summary = actions.freeze(
                system=system, environment=environment, duration=duration, reason=reason
            )
        case FlagOffCall(flag, environment, reason):
            summary = actions.flag_off(flag=flag, environment=environment, reason=reason)
        case RollbackCall(system, environment, reason):
            summary = actions.rollback(system=system, environment=environment, reason=reason)
        case ShellCall(command, timeout):
            result = actions.shell(command, timeout_s=timeout.total_seconds())
            if result.timed_out:
                head = f"timed out after {format_duration(timeout)}"
            else:
                head = f"exit {result.returncode}"
            status = (
                StepStatus.DONE
                if result.returncode == 0 and not result.timed_out
                else StepStatus.FAILED
            )
            return status, head + (f"\n{result.output}" if result.output else "")
    return StepStatus.DONE, summary


class ShellActions:
    """`Actions.shell` through `bash -c`; the other actions come from whoever composes it.

    Never raises for a failing command: a non-zero exit, a timeout (the process group is killed)
    and a missing bash (exit 127) are results.
    """

    def __init__(
        self,
        *,
        tail_bytes: int = 2048,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._tail_bytes = tail_bytes
        self._cwd = cwd
        self._env = dict(env) if env is not None else None

    def shell(self, command: str, *, timeout_s: float) -> ShellResult:
        """Run `command` with bash; its exit code and the tail of its combined output."""
        try:
            process = subprocess.Popen(
                ["bash", "-c", command],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self._cwd,
                env=self._env,
                start_new_session=True,  # its own process group, so a timeout kills it all
            )
        except OSError as exc:
            return ShellResult(127, f"cannot start bash: {exc}")
        timed_out = False
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        return ShellResult(process.returncode, self._tail(output), timed_out)

    def _tail(self, output: bytes) -> str:
        tail = output[-self._tail_bytes :]
        text = tail.decode("utf-8", errors="replace").rstrip("\n")
        return ("…" + text) if len(output) > self._tail_bytes else text
