"""Runbooks as code: the steps an on-call person follows for a kind of incident, some of them
executable launchdeck actions. Pure: parsing, validation and binding of parameters.

A runbook is Markdown with YAML front matter (`---` … `---`) or a plain `.yaml`/`.yml` file with
the same keys. Steps come from the front matter's `steps:` or, in Markdown, from the body: each
`## Title` heading starts a step, the text under it is the instruction, and one fenced
```` ```launchdeck ```` block of YAML (`{action: …, with: {…}, continue_on_error: …}`) makes it
executable. With `steps:` in the front matter the body is narrative only, and a `launchdeck`
block in it is an error (it would be silently ignored).

Placeholders: `{name}` in an instruction or an action's `with` value is a declared param or a
built-in (`incident`, the incident ref such as INC-3; `runbook`, the runbook's name). `{{` and
`}}` are literal braces, and `${VAR}` is shell syntax, never a placeholder. An unknown
placeholder is an error when the file is parsed; a missing required param when it is bound.

Shell steps run with `bash -c <command>`. Every value substituted into a command is quoted with
`shlex.quote`, so a param is always one word and cannot inject; for that quoting to hold, a
placeholder may not sit inside quotes, after a backslash, or in a here-document. A command (as
bound) and its output end up in the run's records and the incident timeline: secrets belong in
environment variables the command reads (`${CDN_TOKEN}`), never in params.

Params: one without a default is required; a value given as "" counts as not given. In a
`freeze`, a `system` or `environment` that is empty once bound means every one.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path as FsPath
from typing import Final

from launchdeck.durations import parse_duration
from launchdeck.errors import UsageError
from launchdeck.workspace.validate import suggest

__all__ = [
    "ACTIONS",
    "BUILTINS",
    "ActionCall",
    "BoundStep",
    "FlagOffCall",
    "FreezeCall",
    "Param",
    "RollbackCall",
    "Runbook",
    "ShellCall",
    "Step",
    "StepKind",
    "format_duration",
    "load_runbook",
    "load_runbooks",
    "parse_runbook",
    "placeholders",
    "shell_unsafe",
]


class StepKind(StrEnum):
    """What a step does: ask a person, or run one launchdeck action."""

    INSTRUCTION = "instruction"
    FREEZE = "freeze"
    FLAG_OFF = "flag_off"
    ROLLBACK = "rollback"
    SHELL = "shell"


ACTIONS: Final = tuple(kind.value for kind in StepKind if kind is not StepKind.INSTRUCTION)
"""The executable actions' names, as written after `action:`."""
BUILTINS: Final = ("incident", "runbook")
"""Placeholders every runbook may use without declaring them."""


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    default: str | None = None
    """None: the param is required (pass it with `--param name=value`)."""
    description: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True, slots=True)
class Step:
    """A step as written: templates, not yet bound to param values."""

    index: int
    """1-based, as people count steps."""
    name: str
    kind: StepKind
    instruction: str | None
    args: Mapping[str, str]
    """The action's `with`, every value a template (defaults filled in)."""
    continue_on_error: bool
    where: str
    """`file:line:column` of the step, for errors found when it is bound."""


@dataclass(frozen=True, slots=True)
class FreezeCall:
    system: str | None
    """None: every system."""
    environment: str | None
    duration: timedelta
    reason: str

    def describe(self) -> str:
        return (
            f"freeze deploys of {self.system or 'every system'} in "
            f"{self.environment or 'every environment'} for {format_duration(self.duration)}"
            f" (reason: {self.reason})"
        )


@dataclass(frozen=True, slots=True)
class FlagOffCall:
    flag: str
    environment: str
    reason: str

    def describe(self) -> str:
        return f"turn flag {self.flag} off in {self.environment} (reason: {self.reason})"


@dataclass(frozen=True, slots=True)
class RollbackCall:
    system: str
    environment: str
    reason: str

    def describe(self) -> str:
        return f"roll back {self.system} in {self.environment} (reason: {self.reason})"


@dataclass(frozen=True, slots=True)
class ShellCall:
    command: str
    """As bash receives it, every substituted value already shell-quoted."""
    timeout: timedelta

    def describe(self) -> str:
        return f"bash -c: {self.command} (timeout {format_duration(self.timeout)})"


ActionCall = FreezeCall | FlagOffCall | RollbackCall | ShellCall


@dataclass(frozen=True, slots=True)
class BoundStep:
    """A step with every placeholder resolved: what a person reads, or what will run."""

    index: int
    name: str
    kind: StepKind
    instruction: str | None
    action: ActionCall | None
    continue_on_error: bool
    where: str

    @property
    def preview(self) -> str:
        """Exactly what the step would do: the resolved action, or the instruction's first
        paragraph on one line (at most 160 characters)."""
        if self.action is not None:
            return self.action.describe()
        paragraph = " ".join((self.instruction or "").strip().split("\n\n")[0].split())
        short = paragraph if len(paragraph) <= 160 else paragraph[:159].rstrip() + "…"
        return f"ask a person to confirm: {short}"


@dataclass(frozen=True, slots=True)
class Runbook:
    name: str
    title: str
    description: str | None
    systems: tuple[str, ...]
    """The systems it is for; empty: any system."""
    incident_types: tuple[str, ...]
    """The incident types it is for; empty: any type."""
    params: tuple[Param, ...]
    steps: tuple[Step, ...]
    narrative: str
    """The Markdown body that is not steps (empty for a YAML runbook)."""
    source: str
    where: str
    """`file:line:column` of its name."""

    def matches(self, system: str | None, incident_type: str | None) -> bool:
        """True when it is for `system` and `incident_type`; None asks about neither."""
        return (system is None or not self.systems or system in self.systems) and (
            incident_type is None or not self.incident_types or incident_type in self.incident_types
        )

    def bind(self, params: Mapping[str, str], *, incident: str | None) -> list[BoundStep]:
        """Every step with its placeholders resolved; UsageError for an unknown or missing param."""
        declared = {param.name: param for param in self.params}
        for name in params:
            if name not in declared:
                known = ", ".join(declared) or "none"
                raise UsageError(
                    f"runbook {self.name!r} has no param {name!r}",
                    hint=suggest(name, declared) or f"its params: {known}",
                )
        values = {p.name: p.default for p in self.params if p.default is not None}
        values |= {name: value for name, value in params.items() if value != ""}
        missing = [p for p in self.params if p.name not in values]
        if missing:
            names = ", ".join(repr(p.name) for p in missing)
            about = "".join(f"; {p.name}: {p.description}" for p in missing if p.description)
            raise UsageError(
                f"runbook {self.name!r} needs the param{'s' * (len(missing) > 1)} {names}{about}",
                hint="pass it with " + " ".join(f"--param {p.name}=<value>" for p in missing),
            )
        values["runbook"] = self.name
        if incident is not None:
            values["incident"] = incident
        return [
            _bind_step(step, values, runbook=self.name, incident=incident) for step in self.steps
        ]


def format_duration(value: timedelta) -> str:
    """`2h`, `90m`, `45s` (the largest whole unit); `0.2s` below a second."""
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{seconds:g}s"


# --- placeholders -------------------------------------------------------------------------

_TOKEN = re.compile(r"\{\{|\}\}|\$\{[^{}]*\}|\{([A-Za-z_][A-Za-z0-9_-]*)\}")
_HEREDOC = re.compile(r"(?<!<)<<(?!<)")  # a here-document, not the here-string `<<<`


def placeholders(template: str) -> list[tuple[str, int]]:
    """(name, offset) of every placeholder in `template` (runbook_parse checks them)."""
    return [(m.group(1), m.start()) for m in _TOKEN.finditer(template) if m.group(1)]


def _substitute(template: str, values: Mapping[str, str], *, quote: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name is None:  # ${VAR}: the shell's
            return token
        return shlex.quote(values[name]) if quote else values[name]

    return _TOKEN.sub(replace, template)


def shell_unsafe(command: str) -> tuple[int, str] | None:
    """(offset, why) of the first placeholder that quoting cannot protect, or None."""
    plain: list[bool] = []  # per character: outside quotes and not escaped
    state, escaped = "", False
    for char in command:
        plain.append(not state and not escaped)
        if escaped:
            escaped = False
        elif char == "\\" and state != "'":
            escaped = True
        elif state and char == state:
            state = ""
        elif not state and char in "'\"":
            state = char
    heredoc = any(plain[match.start()] for match in _HEREDOC.finditer(command))
    for name, offset in placeholders(command):
        if heredoc:
            return offset, f"placeholder {{{name}}} in a command with a here-document"
        if not plain[offset]:
            return offset, f"placeholder {{{name}}} inside quotes or after a backslash"
    return None


def _bind_step(
    step: Step, values: Mapping[str, str], *, runbook: str, incident: str | None
) -> BoundStep:
    used = {
        name
        for text in (step.instruction or "", *step.args.values())
        for name, _ in placeholders(text)
    }
    if "incident" in used and incident is None:
        raise UsageError(
            f"step {step.index} ({step.name!r}) of runbook {runbook!r} uses {{incident}}, "
            "and this run belongs to no incident",
            hint="run the runbook from an incident, or pass the incident ref (e.g. INC-3)",
        )
    instruction = _substitute(step.instruction, values, quote=False) if step.instruction else None
    action: ActionCall | None = None
    if step.kind is not StepKind.INSTRUCTION:
        args = {
            key: _substitute(text, values, quote=step.kind is StepKind.SHELL and key == "command")
            for key, text in step.args.items()
        }
        action = _call(step, args, runbook=runbook, incident=incident)
    return BoundStep(
        step.index, step.name, step.kind, instruction, action, step.continue_on_error, step.where
    )


def _call(step: Step, args: Mapping[str, str], *, runbook: str, incident: str | None) -> ActionCall:
    def text(key: str) -> str:
        if not (value := args.get(key, "").strip()):
            raise UsageError(
                f"step {step.index} ({step.name!r}): 'with.{key}' is empty once bound",
                hint=f"give the param it uses a value with --param (see {step.where})",
            )
        return value

    def duration(key: str) -> timedelta:
        try:
            return parse_duration(text(key))
        except UsageError as exc:
            raise UsageError(
                f"step {step.index} ({step.name!r}): with.{key}: {exc.message}", hint=exc.hint
            ) from None

    reason = args.get("reason") or f"runbook {runbook}" + (
        f", incident {incident}" if incident else ""
    )
    match step.kind:
        case StepKind.FREEZE:
            return FreezeCall(
                args.get("system") or None,
                args.get("environment") or None,
                duration("duration"),
                reason,
            )
        case StepKind.FLAG_OFF:
            return FlagOffCall(text("flag"), text("environment"), reason)
        case StepKind.ROLLBACK:
            return RollbackCall(text("system"), text("environment"), reason)
        case _:
            return ShellCall(text("command"), duration("timeout"))


# --- parsing (runbook_parse.py) -----------------------------------------------------------
# Imported when called: runbook_parse builds the types above, so importing it here at import
# time would make a cycle.


def parse_runbook(text: str, *, source: str) -> Runbook:
    """A validated runbook; ValidationFailed lists every problem with `file:line:column`.

    `.yaml`/`.yml` sources are YAML; others Markdown with front matter (a source with no known
    suffix is Markdown when its first line is `---`).
    """
    from launchdeck.incidents import runbook_parse

    return runbook_parse.parse_runbook(text, source=source)


def load_runbook(path: FsPath | str) -> Runbook:
    """The runbook in the file at `path` (Markdown or YAML); ConfigError naming what is wrong."""
    from launchdeck.incidents import runbook_parse

    return runbook_parse.load_runbook(path)


def load_runbooks(paths: Iterable[FsPath | str]) -> list[Runbook]:
    """Every runbook in `paths` (files, or directories of *.md/*.yaml/*.yml but README.md).

    ValidationFailed lists the problems of every file, and each name used twice with both files.
    """
    from launchdeck.incidents import runbook_parse

    return runbook_parse.load_runbooks(paths)
