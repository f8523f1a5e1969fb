"""OpenSLO files: load with positions, check references and known traps, resolve, dump.

`load_openslo` reads one file of `---`-separated documents (or one top-level list of them); every
problem names `file:line:column`. `validate_openslo` loads many files and checks what one document
cannot: references between documents and duplicate names (errors), and the spec's traps that are
valid but probably wrong (warnings). `resolve` inlines every reference of each SLO, so
`definition.py` maps one self-contained document. No clock, no network.

This module is the public face; the work is done in `openslo_parse` (text to documents),
`openslo_refs` (references), `openslo_warnings` (traps) and `openslo_resolve`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path as FsPath

import yaml

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.reliability.openslo import SLO, Document
from launchdeck.reliability.openslo_parse import LoadedDocument, parse_documents
from launchdeck.reliability.openslo_refs import DocumentIndex, reference_errors
from launchdeck.reliability.openslo_resolve import ResolvedSlo, resolve
from launchdeck.reliability.openslo_warnings import slo_warnings
from launchdeck.yamlpos import read_source

__all__ = [
    "LoadedDocument",
    "OpenSloReport",
    "ResolvedSlo",
    "dump_openslo",
    "load_openslo",
    "parse_openslo",
    "resolve",
    "validate_openslo",
]


@dataclass(frozen=True, slots=True)
class OpenSloReport:
    """What `validate_openslo` found: documents that loaded, errors and warnings."""

    documents: list[LoadedDocument]
    errors: list[ConfigError]
    warnings: list[ConfigError]

    @property
    def ok(self) -> bool:
        return not self.errors


def load_openslo(path: FsPath | str) -> list[LoadedDocument]:
    """Every document of the OpenSLO file at `path`; ValidationFailed lists all its problems."""
    return parse_openslo(read_source(path, what="OpenSLO file"), source=str(path))


def parse_openslo(text: str, *, source: str) -> list[LoadedDocument]:
    """The documents of one OpenSLO YAML text; `source` names it in every error."""
    documents, errors, _ = parse_documents(text, source=source)
    if errors:
        raise ValidationFailed(errors, source=source)
    return documents


def validate_openslo(paths: Iterable[FsPath | str]) -> OpenSloReport:
    """Load every file, then check references between documents, duplicates and known traps."""
    documents: list[LoadedDocument] = []
    errors: list[ConfigError] = []
    broken: set[tuple[str, str]] = set()
    seen: set[FsPath] = set()
    for path in paths:
        if (resolved := FsPath(path).resolve()) in seen:
            continue  # the same file twice would be reported as duplicates of itself
        seen.add(resolved)
        try:
            text = read_source(path, what="OpenSLO file")
            valid, problems, invalid = parse_documents(text, source=str(path))
        except ConfigError as exc:
            errors.append(exc)
            continue
        documents += valid
        errors += problems
        broken |= invalid
    # A reference to a document that is invalid is not reported again as unknown.
    index = DocumentIndex(documents, broken=broken)
    errors += index.duplicates
    warnings: list[ConfigError] = []
    for loaded in documents:
        errors += reference_errors(loaded, index)
        if isinstance(loaded.document, SLO):
            warnings += slo_warnings(loaded, index)
    return OpenSloReport(documents, errors, warnings)


def dump_openslo(documents: Iterable[Document | LoadedDocument]) -> str:
    """Multi-document OpenSLO YAML that loads back equal: only the fields set, None left out."""
    plain = []
    for item in documents:
        document = item.document if isinstance(item, LoadedDocument) else item
        # Unset rather than default: a `kind: burnrate` or `alertWhenBreaching: true` the author
        # wrote stays in the file, and an omitted default does not appear out of nowhere.
        data = document.model_dump(mode="json", exclude_none=True, exclude_unset=True)
        data.pop("apiVersion", None)
        data.pop("kind", None)
        plain.append({"apiVersion": document.apiVersion, "kind": document.kind, **data})
    return yaml.dump_all(
        plain,
        Dumper=_Dumper,
        explicit_start=True,
        sort_keys=False,
        allow_unicode=True,
        width=1 << 16,
    )


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as the OpenSLO spec's examples are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text_block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A multi-line query reads best as a literal block, as people write it.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text_block)
