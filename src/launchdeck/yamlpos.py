"""YAML with positions: where every key and value sits, and schema errors mapped onto them.

Shared by every loader of a hand-written file (launchdeck.yaml, OpenSLO, Sloth specs) so all of
them report problems the same way: `file:line:column`, the field, what is wrong, how to fix it.

Validators may attach more to a pydantic error than a message, through the error's context:
`hint` (how to fix it) and `problems`, a sequence of `(relative path, message, hint)` that
replaces the error by one located problem each, so a cross-field check can point at the exact
field (or fields) at fault instead of the object that holds them.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, Tag, ValidationError

from launchdeck.errors import ConfigError

__all__ = [
    "Located",
    "Mark",
    "Path",
    "Positions",
    "Problem",
    "field_name",
    "mark_of",
    "model_at",
    "open_loader",
    "problem_error",
    "read_documents",
    "read_source",
    "schema_problems",
    "syntax_error",
    "trim_union_loc",
    "unwrap",
    "walk",
    "without_echoes",
]

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    message: str
    hint: str | None = None


class Located(Protocol):
    """Anything shaped like a Problem (workspace.validate has its own)."""

    @property
    def path(self) -> Path: ...
    @property
    def message(self) -> str: ...
    @property
    def hint(self) -> str | None: ...


@dataclass(slots=True)
class Positions:
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


def mark_of(node: yaml.Node) -> Mark:
    """The 1-based line and column where `node` starts."""
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def walk(node: yaml.Node, path: Path, positions: Positions) -> None:
    """Record the position of every key and value under `node`, and every duplicate key."""
    positions.values[path] = mark_of(node)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                positions.duplicate_keys.append(child)
            seen.add(key)
            positions.keys[child] = mark_of(key_node)
            walk(value_node, child, positions)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            walk(item, (*path, index), positions)


def field_name(path: Path) -> str:
    """`spec.objectives[0].target` for ('spec', 'objectives', 0, 'target')."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(document)"


def problem_error(
    source: str, positions: Positions, problem: Located, *, key: bool = False
) -> ConfigError:
    """A ConfigError naming `source:line:column` of the problem's field (or its key)."""
    mark = positions.of(problem.path, key=key)
    where = f"{source}:{mark.line}:{mark.column}" if mark else source
    name = field_name(problem.path)
    return ConfigError(f"{name}: {problem.message}", where=where, field=name, hint=problem.hint)


def model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    """The schema model that owns the keys at `path`, walking fields, lists, dicts and tags.

    `path` is a pydantic location: a part that names a `Tag` of a discriminated union picks
    that member of the union.
    """
    annotation: Any = root
    for part in path:
        annotation = unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(part, str) or part not in annotation.model_fields:
                return None
            annotation = annotation.model_fields[part].annotation
        elif (member := _tagged_member(annotation, part)) is not None:
            annotation = member
        else:
            origin = typing.get_origin(annotation)
            if origin not in (tuple, list, dict):
                return None
            args = typing.get_args(annotation)
            annotation = args[-1] if origin is dict else args[0]
    annotation = unwrap(annotation)
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _tagged_member(annotation: Any, part: str | int) -> Any | None:
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    for member in typing.get_args(annotation):
        if typing.get_origin(member) is typing.Annotated:
            base, *metadata = typing.get_args(member)
            if any(isinstance(item, Tag) and item.tag == part for item in metadata):
                return base
    return None


def unwrap(annotation: Any) -> Any:
    """X for `X | None` and `Annotated[X, ...]`; other annotations unchanged."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return unwrap(args[0])
    return annotation


def schema_problems(
    exc: ValidationError,
    data: Mapping[str, Any],
    root: type[BaseModel],
    *,
    tags: Collection[str] = (),
) -> list[tuple[Problem, bool]]:
    """One (problem, points-at-the-key) per mistake in `exc`, located in `data`'s terms.

    `tags` are the discriminated-union tags of `root`'s schema: pydantic puts them in error
    locations, but they are not keys of the file, so they are dropped from the paths.
    """
    # Deferred: launchdeck.workspace's package imports its loader, which imports this module.
    from launchdeck.workspace.validate import suggest

    problems: list[tuple[Problem, bool]] = []
    unions: dict[Path, tuple[int, list[str]]] = {}  # path -> (index in problems, member messages)
    for error in exc.errors(include_url=False):
        raw_loc: Path = tuple(error["loc"])
        loc: Path = tuple(part for part in raw_loc if part not in tags)
        kind = error["type"]
        context = error.get("ctx") or {}
        if located := context.get("problems"):
            problems += [
                (Problem((*loc, *at), message, hint), False) for at, message, hint in located
            ]
        elif kind == "extra_forbidden":
            key = str(loc[-1])
            owner = model_at(root, raw_loc[:-1])
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
            path = trim_union_loc(loc, data)
            hint = context.get("hint")
            if path != loc:
                # Pydantic reports one error per member of a union (str | int | float | bool):
                # one wrong value is one problem, naming every type it could have been.
                index, members = unions.setdefault(path, (len(problems), []))
                members.append(message if not members else message.removeprefix("Input should be "))
                if len(members) > 1:
                    problems[index] = (Problem(path, " or ".join(members) + shown, hint), False)
                    continue
            problems.append((Problem(path, message + shown, hint), False))
    return problems


def without_echoes(problems: list[tuple[Problem, bool]]) -> list[tuple[Problem, bool]]:
    """Drop a list's "too short" error when it only echoes the errors of its own items."""

    def echo(problem: Problem) -> bool:
        size = len(problem.path)
        return problem.message.startswith(
            ("List should have at least", "Tuple should have at least")
        ) and any(
            len(other.path) > size and other.path[:size] == problem.path for other, _ in problems
        )

    return [(problem, key) for problem, key in problems if not echo(problem)]


def trim_union_loc(loc: Path, data: Mapping[str, Any]) -> Path:
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


def read_source(
    path: FsPath | str, *, what: str, missing: str | None = None, hint: str | None = None
) -> str:
    """The text of a config file; ConfigError naming it when it is missing or unreadable."""
    try:
        return FsPath(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(missing or f"no such {what}", where=str(path), hint=hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the {what}: {exc}", where=str(path)) from exc


def read_documents(text: str, *, source: str) -> list[tuple[yaml.Node, Any]]:
    """Every YAML document of `text` as (node, data); a ConfigError at a syntax error."""
    loader = open_loader(text, source=source)
    roots: list[tuple[yaml.Node, Any]] = []
    try:
        while loader.check_node():
            if (node := loader.get_node()) is not None:
                roots.append((node, loader.construct_document(node)))
    except yaml.MarkedYAMLError as exc:
        raise syntax_error(exc, source=source) from exc
    finally:
        loader.dispose()
    return roots


def open_loader(text: str, *, source: str) -> yaml.SafeLoader:
    """A SafeLoader over `text`; ConfigError at the line and column of a forbidden character."""
    try:
        return yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character: it has a position, no mark
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        raise ConfigError(
            f"not valid YAML: character U+{exc.character:04X} is not allowed in a YAML file",
            where=f"{source}:{line}:{column}",
            hint="remove it, or write it as an escape inside a double-quoted string",
        ) from exc


def syntax_error(exc: yaml.MarkedYAMLError, *, source: str) -> ConfigError:
    """The ConfigError for a YAML syntax error, saying where an unclosed quote or bracket opened."""
    mark, context = exc.problem_mark, exc.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    # An unclosed quote or bracket is found at the end of the file; say where it opened.
    opened = (
        f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
        if context is not None and exc.context and (mark is None or context.line != mark.line)
        else ""
    )
    return ConfigError(
        f"not valid YAML: {exc.problem}{opened}",
        where=where,
        hint="check the indentation and quoting around this position",
    )
