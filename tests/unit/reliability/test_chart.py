"""The burn-down chart: well-formed SVG with one line per objective, a legend and policy lines."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from launchdeck.reliability.chart import burn_down_svg
from launchdeck.reliability.status import BurnPoint

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def line(*remaining: float) -> list[BurnPoint]:
    return [BurnPoint(at=T0 + timedelta(days=i), remaining=r) for i, r in enumerate(remaining)]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, not untrusted input
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_the_chart_is_svg_with_one_line_per_series_and_a_legend_naming_each() -> None:
    series = {
        "checkout-availability (availability)": line(1.0, 0.9, 0.7, 0.6),
        "checkout-latency (p95)": line(1.0, 1.0, 0.95, 0.2),
    }
    root = parse(burn_down_svg(series, title="checkout-web error budgets"))
    polylines = root.findall(f"{SVG}polyline")
    assert len(polylines) == 2
    assert [len(p.get("points", "").split()) for p in polylines] == [4, 4]
    assert len({p.get("stroke") for p in polylines}) == 2
    labels = texts(root)
    assert "checkout-web error budgets" in labels
    assert "checkout-availability (availability)" in labels
    assert "checkout-latency (p95)" in labels
    assert "60.0% left" in labels
    assert "20.0% left" in labels


def test_each_policy_threshold_gets_a_dashed_line_and_a_label() -> None:
    root = parse(burn_down_svg({"a": line(1.0, 0.5)}, title="t", thresholds=(0.25, 0.5)))
    dashed = [el for el in root.iter(f"{SVG}line") if el.get("stroke-dasharray")]
    assert len(dashed) == 2
    assert {"policy: 25% left", "policy: 50% left"} <= set(texts(root))


def test_a_lower_point_is_drawn_lower_and_an_overspent_line_stays_in_the_plot() -> None:
    root = parse(burn_down_svg({"a": line(1.0, 0.5, 0.0, -9.0)}, title="t", thresholds=()))
    (polyline,) = root.findall(f"{SVG}polyline")
    points = [tuple(map(float, p.split(","))) for p in polyline.get("points", "").split()]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert xs == sorted(xs)
    assert ys == sorted(ys)  # SVG y grows downwards
    height = float(root.get("height", "0"))
    assert all(0 <= y <= height for y in ys)
    assert "-900.0% left" in texts(root)


def test_markup_in_titles_and_names_is_escaped() -> None:
    svg = burn_down_svg({"<script>&": line(1.0, 0.9)}, title="A & B <x>")
    labels = texts(parse(svg))
    assert "A & B <x>" in labels
    assert "<script>&" in labels


def test_an_objective_without_points_gets_no_line_next_to_others() -> None:
    root = parse(burn_down_svg({"empty": [], "full": line(1.0, 0.8)}, title="t"))
    assert len(root.findall(f"{SVG}polyline")) == 1
    assert "full" in texts(root)


@pytest.mark.parametrize("series", [{}, {"a": []}], ids=["no series", "only empty series"])
def test_no_data_cannot_be_drawn(series: dict[str, list[BurnPoint]]) -> None:
    with pytest.raises(ValueError, match="no burn-down data"):
        burn_down_svg(series, title="t")


def test_a_single_instant_still_draws() -> None:
    root = parse(burn_down_svg({"a": [BurnPoint(at=T0, remaining=0.5)]}, title="t"))
    assert len(root.findall(f"{SVG}polyline")) == 1
