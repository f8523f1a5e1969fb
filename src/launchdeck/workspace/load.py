"""Load launchdeck.yaml: YAML with positions -> WorkspaceSpec, every error with file:line:column.

Two steps, as Sloth loads specs: parse and validate the YAML against the schema (`load_spec`),
then check cross-references (`validate.check`). Both report all problems at once, each naming
the file, line and column, the field, what is wrong and how to fix it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.workspace.spec import CalendarFeedSpec, WorkspaceSpec
from launchdeck.workspace.validate import Path, Problem, check, suggest

__all__ = ["LoadedWorkspace", "load_workspace", "parse_workspace"]


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(slots=True)
class _Positions:
    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)
    duplicate_keys: list[Path] = field(default_factory=list)

    def of(self, path: Path, *, key: bool = False) -> Mark | None:
        """The mark of the value at `path`, or of its nearest ancestor that has one."""
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            if (mark := table.get(path[:end]) or self.values.get(path[:end])) is not None:
                return mark
        return None


@dataclass(frozen=True, slots=True)
class LoadedWorkspace:
    path: FsPath
    spec: WorkspaceSpec


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node: yaml.Node, path: Path, positions: _Positions) -> None:
    positions.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                positions.duplicate_keys.append(child)
            seen.add(key)
            positions.keys[child] = _mark(key_node)
            _walk(value_node, child, positions)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), positions)


def _field_name(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(document)"


def _problem_error(
    source: str, positions: _Positions, problem: Problem, *, key: bool = False
) -> ConfigError:
    mark = positions.of(problem.path, key=key)
    where = f"{source}:{mark.line}:{mark.column}" if mark else source
    name = _field_name(problem.path)
    return ConfigError(f"{name}: {problem.message}", where=where, field=name, hint=problem.hint)


def _model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The schema model that owns the keys at `path`, walking fields, lists and dicts."""
    annotation: Any = root
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(part, str) or part not in annotation.model_fields:
                return None
            annotation = annotation.model_fields[part].annotation
        else:
            origin = typing.get_origin(annotation)
            if origin not in (tuple, list, dict):
                return None
            args = typing.get_args(annotation)
            annotation = args[-1] if origin is dict else args[0]
    annotation = _unwrap(annotation)
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _unwrap(annotation: Any) -> Any:
    """X for `X | None`; other annotations unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _schema_problems(exc: ValidationError, data: Mapping[str, Any]) -> list[tuple[Problem, bool]]:
    problems: list[tuple[Problem, bool]] = []
    unions: dict[Path, tuple[int, list[str]]] = {}  # path -> (index in problems, member messages)
    for error in exc.errors(include_url=False):
        loc: Path = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            parent, key = loc[:-1], str(loc[-1])
            owner = _model_at(WorkspaceSpec, parent)
            known = sorted(owner.model_fields) if owner else []
            hint = suggest(key, known) or (f"allowed keys: {', '.join(known)}" if known else None)
            problems.append((Problem(loc, f"unknown key {key!r}", hint), True))
        elif kind == "missing":
            problems.append((Problem(loc, "is required but missing", f"add '{loc[-1]}:'"), False))
        else:
            message = str(error["msg"])
            if message.startswith("Value error, "):
                message = message.removeprefix("Value error, ")
            value = error.get("input")
            shown = (
                f" (got {value!r})"
                if isinstance(value, str | int | float) and repr(value) not in message
                else ""
            )
            path = _trim_union_loc(loc, data)
            if path != loc:
                # Pydantic reports one error per member of a union (str | int | float | bool):
                # one wrong value is one problem, naming every type it could have been.
                index, members = unions.setdefault(path, (len(problems), []))
                members.append(message if not members else message.removeprefix("Input should be "))
                if len(members) > 1:
                    problems[index] = (Problem(path, " or ".join(members) + shown), False)
                    continue
            problems.append((Problem(path, message + shown), False))
    return problems


def _trim_union_loc(loc: Path, data: Mapping[str, Any]) -> Path:
    """Drop the type names pydantic appends to a union member's location (`…, 'str'`)."""
    node: Any = data
    kept: list[str | int] = []
    for part in loc:
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_mapping or in_list:
            node = node[part]
        else:
            break
        kept.append(part)
    return tuple(kept) if kept else loc


def parse_workspace(text: str, *, source: str, base_dir: FsPath | None = None) -> WorkspaceSpec:
    """Parse and fully validate a workspace; ValidationFailed lists every problem found."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character: it has a position, no mark
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        raise ConfigError(
            f"not valid YAML: character U+{exc.character:04X} is not allowed in a YAML file",
            where=f"{source}:{line}:{column}",
            hint="remove it, or write it as an escape inside a double-quoted string",
        ) from exc
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark, context = exc.problem_mark, exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        # An unclosed quote or bracket is found at the end of the file; say where it opened.
        opened = (
            f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
            if context is not None and exc.context and (mark is None or context.line != mark.line)
            else ""
        )
        raise ConfigError(
            f"not valid YAML: {exc.problem}{opened}",
            where=where,
            hint="check the indentation and quoting around this position",
        ) from exc
    finally:
        loader.dispose()
    if node is None or not isinstance(data, dict):
        raise ConfigError(
            "the workspace must be a YAML mapping with at least a 'workspace:' section",
            where=f"{source}:1:1",
            hint="run 'launchdeck init' to start from a commented example",
        )
    positions = _Positions()
    _walk(node, (), positions)
    errors = [
        _problem_error(
            source,
            positions,
            Problem(path, f"duplicate key {path[-1]!r}", "a key may appear once per mapping"),
            key=True,
        )
        for path in positions.duplicate_keys
    ]
    try:
        spec = WorkspaceSpec.model_validate(data)
    except ValidationError as exc:
        errors += [
            _problem_error(source, positions, problem, key=key)
            for problem, key in _schema_problems(exc, data)
        ]
        raise ValidationFailed(errors, source=source) from None
    problems = check(spec)
    if base_dir is not None:
        problems += _missing_references(spec, base_dir)
    errors += [_problem_error(source, positions, p) for p in problems]
    if errors:
        raise ValidationFailed(errors, source=source)
    return spec


def _missing_references(spec: WorkspaceSpec, base_dir: FsPath) -> list[Problem]:
    problems = []
    for section in ("calendars", "slos", "rollouts"):
        for index, entry in enumerate(getattr(spec.references, section)):
            ref = entry.path if isinstance(entry, CalendarFeedSpec) else entry
            if not (base_dir / ref).is_file():
                problems.append(
                    Problem(
                        ("references", section, index),
                        f"file {ref!r} does not exist (looked in {base_dir.resolve()})",
                        "paths are relative to the directory of launchdeck.yaml",
                    )
                )
    return problems


def load_workspace(path: FsPath, *, now: datetime | None = None) -> LoadedWorkspace:
    """Read and validate the launchdeck.yaml at `path`, with its calendar feeds' campaigns.

    Recurring feed events are expanded from 30 days before `now` (the wall clock) to each
    feed's horizon.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "no workspace file here",
            where=str(path),
            hint="run 'launchdeck init' here, or set LAUNCHDECK_WORKSPACE / --workspace",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the workspace file: {exc}", where=str(path)) from exc
    source = _display_path(path)
    spec = parse_workspace(text, source=source, base_dir=path.parent)
    if spec.references.calendars:
        from launchdeck.workspace.feeds import import_feeds

        spec = import_feeds(spec, path.parent, now=now or datetime.now(UTC))
    return LoadedWorkspace(path, spec)


def _display_path(path: FsPath) -> str:
    try:
        return str(path.resolve().relative_to(FsPath.cwd()))
    except ValueError:
        return str(path)
