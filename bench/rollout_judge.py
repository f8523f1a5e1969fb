"""The canary judge against a Flagger-style fixed-threshold judge and an Argo-default analysis,
on the same simulated traffic: how often a good canary is rolled back, how fast a bad one is.

Traffic (per 5-minute interval, 24 intervals: a two-hour rollout): the canary gets 20 % of a
landing page's 2,500 requests and of its 10,000 visitors. Scenarios, each on `--sims`
simulated rollouts, the same draws for every judge:
- A/A errors: 0.5 % of requests fail on both sides;
- A/A conversion: 3 % of visitors order on both sides;
- 5xx 20 %: the canary fails a fifth of its requests;
- conversion halved: the canary's "Buy" button is broken for half its visitors (1.5 %).

Judges, asked after every interval (a rollout stops at its first failed check):
- launchdeck: `rollout.judge.judge_proportion` on the cumulative counts, canary vs baseline,
  one-sided anytime-valid test at α = 1 % (the defaults);
- Flagger-style: the canary's own rate over the last interval against a fixed range
  (`thresholdRange`), one failed check rolls back;
- Argo default: the canary's interval rate against the baseline's with a fixed margin
  (a `successCondition`), `failureLimit` 0 (its default: the first failed measurement aborts).
Both baselines are given their best fixed thresholds: set so that one check of a good canary
fails 1 % of the time at this traffic (the binomial 99th/1st percentile of the canary's
interval count; 2.33 standard errors of the interval difference), the premise of issue 6.

Figures: the false-rollback rate of the A/A scenarios, and for the broken ones the share
caught and the interval of detection (median, 95th percentile). The ratio printed is each
baseline's false-rollback rate ÷ launchdeck's (how many more good releases it aborts).
Targets (issue 6): launchdeck ≤ 1 % false rollbacks over 24 looks; both breakages caught
within 2 intervals.

Run: make bench  (or .venv/bin/python bench/rollout_judge.py [--sims N])
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table
from scipy.stats import binom, norm

from launchdeck.rollout.judge import Counts, ProportionCheck, Verdict, judge_proportion

INTERVALS = 24
console = Console(width=None if sys.stdout.isatty() else 120)


@dataclass(frozen=True)
class Scenario:
    name: str
    metric: str  # "errors" | "conversion"
    baseline_rate: float
    canary_rate: float
    canary_units: int
    baseline_units: int

    @property
    def broken(self) -> bool:
        return self.canary_rate != self.baseline_rate


SCENARIOS = (
    Scenario("A/A errors (0.5 %)", "errors", 0.005, 0.005, 500, 2000),
    Scenario("A/A conversion (3 %)", "conversion", 0.03, 0.03, 2000, 8000),
    Scenario("5xx on 20 % of requests", "errors", 0.005, 0.20, 500, 2000),
    Scenario("conversion halved", "conversion", 0.03, 0.015, 2000, 8000),
)

# One check: (interval index, canary cumulative, baseline cumulative, canary interval,
# baseline interval) → failed?
Check = Callable[[Scenario, int, Counts, Counts, Counts, Counts], bool]


def launchdeck(s: Scenario, _i: int, canary: Counts, baseline: Counts, *_: Counts) -> bool:
    check = ProportionCheck(s.metric, harmful="increase" if s.metric == "errors" else "decrease")
    return judge_proportion(check, canary, baseline).verdict == Verdict.FAIL


PER_CHECK = 0.01
"""The chance that one check of a good canary fails, for the fixed thresholds."""


def _healthy(s: Scenario) -> Scenario:
    """The scenario's good canary (thresholds are set on what healthy traffic looks like)."""
    return Scenario(
        s.name, s.metric, s.baseline_rate, s.baseline_rate, s.canary_units, s.baseline_units
    )


def flagger_range(s: Scenario) -> float:
    """The fixed bound on the canary's interval rate (max for errors, min for conversion)."""
    healthy = _healthy(s)
    q = 1 - PER_CHECK if s.metric == "errors" else PER_CHECK
    return float(binom.ppf(q, healthy.canary_units, healthy.baseline_rate)) / s.canary_units


def argo_margin(s: Scenario) -> float:
    p = s.baseline_rate
    se = math.sqrt(p * (1 - p) * (1 / s.canary_units + 1 / s.baseline_units))
    return float(norm.isf(PER_CHECK)) * se


def flagger(s: Scenario, _i: int, _c: Counts, _b: Counts, canary: Counts, _bi: Counts) -> bool:
    bound = flagger_range(s)
    return canary.rate > bound if s.metric == "errors" else canary.rate < bound


def argo(s: Scenario, _i: int, _c: Counts, _b: Counts, canary: Counts, baseline: Counts) -> bool:
    margin = argo_margin(s)
    if s.metric == "errors":
        return canary.rate > baseline.rate + margin
    return canary.rate < baseline.rate - margin


JUDGES: dict[str, Check] = {
    "launchdeck": launchdeck,
    "Flagger-style": flagger,
    "Argo default": argo,
}


def first_failures(
    scenario: Scenario, judge: Check, canary: NDArray[np.int64], baseline: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Per simulated rollout, the interval (1-based) of its first failed check, or 0."""
    sims = canary.shape[0]
    cum_c, cum_b = canary.cumsum(axis=1), baseline.cumsum(axis=1)
    first = np.zeros(sims, dtype=np.int64)
    for s in range(sims):
        for i in range(INTERVALS):
            failed = judge(
                scenario,
                i,
                Counts(scenario.canary_units * (i + 1), int(cum_c[s, i])),
                Counts(scenario.baseline_units * (i + 1), int(cum_b[s, i])),
                Counts(scenario.canary_units, int(canary[s, i])),
                Counts(scenario.baseline_units, int(baseline[s, i])),
            )
            if failed:
                first[s] = i + 1
                break
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=2000, help="rollouts per scenario")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    results: dict[tuple[str, str], NDArray[np.int64]] = {}
    for scenario in SCENARIOS:
        shape = (args.sims, INTERVALS)
        canary = rng.binomial(scenario.canary_units, scenario.canary_rate, shape)
        baseline = rng.binomial(scenario.baseline_units, scenario.baseline_rate, shape)
        for name, judge in JUDGES.items():
            results[(scenario.name, name)] = first_failures(scenario, judge, canary, baseline)

    table = Table(
        title=f"Canary judges on the same traffic: {args.sims:,} rollouts × {INTERVALS} checks "
        "per scenario"
    )
    table.add_column("scenario")
    for name in JUDGES:
        table.add_column(name, justify="right")
    for scenario in SCENARIOS:
        cells = []
        for name in JUDGES:
            first = results[(scenario.name, name)]
            caught = first > 0
            if not scenario.broken:
                cells.append(f"{caught.mean():.2%} rolled back")
            elif caught.any():
                median, p95 = np.percentile(first[caught], [50, 95])
                cells.append(f"{caught.mean():.1%} caught; interval {median:.0f} (p95 {p95:.0f})")
            else:
                cells.append("never caught")
        table.add_row(scenario.name, *cells)
    console.print(table)
    for scenario in SCENARIOS[:2]:
        console.print(
            f"{scenario.name}: Flagger-style range {'≤' if scenario.metric == 'errors' else '≥'} "
            f"{flagger_range(scenario):.2%} a check; Argo margin ±{argo_margin(scenario):.2%}"
        )

    ours = {s.name: (results[(s.name, "launchdeck")] > 0).mean() for s in SCENARIOS}
    for scenario in SCENARIOS:
        if scenario.broken:
            continue
        for name in ("Flagger-style", "Argo default"):
            theirs = (results[(scenario.name, name)] > 0).mean()
            mine = ours[scenario.name]
            ratio = (
                f"{theirs / mine:.0f}× as many"
                if mine
                else f"launchdeck none of {args.sims:,}: under {1 / args.sims:.2%}"
            )
            console.print(
                f"{scenario.name}: {name} rolls back {theirs:.2%} of good releases, "
                f"launchdeck {mine:.2%} ({ratio})"
            )
    frr_ok = all(ours[s.name] <= 0.01 for s in SCENARIOS if not s.broken)
    detection_ok = all(
        np.mean((results[(s.name, "launchdeck")] >= 1) & (results[(s.name, "launchdeck")] <= 2))
        >= 0.95
        for s in SCENARIOS
        if s.broken
    )
    console.print(
        f"Target: launchdeck false rollbacks ≤ 1 % over {INTERVALS} checks: "
        f"{'PASS' if frr_ok else 'MISS'}; breakages caught within 2 intervals in ≥ 95 % of "
        f"rollouts: {'PASS' if detection_ok else 'MISS'}  ({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
