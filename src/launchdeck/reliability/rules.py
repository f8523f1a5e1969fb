"""Prometheus recording and alerting rules from the same SLO model the evaluator uses. Pure.

Metric names and labels are Sloth's (`slo:sli_error:ratio_rate5m`, `slo:objective:ratio`,
`slo:period_error_budget_remaining:ratio`, `sloth_id`, `sloth_service`, `sloth_slo`,
`sloth_window` …), so dashboards built for Sloth keep working. Where Sloth averages 5-minute
ratios over the period, these rules stay event-weighted for Occurrences: the period's error
ratio is the SLI's own queries over the whole period (as Pyrra records it). Timeslices count
bad slices and RatioTimeslices average slice ratios, as the methods define.

A protected campaign window raises `slo:objective:ratio` while it lasts (a `time()` switch),
and the alerts compare against `slo:error_budget:ratio`, so they tighten with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import yaml

from launchdeck.reliability.budget import TargetSpan
from launchdeck.reliability.burn import AlertTier
from launchdeck.reliability.model import (
    BudgetingMethod,
    IndicatorKind,
    Objective,
    SloDefinition,
)
from launchdeck.reliability.promql import format_duration, with_window
from launchdeck.reliability.windows import nominal_length

__all__ = ["RuleSet", "generate_rules", "objective_id", "rules_yaml"]

_INVERSE_OP = {"lt": ">=", "lte": ">", "gt": "<=", "gte": "<"}


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules for one SLO objective: the input to `rules_yaml`."""

    definition: SloDefinition
    objective: Objective
    tiers: Sequence[AlertTier]
    min_events: float = 0
    spans: Sequence[TargetSpan] = ()


def objective_id(definition: SloDefinition, objective: Objective) -> str:
    """`sloth_id`: the SLO name, plus the objective's slug when the SLO has several."""
    if len(definition.objectives) == 1:
        return definition.name
    slug = re.sub(r"[^a-z0-9]+", "-", objective.name.lower()).strip("-") or "objective"
    return f"{definition.name}-{slug}"


def _labels(rules: RuleSet) -> dict[str, str]:
    return {
        "sloth_id": objective_id(rules.definition, rules.objective),
        "sloth_service": rules.definition.service,
        "sloth_slo": rules.definition.name,
    }


def _selector(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _error_ratio(definition: SloDefinition, objective: Objective, window: timedelta) -> str:
    ind = definition.indicator

    def q(query: str | None) -> str:
        assert query is not None  # the definition guarantees the queries of its kind
        return f"({with_window(query, window)})"

    if ind.kind is IndicatorKind.GOOD_TOTAL:
        return f"1 - ({q(ind.good)} / {q(ind.total)})"
    if ind.kind is IndicatorKind.BAD_TOTAL:
        return f"{q(ind.bad)} / {q(ind.total)}"
    if ind.kind is IndicatorKind.RAW:
        return q(ind.raw) if ind.raw_type == "failure" else f"1 - {q(ind.raw)}"
    assert objective.op is not None and objective.value is not None
    return f"{q(ind.threshold)} {_INVERSE_OP[objective.op]} bool {objective.value!r}"


def _windows(rules: RuleSet) -> list[timedelta]:
    windows = {timedelta(minutes=5)}
    for tier in rules.tiers:
        if tier.enabled:
            windows |= {tier.long, tier.short}
    if rules.objective.time_slice_window is not None:
        windows.add(rules.objective.time_slice_window)
    return sorted(windows)


def _period_error_ratio(rules: RuleSet, period: timedelta, sel: str) -> str:
    d, o = rules.definition, rules.objective
    p = format_duration(period)
    event_kinds = (IndicatorKind.GOOD_TOTAL, IndicatorKind.BAD_TOTAL)
    if d.method is BudgetingMethod.OCCURRENCES and d.indicator.kind in event_kinds:
        return _error_ratio(d, o, period)
    slice_len = o.time_slice_window or timedelta(minutes=5)
    s = format_duration(slice_len)
    if d.method is BudgetingMethod.TIMESLICES:
        # Rounded as the evaluator rounds allowances: 1 - 0.9 is 0.09999999999999998 in floats.
        # The SLI side errs too (1 - 570/600 is 0.050000000000000044), so a slice exactly at its
        # target would count as bad: the margin of 1e-12 keeps it good, as the evaluator does.
        target = o.time_slice_target if o.time_slice_target is not None else 1.0
        bad_above = round(round(1 - target, 12) + 1e-12, 13)
        return f"avg_over_time((slo:sli_error:ratio_rate{s}{sel} > bool {bad_above!r})[{p}:{s}])"
    return f"avg_over_time(slo:sli_error:ratio_rate{s}{sel}[{p}:{s}])"


def _objective_expr(rules: RuleSet) -> str:
    base = f"vector({rules.objective.target!r})"
    spans = sorted(rules.spans, key=lambda span: -span.target)
    parts = [
        f"(vector({span.target!r}) and on() (vector(time()) >= {span.start.timestamp():.0f} "
        f"< {span.end.timestamp():.0f}))"
        for span in spans
        if span.target > rules.objective.target
    ]
    return " or on() ".join([*parts, base])


def _events_guard(rules: RuleSet, tier: AlertTier) -> str | None:
    ind = rules.definition.indicator
    if rules.min_events <= 0 or ind.total is None:
        return None
    seconds = int(tier.long.total_seconds())
    total = with_window(ind.total, tier.long)
    return f"(({total}) * {seconds} >= {rules.min_events!r})"


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _groups(rules: RuleSet) -> list[dict[str, Any]]:
    d = rules.definition
    labels = _labels(rules)
    sel = _selector({"sloth_id": labels["sloth_id"]})
    period = nominal_length(d.window.duration)
    p = format_duration(period)
    on = "on(sloth_id, sloth_service, sloth_slo)"
    sli = [
        {
            "record": f"slo:sli_error:ratio_rate{format_duration(w)}",
            "expr": _error_ratio(d, rules.objective, w),
            "labels": {**labels, "sloth_window": format_duration(w)},
        }
        for w in _windows(rules)
    ]
    sli.append(
        {
            "record": f"slo:sli_error:ratio_rate{p}",
            "expr": _period_error_ratio(rules, period, sel),
            "labels": {**labels, "sloth_window": p},
        }
    )
    meta = [
        {"record": "slo:objective:ratio", "expr": _objective_expr(rules), "labels": labels},
        {
            "record": "slo:error_budget:ratio",
            "expr": f"1 - slo:objective:ratio{sel}",
            "labels": labels,
        },
        {"record": "slo:time_period:days", "expr": f"vector({period.days})", "labels": labels},
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate5m{sel} / {on} group_left() "
            f"slo:error_budget:ratio{sel}",
            "labels": labels,
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate{p}{sel} / {on} group_left() "
            f"slo:error_budget:ratio{sel}",
            "labels": labels,
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{sel}",
            "labels": labels,
        },
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {
                **labels,
                "sloth_mode": "launchdeck",
                "sloth_objective": f"{rules.objective.target * 100:g}",
                "sloth_spec": "openslo/v1",
            },
        },
    ]
    alerts = []
    for tier in rules.tiers:
        if not tier.enabled:
            continue
        factor = tier.factor(period)
        conditions = [
            f"max(slo:sli_error:ratio_rate{format_duration(w)}{sel} > {on} group_left() "
            f"({factor:.6g} * slo:error_budget:ratio{sel})) without (sloth_window)"
            for w in (tier.long, tier.short)
        ]
        expr = f"(\n  {conditions[0]}\nand {on}\n  {conditions[1]}\n)"
        if (guard := _events_guard(rules, tier)) is not None:
            expr += f"\nand on() {guard}"
        alerts.append(
            {
                "alert": f"{_camel(labels['sloth_id'])}BurnRate{_camel(tier.name)}",
                "expr": expr,
                "labels": {
                    **d.labels,
                    **labels,
                    "severity": tier.severity,
                    "sloth_severity": tier.severity,
                    "tier": tier.name,
                    **tier.labels,
                },
                "annotations": {
                    "title": f"{d.display_name}: error budget burning {factor:.4g}x too fast",
                    "summary": (
                        f"{d.display_name} ({labels['sloth_id']}) is burning its {p} error "
                        f"budget faster than {factor:.4g}x over {format_duration(tier.long)} "
                        f"and {format_duration(tier.short)}"
                    ),
                },
            }
        )
    sloth_id = labels["sloth_id"]
    groups = [
        {"name": f"sloth-slo-sli-recordings-{sloth_id}", "rules": sli},
        {"name": f"sloth-slo-meta-recordings-{sloth_id}", "rules": meta},
    ]
    if alerts:
        groups.append({"name": f"sloth-slo-alerts-{sloth_id}", "rules": alerts})
    return groups


def generate_rules(rule_sets: Sequence[RuleSet]) -> dict[str, Any]:
    """A Prometheus rule file (as data): three groups per SLO objective, Sloth's layout."""
    return {"groups": [group for rules in rule_sets for group in _groups(rules)]}


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # label maps are shared objects; a rule file reads better without &id001


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def rules_yaml(rule_sets: Sequence[RuleSet]) -> str:
    """The rule file as YAML, ready for `promtool check rules` and Prometheus's rule_files."""
    header = "# Generated by launchdeck from OpenSLO definitions; edit the SLOs, not this file.\n"
    return header + yaml.dump(generate_rules(rule_sets), Dumper=_Dumper, sort_keys=False, width=120)
