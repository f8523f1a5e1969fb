"""Map a stored SLO (a resolved OpenSLO document) onto `SloDefinition` and its alert tiers. Pure.

The document was validated against the OpenSLO models when the workspace was loaded; this is
the one place that knows its shape, so nothing downstream reads OpenSLO field names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from launchdeck.errors import ConfigError
from launchdeck.reliability.burn import AlertTier
from launchdeck.reliability.model import (
    BudgetingMethod,
    Indicator,
    IndicatorKind,
    Objective,
    SloDefinition,
    TimeWindow,
)
from launchdeck.reliability.windows import nominal_length
from launchdeck.workspace.model import Slo

__all__ = ["definition_of", "tiers_of"]


def _query(metric: Mapping[str, Any] | None) -> tuple[str | None, str | None, str | None]:
    """(query, source type, metricSourceRef) of an OpenSLO metric."""
    if not metric:
        return None, None, None
    source = metric.get("metricSource") or {}
    spec = source.get("spec") or {}
    query = spec.get("query") or spec.get("promql") or spec.get("expr")
    return (
        str(query) if query is not None else None,
        source.get("type"),
        source.get("metricSourceRef"),
    )


def _slice_window(value: object) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, int | float):  # OpenSLO: a bare number is minutes
        return timedelta(minutes=float(value))
    return nominal_length(str(value))


def _indicator(
    spec: Mapping[str, Any], datasource: Mapping[str, Any] | None, where: str
) -> Indicator:
    indicator = (spec.get("indicator") or {}).get("spec") or {}
    url = None
    ds_type = None
    if datasource:
        ds_spec = datasource.get("spec") or {}
        ds_type = ds_spec.get("type")
        url = (ds_spec.get("connectionDetails") or {}).get("url")
    if "thresholdMetric" in indicator:
        query, kind_type, _ = _query(indicator["thresholdMetric"])
        return Indicator(
            kind=IndicatorKind.THRESHOLD,
            threshold=query,
            source_type=kind_type or ds_type or "Prometheus",
            source_url=url,
        )
    ratio = indicator.get("ratioMetric")
    if not ratio:
        raise ConfigError("the SLO has no ratioMetric or thresholdMetric indicator", where=where)
    good, t1, _ = _query(ratio.get("good"))
    bad, t2, _ = _query(ratio.get("bad"))
    total, t3, _ = _query(ratio.get("total"))
    raw, t4, _ = _query(ratio.get("raw"))
    source_type = t1 or t2 or t3 or t4 or ds_type or "Prometheus"
    counter = bool(ratio.get("counter", True))
    if raw is not None:
        raw_type = cast(Literal["success", "failure"], ratio.get("rawType") or "success")
        return Indicator(
            kind=IndicatorKind.RAW,
            raw=raw,
            raw_type=raw_type,
            source_type=source_type,
            source_url=url,
            counter=counter,
        )
    kind = IndicatorKind.GOOD_TOTAL if good is not None else IndicatorKind.BAD_TOTAL
    if total is None or (good is None and bad is None):
        raise ConfigError(
            "a ratioMetric needs total and one of good or bad, each with a metricSource.spec.query",
            where=where,
        )
    return Indicator(
        kind=kind,
        good=good,
        bad=bad,
        total=total,
        source_type=source_type,
        source_url=url,
        counter=counter,
    )


def _window(spec: Mapping[str, Any]) -> TimeWindow:
    windows = spec.get("timeWindow") or [{"duration": "28d", "isRolling": True}]
    window = windows[0]
    calendar = window.get("calendar")
    if calendar:
        start = calendar.get("startTime")
        start_at = (
            start if isinstance(start, datetime) else datetime.fromisoformat(str(start))
        ).replace(tzinfo=None)
        return TimeWindow(
            duration=str(window["duration"]),
            rolling=bool(window.get("isRolling", False)),
            calendar_start=start_at,
            timezone=str(calendar.get("timeZone") or "UTC"),
        )
    return TimeWindow(duration=str(window["duration"]), rolling=True)


def _objectives(spec: Mapping[str, Any]) -> tuple[Objective, ...]:
    out = []
    for index, o in enumerate(spec.get("objectives") or ()):
        target = o.get("target")
        if target is None and o.get("targetPercent") is not None:
            target = float(o["targetPercent"]) / 100
        out.append(
            Objective(
                name=str(o.get("displayName") or o.get("name") or f"objective-{index + 1}"),
                target=float(target if target is not None else 0),
                op=o.get("op"),
                value=float(o["value"]) if o.get("value") is not None else None,
                time_slice_target=o.get("timeSliceTarget"),
                time_slice_window=_slice_window(o.get("timeSliceWindow")),
            )
        )
    return tuple(out)


def definition_of(slo: Slo) -> SloDefinition:
    """The computable model of a stored SLO."""
    doc = slo.document
    meta = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    where = slo.file
    labels = {
        str(k): v if isinstance(v, str) else ",".join(map(str, v))
        for k, v in (meta.get("labels") or {}).items()
    }
    return SloDefinition(
        name=slo.id,
        system=slo.system,
        service=str(spec.get("service") or slo.system),
        display_name=str(meta.get("displayName") or slo.id),
        indicator=_indicator(spec, slo.datasource, where),
        window=_window(spec),
        method=BudgetingMethod(spec.get("budgetingMethod") or "Occurrences"),
        objectives=_objectives(spec),
        description=spec.get("description"),
        labels=labels,
    )


def tiers_of(slo: Slo, defaults: Sequence[AlertTier]) -> list[AlertTier]:
    """The SLO's burn-rate alert tiers: its OpenSLO burnrate AlertConditions, else `defaults`.

    A condition's lookbackWindow is the long window (the short one is 1/12 of it) and its
    threshold the burn-rate factor; its severity becomes the tier's.
    """
    tiers = []
    for policy in (slo.document.get("spec") or {}).get("alertPolicies") or ():
        policy_spec = policy.get("spec") or {}
        policy_labels = (policy.get("metadata") or {}).get("labels") or {}
        for index, condition in enumerate(policy_spec.get("conditions") or ()):
            c_spec = condition.get("spec") or {}
            rule = c_spec.get("condition") or {}
            if rule.get("kind") != "burnrate" or rule.get("lookbackWindow") is None:
                continue
            long = nominal_length(str(rule["lookbackWindow"]))
            name = (condition.get("metadata") or {}).get("name") or f"condition-{index + 1}"
            tiers.append(
                AlertTier(
                    name=str(name),
                    long=long,
                    short=long / 12,
                    budget_share=0.0,
                    severity=str(c_spec.get("severity") or "page"),
                    labels={str(k): str(v) for k, v in policy_labels.items() if isinstance(v, str)},
                    factor_override=float(rule.get("threshold", 1)),
                )
            )
    return tiers or _annotated(defaults, (slo.document.get("metadata") or {}).get("annotations"))


def _annotated(
    tiers: Sequence[AlertTier], annotations: Mapping[str, str] | None
) -> list[AlertTier]:
    """Default tiers with an imported Sloth spec's alerting settings applied (see sloth.py):
    `launchdeck.dev/page-alert: disabled` turns the page tiers off, `…alert-label.<key>`
    and `…<severity>-alert-label.<key>` add labels."""
    notes = annotations or {}
    out = []
    for tier in tiers:
        prefix = f"launchdeck.dev/{tier.severity}-alert"
        labels = dict(tier.labels)
        for key, value in sorted(notes.items()):
            for scope in ("launchdeck.dev/alert-label.", f"{prefix}-label."):
                if key.startswith(scope):
                    labels[key.removeprefix(scope)] = value
        enabled = tier.enabled and notes.get(prefix) != "disabled"
        out.append(replace(tier, labels=labels, enabled=enabled))
    return out
