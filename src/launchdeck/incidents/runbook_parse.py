"""Runbook files parsed and validated (the format is described in `runbook.py`): front matter
split off, YAML read with positions, a Markdown body's `##` steps and ```launchdeck blocks made
steps, and every problem of a file collected with its `file:line:column` into one
ValidationFailed. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Final

import yaml

from launchdeck.durations import parse_duration
from launchdeck.errors import ConfigError, UsageError, ValidationFailed
from launchdeck.incidents.runbook import (
    ACTIONS,
    BUILTINS,
    Param,
    Runbook,
    Step,
    StepKind,
    placeholders,
    shell_unsafe,
)
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

__all__ = ["load_runbook", "load_runbooks", "parse_runbook"]


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
        if arg.duration and not placeholders(item):
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
    for name, offset in placeholders(template):
        if name not in known:
            hint = suggest(name, known) or (
                f"declare '{name}' under 'params:', or write {{{{{name}}}}} for literal braces"
            )
            checker.add_in_text(path, template, offset, f"unknown placeholder {{{name}}}", hint)
    if shell and (unsafe := shell_unsafe(template)):
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
