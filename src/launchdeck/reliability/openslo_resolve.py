"""Resolve OpenSLO references: each SLO becomes one self-contained document. Pure.

The SLI, alert policies, their conditions and notification targets are inlined, and the one
DataSource the indicator reads is found, so `definition.py` maps a single document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from launchdeck.reliability.openslo import (
    SLI,
    SLO,
    AlertCondition,
    AlertConditionRef,
    AlertNotificationTarget,
    AlertNotificationTargetRef,
    AlertPolicy,
    AlertPolicyRef,
    DataSource,
    SLISpec,
)
from launchdeck.reliability.openslo_objectives import threshold_problems
from launchdeck.reliability.openslo_parse import LoadedDocument
from launchdeck.reliability.openslo_refs import DocumentIndex
from launchdeck.reliability.openslo_sli import metric_sources
from launchdeck.yamlpos import Path

__all__ = ["ResolvedSlo", "resolve"]


@dataclass(frozen=True, slots=True)
class ResolvedSlo:
    """An SLO with its indicator, alert policies, conditions and targets inlined."""

    slo: SLO
    data_source: DataSource | None
    source: str
    line: int


def resolve(documents: Sequence[LoadedDocument]) -> list[ResolvedSlo]:
    """Each SLO with every reference inlined; ConfigError (with where) at a dangling one."""
    index = DocumentIndex(documents)
    resolved = []
    for loaded in documents:
        if isinstance(loaded.document, SLO):
            resolved.append(_resolve_slo(loaded, loaded.document, index))
    return resolved


_D = TypeVar("_D", SLI, AlertPolicy, AlertCondition, AlertNotificationTarget, DataSource)


def _require(
    index: DocumentIndex, loaded: LoadedDocument, path: Path, model: type[_D], name: str
) -> tuple[_D, LoadedDocument]:
    """The `model` document named `name`, and where it is; ConfigError at `path` if none."""
    kind = str(model.model_fields["kind"].default)
    found = index.find(kind, name)
    if found is None:
        raise index.unknown(loaded, path, kind, name)
    assert isinstance(found.document, model)
    return found.document, found


def _resolve_slo(loaded: LoadedDocument, slo: SLO, index: DocumentIndex) -> ResolvedSlo:
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
    spec: SLISpec, owner: LoadedDocument, at: Path, index: DocumentIndex
) -> DataSource | None:
    named = [
        ((*at, *path, "metricSourceRef"), source.metricSourceRef)
        for path, source in metric_sources(spec)
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
    policy: AlertPolicy, owner: LoadedDocument, at: Path, index: DocumentIndex
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
