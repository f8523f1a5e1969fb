"""A chart per experiment, so people can look rather than read: the relative lift with its
interval for every metric × treatment, and the cumulative exposed units per variant by day.
Pure but for the one file it writes.

matplotlib is imported inside `write_chart` (Agg canvas, no pyplot, no GUI), so importing this
module costs nothing. The chart draws with matplotlib's default style whatever the user's
matplotlibrc says, and an SVG is byte-for-byte the same for the same input (`svg.hashsalt` is
fixed and the date left out), so it can be committed or compared. Text stays text in the SVG
(`svg.fonttype: none`): it is searchable and small, and the viewer's sans-serif draws it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchdeck.experiments.analysis import Analysis, MetricResult, Role, Verdict
from launchdeck.experiments.model import Method

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["cumulative_exposures", "write_chart"]

_FORMATS = {".png": "png", ".svg": "svg"}
_METADATA: dict[str, dict[str, Any]] = {"png": {}, "svg": {"Date": None}}
_RC = {"svg.hashsalt": "launchdeck-experiment", "svg.fonttype": "none", "font.size": 9.0}
_VERDICT_COLOUR = {
    Verdict.BETTER: "#16a34a",
    Verdict.WORSE: "#dc2626",
    Verdict.FLAT: "#6b7280",
    Verdict.NO_DATA: "#9ca3af",
}
_VARIANT_COLOURS = ("#374151", "#2563eb", "#ea580c", "#9333ea", "#0891b2", "#ca8a04")
_GUARDRAIL_BAND = "#fef3c7"
_LOCK = threading.Lock()
"""matplotlib's rcParams are process-wide: one chart at a time (the API may draw in threads)."""


def cumulative_exposures(
    daily_exposures: Mapping[date, Mapping[str, int]], variants: Iterable[str]
) -> dict[str, list[tuple[date, int]]]:
    """Per variant, (day, units exposed up to and including that day) for every day given.

    `variants` come first in their order, then any other variant found in the data, by name;
    a variant with no units on a day keeps its total.
    """
    days = sorted(daily_exposures)
    names = list(dict.fromkeys(variants))
    names += sorted({v for counts in daily_exposures.values() for v in counts} - set(names))
    series: dict[str, list[tuple[date, int]]] = {}
    for name in names:
        total, points = 0, []
        for day in days:
            total += int(daily_exposures[day].get(name, 0))
            points.append((day, total))
        series[name] = points
    return series


def write_chart(
    analysis: Analysis, daily_exposures: Mapping[date, Mapping[str, int]], path: Path
) -> Path:
    """Draw `analysis` and the exposures (new units first exposed each day, by variant) to
    `path`, as PNG or SVG by its suffix; returns the path. ValueError for another suffix."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{path}: a chart is written as .png or .svg, "
            f"not as {path.suffix or 'a file without a suffix'}"
        )
    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = len(analysis.results)
    with _LOCK, style.context(["default", _RC]):
        figure = Figure(figsize=(12.0, max(4.0, 1.8 + 0.45 * rows)), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        lift, exposure = figure.subplots(1, 2, width_ratios=(3, 2))
        _draw_lifts(lift, analysis)
        _draw_exposures(exposure, analysis, daily_exposures)
        figure.suptitle(
            f"{analysis.experiment} · flag {analysis.flag} · {analysis.environment} · "
            f"as of {analysis.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            fontweight="bold",
        )
        figure.savefig(path, format=fmt, metadata=_METADATA[fmt])
    return path


def _label(result: MetricResult) -> str:
    return f"{result.name} · {result.variant}" + (
        " (guardrail)" if result.role is Role.GUARDRAIL else ""
    )


def _draw_lifts(ax: Axes, analysis: Analysis) -> None:
    """A forest plot: one row per metric × treatment, top to bottom in the analysis's order."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import PercentFormatter

    results = analysis.results
    top = len(results) - 1
    for i, r in enumerate(results):
        y = top - i
        colour = _VERDICT_COLOUR[r.verdict]
        guardrail = r.role is Role.GUARDRAIL
        if guardrail:
            ax.axhspan(y - 0.5, y + 0.5, color=_GUARDRAIL_BAND, zorder=0)
        if r.verdict is Verdict.NO_DATA:
            ax.text(
                0,
                y,
                "no data",
                ha="center",
                va="center",
                color=colour,
                style="italic",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
                zorder=3,
            )
            continue
        est, low, high = r.relative.estimate, r.relative.low, r.relative.high
        ax.errorbar(
            [est],
            [y],
            xerr=[[max(0.0, est - low)], [max(0.0, high - est)]],
            fmt="s" if guardrail else "o",
            color=colour,
            ecolor=colour,
            elinewidth=2,
            capsize=4,
            markersize=7,
            zorder=3,
        )
        verdict = "BREACHED" if guardrail and r.verdict is Verdict.WORSE else r.verdict.value
        ax.annotate(
            f"{est * 100:+.1f}% ({verdict})",
            (est, y),
            xytext=(0, 7),
            textcoords="offset points",
            ha="center",
            color=colour,
            fontsize=8,
        )
    ax.axvline(0, color="#111827", linewidth=1, linestyle="--", zorder=2)
    bounds = [
        b
        for r in results
        if r.verdict is not Verdict.NO_DATA
        for b in (r.relative.low, r.relative.high)
    ]
    low, high = min([0.0, *bounds]), max([0.0, *bounds])
    pad = max((high - low) * 0.12, 0.01)
    ax.set_xlim(low - pad, high + pad)
    ax.set_ylim(-0.7, top + 0.7)
    ax.set_yticks(range(len(results)), [_label(r) for r in reversed(results)])
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    level = f"{(1 - analysis.alpha) * 100:g}%"
    band = "confidence sequence" if analysis.method is Method.SEQUENTIAL else "confidence interval"
    ax.set_title(f"Relative lift vs {analysis.control} ({level} {band})", loc="left")
    ax.grid(axis="x", color="#e5e7eb", zorder=0)
    # The legend names only what the chart shows, so a colour in it is a verdict in the data.
    shown = {r.verdict for r in results}
    handles = [
        Line2D([], [], color=_VERDICT_COLOUR[v], marker="o", linestyle="", label=label)
        for v, label in (
            (Verdict.BETTER, "better"),
            (Verdict.WORSE, "worse"),
            (Verdict.FLAT, "inconclusive"),
        )
        if v in shown
    ]
    if any(r.role is Role.GUARDRAIL for r in results):
        handles.append(
            Line2D([], [], color="#6b7280", marker="s", linestyle="", label="guardrail (shaded)")
        )
    if not handles:
        return
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.07),
        ncols=len(handles),
        fontsize=8,
        frameon=False,
    )


def _draw_exposures(
    ax: Axes, analysis: Analysis, daily_exposures: Mapping[date, Mapping[str, int]]
) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.set_title("Cumulative exposed units", loc="left")
    if not daily_exposures:
        ax.text(0.5, 0.5, "no exposures yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    series = cumulative_exposures(daily_exposures, analysis.units)
    first, last = min(daily_exposures), max(daily_exposures)
    for i, (variant, points) in enumerate(series.items()):
        offsets = [(day - first).days for day, _ in points]
        totals = [total for _, total in points]
        control = " (control)" if variant == analysis.control else ""
        ax.plot(
            offsets,
            totals,
            drawstyle="steps-post",
            marker="o",
            markersize=3,
            color=_VARIANT_COLOURS[i % len(_VARIANT_COLOURS)],
            label=f"{variant}{control}: {totals[-1]:,}",
        )
    # Days on the axis as offsets from the first, labelled by hand: at most 7 ticks.
    span = (last - first).days
    step = max(1, -(-span // 6))
    ticks = list(range(0, span + 1, step))
    ax.set_xticks(ticks, [f"{first + timedelta(days=t):%b %d}" for t in ticks])
    ax.set_xlim(-0.5, span + 0.5)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_ylim(bottom=0)
    ax.grid(color="#e5e7eb")
    ax.legend(loc="upper left", fontsize=8)
