"""Flag evaluation, single thread, in process: launchdeck against Unleash, GrowthBook and
LaunchDarkly, and launchdeck's OpenFeature provider against the SDK's own InMemoryProvider.

One realistic flag, configured the same way in every SDK and offline (bootstrap, file data
source or a snapshot; nothing touches the network): on, one rule `country in [US, CA, GB]`
serving `true` to a 25% rollout bucketed by user id, `false` to everyone else. 200,000 distinct
users (`user-{i}`, a deterministic country among US CA GB DE FR JP), their contexts built per SDK
before timing, so only evaluation is timed. Every SDK runs in one process on one interpreter
(the script builds `.bench/flag_eval-venv` with the pinned SDKs and re-runs itself there).

Each SDK is called through its documented native API: launchdeck `Evaluator.boolean`,
Unleash `is_enabled`, LaunchDarkly `variation` (events off), GrowthBook `set_attributes` +
`is_on` on one reused instance (its cheapest synchronous path for a new user). Throughput is
the best of `--repeat` passes over all users, the SDKs interleaved so a noisy moment does not
fall on one of them. p50/p99 come from one more pass timing each call with perf_counter_ns (the
timer's own cost subtracted); that pass also checks the answers (a quarter of the targeted users
on, nobody else) and stops the run if an SDK is misconfigured. The prebuilt contexts are frozen
out of the GC's sight, so each SDK pays only for collecting its own garbage.

Targets (issue 4): launchdeck at least 2x the evaluations/s of the fastest peer with p50
<= 5 us; through OpenFeature, launchdeck's provider within 1.2x of InMemoryProvider on a
static flag (the SDK's own overhead is the floor).
Run: make bench  (or .venv/bin/python bench/flag_eval.py [--users N] [--repeat N]); the first
run installs the pinned SDKs (about a minute), later runs reuse them.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench" / "flag_eval-venv"
STAMP = VENV / "flag_eval-stamp.json"
PINS = {
    "UnleashClient": "6.9.1",
    "growthbook": "4.0.0",
    "launchdarkly-server-sdk": "9.20.0",
}
"""The peers; openfeature-sdk is the version launchdeck locks (uv.lock)."""

KEY = "new-checkout"
STATIC_KEY = "static-banner"
TARGETED = ("US", "CA", "GB")
COUNTRIES = (*TARGETED, "DE", "FR", "JP")
COVERAGE = 25
SHARE_RANGE = (23.0, 27.0)
USERS = 200_000
WARM_UP = 5_000
TARGET_PEER_RATIO = 2.0
TARGET_P50_US = 5.0
TARGET_FLOOR_RATIO = 1.2

console = Console(width=None if sys.stdout.isatty() else 120)


# ---------------------------------------------------------------- the venv (outer process)


def _uv() -> list[str]:
    uv = shutil.which("uv")
    if uv is not None:
        return [uv]
    return [shutil.which("python3") or sys.executable, "-m", "uv"]


def _locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    for entry in lock.get("package", []):
        if entry.get("name") == package:
            return str(entry["version"])
    raise SystemExit(f"uv.lock has no {package}: run `uv lock` (launchdeck depends on it)")


def _requirements() -> list[str]:
    pins = {**PINS, "openfeature-sdk": _locked_version("openfeature-sdk")}
    return [f"{name}=={version}" for name, version in pins.items()]


def _stamp(requirements: Sequence[str]) -> dict[str, Any]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        "requirements": list(requirements),
        "launchdeck_dependencies": sorted(project["dependencies"]),
        "python": sys.version,
        "base": sys.base_prefix,
    }


def _run(command: Sequence[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        console.print(f"[red]failed:[/red] {' '.join(command)}\n{done.stdout}{done.stderr}")
        raise SystemExit(1)


def ensure_venv() -> Path:
    """The benchmark's own environment; rebuilt only when a pin, the interpreter or
    launchdeck's declared dependencies change (launchdeck itself is installed editable)."""
    python = VENV / "bin" / "python"
    requirements = _requirements()
    wanted = _stamp(requirements)
    if python.exists() and STAMP.exists() and json.loads(STAMP.read_text()) == wanted:
        return python
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"creating {VENV.relative_to(ROOT)}", total=None)
        shutil.rmtree(VENV, ignore_errors=True)
        _run([*_uv(), "venv", "--quiet", "--python", sys.executable, str(VENV)])
        progress.update(task, description=f"installing launchdeck, {', '.join(requirements)}")
        _run(
            [
                *_uv(),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(python),
                "-e",
                str(ROOT),
                *requirements,
            ]
        )
    STAMP.write_text(json.dumps(wanted, indent=2))
    console.print(f"[dim]{VENV.relative_to(ROOT)}: launchdeck + {', '.join(requirements)}[/dim]")
    return python


# ---------------------------------------------------------------- users and flags


@dataclass(frozen=True, slots=True)
class User:
    id: str
    country: str


def make_users(count: int, prefix: str = "user") -> list[User]:
    rng = random.Random(4)
    return [User(f"{prefix}-{i}", rng.choice(COUNTRIES)) for i in range(count)]


def launchdeck_snapshot() -> Any:
    from launchdeck.flags.model import Snapshot

    rule = {
        "name": "launch markets, a quarter of users",
        "when": {"attribute": "country", "op": "in", "values": list(TARGETED)},
        "serve": {"rollout": {"coverage": COVERAGE, "weights": {"on": 100}, "bucket_by": "userId"}},
    }
    realistic = {
        "key": KEY,
        "environments": {
            "production": {"enabled": True, "rules": [rule], "fallthrough": {"variant": "off"}}
        },
    }
    static = {
        "key": STATIC_KEY,
        "environments": {"production": {"enabled": True, "fallthrough": {"variant": "on"}}},
    }
    return Snapshot.model_validate(
        {"environment": "production", "revision": 1, "flags": [realistic, static]}
    )


def unleash_features() -> dict[str, Any]:
    return {
        "version": 1,
        "features": [
            {
                "name": KEY,
                "type": "release",
                "enabled": True,
                "impressionData": False,
                "strategies": [
                    {
                        "name": "flexibleRollout",
                        "parameters": {
                            "rollout": str(COVERAGE),
                            "stickiness": "userId",
                            "groupId": KEY,
                        },
                        "constraints": [
                            {
                                "contextName": "country",
                                "operator": "IN",
                                "values": list(TARGETED),
                                "inverted": False,
                                "caseInsensitive": False,
                            }
                        ],
                    }
                ],
                "variants": [],
            }
        ],
    }


def growthbook_features() -> dict[str, Any]:
    rule = {
        "id": "launch-markets",
        "condition": {"country": {"$in": list(TARGETED)}},
        "force": True,
        "coverage": COVERAGE / 100,
        "hashAttribute": "id",
    }
    return {KEY: {"defaultValue": False, "rules": [rule]}}


def launchdarkly_flags() -> dict[str, Any]:
    clause = {
        "contextKind": "user",
        "attribute": "country",
        "op": "in",
        "values": list(TARGETED),
        "negate": False,
    }
    rollout = {
        "variations": [
            {"variation": 0, "weight": COVERAGE * 1000},
            {"variation": 1, "weight": (100 - COVERAGE) * 1000},
        ],
        "bucketBy": "key",
    }
    flag = {
        "key": KEY,
        "version": 1,
        "on": True,
        "variations": [True, False],
        "offVariation": 1,
        "fallthrough": {"variation": 1},
        "rules": [{"id": "launch-markets", "clauses": [clause], "rollout": rollout}],
        "targets": [],
        "contextTargets": [],
        "prerequisites": [],
        "salt": KEY,
        "trackEvents": False,
        "trackEventsFallthrough": False,
    }
    return {"flags": {KEY: flag}}


# ---------------------------------------------------------------- subjects


@dataclass
class Subject:
    """One SDK ready to evaluate: `call(*args[i])` answers for user i."""

    name: str
    version: str
    call: Callable[..., Any]
    args: list[tuple[Any, ...]]
    warm: list[tuple[Any, ...]]
    expect_rollout: bool = True
    """The realistic flag (a quarter of targeted users on); else a static flag (all on)."""


@dataclass
class Figures:
    evals_per_s: float
    p50_us: float
    p99_us: float
    share_on: float
    """Percent of targeted users served true."""


def _version(dist: str) -> str:
    return importlib.metadata.version(dist)


def launchdeck_native(users: list[User], warm: list[User]) -> Subject:
    from launchdeck.flags.evaluate import Evaluator

    evaluator = Evaluator(launchdeck_snapshot())

    def contexts(group: list[User]) -> list[tuple[Any, ...]]:
        return [(KEY, {"userId": u.id, "country": u.country}, False) for u in group]

    return Subject(
        "launchdeck", _version("launchdeck"), evaluator.boolean, contexts(users), contexts(warm)
    )


def unleash(users: list[User], warm: list[User], cache_dir: str) -> tuple[Subject, Any]:
    from UnleashClient import UnleashClient
    from UnleashClient.cache import FileCache

    cache = FileCache("launchdeck-bench", directory=cache_dir)
    cache.bootstrap_from_dict(unleash_features())
    client = UnleashClient(
        url="http://127.0.0.1:4242/api",  # never contacted: bootstrapped, no fetch/metrics/register
        app_name="launchdeck-bench",
        environment="production",
        refresh_interval=3600,
        disable_metrics=True,
        disable_registration=True,
        cache=cache,
    )
    client.initialize_client(fetch_toggles=False)

    def contexts(group: list[User]) -> list[tuple[Any, ...]]:
        return [(KEY, {"userId": u.id, "properties": {"country": u.country}}) for u in group]

    subject = Subject(
        "Unleash", _version("UnleashClient"), client.is_enabled, contexts(users), contexts(warm)
    )
    return subject, client


def growthbook(users: list[User], warm: list[User]) -> Subject:
    from growthbook import GrowthBook

    gb = GrowthBook(features=growthbook_features())
    set_attributes, is_on = gb.set_attributes, gb.is_on

    def evaluate(attributes: dict[str, Any]) -> bool:
        set_attributes(attributes)
        return is_on(KEY)

    def contexts(group: list[User]) -> list[tuple[Any, ...]]:
        return [({"id": u.id, "country": u.country},) for u in group]

    return Subject("GrowthBook", _version("growthbook"), evaluate, contexts(users), contexts(warm))


def launchdarkly(users: list[User], warm: list[User], data_dir: str) -> tuple[Subject, Any]:
    from ldclient import Context, LDClient
    from ldclient.config import Config
    from ldclient.integrations import Files

    path = Path(data_dir) / "launchdarkly-flags.json"
    path.write_text(json.dumps(launchdarkly_flags()))
    config = Config(
        "sdk-key-unused",
        update_processor_class=Files.new_data_source(paths=[str(path)]),
        send_events=False,
        diagnostic_opt_out=True,
    )
    client = LDClient(config=config, start_wait=5)
    if not client.is_initialized():
        raise SystemExit("LaunchDarkly did not load its flag file: the comparison cannot run")

    def contexts(group: list[User]) -> list[tuple[Any, ...]]:
        return [
            (KEY, Context.builder(u.id).kind("user").set("country", u.country).build(), False)
            for u in group
        ]

    subject = Subject(
        "LaunchDarkly",
        _version("launchdarkly-server-sdk"),
        client.variation,
        contexts(users),
        contexts(warm),
    )
    return subject, client


def openfeature_subjects(users: list[User], warm: list[User]) -> tuple[list[Subject], str | None]:
    """InMemoryProvider (the floor), then launchdeck's provider on the same static flag and on
    the realistic flag; each provider bound to its own domain, set once."""
    from openfeature import api
    from openfeature.evaluation_context import EvaluationContext
    from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider

    version = _version("openfeature-sdk")

    def contexts(group: list[User], key: str) -> list[tuple[Any, ...]]:
        return [
            (key, False, EvaluationContext(u.id, {"userId": u.id, "country": u.country}))
            for u in group
        ]

    static_flag = InMemoryFlag("on", {"on": True, "off": False})
    api.set_provider(InMemoryProvider({STATIC_KEY: static_flag}), domain="in-memory")
    floor = api.get_client(domain="in-memory").get_boolean_value
    subjects = [
        Subject(
            "InMemoryProvider (static)",
            version,
            floor,
            contexts(users, STATIC_KEY),
            contexts(warm, STATIC_KEY),
            expect_rollout=False,
        )
    ]
    try:
        from launchdeck.flags.openfeature import LaunchdeckProvider
    except ModuleNotFoundError as exc:
        if exc.name != "launchdeck.flags.openfeature":
            raise
        return subjects, "launchdeck.flags.openfeature is not there: provider not installed yet"
    api.set_provider(LaunchdeckProvider(snapshot=launchdeck_snapshot()), domain="launchdeck")
    ours = api.get_client(domain="launchdeck").get_boolean_value
    subjects.append(
        Subject(
            "LaunchdeckProvider (static)",
            _version("launchdeck"),
            ours,
            contexts(users, STATIC_KEY),
            contexts(warm, STATIC_KEY),
            expect_rollout=False,
        )
    )
    subjects.append(
        Subject(
            "LaunchdeckProvider (realistic)",
            _version("launchdeck"),
            ours,
            contexts(users, KEY),
            contexts(warm, KEY),
        )
    )
    return subjects, None


# ---------------------------------------------------------------- measuring


def timer_overhead_ns() -> int:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(200_000):
        t0 = clock()
        t1 = clock()
        samples.append(t1 - t0)
    samples.sort()
    return samples[len(samples) // 2]


def throughput(subject: Subject) -> float:
    call, args = subject.call, subject.args
    gc.collect()
    started = time.perf_counter()
    for a in args:
        call(*a)
    return len(args) / (time.perf_counter() - started)


def latencies(subject: Subject) -> tuple[list[int], list[Any]]:
    call, args = subject.call, subject.args
    clock = time.perf_counter_ns
    spent = [0] * len(args)
    answers: list[Any] = [None] * len(args)
    gc.collect()
    for i, a in enumerate(args):
        t0 = clock()
        answer = call(*a)
        t1 = clock()
        spent[i] = t1 - t0
        answers[i] = answer
    return spent, answers


def percentile(ordered: Sequence[int], q: float) -> int:
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def check_answers(subject: Subject, users: list[User], answers: list[Any]) -> float:
    """The share (%) of targeted users on; stops the run when the SDK is misconfigured."""
    targeted = on = stray = wrong_type = 0
    for user, answer in zip(users, answers, strict=True):
        if type(answer) is not bool:
            wrong_type += 1
        if user.country in TARGETED:
            targeted += 1
            on += answer is True
        else:
            stray += answer is True
    share = 100 * on / targeted
    problem = None
    if wrong_type:
        problem = f"{wrong_type:,} answers are not booleans"
    elif subject.expect_rollout and not SHARE_RANGE[0] <= share <= SHARE_RANGE[1]:
        problem = (
            f"{share:.2f}% of targeted users are on, outside {SHARE_RANGE[0]:g}-{SHARE_RANGE[1]:g}%"
        )
    elif subject.expect_rollout and stray:
        problem = f"{stray:,} users outside {', '.join(TARGETED)} are on"
    elif not subject.expect_rollout and (share != 100 or stray != len(users) - targeted):
        problem = "a static flag that is on did not answer true for everyone"
    if problem is not None:
        console.print(
            f"[red bold]{subject.name} is misconfigured:[/red bold] {problem}. The comparison "
            "would be unfair, so the run stops; fix its flag definition in bench/flag_eval.py."
        )
        raise SystemExit(2)
    return share


def measure(
    subjects: list[Subject], users: list[User], repeat: int, overhead: int, progress: Progress
) -> dict[str, Figures]:
    task = progress.add_task("", total=len(subjects) * (repeat + 2))

    def step(text: str) -> None:
        progress.update(task, description=text)
        progress.refresh()

    spread: dict[str, tuple[float, float, float]] = {}
    for s in subjects:
        step(f"{s.name}: warm-up, then timing each call")
        for a in s.warm:
            s.call(*a)
        progress.advance(task)
        spent, answers = latencies(s)
        share = check_answers(s, users, answers)
        spent.sort()
        spread[s.name] = (
            max(0, percentile(spent, 0.50) - overhead) / 1000,
            max(0, percentile(spent, 0.99) - overhead) / 1000,
            share,
        )
        progress.advance(task)
    best = dict.fromkeys(spread, 0.0)
    for r in range(repeat):
        for s in subjects:
            step(f"{s.name}: throughput pass {r + 1}/{repeat}")
            best[s.name] = max(best[s.name], throughput(s))
            progress.advance(task)
    return {name: Figures(best[name], *spread[name]) for name in spread}


# ---------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red bold]MISS[/red bold]"


def figures_table(
    title: str,
    caption: str,
    first: str,
    ratios: dict[str, Callable[[str, Figures], str]],
    subjects: list[Subject],
    figures: dict[str, Figures],
) -> Table:
    """One row per subject: name, version, evals/s, p50, p99, on %, then each ratio column."""
    table = Table(title=title, caption=caption)
    table.add_column(first, no_wrap=True)
    table.add_column("version")
    for column in ("evals/s", "p50 µs", "p99 µs", "on %", *ratios):
        table.add_column(column, justify="right")
    for s in subjects:
        f = figures[s.name]
        table.add_row(
            s.name,
            s.version,
            f"{f.evals_per_s:,.0f}",
            f"{f.p50_us:.2f}",
            f"{f.p99_us:.2f}",
            f"{f.share_on:.2f}%",
            *(ratio(s.name, f) for ratio in ratios.values()),
        )
    return table


def native_report(subjects: list[Subject], figures: dict[str, Figures], users: int) -> None:
    ours = figures["launchdeck"]
    console.print(
        figures_table(
            f"Native APIs: one realistic flag, {users:,} distinct users, one thread",
            "on %: share of US/CA/GB users served true (the 25% rollout); "
            "launchdeck ×: launchdeck evals/s ÷ that SDK's",
            "SDK",
            {
                "launchdeck ×": lambda name, f: (
                    "—" if name == "launchdeck" else f"{ours.evals_per_s / f.evals_per_s:.2f}×"
                )
            },
            subjects,
            figures,
        )
    )
    peers = [s.name for s in subjects if s.name != "launchdeck"]
    fastest = max(peers, key=lambda name: figures[name].evals_per_s)
    ratio = ours.evals_per_s / figures[fastest].evals_per_s
    console.print(
        f"Target: launchdeck ≥ {TARGET_PEER_RATIO:g}× the evals/s of the fastest peer "
        f"({fastest}): {ratio:.2f}× {verdict(ratio >= TARGET_PEER_RATIO)}"
    )
    console.print(
        f"Target: launchdeck p50 ≤ {TARGET_P50_US:g} µs: {ours.p50_us:.2f} µs "
        f"{verdict(ours.p50_us <= TARGET_P50_US)}"
    )


def openfeature_report(
    subjects: list[Subject], figures: dict[str, Figures], missing: str | None
) -> None:
    floor = figures[subjects[0].name]
    table = figures_table(
        f"Through OpenFeature: get_boolean_value, openfeature-sdk {subjects[0].version}",
        "floor: InMemoryProvider on a static flag, the SDK's own cost; "
        "time ÷ floor: floor evals/s ÷ that row's",
        "provider (flag)",
        {
            "p50 ÷ floor": lambda _, f: f"{f.p50_us / floor.p50_us:.2f}×",
            "time ÷ floor": lambda _, f: f"{floor.evals_per_s / f.evals_per_s:.2f}×",
        },
        subjects,
        figures,
    )
    console.print(table)
    if missing is not None:
        console.print(f"[yellow]LaunchdeckProvider: {missing}; no OpenFeature target checked[/]")
        return
    ours = figures[subjects[1].name]
    p50_ratio = ours.p50_us / floor.p50_us
    time_ratio = floor.evals_per_s / ours.evals_per_s
    console.print(
        f"Target: LaunchdeckProvider within {TARGET_FLOOR_RATIO:g}× of InMemoryProvider on a "
        f"static flag: p50 {p50_ratio:.2f}×, throughput {time_ratio:.2f}× "
        f"{verdict(max(p50_ratio, time_ratio) <= TARGET_FLOOR_RATIO)}"
    )


@contextmanager
def peers_closed(clients: list[Any]) -> Iterator[None]:
    try:
        yield
    finally:
        for client in clients:
            for method in ("destroy", "close"):
                if hasattr(client, method):
                    getattr(client, method)()
                    break


def inner(args: argparse.Namespace) -> int:
    """Everything below runs in the benchmark's environment, where the SDKs are."""
    from openfeature import api as openfeature_api

    users = make_users(args.users)
    warm = make_users(WARM_UP, prefix="warm")
    overhead = timer_overhead_ns()
    console.print(
        f"[dim]Python {sys.version.split()[0]}, {args.users:,} users, throughput best of "
        f"{args.repeat}, per-call timer cost {overhead} ns subtracted from p50/p99[/dim]"
    )
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
    )
    # Progress refreshed by hand between passes: no refresh thread competes with timed loops.
    with (
        tempfile.TemporaryDirectory() as tmp,
        Progress(*columns, console=console, transient=True, auto_refresh=False) as progress,
    ):
        setup = progress.add_task("building each SDK's flag and contexts", total=None)
        progress.refresh()
        unleash_subject, unleash_client = unleash(users, warm, tmp)
        ld_subject, ld_client = launchdarkly(users, warm, tmp)
        native = [
            launchdeck_native(users, warm),
            unleash_subject,
            growthbook(users, warm),
            ld_subject,
        ]
        of_subjects, missing = openfeature_subjects(users, warm)
        progress.remove_task(setup)
        # The prebuilt contexts of every SDK (millions of objects) would make each full
        # collection slow, a cost landing on whichever SDK allocates most; the GC skips them.
        gc.collect()
        gc.freeze()
        with peers_closed([unleash_client, ld_client]):
            native_figures = measure(native, users, args.repeat, overhead, progress)
            of_figures = measure(of_subjects, users, args.repeat, overhead, progress)
        openfeature_api.shutdown()
    native_report(native, native_figures, args.users)
    openfeature_report(of_subjects, of_figures, missing)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=USERS, help="distinct users per pass")
    parser.add_argument("--repeat", type=int, default=5, help="throughput passes (best kept)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        return inner(args)
    python = ensure_venv()
    sys.stdout.flush()
    command = [str(python), str(Path(__file__).resolve()), "--inner", *sys.argv[1:]]
    os.execv(command[0], command)  # noqa: S606 — one process with every SDK, same interpreter


if __name__ == "__main__":
    raise SystemExit(main())
