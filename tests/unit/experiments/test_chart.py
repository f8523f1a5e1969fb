"""The chart per experiment: cumulative exposures, the PNG and SVG files, and their stability."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

from launchdeck.experiments.chart import cumulative_exposures, write_chart
from unit.experiments.specs import an_analysis

FIRST = date(2026, 11, 20)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def exposures(days: int = 8) -> dict[date, dict[str, int]]:
    rng = np.random.default_rng(4)
    counts = rng.poisson(1200, size=(days, 3))
    return {
        FIRST + timedelta(days=d): {"A": int(a), "B": int(b), "C": int(c)}
        for d, (a, b, c) in enumerate(counts)
    }


def test_cumulative_exposures_add_up_day_by_day_in_the_variants_order() -> None:
    daily = {
        FIRST + timedelta(days=2): {"B": 7, "A": 5},
        FIRST: {"A": 10, "B": 12},
        FIRST + timedelta(days=5): {"A": 1, "rogue": 3},  # a gap, then a variant not declared
    }

    series = cumulative_exposures(daily, ["A", "B", "C"])

    days = [FIRST, FIRST + timedelta(days=2), FIRST + timedelta(days=5)]
    assert list(series) == ["A", "B", "C", "rogue"]
    for variant, points in series.items():
        expected = np.cumsum([daily[d].get(variant, 0) for d in days])
        assert points == list(zip(days, expected.tolist(), strict=True))
    assert series["C"] == [(d, 0) for d in days]


def test_the_png_is_a_png_of_the_expected_size(tmp_path: Path) -> None:
    analysis = an_analysis()

    path = write_chart(analysis, exposures(), tmp_path / "bf-hero-banner.png")

    assert path == tmp_path / "bf-hero-banner.png"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = image.imread(path)
    rows = len(analysis.results)  # 6: height grows with them, width does not
    assert pixels.shape == (max(400, round(180 + 45 * rows)), 1200, 4)


def _has_colour(pixels: np.ndarray, hex_colour: str) -> bool:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return bool((np.abs(pixels[..., :3] - rgb).max(axis=-1) < 1.5 / 255).any())


def test_the_png_colours_lifts_by_verdict(tmp_path: Path) -> None:
    # B is better on conversion (green) and breaches the revenue guardrail (red).
    pixels = image.imread(write_chart(an_analysis(), exposures(), tmp_path / "c.png"))

    assert _has_colour(pixels, "#16a34a")
    assert _has_colour(pixels, "#dc2626")
    assert _has_colour(pixels, "#fef3c7")  # the guardrail band


def test_the_png_of_a_flat_experiment_has_no_verdict_colours(tmp_path: Path) -> None:
    flat = an_analysis(variants={"A": 50, "C": 50}, guardrail_metrics=[])

    pixels = image.imread(write_chart(flat, exposures(), tmp_path / "flat.png"))

    assert not _has_colour(pixels, "#dc2626")
    assert not _has_colour(pixels, "#fef3c7")


def test_the_svg_names_every_metric_variant_and_exposure_total(tmp_path: Path) -> None:
    analysis = an_analysis()
    daily = exposures()

    svg = write_chart(analysis, daily, tmp_path / "chart.svg").read_text()

    assert svg.startswith("<?xml")
    for label in (
        "conversion · B",
        "conversion · C",
        "signup · B",
        "revenue per visitor · B (guardrail)",
        "revenue per visitor · C (guardrail)",
        "Relative lift vs A (95% confidence interval)",
        "+10.0% (better)",
        "-6.7% (BREACHED)",
        "no data",
        "bf-hero-banner · flag hero-banner · production · as of 2026-11-27 18:00 UTC",
    ):
        assert label in svg, label
    totals = {v: sum(day[v] for day in daily.values()) for v in "ABC"}
    assert f"A (control): {totals['A']:,}" in svg
    assert f"B: {totals['B']:,}" in svg
    assert f"C: {totals['C']:,}" in svg


def test_the_same_input_gives_the_same_svg_bytes(tmp_path: Path) -> None:
    analysis, daily = an_analysis(), exposures()

    first = write_chart(analysis, daily, tmp_path / "one.svg").read_bytes()
    second = write_chart(analysis, daily, tmp_path / "two.SVG").read_bytes()
    other = write_chart(analysis, exposures(days=9), tmp_path / "three.svg").read_bytes()

    assert first == second
    assert other != first


def test_a_sequential_experiment_without_exposures_says_so(tmp_path: Path) -> None:
    analysis = an_analysis(analysis={"method": "sequential", "alpha": 0.1})

    svg = write_chart(analysis, {}, tmp_path / "empty.svg").read_text()

    assert "no exposures yet" in svg
    assert "Relative lift vs A (90% confidence sequence)" in svg


def test_a_single_day_of_exposures_draws_without_warnings(tmp_path: Path) -> None:
    svg = write_chart(an_analysis(), {FIRST: {"A": 3, "B": 4}}, tmp_path / "day.svg").read_text()

    assert "Nov 20" in svg
    assert "B: 4" in svg


@pytest.mark.parametrize("name", ["chart.pdf", "chart", "chart.png.txt"])
def test_only_png_and_svg_are_written(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        write_chart(an_analysis(), exposures(), tmp_path / name)

    assert list(tmp_path.iterdir()) == []


def test_importing_the_chart_module_does_not_import_matplotlib() -> None:
    probe = "import sys, launchdeck.experiments.chart; print('matplotlib' in sys.modules)"

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )

    assert done.stdout.strip() == "False"
