"""Synthetic events for the source tests, and the per-unit semantics of `sql.py` in pandas.

`synthetic_events(seed)` draws exposures (several per unit, some units in two variants, some in
another experiment, some outside the window; attributes that come and go) and metric events
(several names, NULL values, a heavy tail, some from units never exposed, before, inside and
after the window). The oracle functions restate the module docstring of
`launchdeck.experiments.sql` with pandas, row by row of that docstring, so a query that drifts
from it disagrees here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from launchdeck.experiments.model import MetricSpec, MetricType, ValueAgg
from launchdeck.experiments.sql import Window
from launchdeck.stats.moments import Moments

EXPERIMENT = "hero-test"
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 15, tzinfo=UTC)
PRE_START = datetime(2026, 2, 15, tzinfo=UTC)
WINDOW = Window(START, END, PRE_START)
EVENTS = ("purchase", "pageview", "signup")
BROWSERS = ("chrome", "firefox", "safari")


@dataclass(frozen=True)
class Events:
    exposures: pd.DataFrame
    """id, experiment, variant, unit, timestamp (naive UTC), attributes (JSON text or None),
    browser (what the attributes carry, for the oracle)."""
    metrics: pd.DataFrame
    """id, event, unit, value (NaN for NULL), timestamp (naive UTC), attributes (None)."""


def _naive(value: datetime) -> pd.Timestamp:
    return pd.Timestamp(value.astimezone(UTC).replace(tzinfo=None))


def _stamps(rng: np.random.Generator, low: datetime, high: datetime, n: int) -> pd.Index:
    span_us = int((high - low) / timedelta(microseconds=1))
    offsets = rng.integers(0, span_us, size=n)
    return _naive(low) + pd.to_timedelta(offsets, unit="us")


def synthetic_events(seed: int = 7, *, units: int = 400) -> Events:
    """Exposures and metric events of `units` units; unit ids are `u<n>`."""
    rng = np.random.default_rng(seed)
    unit_ids = np.array([f"u{i}" for i in range(units)])
    per_unit = rng.integers(1, 4, size=units)
    unit = np.repeat(unit_ids, per_unit)
    n = len(unit)
    arm = np.where(rng.random(units) < 0.5, "control", "treatment")
    variant = np.repeat(arm, per_unit)
    # 5 % of exposure rows land in the other variant: those units are multi-variant.
    flip = rng.random(n) < 0.05
    variant = np.where(flip, np.where(variant == "control", "treatment", "control"), variant)
    experiment = np.where(rng.random(n) < 0.1, "other-test", EXPERIMENT)
    timestamp = _stamps(rng, START - timedelta(days=3), END + timedelta(days=2), n)
    browser_pick = rng.integers(0, len(BROWSERS) + 1, size=n)  # the last index: no browser
    has_attributes = rng.random(n) < 0.9
    browser = [
        BROWSERS[b] if ok and b < len(BROWSERS) else None
        for b, ok in zip(browser_pick, has_attributes, strict=True)
    ]
    attributes = [
        None if not ok else json.dumps({"browser": b, "country": "fr"} if b else {"country": "de"})
        for b, ok in zip(browser, has_attributes, strict=True)
    ]
    exposures = pd.DataFrame(
        {
            "id": [f"x{i}" for i in range(n)],
            "experiment": experiment,
            "variant": variant,
            "unit": unit,
            "timestamp": timestamp,
            "attributes": attributes,
            "browser": browser,
        }
    )
    # Boundaries: exposures exactly at the window's start and end.
    exposures.loc[:1, "experiment"] = EXPERIMENT
    exposures.loc[:1, "timestamp"] = [_naive(START), _naive(END)]
    m = units * 12
    event = rng.choice(np.array(EVENTS), size=m, p=[0.3, 0.5, 0.2])
    value = np.round(rng.lognormal(3.0, 1.2, size=m), 2)
    value = np.where((event == "pageview") & (rng.random(m) < 0.7), np.nan, value)
    metrics = pd.DataFrame(
        {
            "id": [f"m{i}" for i in range(m)],
            "event": event,
            # the first tenth of the units has no events, a tenth of the ids were never exposed
            "unit": np.array([f"u{i}" for i in rng.integers(units // 10, units * 11 // 10, m)]),
            "value": value,
            "timestamp": _stamps(rng, PRE_START - timedelta(days=2), END + timedelta(days=2), m),
            "attributes": [None] * m,
        }
    )
    return Events(exposures=exposures, metrics=pd.concat([metrics, _edges(exposures)]))


def _edges(exposures: pd.DataFrame) -> pd.DataFrame:
    """Events exactly on each boundary: a unit's exposures (so its first exposure) and the
    conversion windows of the test metrics after them, and the window's own bounds."""
    seen = exposures[exposures.experiment == EXPERIMENT].iloc[-60:]
    offsets = [timedelta(0), timedelta(days=2), timedelta(days=3), timedelta(days=5)]
    stamps = [t + pd.Timedelta(d) for d in offsets for t in seen.timestamp]
    units = [u for _ in offsets for u in seen.unit]
    bounds = [_naive(b) for b in (PRE_START, START, END)]
    stamps += bounds * 20
    units += [u for u in seen.unit.iloc[:20] for _ in bounds]
    k = len(stamps)
    return pd.DataFrame(
        {
            "id": [f"edge{i}" for i in range(k)],
            "event": ["purchase", "signup"] * (k // 2) + ["purchase"] * (k % 2),
            "unit": units,
            "value": [10.0] * k,
            "timestamp": stamps,
            "attributes": [None] * k,
        }
    )


# --- the oracle ------------------------------------------------------------------------------


def exposures_in(data: Events, window: Window) -> pd.DataFrame:
    x = data.exposures
    keep = (x.experiment == EXPERIMENT) & (x.timestamp < _naive(window.end))
    if window.start is not None:
        keep &= x.timestamp >= _naive(window.start)
    return x[keep]


def exposed(data: Events, window: Window) -> pd.DataFrame:
    """Analysed units: index unit; first_ts, variant."""
    g = (
        exposures_in(data, window)
        .groupby("unit")
        .agg(first_ts=("timestamp", "min"), low=("variant", "min"), high=("variant", "max"))
    )
    g = g[g.low == g.high]
    return g.rename(columns={"low": "variant"})[["first_ts", "variant"]]


def _side(
    events: pd.DataFrame, units: pd.DataFrame, kind: MetricType | ValueAgg, keep: pd.Series
) -> pd.Series:
    """Per analysed unit, the value of `kind` over the rows of `events` where `keep`."""
    rows = events[keep]
    if kind is MetricType.BINOMIAL:
        per = rows.groupby("unit").size().gt(0).astype(float)
    elif kind is ValueAgg.COUNT:
        per = rows.groupby("unit").size().astype(float)
    else:
        per = rows.groupby("unit")["value"].sum(min_count=0).astype(float)
    return per.reindex(units.index, fill_value=0.0).fillna(0.0)


def unit_values(data: Events, metric: MetricSpec, window: Window) -> pd.DataFrame:
    """Per analysed unit: variant, y, x (0 without a second quantity), capped as specified."""
    units = exposed(data, window)
    events = data.metrics.merge(units, left_on="unit", right_index=True)
    ts, first = events.timestamp, events.first_ts
    after = (ts >= first) & (ts < _naive(window.end))
    if metric.conversion_window is not None:
        after &= ts < first + pd.Timedelta(metric.conversion_window)
    x = pd.Series(0.0, index=units.index)
    if metric.type is MetricType.RATIO:
        assert metric.numerator is not None and metric.denominator is not None
        num, den = metric.numerator, metric.denominator
        y = _side(events, units, num.value, after & (events.event == num.event))
        x = _side(events, units, den.value, after & (events.event == den.event))
    else:
        kind = MetricType.BINOMIAL if metric.type is MetricType.BINOMIAL else metric.value
        named = events.event == metric.event
        y = _side(events, units, kind, after & named)
        if metric.cuped:
            assert window.pre_start is not None and window.start is not None
            pre = (ts >= _naive(window.pre_start)) & (ts < _naive(window.start))
            x = _side(events, units, kind, pre & named)
    if metric.capping is not None:
        cap = float(np.quantile(y.to_numpy(), metric.capping / 100, method="linear"))
        y = np.minimum(y, cap)
    return pd.DataFrame({"variant": units.variant, "y": y, "x": x})


def moments(data: Events, metric: MetricSpec, window: Window) -> dict[str, Moments]:
    out = {}
    for variant, g in unit_values(data, metric, window).groupby("variant"):
        y, x = g.y.to_numpy(), g.x.to_numpy()
        out[str(variant)] = Moments(
            n=len(y),
            sum=float(y.sum()),
            sum_sq=float(y @ y),
            x_sum=float(x.sum()),
            x_sum_sq=float(x @ x),
            xy_sum=float(x @ y),
        )
    return out


def cap(data: Events, metric: MetricSpec, window: Window) -> float:
    assert metric.capping is not None
    plain = metric.model_copy(update={"capping": None})
    y = unit_values(data, plain, window).y.to_numpy()
    return float(np.quantile(y, metric.capping / 100, method="linear"))


def first_browser(data: Events, window: Window) -> pd.Series:
    """Per analysed unit, the browser of its earliest exposure that carries one (else None)."""
    units = exposed(data, window)
    rows = exposures_in(data, window)
    rows = rows[rows.browser.notna() & rows.unit.isin(units.index)].sort_values("timestamp")
    first = rows.groupby("unit").browser.first()
    return first.reindex(units.index).astype(object).where(lambda s: s.notna(), None)


def md5_order(units: pd.Index) -> list[str]:
    return sorted(units, key=lambda u: (hashlib.md5(u.encode()).hexdigest(), u))  # noqa: S324


def events_per_unit(data: Events, window: Window) -> pd.Series:
    """Per analysed unit, its metric events at or after the first exposure, before the end."""
    units = exposed(data, window)
    events = data.metrics.merge(units, left_on="unit", right_index=True)
    keep = (events.timestamp >= events.first_ts) & (events.timestamp < _naive(window.end))
    return events[keep].groupby("unit").size().reindex(units.index, fill_value=0)
