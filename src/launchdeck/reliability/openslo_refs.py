"""References between OpenSLO documents: an index by kind and name, and the dangling ones. Pure.

An SLO names its SLI, alert policies and data sources; a policy names its conditions and
notification targets. One document cannot check those names, so they are checked here, across
every file given; two documents of one kind with the same name are an error too.
"""

from __future__ import annotations

from collections.abc import Iterable

from launchdeck.errors import ConfigError
from launchdeck.reliability.openslo import (
    DOCUMENT_KINDS,
    SLI,
    SLO,
    AlertConditionRef,
    AlertNotificationTargetRef,
    AlertPolicy,
    AlertPolicyRef,
    SLISpec,
)
from launchdeck.reliability.openslo_objectives import threshold_problems
from launchdeck.reliability.openslo_parse import LoadedDocument
from launchdeck.reliability.openslo_sli import metric_sources
from launchdeck.workspace.validate import suggest
from launchdeck.yamlpos import Path

__all__ = ["DocumentIndex", "indicator_of", "reference_errors"]


class DocumentIndex:
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
        """The `kind` document named `name`, or None."""
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


def reference_errors(loaded: LoadedDocument, index: DocumentIndex) -> list[ConfigError]:
    """Each reference of `loaded` that names no document (unless that one was invalid)."""
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
        if (sli := indicator_of(document, index)) is not None and spec.indicatorRef is not None:
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
    loaded: LoadedDocument, index: DocumentIndex, wanted: Iterable[tuple[Path, str, str]]
) -> list[ConfigError]:
    return [
        index.unknown(loaded, path, kind, name)
        for path, kind, name in wanted
        if index.find(kind, name) is None and (kind, name) not in index.broken
    ]


def _source_refs(spec: SLISpec, at: Path) -> list[tuple[Path, str, str]]:
    return [
        ((*at, *path, "metricSourceRef"), "DataSource", source.metricSourceRef)
        for path, source in metric_sources(spec)
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


def indicator_of(slo: SLO, index: DocumentIndex) -> SLI | None:
    """The SLO's indicator, inline or referenced; None if the reference names no SLI."""
    if slo.spec.indicator is not None:
        return slo.spec.indicator
    found = index.find("SLI", slo.spec.indicatorRef or "")
    return found.document if found is not None and isinstance(found.document, SLI) else None
