"""OpenSLO files: load with positions, check references and known traps, resolve, dump.

`load_openslo` reads one file of `---`-separated documents (or one top-level list of them); every
problem names `file:line:column`. `validate_openslo` loads many files and checks what one document
cannot: references between documents and duplicate names (errors), and the spec's traps that are
valid but probably wrong (warnings). `resolve` inlines every reference of each SLO, so
`definition.py` maps one self-contained document. No clock, no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, TypeVar, cast

import yaml
from pydantic import ValidationError

from launchdeck.errors import ConfigError, ValidationFailed
from launchdeck.reliability.model import BudgetingMethod
from launchdeck.reliability.openslo import (
    API_VERSION,
    DOCUMENT_KINDS,
    SLI,
    SLO,
    UNION_TAGS,
    AlertCondition,
    AlertConditionRef,
    AlertNotificationTarget,
    AlertNotificationTargetRef,
    AlertPolicy,
    AlertPolicyRef,
    DataSource,
    Document,
    MetricSource,
    SLISpec,
    split_duration,
    threshold_problems,
)
from launchdeck.workspace.validate import suggest
from launchdeck.yamlpos import (
    Path,
    Positions,
    Problem,
    field_name,
    mark_of,
    open_loader,
    problem_error,
    schema_problems,
    syntax_error,
    walk,
    without_echoes,
)

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


@dataclass(frozen=True, slots=True)
class OpenSloReport:
    """What `validate_openslo` found: documents that loaded, errors and warnings."""

    documents: list[LoadedDocument]
    errors: list[ConfigError]
    warnings: list[ConfigError]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class ResolvedSlo:
    """An SLO with its indicator, alert policies, conditions and targets inlined."""

    slo: SLO
    data_source: DataSource | None
    source: str
    line: int


def load_openslo(path: FsPath | str) -> list[LoadedDocument]:
    """Every document of the OpenSLO file at `path`; ValidationFailed lists all its problems."""
    return parse_openslo(_read(path), source=str(path))


def _read(path: FsPath | str) -> str:
    try:
        return FsPath(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such OpenSLO file", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the OpenSLO file: {exc}", where=str(path)) from exc


def parse_openslo(text: str, *, source: str) -> list[LoadedDocument]:
    """The documents of one OpenSLO YAML text; `source` names it in every error."""
    documents, errors, _ = _parse(text, source=source)
    if errors:
        raise ValidationFailed(errors, source=source)
    return documents


def _parse(
    text: str, *, source: str
) -> tuple[list[LoadedDocument], list[ConfigError], set[tuple[str, str]]]:
    """The valid documents, the problems of the others, and the (kind, name) of those."""
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
            valid, problems, invalid = _parse(_read(path), source=str(path))
        except ConfigError as exc:
            errors.append(exc)
            continue
        documents += valid
        errors += problems
        broken |= invalid
    # A reference to a document that is invalid is not reported again as unknown.
    index = _Index(documents, broken=broken)
    errors += index.duplicates
    warnings: list[ConfigError] = []
    for loaded in documents:
        errors += _reference_errors(loaded, index)
        if isinstance(loaded.document, SLO):
            warnings += _slo_warnings(loaded, index)
    return OpenSloReport(documents, errors, warnings)


class _Index:
    """Documents by kind and name; the first of duplicates wins."""

    def __init__(
        self, documents: Iterable[LoadedDocument], *, broken: Iterable[tuple[str, str]] = ()
    ) -> None:
        self.by_kind: dict[str, dict[str, LoadedDocument]] = {kind: {} for kind in DOCUMENT_KINDS}
        self.broken = frozenset(broken)
        self.duplicates: list[ConfigError] = []
        for loaded in documents:
            first = self.by_kind[loaded.kind].setdefault(loaded.name, loaded)
            if first is not loaded:
                self.duplicates.append(
                    loaded.error(
                        ("metadata", "name"),
                        f"duplicate {loaded.kind} {loaded.name!r} (first at {first.where()})",
                        "names are unique per kind: rename one or remove it",
                    )
                )

    def find(self, kind: str, name: str) -> LoadedDocument | None:
        return self.by_kind[kind].get(name)

    def unknown(self, loaded: LoadedDocument, path: Path, kind: str, name: str) -> ConfigError:
        """The error for a reference to a `kind` named `name` that none of the files defines."""
        others = [other for other, docs in self.by_kind.items() if name in docs]
        hint = (
            suggest(name, self.by_kind[kind])
            or (
                f"{name!r} is {_article(others[0])} {others[0]}, not {_article(kind)} {kind}"
                if others
                else None
            )
            or f"define {_article(kind)} {kind} named {name!r} in one of the files given"
        )
        return loaded.error(path, f"unknown {kind} {name!r}", hint)


def _article(kind: str) -> str:
    return "an" if kind[0] in "AEIOU" or kind in ("SLO", "SLI") else "a"


def _metric_sources(spec: SLISpec) -> Iterator[tuple[Path, MetricSource]]:
    if spec.thresholdMetric is not None:
        yield ("thresholdMetric", "metricSource"), spec.thresholdMetric.metricSource
    if spec.ratioMetric is not None:
        for part in ("good", "bad", "total", "raw"):
            if (metric := getattr(spec.ratioMetric, part)) is not None:
                yield ("ratioMetric", part, "metricSource"), metric.metricSource


def _reference_errors(loaded: LoadedDocument, index: _Index) -> list[ConfigError]:
    wanted: list[tuple[Path, str, str]] = []  # (path, kind, name)
    document = loaded.document
    if isinstance(document, SLO):
        spec = document.spec
        if spec.indicatorRef is not None:
            wanted.append((("spec", "indicatorRef"), "SLI", spec.indicatorRef))
        else:
            assert spec.indicator is not None
            wanted += _source_refs(spec.indicator.spec, ("spec", "indicator", "spec"))
        for i, item in enumerate(spec.alertPolicies):
            at = ("spec", "alertPolicies", i)
            if isinstance(item, AlertPolicyRef):
                wanted.append(((*at, "alertPolicyRef"), "AlertPolicy", item.alertPolicyRef))
            else:
                wanted += _policy_refs(item, at)
        if (sli := _indicator(document, index)) is not None and spec.indicatorRef is not None:
            problems = threshold_problems(sli.spec, spec.objectives)
            return _missing(loaded, index, wanted) + [
                loaded.error(("spec", *rel), message, hint) for rel, message, hint in problems
            ]
    elif isinstance(document, SLI):
        wanted += _source_refs(document.spec, ("spec",))
    elif isinstance(document, AlertPolicy):
        wanted += _policy_refs(document, ())
    return _missing(loaded, index, wanted)


def _missing(
    loaded: LoadedDocument, index: _Index, wanted: Iterable[tuple[Path, str, str]]
) -> list[ConfigError]:
    return [
        index.unknown(loaded, path, kind, name)
        for path, kind, name in wanted
        if index.find(kind, name) is None and (kind, name) not in index.broken
    ]


def _source_refs(spec: SLISpec, at: Path) -> list[tuple[Path, str, str]]:
    return [
        ((*at, *path, "metricSourceRef"), "DataSource", source.metricSourceRef)
        for path, source in _metric_sources(spec)
        if source.metricSourceRef is not None
    ]


def _policy_refs(policy: AlertPolicy, at: Path) -> list[tuple[Path, str, str]]:
    wanted: list[tuple[Path, str, str]] = [
        ((*at, "spec", "conditions", i, "conditionRef"), "AlertCondition", item.conditionRef)
        for i, item in enumerate(policy.spec.conditions)
        if isinstance(item, AlertConditionRef)
    ]
    wanted += [
        (
            (*at, "spec", "notificationTargets", i, "targetRef"),
            "AlertNotificationTarget",
            item.targetRef,
        )
        for i, item in enumerate(policy.spec.notificationTargets)
        if isinstance(item, AlertNotificationTargetRef)
    ]
    return wanted


def _indicator(slo: SLO, index: _Index) -> SLI | None:
    if slo.spec.indicator is not None:
        return slo.spec.indicator
    found = index.find("SLI", slo.spec.indicatorRef or "")
    return found.document if found is not None and isinstance(found.document, SLI) else None


_AVAILABILITY = re.compile(r"availab|success|uptime", re.IGNORECASE)
_LATENCY = re.compile(r"latency|duration|seconds|_ms|time", re.IGNORECASE)


def _slo_warnings(loaded: LoadedDocument, index: _Index) -> list[ConfigError]:
    assert isinstance(loaded.document, SLO)
    slo = loaded.document
    warnings = _window_warnings(loaded, slo)
    services = index.by_kind["Service"]
    if services and slo.spec.service not in services:
        hint = suggest(slo.spec.service, services) or "define a Service of that name"
        message = f"service {slo.spec.service!r} is not one of the Service documents given"
        warnings.append(loaded.error(("spec", "service"), message, hint))
    sli = _indicator(slo, index)
    if sli is not None and sli.spec.thresholdMetric is not None and slo.spec.objectives:
        warnings += _op_warnings(loaded, slo, sli)
    for i, objective in enumerate(slo.spec.objectives):
        at = ("spec", "objectives", i)
        if slo.spec.budgetingMethod is BudgetingMethod.OCCURRENCES:
            for name in ("timeSliceTarget", "timeSliceWindow"):
                if getattr(objective, name) is not None:
                    warnings.append(
                        loaded.error(
                            (*at, name),
                            f"{name} is ignored with budgetingMethod Occurrences",
                            "set budgetingMethod: Timeslices to count good time slices, "
                            f"or remove {name}",
                        )
                    )
        warnings += _target_warnings(loaded, at, objective.target, objective.targetPercent)
    return warnings


def _window_warnings(loaded: LoadedDocument, slo: SLO) -> list[ConfigError]:
    duration = slo.spec.window.duration
    count, unit = split_duration(duration)
    path = ("spec", "timeWindow", 0, "duration")
    if unit == "m" and count < 24 * 60:
        return [
            loaded.error(
                path,
                f"a {duration} window means {_count(count, 'minute')}, "
                f"not {_count(count, 'month')}",
                f"write {count}M for {'a month' if count == 1 else _count(count, 'month')}",
            )
        ]
    if unit == "h" and count < 24:
        return [
            loaded.error(
                path,
                f"a {duration} window is shorter than a day: its error budget is gone "
                "before anyone can act on it",
                "SLO windows are usually 28d, 30d, 4w or 1M",
            )
        ]
    return []


def _count(count: int, unit: str) -> str:
    return f"one {unit}" if count == 1 else f"{count} {unit}s"


def _op_warnings(loaded: LoadedDocument, slo: SLO, sli: SLI) -> list[ConfigError]:
    objective = slo.spec.objectives[0]
    queries = " ".join(_strings(source.spec) for _, source in _metric_sources(sli.spec))
    named = (slo.metadata, sli.metadata)
    names = " ".join(
        [*(f"{m.name} {m.displayName or ''}" for m in named), objective.displayName or ""]
    )
    # What the query reads says more than what the SLO is called. Availability goes first
    # because "uptime" contains "time".
    kind = next(
        (
            kind
            for text in (queries, names)
            for kind, pattern in (("availability", _AVAILABILITY), ("latency", _LATENCY))
            if pattern.search(text)
        ),
        None,
    )
    path = ("spec", "objectives", 0, "op")
    if kind == "availability" and objective.op in ("lt", "lte"):
        return [
            loaded.error(
                path,
                f"op: {objective.op} on an availability-like indicator counts a step as good "
                f"when it is below {objective.value}: this may invert the objective",
                "use gt or gte: good while availability stays above the value",
            )
        ]
    if kind == "latency" and objective.op in ("gt", "gte"):
        return [
            loaded.error(
                path,
                f"op: {objective.op} on a latency-like indicator counts a step as good when it "
                f"is above {objective.value}: this may invert the objective",
                "use lt or lte: good while latency stays below the value",
            )
        ]
    return []


def _strings(value: object) -> str:
    if isinstance(value, Mapping):
        return " ".join(_strings(item) for item in value.values())
    if isinstance(value, list | tuple):
        return " ".join(_strings(item) for item in value)
    return value if isinstance(value, str) else ""


def _target_warnings(
    loaded: LoadedDocument, at: Path, target: float | None, percent: float | None
) -> list[ConfigError]:
    if target is not None and target < 0.5:
        return [
            loaded.error(
                (*at, "target"),
                f"target {target:g} lets {_text(100 - target * 100)} % of events fail: "
                "it looks inverted",
                f"did you mean target: {_text(1 - target)}?",
            )
        ]
    if percent is not None and 0 < percent < 1:
        return [
            loaded.error(
                (*at, "targetPercent"),
                f"targetPercent {percent:g} means {percent:g} %, not {_text(percent * 100)} %",
                f"write target: {percent:g} (or targetPercent: {_text(percent * 100)})",
            )
        ]
    if percent is not None and percent < 50:
        return [
            loaded.error(
                (*at, "targetPercent"),
                f"targetPercent {percent:g} lets {_text(100 - percent)} % of events fail: "
                "it looks inverted",
                f"did you mean targetPercent: {_text(100 - percent)}?",
            )
        ]
    return []


def _text(number: float) -> str:
    return f"{number:.10g}"


def resolve(documents: Sequence[LoadedDocument]) -> list[ResolvedSlo]:
    """Each SLO with every reference inlined; ConfigError (with where) at a dangling one."""
    index = _Index(documents)
    resolved = []
    for loaded in documents:
        if isinstance(loaded.document, SLO):
            resolved.append(_resolve_slo(loaded, loaded.document, index))
    return resolved


_D = TypeVar("_D", SLI, AlertPolicy, AlertCondition, AlertNotificationTarget, DataSource)


def _require(
    index: _Index, loaded: LoadedDocument, path: Path, model: type[_D], name: str
) -> tuple[_D, LoadedDocument]:
    """The `model` document named `name`, and where it is; ConfigError at `path` if none."""
    kind = str(model.model_fields["kind"].default)
    found = index.find(kind, name)
    if found is None:
        raise index.unknown(loaded, path, kind, name)
    assert isinstance(found.document, model)
    return found.document, found


def _resolve_slo(loaded: LoadedDocument, slo: SLO, index: _Index) -> ResolvedSlo:
    spec = slo.spec
    if spec.indicatorRef is not None:
        sli, owner = _require(index, loaded, ("spec", "indicatorRef"), SLI, spec.indicatorRef)
        at: Path = ("spec",)
        for problem_at, message, hint in threshold_problems(sli.spec, spec.objectives):
            raise loaded.error(("spec", *problem_at), message, hint)
    else:
        assert spec.indicator is not None
        sli, owner, at = spec.indicator, loaded, ("spec", "indicator", "spec")
    data_source = _data_source(sli.spec, owner, at, index)
    policies = []
    for i, item in enumerate(spec.alertPolicies):
        if isinstance(item, AlertPolicyRef):
            ref_path = ("spec", "alertPolicies", i, "alertPolicyRef")
            policy, where = _require(index, loaded, ref_path, AlertPolicy, item.alertPolicyRef)
            policies.append(_resolve_policy(policy, where, (), index))
        else:
            policies.append(_resolve_policy(item, loaded, ("spec", "alertPolicies", i), index))
    inlined = spec.model_copy(
        update={"indicator": sli, "indicatorRef": None, "alertPolicies": tuple(policies)}
    )
    return ResolvedSlo(
        slo.model_copy(update={"spec": inlined}), data_source, loaded.source, loaded.line
    )


def _data_source(
    spec: SLISpec, owner: LoadedDocument, at: Path, index: _Index
) -> DataSource | None:
    named = [
        ((*at, *path, "metricSourceRef"), source.metricSourceRef)
        for path, source in _metric_sources(spec)
        if source.metricSourceRef is not None
    ]
    if not named:
        return None
    path, name = named[0]
    for other_path, other in named[1:]:
        if other != name:
            raise owner.error(
                other_path,
                f"this indicator reads DataSource {other!r} here and {name!r} elsewhere",
                "launchdeck reads one indicator from one data source: name the same one",
            )
    return _require(index, owner, path, DataSource, name)[0]


def _resolve_policy(
    policy: AlertPolicy, owner: LoadedDocument, at: Path, index: _Index
) -> AlertPolicy:
    conditions = [
        _require(
            index,
            owner,
            (*at, "spec", "conditions", i, "conditionRef"),
            AlertCondition,
            c.conditionRef,
        )[0]
        if isinstance(c, AlertConditionRef)
        else c
        for i, c in enumerate(policy.spec.conditions)
    ]
    kind = AlertNotificationTarget
    targets = [
        _require(
            index, owner, (*at, "spec", "notificationTargets", i, "targetRef"), kind, t.targetRef
        )[0]
        if isinstance(t, AlertNotificationTargetRef)
        else t
        for i, t in enumerate(policy.spec.notificationTargets)
    ]
    spec = policy.spec.model_copy(
        update={"conditions": tuple(conditions), "notificationTargets": tuple(targets)}
    )
    return policy.model_copy(update={"spec": spec})


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
