"""CLI start-up: whole-process wall time of `launchdeck --version` and `launchdeck validate`
on examples/black-friday/, as a ratio to a bare `python -c pass` measured in the same run.

Target (foundation issue): `--version` under 4x the bare interpreter start.
Run: make bench  (or .venv/bin/python bench/cli_startup.py [--runs N])
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_VERSION_RATIO = 4.0


def _time_once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDECK_")}
    env["LAUNCHDECK_WORKSPACE"] = str(ROOT / "examples" / "black-friday")
    launchdeck = str(BIN / "launchdeck")
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "launchdeck --version": [launchdeck, "--version"],
        "launchdeck validate": [launchdeck, "validate"],
    }
    medians: dict[str, float] = {}
    samples: dict[str, list[float]] = {}
    with Progress(transient=True) as progress:
        task = progress.add_task("timing", total=len(commands) * (args.runs + 2))
        for name, argv in commands.items():
            for _ in range(2):  # warm the page cache
                _time_once(argv, env)
                progress.advance(task)
            runs = []
            for _ in range(args.runs):
                runs.append(_time_once(argv, env))
                progress.advance(task)
            samples[name] = runs
            medians[name] = statistics.median(runs)

    baseline = medians["python -c pass (baseline)"]
    table = Table(title=f"CLI start-up, median of {args.runs} runs (whole process)")
    for column in ("command", "median ms", "min ms", "max ms", "ratio to baseline"):
        table.add_column(column, justify="right" if column != "command" else "left")
    for name, runs in samples.items():
        table.add_row(
            name,
            f"{medians[name] * 1000:.1f}",
            f"{min(runs) * 1000:.1f}",
            f"{max(runs) * 1000:.1f}",
            f"{medians[name] / baseline:.2f}x",
        )
    console = Console()
    console.print(table)
    ratio = medians["launchdeck --version"] / baseline
    verdict = "meets" if ratio < TARGET_VERSION_RATIO else "MISSES"
    console.print(
        f"launchdeck --version: {ratio:.2f}x bare interpreter start "
        f"({verdict} the < {TARGET_VERSION_RATIO:.0f}x target)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
