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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path as FsPath
from typing import Final

import yaml

from launchdeck.durations import parse_duration
from launchdeck.errors import ConfigError, UsageError, ValidationFailed
from launchdeck.workspace.validate import suggest
from launchdeck.yamlpos import (
    Mark,
    Path,
    Positions,
    Problem,
    field_name,
    open_loader,
    problem_error,
    read_source,
    syntax_error,
    walk,
)

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
class _Arg:
    required: bool = False
    duration: bool = False
    default: str | None = None


_ARGS: Final[Mapping[StepKind, Mapping[str, _Arg]]] = {
    StepKind.FREEZE: {
        "system": _Arg(),
        "environment": _Arg(),
        "duration": _Arg(required=True, duration=True),
        "reason": _Arg(),
    },
    StepKind.FLAG_OFF: {
        "flag": _Arg(required=True),
        "environment": _Arg(required=True),
        "reason": _Arg(),
    },
    StepKind.ROLLBACK: {
        "system": _Arg(required=True),
        "environment": _Arg(required=True),
        "reason": _Arg(),
    },
    StepKind.SHELL: {"command": _Arg(required=True), "timeout": _Arg(duration=True, default="60s")},
}


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


def _placeholders(template: str) -> list[tuple[str, int]]:
    """(name, offset) of every placeholder in `template`."""
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


def _shell_unsafe(command: str) -> tuple[int, str] | None:
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
    for name, offset in _placeholders(command):
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
        for name, _ in _placeholders(text)
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


# --- parsing ------------------------------------------------------------------------------

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_PARAM = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_TOP_KEYS: Final = ("name", "title", "description", "systems", "incident_types", "params", "steps")
_STEP_KEYS: Final = ("name", "instruction", "action", "with", "continue_on_error")
_BLOCK_KEYS: Final = ("action", "with", "continue_on_error")
_PARAM_KEYS: Final = ("required", "default", "description")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_HEADING = re.compile(r"^ {0,3}##(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_NUMBERING = re.compile(r"^(?:step\s*(?:\d+\s*[.:)]?|:)|\d+\s*[.:)])\s*", re.IGNORECASE)


def parse_runbook(text: str, *, source: str) -> Runbook:
    """A validated runbook; ValidationFailed lists every problem with `file:line:column`.

    `.yaml`/`.yml` sources are YAML; others Markdown with front matter (a source with no known
    suffix is Markdown when its first line is `---`).
    """
    text = text.removeprefix("\ufeff")
    suffix = FsPath(source).suffix.lower()
    markdown = suffix in (".md", ".markdown") or (
        suffix not in (".yaml", ".yml") and text.split("\n", 1)[0].rstrip() == "---"
    )
    if markdown:
        document, body, body_line = _split_front_matter(text, source)
    else:
        document, body, body_line = text, None, 0
    node, data = _read_yaml(document, source)
    positions = Positions()
    walk(node, (), positions)
    checker = _Checker(source, positions, text.splitlines())
    for path in positions.duplicate_keys:
        checker.add(
            path, f"duplicate key {path[-1]!r}", "a key may appear once per mapping", key=True
        )
    narrative = (body or "").strip()
    if body is not None:
        in_front_matter = "steps" in data
        narrative, sections = _split_body(body, body_line, source, steps_given=in_front_matter)
        if in_front_matter:
            narrative = body.strip()  # its headings are narrative, not steps
        elif sections:
            data = {**data, "steps": _body_steps(sections, checker)}
    return _build(data, checker, narrative)


@dataclass
class _Section:
    """A `## Title` of a Markdown body: its text lines and its ```launchdeck block."""

    title: str
    line: int
    text: list[tuple[int, str]] = field(default_factory=list)
    block: str | None = None
    """The block's YAML, preceded by empty lines so its line numbers are the file's."""
    block_line: int = 0


@dataclass
class _Fence:
    marker: str
    line: int
    ours: bool
    lines: list[str] = field(default_factory=list)

    def closed_by(self, line: str) -> bool:
        stripped = line.strip()
        return len(stripped) >= len(self.marker) and set(stripped) == {self.marker[0]}


def _split_front_matter(text: str, source: str) -> tuple[str, str, int]:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise ConfigError(
            "a Markdown runbook starts with YAML front matter",
            where=f"{source}:1:1",
            hint="put its keys (name:, title:, steps: …) between two '---' lines at the top",
        )
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            # One empty line in place of the opening `---` keeps the YAML's lines the file's.
            return "\n" + "".join(lines[1:end]), "".join(lines[end + 1 :]), end + 2
    raise ConfigError(
        "the front matter is never closed",
        where=f"{source}:1:1",
        hint="add a line '---' after the runbook's keys",
    )


def _read_yaml(text: str, source: str) -> tuple[yaml.Node, dict[object, object]]:
    loader = open_loader(text, source=source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise syntax_error(exc, source=source) from exc
    finally:
        loader.dispose()
    if node is None or not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        raise ConfigError(
            "a runbook must be a YAML mapping",
            where=f"{source}:{line}:1",
            hint="start from 'name:', 'title:' and 'steps:' (see examples/black-friday/runbooks)",
        )
    return node, data


def _split_body(
    body: str, first_line: int, source: str, *, steps_given: bool
) -> tuple[str, list[_Section]]:
    """(narrative before the first `##` heading, one section per heading), code fences skipped.

    `steps_given`: the front matter has `steps:`, so a ```launchdeck block is an error.
    """
    narrative: list[str] = []
    sections: list[_Section] = []
    fence: _Fence | None = None
    for number, line in enumerate(body.splitlines(), start=first_line):
        current = sections[-1] if sections else None
        if fence is not None:
            if fence.closed_by(line):
                closed, fence = fence, None
                if closed.ours and current is not None:
                    current.block = "\n" * closed.line + "\n".join(closed.lines)
                    current.block_line = closed.line
                    continue
            elif fence.ours:
                fence.lines.append(line)
                continue
        elif match := _FENCE.match(line):
            fence = _Fence(match.group(1), number, match.group(2) == "launchdeck")
            if fence.ours:
                _check_block_place(current, number, source, steps_given=steps_given)
                continue
        elif heading := _HEADING.match(line):
            title = (heading.group(1) or "").strip()
            sections.append(_Section(_NUMBERING.sub("", title) or title, number))
            continue
        if current is not None:
            current.text.append((number, line))
        else:
            narrative.append(line)
    if fence is not None:
        raise ConfigError(
            "a fenced code block is never closed",
            where=f"{source}:{fence.line}:1",
            hint=f"close it with a line '{fence.marker}'",
        )
    return "\n".join(narrative).strip(), sections


def _check_block_place(
    section: _Section | None, line: int, source: str, *, steps_given: bool
) -> None:
    if steps_given:
        raise ConfigError(
            "steps are in the front matter and in the body's ```launchdeck blocks",
            where=f"{source}:{line}:1",
            hint="keep one: move the body's actions into 'steps:', or remove 'steps:'",
        )
    if section is None:
        raise ConfigError(
            "a ```launchdeck block belongs to no step",
            where=f"{source}:{line}:1",
            hint="put it under the '## Step title' heading of the step it runs",
        )
    if section.block is not None:
        raise ConfigError(
            f"step {section.title!r} has a second ```launchdeck block",
            where=f"{source}:{line}:1",
            hint="a step runs one action: split it into two '##' steps",
        )


def _body_steps(sections: Sequence[_Section], checker: _Checker) -> list[object]:
    """The body's sections as raw step mappings, their positions recorded as the file's."""
    steps: list[object] = []
    for index, section in enumerate(sections):
        path: Path = ("steps", index)
        raw: dict[str, object] = {"name": section.title}
        if section.block is not None:
            node, data = _read_block(section.block, checker.source)
            if node is not None:
                walk(node, path, checker.positions)
            if isinstance(data, dict):
                for key in data:
                    if key not in _BLOCK_KEYS:
                        hint = (
                            "in the body, the '##' heading names the step and the text under it "
                            "is its instruction"
                            if key in _STEP_KEYS
                            else suggest(str(key), _BLOCK_KEYS)
                            or f"a ```launchdeck block takes: {', '.join(_BLOCK_KEYS)}"
                        )
                        checker.add((*path, str(key)), f"unknown key {key!r}", hint, key=True)
                raw |= {key: value for key, value in data.items() if key in _BLOCK_KEYS}
            else:
                checker.positions.values[path] = Mark(section.block_line + 1, 1)
                checker.add(
                    path,
                    "a ```launchdeck block holds a YAML mapping",
                    "write 'action: …' and 'with: {…}' in it",
                )
        heading = Mark(section.line, 1)
        checker.positions.values[path] = checker.positions.values[(*path, "name")] = heading
        if not section.title:
            hint = "write the step's title after '## '"
            checker.add((*path, "name"), "a step heading needs a title", hint)
            raw["name"] = "(untitled)"
        lines = [text for text in section.text]
        while lines and not lines[0][1].strip():
            lines.pop(0)
        while lines and not lines[-1][1].strip():
            lines.pop()
        if lines:
            start = Mark(lines[0][0], 1)
            raw["instruction"] = "\n".join(line for _, line in lines)
            checker.positions.values[(*path, "instruction")] = start
            checker.text_starts[(*path, "instruction")] = start
        steps.append(raw)
    return steps


def _read_block(text: str, source: str) -> tuple[yaml.Node | None, object]:
    loader = open_loader(text, source=source)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise syntax_error(exc, source=source) from exc
    finally:
        loader.dispose()


class _Checker:
    """Collects every problem of one file, each located at its `file:line:column`."""

    def __init__(self, source: str, positions: Positions, lines: Sequence[str]) -> None:
        self.source = source
        self.positions = positions
        self.lines = lines
        """The file's lines, to place a problem inside a one-line YAML value."""
        self.errors: list[ConfigError] = []
        self.text_starts: dict[Path, Mark] = {}
        """Body text whose characters sit in the file as they are in the value."""

    def add(self, path: Path, message: str, hint: str | None = None, *, key: bool = False) -> None:
        problem = Problem(path, message, hint)
        self.errors.append(problem_error(self.source, self.positions, problem, key=key))

    def add_in_text(self, path: Path, text: str, offset: int, message: str, hint: str) -> None:
        """A problem at `offset` of the value at `path`: exact in Markdown body text and in a
        one-line YAML scalar written as is (plain, or quoted without escapes)."""
        if (start := self.text_starts.get(path) or self._inline(path, text)) is None:
            self.add(path, message, hint)
            return
        before = text[:offset]
        line = start.line + before.count("\n")
        column = offset - before.rfind("\n") if "\n" in before else start.column + offset
        name = field_name(path)
        where = f"{self.source}:{line}:{column}"
        self.errors.append(ConfigError(f"{name}: {message}", where=where, field=name, hint=hint))

    def _inline(self, path: Path, text: str) -> Mark | None:
        if (mark := self.positions.values.get(path)) is None or mark.line > len(self.lines):
            return None
        rest = self.lines[mark.line - 1][mark.column - 1 :]
        if rest[:1] in ("'", '"') and rest[1:].startswith(text):
            return Mark(mark.line, mark.column + 1)
        return mark if rest.startswith(text) else None

    def reported(self, path: Path) -> bool:
        return any(error.field == field_name(path) for error in self.errors)

    def where(self, path: Path) -> str:
        mark = self.positions.of(path)
        return f"{self.source}:{mark.line}:{mark.column}" if mark else self.source

    def keys(self, data: Mapping[object, object], path: Path, allowed: Sequence[str]) -> None:
        for key in data:
            if key not in allowed:
                hint = suggest(str(key), allowed) or f"allowed keys: {', '.join(allowed)}"
                self.add((*path, str(key)), f"unknown key {key!r}", hint, key=True)

    def text(
        self, data: Mapping[object, object], key: str, path: Path, *, required: bool = False
    ) -> str | None:
        value, at = data.get(key), (*path, key)
        if value is None:
            if required:
                self.add(at, "is required but missing", f"add '{key}:'")
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(at, f"expected text, got {_kind(value)}", 'write text; quote it ("…")')
            return None
        return value

    def names(self, data: Mapping[object, object], key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add((key,), f"expected a list, got {_kind(value)}", f"write [{value}] or []")
            return ()
        ok = [item for item in value if isinstance(item, str) and item.strip()]
        for index, item in enumerate(value):
            if not (isinstance(item, str) and item.strip()):
                self.add((key, index), f"expected a name, got {_kind(item)}", "write an id")
        return tuple(ok)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return f"text {value!r}" if value.strip() else "empty text"
    return "nothing" if value is None else type(value).__name__


def _build(data: Mapping[object, object], checker: _Checker, narrative: str) -> Runbook:
    checker.keys(data, (), _TOP_KEYS)
    name = checker.text(data, "name", (), required=True)
    if name is not None and not _ID.match(name):
        checker.add(
            ("name",),
            f"{name!r} is not a valid runbook name",
            "use lowercase letters, digits and '-', e.g. deployment-rollback",
        )
    title = checker.text(data, "title", (), required=True)
    description = checker.text(data, "description", ())
    systems, types = checker.names(data, "systems"), checker.names(data, "incident_types")
    params, declared = _params(data.get("params"), checker)
    steps = _steps(data.get("steps"), checker, declared | set(BUILTINS))
    if checker.errors:
        raise ValidationFailed(checker.errors, source=checker.source)
    assert name is not None and title is not None  # or an error was added
    return Runbook(
        name=name,
        title=title,
        description=description,
        systems=systems,
        incident_types=types,
        params=params,
        steps=steps,
        narrative=narrative,
        source=checker.source,
        where=checker.where(("name",)),
    )


def _params(value: object, checker: _Checker) -> tuple[tuple[Param, ...], set[str]]:
    """The valid params, and every name declared (so a bad param is not reported twice)."""
    if value is None:
        return (), set()
    if not isinstance(value, dict):
        checker.add(
            ("params",),
            f"expected a mapping of param names, got {_kind(value)}",
            "write e.g. params: {system: {required: true}, environment: {default: production}}",
        )
        return (), set()
    params: list[Param] = []
    for name, spec in value.items():
        path: Path = ("params", str(name))
        if not isinstance(name, str) or not _PARAM.match(name):
            hint = "use lowercase letters, digits and '_', starting with a letter (flag_key)"
            checker.add(path, f"{name!r} is not a valid param name", hint, key=True)
            continue
        if name in BUILTINS:
            hint = "{incident} and {runbook} are always set: give the param another name"
            checker.add(path, f"{name!r} is a built-in placeholder", hint, key=True)
            continue
        if param := _param(name, {} if spec is None else spec, path, checker):
            params.append(param)
    return tuple(params), {str(name) for name in value}


def _param(name: str, spec: object, path: Path, checker: _Checker) -> Param | None:
    if not isinstance(spec, dict):
        hint = "write {default: production} or {required: true, description: …}"
        checker.add(path, f"expected a mapping, got {_kind(spec)}", hint)
        return None
    checker.keys(spec, path, _PARAM_KEYS)
    required, default = spec.get("required", False), spec.get("default")
    if not isinstance(required, bool):
        checker.add((*path, "required"), f"expected true or false, got {_kind(required)}")
        return None
    if default is not None and (
        isinstance(default, bool) or not isinstance(default, str | int | float)
    ):
        checker.add((*path, "default"), f"expected text, got {_kind(default)}", 'quote it ("…")')
        return None
    if required and default is not None:
        checker.add(
            (*path, "required"),
            "a required param has no default",
            "remove 'required: true', or the default",
        )
        return None
    description = checker.text(spec, "description", path)
    return Param(name, None if default is None else str(default), description)


def _steps(value: object, checker: _Checker, known: set[str]) -> tuple[Step, ...]:
    if not value:
        checker.add(
            ("steps",),
            "the runbook has no steps",
            "add 'steps:' (in the front matter of a Markdown runbook), or '## Step title' "
            "headings to its body",
            key=True,
        )
        return ()
    if not isinstance(value, list):
        checker.add(
            ("steps",), f"expected a list of steps, got {_kind(value)}", "write '- name: …'"
        )
        return ()
    steps: list[Step] = []
    for index, raw in enumerate(value):
        path: Path = ("steps", index)
        if not isinstance(raw, dict):
            hint = "write '- name: …' with 'instruction: …' or 'action: …'"
            checker.add(path, f"expected a step, got {_kind(raw)}", hint)
        elif step := _step(raw, path, index + 1, checker, known):
            steps.append(step)
    return tuple(steps)


def _step(
    raw: Mapping[object, object], path: Path, index: int, checker: _Checker, known: set[str]
) -> Step | None:
    errors = len(checker.errors)
    checker.keys(raw, path, _STEP_KEYS)
    name = checker.text(raw, "name", path, required=True)
    instruction = checker.text(raw, "instruction", path)
    action, kind = raw.get("action"), StepKind.INSTRUCTION
    if action is not None:
        if isinstance(action, str) and action in ACTIONS:
            kind = StepKind(action)
        else:
            hint = suggest(str(action), ACTIONS) or f"use one of: {', '.join(ACTIONS)}"
            checker.add((*path, "action"), f"unknown action {action!r}", hint)
    elif "instruction" not in raw and not checker.reported(path):
        hint = "add 'instruction:' for a person, or 'action:' for launchdeck to run"
        checker.add(path, "a step needs an instruction, an action, or both", hint)
    if action is None and "with" in raw:
        checker.add((*path, "with"), "'with' is only for an action", "add 'action:'", key=True)
    continue_on_error = raw.get("continue_on_error", False)
    if not isinstance(continue_on_error, bool):
        at = (*path, "continue_on_error")
        checker.add(at, f"expected true or false, got {_kind(continue_on_error)}")
    elif continue_on_error and action is None:
        hint = "only an action can fail; remove it"
        checker.add((*path, "continue_on_error"), "is only for an action", hint, key=True)
    args: dict[str, str] = {}
    if kind is not StepKind.INSTRUCTION:
        args = _args(kind, raw.get("with"), (*path, "with"), checker)
    if instruction is not None:
        _check_placeholders(instruction, (*path, "instruction"), checker, known)
    for key, template in args.items():
        _check_placeholders(template, (*path, "with", key), checker, known, shell=key == "command")
    if len(checker.errors) > errors or name is None:
        return None
    return Step(
        index, name, kind, instruction, args, continue_on_error is True, checker.where(path)
    )


def _args(kind: StepKind, value: object, path: Path, checker: _Checker) -> dict[str, str]:
    spec = _ARGS[kind]
    if value is None:
        value = {}
    if not isinstance(value, dict):
        hint = f"write with: {{{', '.join(f'{key}: …' for key in spec)}}}"
        checker.add(path, f"expected a mapping, got {_kind(value)}", hint)
        return {}
    checker.keys(value, path, tuple(spec))
    args: dict[str, str] = {}
    for key, arg in spec.items():
        item, at = value.get(key), (*path, key)
        if item is None:
            if arg.required:
                checker.add(at, f"the {kind} action needs '{key}'", f"add '{key}:' under 'with:'")
            elif arg.default is not None:
                args[key] = arg.default
            continue
        if not isinstance(item, str) or not item.strip():
            hint = (
                "write a duration with its unit: 60s, 5m, 2h" if arg.duration else 'quote it ("…")'
            )
            checker.add(at, f"expected text, got {_kind(item)}", hint)
            continue
        if arg.duration and not _placeholders(item):
            try:
                parse_duration(item)
            except UsageError as exc:
                checker.add(at, exc.message, exc.hint)
                continue
        args[key] = item
    return args


def _check_placeholders(
    template: str, path: Path, checker: _Checker, known: set[str], *, shell: bool = False
) -> None:
    for name, offset in _placeholders(template):
        if name not in known:
            hint = suggest(name, known) or (
                f"declare '{name}' under 'params:', or write {{{{{name}}}}} for literal braces"
            )
            checker.add_in_text(path, template, offset, f"unknown placeholder {{{name}}}", hint)
    if shell and (unsafe := _shell_unsafe(template)):
        offset, why = unsafe
        hint = "write the placeholder bare: launchdeck quotes each value it substitutes"
        checker.add_in_text(path, template, offset, f"{why} cannot be quoted safely", hint)


def load_runbook(path: FsPath | str) -> Runbook:
    """The runbook in the file at `path` (Markdown or YAML); ConfigError naming what is wrong."""
    text = read_source(path, what="runbook", hint="check the path of the runbook file")
    return parse_runbook(text, source=str(path))


def load_runbooks(paths: Iterable[FsPath | str]) -> list[Runbook]:
    """Every runbook in `paths` (files, or directories of *.md/*.yaml/*.yml but README.md).

    ValidationFailed lists the problems of every file, and each name used twice with both files.
    """
    files: list[FsPath] = []
    for path in map(FsPath, paths):
        if path.is_dir():
            files += sorted(
                item
                for item in path.iterdir()
                if item.is_file()
                and item.suffix.lower() in (".md", ".yaml", ".yml")
                and item.name.lower() != "readme.md"
            )
        else:
            files.append(path)
    runbooks: dict[str, Runbook] = {}
    errors: list[ConfigError] = []
    for file in files:
        try:
            runbook = load_runbook(file)
        except ValidationFailed as exc:
            errors += exc.problems
            continue
        except ConfigError as exc:
            errors.append(exc)
            continue
        if (first := runbooks.get(runbook.name)) is not None:
            errors.append(
                ConfigError(
                    f"runbook name {runbook.name!r} is used twice: also at {first.where}",
                    where=runbook.where,
                    field="name",
                    hint="runbook names are unique: rename one of the two",
                )
            )
            continue
        runbooks[runbook.name] = runbook
    if errors:
        raise ValidationFailed(errors)
    return list(runbooks.values())
