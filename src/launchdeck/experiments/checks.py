"""A/A-grade validation of an experiment's implementation: is the split right, is it tracked,
can it answer in time? Pure.

The shell (`service.py`) runs the queries of `sql.py` and hands the results here as
`Observations`; each check reads them and returns pass / warn / fail with the numbers behind
it. The checks, in the order they are shown:

- **sample ratio mismatch**: χ² goodness of fit of exposed units against the configured weights,
  flagged at p < 0.001 (the industry's threshold: SRM is common and usually a bug); when
  flagged, the same test within each value of each dimension (browser, channel, country,
  consent …) locates where the imbalance is.
- **assignment**: units exposed to more than one variant; the bucketing spec recomputed for a
  sample of units disagrees with the variant that was logged.
- **tracking**: metric events from units never exposed; a variant with no metric events on
  days when the others have plenty (a broken tag); exposures before the start or after the end;
  the duplicate-event rate; bot-like units (far more events than the rest).
- **readiness**: under-powered at the current traffic before the experiment ends; peeking at a
  fixed-horizon experiment before its planned sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from launchdeck.experiments.design import Design
from launchdeck.experiments.model import ExperimentSpec, Method
from launchdeck.flags.bucketing import in_coverage, pick_variant
from launchdeck.flags.model import percent_units

__all__ = [
    "Activity",
    "Check",
    "Observations",
    "Status",
    "Validation",
    "bot_threshold",
    "validate",
]

SRM_P = 0.001
MIN_UNITS_PER_CELL = 100
"""A dimension value is tested for SRM only with this many units in it."""
BROKEN_TAG_MIN_EVENTS = 20
"""A day counts against a silent variant when each other variant logged at least this many."""
MULTI_VARIANT_FAIL = 0.01
ASSIGNMENT_FAIL = 0.005
UNEXPOSED_WARN = 0.05
DUPLICATE_WARN = 0.05
BOT_WARN = 0.001
BOT_FACTOR = 10.0
"""A unit with more than this many times the 99th percentile of events per unit is bot-like."""
BOT_FLOOR = 50.0
"""… and never below this many events (a quiet site's p99 is 1 or 2)."""


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    WARN = "warn"
    FAIL = "fail"


class Check(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    status: Status
    summary: str
    facts: dict[str, Any] = Field(default_factory=dict)
    details: list[str] = Field(default_factory=list)


class Validation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    experiment: str
    at: datetime
    status: Status
    checks: list[Check]


@dataclass(frozen=True, slots=True)
class Activity:
    """Events per exposed unit: how many units, the median and 99th percentile, the maximum,
    and how many units are above `threshold`."""

    units: int = 0
    p50: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    threshold: float = 0.0
    over: int = 0


@dataclass(frozen=True, slots=True)
class Observations:
    """What the queries found (sql.py), gathered by the shell."""

    units: Mapping[str, int]
    dimensions: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)
    """dimension → value → variant → units."""
    multi_variant_units: int = 0
    total_units: int = 0
    assignment: Sequence[tuple[str, str]] = ()
    """A sample of (unit, logged variant)."""
    unexposed_events: int = 0
    metric_events: int = 0
    daily_events: Mapping[str, Mapping[date, Mapping[str, int]]] = field(default_factory=dict)
    """metric event → day → variant → events from exposed units."""
    before_start: int = 0
    after_end: int = 0
    duplicates: int = 0
    received: int = 0
    """Events delivered, duplicates included (the duplicate rate's denominator)."""
    activity: Activity = Activity()
    peeks: int = 0
    """Analyses run before the fixed horizon's planned sample was reached."""
    design: Design | None = None


def bot_threshold(p99: float) -> float:
    """Events per unit above which a unit counts as bot-like, from the 99th percentile."""
    return max(BOT_FLOOR, BOT_FACTOR * p99)


def validate(experiment: ExperimentSpec, seen: Observations, *, at: datetime) -> Validation:
    """Every check on `experiment` (see the module doc); the worst status is the verdict."""
    checks = [
        _srm(experiment, seen),
        _multi_variant(seen),
        _assignment(experiment, seen),
        _unexposed(experiment, seen),
        _broken_tag(experiment, seen),
        _window(experiment, seen),
        _duplicates(seen),
        _bots(seen),
        _power(experiment, seen),
        _peeking(experiment, seen),
    ]
    order = [Status.PASS, Status.WARN, Status.FAIL]
    worst = max((c.status for c in checks), key=order.index, default=Status.PASS)
    return Validation(experiment=experiment.key, at=at, status=worst, checks=checks)


def _srm(experiment: ExperimentSpec, seen: Observations) -> Check:
    from launchdeck.stats.srm import srm

    weights = experiment.weight_shares()
    observed = {v: int(seen.units.get(v, 0)) for v in weights}
    total = sum(observed.values())
    if total == 0:
        return Check(name="sample ratio", status=Status.WARN, summary="no exposed units yet")
    result = srm(observed, weights, threshold=SRM_P)
    shares = ", ".join(f"{v} {observed[v]:,} ({observed[v] / total:.2%})" for v in observed)
    expected = ", ".join(f"{v} {w:.2%}" for v, w in weights.items())
    facts = {
        "observed": observed,
        "expected_shares": weights,
        "chi2": result.chi2,
        "p_value": result.p_value,
    }
    if not result.mismatch:
        return Check(
            name="sample ratio",
            status=Status.PASS,
            summary=(
                f"{shares} match the weights (χ² = {result.chi2:.2f}, p = {result.p_value:.3g})"
            ),
            facts=facts,
        )
    details = [
        line
        for dimension, values in sorted(seen.dimensions.items())
        for line in _locate(dimension, values, weights, observed)
    ]
    return Check(
        name="sample ratio",
        status=Status.FAIL,
        summary=(
            f"SAMPLE RATIO MISMATCH: {shares}; expected {expected} "
            f"(χ² = {result.chi2:.1f}, p = {result.p_value:.2g} < {SRM_P}). "
            "Results are not trustworthy until the cause is found"
        ),
        facts=facts,
        details=details
        or ["no single dimension value explains it: check redirects, caching, bots"],
    )


def _locate(
    dimension: str,
    values: Mapping[str, Mapping[str, int]],
    weights: Mapping[str, float],
    overall: Mapping[str, int],
) -> list[str]:
    """Where a mismatch sits within one dimension: nothing when the split is the same in every
    value (χ² test of homogeneity, values with enough units); else the values whose own split
    is off, most deviant first, with each variant's share there against its share overall."""
    from launchdeck.stats.srm import homogeneity, srm

    cells = {
        value: {v: int(counts.get(v, 0)) for v in weights}
        for value, counts in values.items()
        if sum(counts.get(v, 0) for v in weights) >= MIN_UNITS_PER_CELL
    }
    if len(cells) < 2:
        return []
    _, p_value = homogeneity(cells)
    if p_value >= SRM_P:
        return []
    total = sum(overall.values()) or 1
    found = []
    for value, cell in cells.items():
        inner = srm(cell, weights, threshold=SRM_P)
        if inner.mismatch:
            units = sum(cell.values())
            here = ", ".join(f"{v} {cell[v]:,} ({cell[v] / units:.1%})" for v in weights)
            there = ", ".join(f"{v} {overall.get(v, 0) / total:.1%}" for v in weights)
            found.append(
                (
                    inner.p_value,
                    f"{dimension}={value}: {here}; overall {there}; p = {inner.p_value:.2g}",
                )
            )
    return [f"{line} — look here first" for _, line in sorted(found)]


def _multi_variant(seen: Observations) -> Check:
    share = seen.multi_variant_units / seen.total_units if seen.total_units else 0.0
    facts = {"units": seen.multi_variant_units, "share": share}
    if seen.multi_variant_units == 0:
        return Check(
            name="one variant per unit",
            status=Status.PASS,
            summary="no unit saw two variants",
            facts=facts,
        )
    status = Status.FAIL if share > MULTI_VARIANT_FAIL else Status.WARN
    return Check(
        name="one variant per unit",
        status=status,
        summary=(
            f"{seen.multi_variant_units:,} units ({share:.2%}) saw more than one variant; they are "
            "left out of the analysis (a changed salt or weights, or ids that differ by device)"
        ),
        facts=facts,
    )


def _assignment(experiment: ExperimentSpec, seen: Observations) -> Check:
    if not seen.assignment:
        return Check(name="assignment", status=Status.PASS, summary="no units to recompute yet")
    names = list(experiment.variants)
    weights = [percent_units(w) for w in experiment.variants.values()]
    coverage = percent_units(experiment.coverage)
    wrong = outside = 0
    examples: list[str] = []
    for unit, logged in seen.assignment:
        if not in_coverage(experiment.key, unit, coverage):
            outside += 1
            continue
        expected = pick_variant(experiment.key, unit, names, weights)
        if expected != logged:
            wrong += 1
            if len(examples) < 3:
                examples.append(f"unit {unit!r}: logged {logged!r}, bucketing gives {expected!r}")
    sample = len(seen.assignment)
    share = (wrong + outside) / sample
    facts = {"sample": sample, "mismatched": wrong, "outside_coverage": outside, "share": share}
    if wrong == outside == 0:
        return Check(
            name="assignment",
            status=Status.PASS,
            summary=f"all {sample:,} sampled units got the variant the bucketing spec gives",
            facts=facts,
        )
    return Check(
        name="assignment",
        status=Status.FAIL if share > ASSIGNMENT_FAIL else Status.WARN,
        summary=(
            f"{wrong:,} of {sample:,} sampled units logged another variant than the bucketing "
            f"spec gives, {outside:,} were outside the coverage ({share:.2%}): exposures are "
            "logged by something other than the flag, or with another unit id"
        ),
        facts=facts,
        details=examples,
    )


def _unexposed(experiment: ExperimentSpec, seen: Observations) -> Check:
    share = seen.unexposed_events / seen.metric_events if seen.metric_events else 0.0
    allowed = UNEXPOSED_WARN + (1 - experiment.coverage / 100)
    facts = {"events": seen.unexposed_events, "of": seen.metric_events, "share": share}
    status = Status.WARN if share > allowed else Status.PASS
    return Check(
        name="conversions from unexposed units",
        status=status,
        summary=(
            f"{seen.unexposed_events:,} of {seen.metric_events:,} metric events ({share:.1%}) "
            "come from units never exposed"
            + (
                ": are conversions tracked with the same unit id as the flag?"
                if status is Status.WARN
                else ""
            )
        ),
        facts=facts,
    )


def _broken_tag(experiment: ExperimentSpec, seen: Observations) -> Check:
    problems = []
    silent: dict[str, int] = {}
    for event, days in sorted(seen.daily_events.items()):
        totals = {v: sum(day.get(v, 0) for day in days.values()) for v in experiment.variants}
        for variant in experiment.variants:
            others = [t for v, t in totals.items() if v != variant]
            if totals[variant] == 0 and others and max(others) >= BROKEN_TAG_MIN_EVENTS:
                problems.append(
                    f"{variant!r} logged no {event!r} events at all; the others logged "
                    f"{', '.join(f'{v} {t:,}' for v, t in totals.items() if v != variant)}"
                )
                silent[f"{event}:{variant}"] = len(days)
                continue
            quiet = sorted(
                day
                for day, counts in days.items()
                if counts.get(variant, 0) == 0
                and any(
                    counts.get(v, 0) >= BROKEN_TAG_MIN_EVENTS
                    for v in experiment.variants
                    if v != variant
                )
            )
            if quiet:
                silent[f"{event}:{variant}"] = len(quiet)
                problems.append(
                    f"{variant!r} logged no {event!r} events on {len(quiet)} day(s) from "
                    f"{quiet[0].isoformat()} while the others logged plenty"
                )
    if not problems:
        return Check(
            name="tracking by variant",
            status=Status.PASS,
            summary="every variant logs metric events every day the others do",
        )
    return Check(
        name="tracking by variant",
        status=Status.FAIL,
        summary="BROKEN TRACKING: " + problems[0],
        facts={"silent": silent},
        details=problems,
    )


def _window(experiment: ExperimentSpec, seen: Observations) -> Check:
    facts = {"before_start": seen.before_start, "after_end": seen.after_end}
    if experiment.start is None and experiment.end is None:
        return Check(
            name="exposure window", status=Status.PASS, summary="no start or end set", facts=facts
        )
    if seen.before_start == seen.after_end == 0:
        return Check(
            name="exposure window",
            status=Status.PASS,
            summary="no exposures before the start or after the end",
            facts=facts,
        )
    return Check(
        name="exposure window",
        status=Status.WARN,
        summary=(
            f"{seen.before_start:,} exposures before the start and {seen.after_end:,} after the "
            "end (not analysed): the flag serves the split outside the experiment's window"
        ),
        facts=facts,
    )


def _duplicates(seen: Observations) -> Check:
    rate = seen.duplicates / seen.received if seen.received else 0.0
    facts = {"duplicates": seen.duplicates, "received": seen.received, "rate": rate}
    return Check(
        name="duplicate events",
        status=Status.WARN if rate > DUPLICATE_WARN else Status.PASS,
        summary=(
            f"{seen.duplicates:,} of {seen.received:,} delivered events were duplicates "
            f"({rate:.1%}), counted once"
            + ("; a tag may fire twice" if rate > DUPLICATE_WARN else "")
        ),
        facts=facts,
    )


def _bots(seen: Observations) -> Check:
    a = seen.activity
    share = a.over / a.units if a.units else 0.0
    facts = {
        "units": a.units,
        "p50": a.p50,
        "p99": a.p99,
        "max": a.max,
        "threshold": a.threshold,
        "over": a.over,
    }
    status = Status.WARN if share > BOT_WARN else Status.PASS
    return Check(
        name="bot-like units",
        status=status,
        summary=(
            f"{a.over:,} units above {a.threshold:,.0f} events (median {a.p50:g}, p99 {a.p99:g}, "
            f"max {a.max:,.0f})"
            + ("; filter bots before trusting revenue" if status is Status.WARN else "")
        ),
        facts=facts,
    )


def _power(experiment: ExperimentSpec, seen: Observations) -> Check:
    plan = seen.design
    if plan is None:
        return Check(name="power", status=Status.PASS, summary="no plan to compare with yet")
    have = min(seen.units.get(v, 0) for v in experiment.variants)
    facts = {"units_per_arm": have, "needed_per_arm": plan.n_per_arm, "feasible": plan.feasible}
    if have >= plan.n_per_arm:
        return Check(
            name="power",
            status=Status.PASS,
            summary=f"{have:,} units in the smallest arm: the planned {plan.n_per_arm:,} reached",
            facts=facts,
        )
    if plan.feasible is False:
        return Check(
            name="power",
            status=Status.WARN,
            summary=(
                f"UNDER-POWERED: {have:,} of {plan.n_per_arm:,} units per arm, and at the current "
                f"traffic the end comes first; detectable by then: "
                + (f"{plan.reachable_mde:.1%}" if plan.reachable_mde else "no realistic lift")
                + f" (planned {plan.mde:.1%})"
            ),
            facts=facts,
            details=plan.summary,
        )
    return Check(
        name="power",
        status=Status.PASS,
        summary=f"{have:,} of {plan.n_per_arm:,} units per arm so far; on track",
        facts=facts,
    )


def _peeking(experiment: ExperimentSpec, seen: Observations) -> Check:
    facts = {"early_analyses": seen.peeks, "method": str(experiment.analysis.method)}
    if experiment.analysis.method is Method.SEQUENTIAL:
        return Check(
            name="peeking",
            status=Status.PASS,
            summary="sequential testing: looking at any time keeps the error rate",
            facts=facts,
        )
    if seen.peeks <= 1:
        return Check(name="peeking", status=Status.PASS, summary="no early looks", facts=facts)
    return Check(
        name="peeking",
        status=Status.WARN,
        summary=(
            f"PEEKING: analysed {seen.peeks} times before the planned sample with a fixed-horizon "
            "method; stopping on an early look inflates false positives — use `method: "
            "sequential` or wait"
        ),
        facts=facts,
    )
