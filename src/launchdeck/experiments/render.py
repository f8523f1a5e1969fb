"""Rich rendering of experiments: the list, a design (plan), a validation and an analysis.

Renderers never decide: verdicts, statuses and the decision lines come from `analysis`,
`design` and `checks`; this module only lays them out and colours them. Ratios are turned into
percent here, at the border.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from launchdeck.cli.render import fmt_time, table
from launchdeck.experiments.analysis import Analysis, MetricResult, Role, Verdict
from launchdeck.experiments.checks import Status, Validation
from launchdeck.experiments.design import Design
from launchdeck.experiments.model import Correction, Method, MetricType
from launchdeck.experiments.records import ExperimentInfo

__all__ = [
    "fmt_lift",
    "fmt_p",
    "print_analysis",
    "print_design",
    "print_experiment",
    "print_experiments",
    "print_validation",
]


_MARK = {Status.PASS: "[green]✓[/]", Status.WARN: "[yellow]![/]", Status.FAIL: "[red]✗[/]"}
_HEAD = {
    Status.PASS: "[bold green]PASS[/]",
    Status.WARN: "[bold yellow]WARN[/]",
    Status.FAIL: "[bold red]FAIL[/]",
}
_VERDICT = {
    Verdict.BETTER: "[bold green]better[/]",
    Verdict.WORSE: "[bold red]worse[/]",
    Verdict.FLAT: "[yellow]inconclusive[/]",
    Verdict.NO_DATA: "[dim]no data[/]",
}
_STATE = {
    "scheduled": "[cyan]scheduled[/]",
    "running": "[green]running[/]",
    "ended": "[dim]ended[/]",
}
_ROLE_TITLE = {
    Role.PRIMARY: "Primary metric",
    Role.SECONDARY: "Secondary metrics",
    Role.GUARDRAIL: "Guardrails (never corrected)",
}
_CORRECTION = {
    Correction.HOLM: "Holm-corrected",
    Correction.BH: "Benjamini–Hochberg-corrected",
    Correction.NONE: "uncorrected",
}


def fmt_lift(value: float) -> str:
    """A relative change as signed percent with one decimal: 0.041 → "+4.1%"."""
    return f"{value * 100:+.1f}%"


def fmt_p(value: float) -> str:
    """A p-value with three decimals, "<0.001" below that."""
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _value(result: MetricResult, value: float) -> str:
    if result.type is MetricType.BINOMIAL:
        return f"{value * 100:.2f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.4g}"


def _arm(result: MetricResult, mean: float, units: int) -> str:
    if units == 0:
        return "[dim]no units[/]"
    return f"{_value(result, mean)} [dim]n={units:,}[/]"


def print_experiments(out: Console, rows: Sequence[ExperimentInfo]) -> None:
    if not rows:
        out.print("no experiments: define them under `experiments:` in launchdeck.yaml")
        return
    cells = [
        (
            escape(r.key),
            escape(r.flag),
            escape(r.environment),
            _STATE[r.phase],
            fmt_time(r.start),
            fmt_time(r.end),
            escape(r.primary_metric),
        )
        for r in rows
    ]
    out.print(
        table(
            "Experiments",
            ["experiment", "flag", "environment", "status", "start", "end", "primary metric"],
            cells,
        )
    )


def print_design(out: Console, plan: Design) -> None:
    sequential = plan.method is Method.SEQUENTIAL
    units = f"{plan.n_per_arm:,}"
    if sequential:
        units += f" (fixed horizon: {plan.fixed_horizon_n_per_arm:,})"
    feasible = {
        True: "[green]yes[/]",
        False: "[bold red]NO: too short[/]",
        None: "[dim]cannot tell[/]",
    }[plan.feasible]
    rows: list[tuple[str, str]] = [
        ("experiment", escape(plan.experiment)),
        ("method", "sequential (look any time)" if sequential else "fixed horizon (look once)"),
        ("baseline rate", f"{plan.baseline_rate:.2%} ({escape(plan.baseline_source)})"),
        ("minimum detectable effect", f"{plan.mde:.1%} relative"),
        ("α / power", f"{plan.alpha:g} / {plan.power:.0%}"),
        ("arms", str(plan.arms)),
        ("units per arm", units),
        ("total units", f"{plan.total_units:,}"),
        (
            "daily units",
            "-"
            if plan.daily_units is None
            else f"{plan.daily_units:,.0f} ({escape(plan.traffic_source or 'given')})",
        ),
        ("coverage", f"{plan.coverage * 100:g}%"),
        ("days needed", "-" if plan.days_needed is None else str(plan.days_needed)),
        ("starts", fmt_time(plan.starts)),
        ("deadline", fmt_time(plan.deadline) if plan.deadline else "none"),
        (
            "days available",
            "-" if plan.days_available is None else f"{plan.days_available:.1f}",
        ),
        ("feasible", feasible),
    ]
    if plan.reachable_mde is not None:
        rows.append(("reachable by the deadline", f"{plan.reachable_mde:.1%} relative"))
    if plan.power_by_deadline is not None:
        rows.append(("power by the deadline", f"{plan.power_by_deadline:.0%}"))
    out.print(table(f"Plan for {escape(plan.experiment)}", ["", ""], rows, show_header=False))
    for line in plan.summary:
        if line.startswith("TOO SHORT"):
            out.print(f"  [bold red]{escape(line)}[/]")
        elif line.startswith("fits"):
            out.print(f"  [green]{escape(line)}[/]")
        else:
            out.print(f"  {escape(line)}")


def print_validation(out: Console, validation: Validation) -> None:
    counts = {s: sum(c.status is s for c in validation.checks) for s in Status}
    out.print(
        f"{_HEAD[validation.status]} {escape(validation.experiment)}: "
        f"{counts[Status.PASS]} passed, {counts[Status.WARN]} warned, "
        f"{counts[Status.FAIL]} failed (at {fmt_time(validation.at)})"
    )
    for check in validation.checks:
        out.print(f"  {_MARK[check.status]} {escape(check.name)}: {escape(check.summary)}")
        for detail in check.details:
            out.print(f"      {escape(detail)}")


def _verdict(result: MetricResult) -> str:
    if result.role is Role.GUARDRAIL and result.verdict is Verdict.WORSE:
        return "[bold red]BREACHED[/]"
    return _VERDICT[result.verdict]


def _role_table(analysis: Analysis, role: Role, results: Sequence[MetricResult]) -> Table:
    level = f"{(1 - analysis.alpha) * 100:g}%"
    interval = "CS" if analysis.method is Method.SEQUENTIAL else "CI"
    guardrail = role is Role.GUARDRAIL
    bayesian = any(r.chance_to_beat_control is not None for r in results)
    title = _ROLE_TITLE[role]
    if not guardrail:
        title += f", {_CORRECTION[analysis.correction]}"
    out = Table(title=title, title_justify="left", header_style="bold")
    out.add_column("metric")
    out.add_column("variant")
    for name in (f"{analysis.control} (control)", "treatment", f"lift ({level} {interval})", "p"):
        out.add_column(name, justify="right")
    if not guardrail:
        out.add_column("adj. p", justify="right")
    if bayesian:
        out.add_column("P(beat control)", justify="right")
        out.add_column("expected loss", justify="right")
    out.add_column("verdict")
    out.add_column("test", style="dim")
    for r in results:
        empty = r.verdict is Verdict.NO_DATA
        lift = (
            "-"
            if empty
            else f"{fmt_lift(r.relative.estimate)} "
            f"[{fmt_lift(r.relative.low)}, {fmt_lift(r.relative.high)}]"
        )
        cells = [
            escape(r.name),
            escape(r.variant),
            _arm(r, r.control_mean, r.control_units),
            _arm(r, r.treatment_mean, r.treatment_units),
            escape(lift),
            "-" if empty else fmt_p(r.p_value),
        ]
        if not guardrail:
            cells.append("-" if empty else fmt_p(r.adjusted_p_value))
        if bayesian:
            ctb, loss = r.chance_to_beat_control, r.expected_loss
            cells.append("-" if ctb is None else f"{ctb:.1%}")
            cells.append("-" if loss is None else f"{loss * 100:.2f}%")
        cells += [_verdict(r), escape(r.test)]
        out.add_row(*cells)
    return out


def _notes(analysis: Analysis) -> list[str]:
    notes = []
    for r in analysis.results:
        if r.cuped_theta is not None:
            reduction = (
                f", variance {r.variance_reduction * 100:.0f}% lower"
                if r.variance_reduction is not None
                else ""
            )
            notes.append(f"{r.name} · {r.variant}: CUPED θ = {r.cuped_theta:.3g}{reduction}")
    capped = {r.name: r.capped_at for r in analysis.results if r.capped_at is not None}
    notes += [f"{name}: per-unit values capped at {cap:,.2f}" for name, cap in capped.items()]
    return notes


def print_analysis(out: Console, analysis: Analysis) -> None:
    method = (
        "sequential (always valid)" if analysis.method is Method.SEQUENTIAL else "fixed horizon"
    )
    out.print(
        f"[bold]{escape(analysis.experiment)}[/] on flag {escape(analysis.flag)} in "
        f"{escape(analysis.environment)}: {method}, α = {analysis.alpha:g}, "
        f"as of {fmt_time(analysis.at)}"
    )
    window = f"{fmt_time(analysis.start)} → {fmt_time(analysis.end)}"
    units = " · ".join(f"{escape(v)} {n:,}" for v, n in analysis.units.items())
    out.print(f"  window {window}; exposed units: {units}")
    for role in Role:
        results = [r for r in analysis.results if r.role is role]
        if results:
            out.print(_role_table(analysis, role, results))
    for note in _notes(analysis):
        out.print(f"  [dim]{escape(note)}[/]")
    for line in analysis.decisions:
        out.print(f"[bold]{escape(line)}[/]")


def print_experiment(out: Console, info: ExperimentInfo) -> None:
    """`experiments show`: the list row, the hypothesis, the split and the metrics."""
    spec = info.spec
    print_experiments(out, [info])
    if spec.hypothesis:
        out.print(f"hypothesis: {escape(spec.hypothesis)}")
    split = ", ".join(f"{escape(v)} {w:g}%" for v, w in spec.variants.items())
    out.print(
        f"split: {split} of {spec.coverage:g}% of units by {escape(spec.unit)} "
        f"(control {escape(spec.control)}; salt {escape(spec.key)})"
    )
    consent = spec.consent.attribute if spec.consent else None
    out.print(
        f"analysis: {spec.analysis.method}, α = {spec.analysis.alpha:g}, "
        f"power {spec.analysis.power:.0%}, MDE {spec.analysis.mde:.1%}, "
        f"correction {spec.analysis.correction}"
        + (f"; consent attribute {escape(consent)}" if consent else "; no consent requirement")
    )
    roles = {spec.primary_metric: "primary"}
    roles |= {m: "secondary" for m in spec.secondary_metrics}
    roles |= {m: "guardrail" for m in spec.guardrail_metrics}
    cells = [
        (
            escape(m.key),
            roles.get(m.key, ""),
            str(m.type),
            escape(", ".join(m.events())),
            "" if m.capping is None else f"p{m.capping:g}",
            "yes" if m.cuped else "",
        )
        for m in info.metrics
    ]
    out.print(table("Metrics", ["metric", "role", "type", "events", "capping", "CUPED"], cells))
