"""Parse OpenSLO YAML text into documents that remember where each field was written. Pure.

One text holds `---`-separated documents, or one top-level list of them. Every problem names
`file:line:column`; a document with problems is left out, and its (kind, name) is kept so that
a reference to it is not reported again as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import yaml
from pydantic import ValidationError

from launchdeck.errors import ConfigError
from launchdeck.reliability.openslo import API_VERSION, DOCUMENT_KINDS, UNION_TAGS, Document
from launchdeck.workspace.validate import suggest
from launchdeck.yamlpos import (
    Path,
    Positions,
    Problem,
    field_name,
    mark_of,
    problem_error,
    read_documents,
    schema_problems,
    walk,
    without_echoes,
)

__all__ = ["LoadedDocument", "parse_documents"]


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """One OpenSLO document and where it was read: `source` (a path) and its first line."""

    document: Document
    source: str
    line: int
    positions: Positions = field(default_factory=Positions, compare=False, repr=False)

    @property
    def kind(self) -> str:
        return self.document.kind

    @property
    def name(self) -> str:
        return self.document.metadata.name

    def where(self, path: Path = ()) -> str:
        """`file:line:column` of the field at `path` in this document (or its nearest parent)."""
        mark = self.positions.of(path)
        return f"{self.source}:{mark.line}:{mark.column}" if mark else f"{self.source}:{self.line}"

    def error(self, path: Path, message: str, hint: str | None = None) -> ConfigError:
        """A ConfigError about the field at `path` of this document."""
        name = field_name(path)
        return ConfigError(f"{name}: {message}", where=self.where(path), field=name, hint=hint)


def parse_documents(
    text: str, *, source: str
) -> tuple[list[LoadedDocument], list[ConfigError], set[tuple[str, str]]]:
    """The valid documents, the problems of the others, and the (kind, name) of those."""
    roots = read_documents(text, source=source)
    items: list[tuple[yaml.Node, Any]] = []
    for node, data in roots:
        if isinstance(node, yaml.SequenceNode) and isinstance(data, list):
            items += zip(node.value, data, strict=True)
        elif data is not None:
            items.append((node, data))
    if not items:
        raise ConfigError(
            "no OpenSLO documents in this file",
            where=f"{source}:1:1",
            hint="start with apiVersion: openslo/v1 and kind: SLO",
        )
    documents: list[LoadedDocument] = []
    errors: list[ConfigError] = []
    broken: set[tuple[str, str]] = set()
    for node, data in items:
        loaded, problems = _parse_one(node, data, source=source)
        errors += problems
        if loaded is not None:
            documents.append(loaded)
        elif isinstance(data, dict) and isinstance(data.get("metadata"), dict):
            broken.add((str(data.get("kind")), str(data["metadata"].get("name"))))
    return documents, errors, broken


def _parse_one(
    node: yaml.Node, data: Any, *, source: str
) -> tuple[LoadedDocument | None, list[ConfigError]]:
    positions = Positions()
    walk(node, (), positions)
    line = mark_of(node).line
    problems = [
        (Problem(path, f"duplicate key {path[-1]!r}", "a key may appear once per mapping"), True)
        for path in positions.duplicate_keys
    ]

    def errors() -> list[ConfigError]:
        return [problem_error(source, positions, p, key=key) for p, key in problems]

    if not isinstance(data, dict):
        problems.append((Problem((), "a document must be a mapping", _SHAPE), False))
        return None, errors()
    problems += [(problem, False) for problem in _header_problems(data)]
    model = DOCUMENT_KINDS.get(str(data.get("kind")))
    if model is None:
        return None, errors()
    try:
        document = model.model_validate({**data, "apiVersion": API_VERSION})
    except ValidationError as exc:
        problems += without_echoes(schema_problems(exc, data, model, tags=UNION_TAGS))
        return None, errors()
    if problems:
        return None, errors()
    return LoadedDocument(cast(Document, document), source, line, positions), []


_SHAPE = "each document has apiVersion: openslo/v1, kind, metadata and spec"


def _header_problems(data: Mapping[str, Any]) -> list[Problem]:
    problems = []
    api = data.get("apiVersion")
    if api is None and data.get("version") == "prometheus/v1":
        message = "this is a Sloth prometheus/v1 spec, not an OpenSLO document"
        hint = "convert it to OpenSLO with 'launchdeck slo import-sloth FILE'"
        return [Problem(("version",), message, hint)]
    if api is None:
        problems.append(
            Problem((), "apiVersion is required but missing", f"add 'apiVersion: {API_VERSION}'")
        )
    elif api != API_VERSION:
        problems.append(
            Problem(
                ("apiVersion",),
                f"apiVersion {api!r} is not supported: launchdeck reads {API_VERSION}",
                f"write apiVersion: {API_VERSION} (and check the document against OpenSLO v1)",
            )
        )
    kind = data.get("kind")
    if kind is None:
        hint = f"add 'kind:', one of {', '.join(DOCUMENT_KINDS)}"
        problems.append(Problem((), "kind is required but missing", hint))
    elif str(kind) not in DOCUMENT_KINDS:
        same = [name for name in DOCUMENT_KINDS if name.lower() == str(kind).lower()]
        hint = (
            f"did you mean {same[0]!r}? kinds are case-sensitive"
            if same
            else suggest(str(kind), DOCUMENT_KINDS) or f"use one of {', '.join(DOCUMENT_KINDS)}"
        )
        problems.append(Problem(("kind",), f"unknown kind {kind!r}", hint))
    return problems
