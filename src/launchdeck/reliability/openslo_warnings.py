"""OpenSLO traps: documents the spec accepts that probably do not say what their author meant. Pure.

Each is a warning, located like an error, with what was likely meant: `30m` (minutes) for a
month, a window shorter than a day, `targetPercent: 0.99`, a target below one half, an
availability threshold that counts a step as good while it is low (or latency while it is high),
time-slice fields with budgetingMethod Occurrences, and an SLO of an unknown Service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from launchdeck.errors import ConfigError
from launchdeck.reliability.model import BudgetingMethod
from launchdeck.reliability.openslo import SLI, SLO
from launchdeck.reliability.openslo_parse import LoadedDocument
from launchdeck.reliability.openslo_refs import DocumentIndex, indicator_of
from launchdeck.reliability.openslo_sli import metric_sources
from launchdeck.reliability.openslo_types import split_duration
from launchdeck.workspace.validate import suggest
from launchdeck.yamlpos import Path

__all__ = ["slo_warnings"]

_AVAILABILITY = re.compile(r"availab|success|uptime", re.IGNORECASE)
_LATENCY = re.compile(r"latency|duration|seconds|_ms|time", re.IGNORECASE)


def slo_warnings(loaded: LoadedDocument, index: DocumentIndex) -> list[ConfigError]:
    """The traps of one loaded SLO, located: valid OpenSLO that probably means something else."""
    assert isinstance(loaded.document, SLO)
    slo = loaded.document
    warnings = _window_warnings(loaded, slo)
    services = index.by_kind["Service"]
    if services and slo.spec.service not in services:
        hint = suggest(slo.spec.service, services) or "define a Service of that name"
        message = f"service {slo.spec.service!r} is not one of the Service documents given"
        warnings.append(loaded.error(("spec", "service"), message, hint))
    sli = indicator_of(slo, index)
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
    queries = " ".join(_strings(source.spec) for _, source in metric_sources(sli.spec))
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
