"""A burn-down chart of error budgets as SVG: budget left through the period, per objective. Pure.

Hand-written SVG keeps the CLI free of a plotting stack; any browser, Slack preview or
`rsvg-convert` renders it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape

from launchdeck.reliability.status import BurnPoint

__all__ = ["burn_down_svg"]

_W, _H = 880, 360
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 250, 40, 44
_COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")


def _ticks(low: float, high: float) -> list[float]:
    span = high - low
    step = next(s for s in (0.1, 0.25, 0.5, 1.0) if span / s <= 8)
    ticks, value = [], math.ceil(low / step) * step
    while value <= high + 1e-9:
        ticks.append(round(value, 6))
        value += step
    return ticks


def burn_down_svg(
    series: Mapping[str, Sequence[BurnPoint]],
    *,
    title: str,
    thresholds: Sequence[float] = (0.25,),
) -> str:
    """SVG of each series' budget left (1 = untouched, 0 = exhausted, below 0 overspent)."""
    points = [p for s in series.values() for p in s]
    if not points:
        raise ValueError("no burn-down data to draw")
    t0 = min(p.at for p in points)
    t1 = max(p.at for p in points)
    span_s = max((t1 - t0).total_seconds(), 1.0)
    low = min(0.0, *(p.remaining for p in points))
    low = max(low, -2.0)  # a wildly overspent budget would flatten everything else
    high = 1.0
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(at: datetime) -> float:
        return _LEFT + (at - t0).total_seconds() / span_s * plot_w

    def y(value: float) -> float:
        clipped = min(max(value, low), high)
        return _TOP + (high - clipped) / (high - low) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{_W}" height="{_H}" fill="white"/>',
        f'<text x="{_LEFT}" y="24" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in _ticks(low, high):
        ty = y(tick)
        out.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'stroke="{"#111" if tick == 0 else "#e5e7eb"}"/>'
        )
        out.append(
            f'<text x="{_LEFT - 8}" y="{ty + 4:.1f}" text-anchor="end">{tick * 100:.0f}%</text>'
        )
    for threshold in thresholds:
        ty = y(threshold)
        out.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" '
            'stroke="#f59e0b" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text x="{_LEFT + plot_w - 4}" y="{ty - 4:.1f}" text-anchor="end" fill="#b45309">'
            f"policy: {threshold * 100:.0f}% left</text>"
        )
    for i in range(5):
        at = t0 + (t1 - t0) * (i / 4)
        out.append(
            f'<text x="{x(at):.1f}" y="{_TOP + plot_h + 18}" text-anchor="middle">'
            f"{at:%b %d %H:%M}</text>"
        )
    out.append(
        f'<text x="{_LEFT + plot_w / 2:.1f}" y="{_H - 6}" text-anchor="middle" fill="#555">'
        "UTC · error budget left in the SLO period</text>"
    )
    for index, (name, points_of) in enumerate(series.items()):
        if not points_of:
            continue  # an objective without allowance yet has no line (burn_down gives [])
        colour = _COLOURS[index % len(_COLOURS)]
        path = " ".join(f"{x(p.at):.1f},{y(p.remaining):.1f}" for p in points_of)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        last = points_of[-1]
        ly = _TOP + 16 + index * 48
        slo, _, objective = name.partition("/")
        out.append(
            f'<rect x="{_LEFT + plot_w + 14}" y="{ly - 9}" width="12" height="12" fill="{colour}"/>'
        )
        out.append(f'<text x="{_LEFT + plot_w + 32}" y="{ly + 1}">{escape(slo)}</text>')
        detail = f"{escape(objective)}: " if objective else ""
        out.append(
            f'<text x="{_LEFT + plot_w + 32}" y="{ly + 16}" fill="#555">'
            f"{detail}{last.remaining * 100:.1f}% left</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
