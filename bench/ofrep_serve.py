"""OFREP through `launchdeck serve`: bulk-evaluation requests/s as a ratio to a trivial endpoint
of the same server, and how fast a flag change reaches a connected OpenFeature provider.

A temporary SQLite workspace (production and staging, one system) holds 20 flags of every type,
made through FlagService: targeting rules over nested all/any/not clauses, segments, rollouts,
a prerequisite, regex, SemVer, CIDR and relative-date clauses. `launchdeck serve` runs on it as
a real process: uvicorn, one worker, a free loopback port, LAUNCHDECK_OFREP_RATE_LIMIT=0 (the
rate limit would otherwise answer 429 in place of the server), log level warning (no access-log
line per request, a fixed cost that would flatter the ratio).

Throughput: wrk (Debian package `wrk`; without it a Python asyncio load generator in a
subprocess, which is itself the bottleneck sooner) holds 32 keep-alive connections on each
endpoint for 1 s of warm-up, then `--duration` seconds measured; the endpoints are interleaved
and the whole round runs twice, the better pass of each endpoint counts. Every OFREP request
carries a realistic context with its own targeting key. Endpoints:
- GET /healthz: the trivial endpoint, the floor of the stack (uvicorn, routing, the metrics
  middleware); it is a sync handler, so it also pays the thread-pool hop;
- POST /ofrep/v1/evaluate/flags: bulk evaluation of all 20 flags with an SDK key (the target);
- for information: one flag (POST /ofrep/v1/evaluate/flags/{key}), and GET
  /ofrep/v1/configuration (async, authenticated, a constant body: the OFREP floor).

Propagation: a LaunchdeckProvider behind an OpenFeature client, with a
PROVIDER_CONFIGURATION_CHANGED handler that wakes the bench. `--changes` times, a production
flag is turned off or on through the management API (POST /api/v1/flags/{key}/changes; on asks
the gate, off is a kill switch), at random moments; the time counts from sending the change to
the provider's answer being the new value, so it includes the write itself (shown apart).
Rows: with the event stream (the target); for information the same change written by another
process (FlagService on the same SQLite file, which the server notices by its revision check),
and with the stream off (polling every second; the provider's default interval is 30 s).

Targets (issue 4): bulk requests/s >= 0.6x those of the trivial endpoint; a change reaches a
connected provider within 1 s with SSE (every change: the slowest counts).
Run: make bench  (or .venv/bin/python bench/ofrep_serve.py [--duration S] [--changes N])
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

BIN = Path(sys.executable).parent
CONNECTIONS = 32
WARM_UP_S = 1
ROUNDS = 2
TARGET_RATIO = 0.6
TARGET_PROPAGATION_S = 1.0
POLL_FALLBACK_S = 1.0
SSE_CYCLE_S = 0.5
"""Covers the stream's look at the cache (0.2 s) and the revision check (0.25 s) behind it."""
CHANGE_TIMEOUT_S = 15.0
START_TIMEOUT_S = 30.0
PROPAGATION_KEY = "checkout-kill-switch"
SINGLE_KEY = "new-checkout"

console = Console(width=None if sys.stdout.isatty() else 120)

WORKSPACE: dict[str, Any] = {
    "version": 1,
    "workspace": {"name": "ofrep-bench", "timezone": "UTC"},
    "environments": [{"id": "staging"}, {"id": "production", "production_like": True}],
    "systems": [{"id": "storefront", "tier": 1}],
}

SEGMENTS: list[dict[str, Any]] = [
    {
        "key": "beta-testers",
        "included": [f"user-{i}" for i in range(0, 5000, 37)],
        "rules": [{"attribute": "email", "op": "ends_with_ci", "values": ["@launchdeck.dev"]}],
    },
    {
        "key": "eu",
        "rules": [
            {
                "attribute": "country",
                "op": "in",
                "values": ["DE", "FR", "IT", "ES", "NL", "BE", "AT", "PL", "SE", "IE"],
            }
        ],
    },
]


def _on(when: dict[str, Any], serve: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    return {"name": name, "when": when, "serve": serve}


def _rollout(weights: dict[str, float], coverage: float = 100, by: str = "targetingKey") -> Any:
    return {"rollout": {"coverage": coverage, "weights": weights, "bucket_by": by}}


def _flag(
    key: str,
    *,
    rules: list[dict[str, Any]] | None = None,
    fallthrough: dict[str, Any] | None = None,
    enabled: bool = True,
    **spec: Any,
) -> dict[str, Any]:
    """A flag configured the same in production and staging (staging always on)."""
    config = {"rules": rules or [], "fallthrough": fallthrough or {"variant": "off"}}
    return {
        "key": key,
        "system": "storefront",
        "owner": "web-platform",
        **spec,
        "environments": {
            "production": {"enabled": enabled, **config},
            "staging": {"enabled": True, **config},
        },
    }


def _clause(attribute: str, op: str, *values: Any) -> dict[str, Any]:
    return {"attribute": attribute, "op": op, "values": list(values)}


FLAGS: list[dict[str, Any]] = [
    _flag(
        SINGLE_KEY,
        rules=[_on(_clause("country", "in", "US", "CA", "GB"), _rollout({"on": 100}, 25))],
    ),
    _flag(
        "hero-banner",
        type="string",
        variants={"classic": "classic", "bf": "black-friday", "cm": "cyber-monday"},
        off_variant="classic",
        rules=[_on({"op": "in_segment", "values": ["beta-testers"]}, {"variant": "bf"})],
        fallthrough={"variant": "classic"},
    ),
    _flag(
        "search-ranking",
        kind="experiment",
        type="string",
        variants={"control": "bm25", "v2": "bm25-v2", "semantic": "semantic"},
        off_variant="control",
        fallthrough=_rollout({"control": 50, "v2": 25, "semantic": 25}),
    ),
    _flag(
        "cart-max-items",
        type="integer",
        variants={"standard": 50, "large": 200},
        off_variant="standard",
        rules=[_on(_clause("plan", "in", "pro", "enterprise"), {"variant": "large"})],
        fallthrough={"variant": "standard"},
    ),
    _flag(
        "free-shipping-threshold",
        type="float",
        variants={"none": 0.0, "us": 49.0, "eu": 39.5},
        off_variant="none",
        rules=[
            _on({"op": "in_segment", "values": ["eu"]}, {"variant": "eu"}),
            _on(_clause("country", "in", "US"), {"variant": "us"}),
        ],
        fallthrough={"variant": "none"},
    ),
    _flag(
        "checkout-config",
        type="object",
        variants={
            "v1": {"steps": 3, "express": False, "wallets": ["card"]},
            "v2": {"steps": 1, "express": True, "wallets": ["card", "apple-pay", "paypal"]},
        },
        off_variant="v1",
        fallthrough=_rollout({"v1": 90, "v2": 10}),
    ),
    _flag(
        "mobile-redesign",
        rules=[
            _on(
                {
                    "all": [
                        _clause("appVersion", "semver_gte", "5.2.0"),
                        _clause("platform", "in", "ios", "android"),
                    ]
                },
                {"variant": "on"},
            )
        ],
    ),
    _flag(
        "internal-tools",
        kind="permission",
        rules=[_on(_clause("email", "ends_with_ci", "@launchdeck.dev"), {"variant": "on"})],
    ),
    _flag(
        "eu-cookie-consent",
        kind="ops",
        rules=[_on({"op": "in_segment", "values": ["eu"]}, {"variant": "on"})],
    ),
    _flag("payments-enabled", kind="ops", fallthrough={"variant": "on"}),
    _flag("legacy-recommendations", enabled=False, fallthrough={"variant": "on"}),
    _flag(
        "checkout-upsell",
        prerequisites=[{"flag": SINGLE_KEY, "variants": ["on"]}],
        rules=[_on(_clause("plan", "in", "pro"), {"variant": "on"})],
    ),
    _flag(
        "office-network-preview",
        rules=[_on(_clause("ip", "in_cidr", "10.0.0.0/8", "192.168.0.0/16"), {"variant": "on"})],
    ),
    _flag(
        "new-user-onboarding",
        kind="experiment",
        rules=[_on(_clause("signupDate", "after", "-30d"), _rollout({"on": 50, "off": 50}))],
    ),
    _flag(
        "partner-pricing",
        rules=[_on(_clause("email", "matches", r"@(acme|globex)\.com$"), {"variant": "on"})],
    ),
    _flag(
        "promo-strip",
        type="string",
        variants={"none": "", "bf": "Black Friday: 30% off", "cm": "Cyber Monday deals"},
        off_variant="none",
        rules=[
            _on(
                {"all": [_clause("country", "in", "US"), {"not": _clause("plan", "in", "free")}]},
                {"variant": "bf"},
            )
        ],
        fallthrough={"variant": "none"},
    ),
    _flag(
        "api-rate-tier",
        type="integer",
        variants={"low": 100, "high": 1000},
        off_variant="low",
        rules=[
            _on(
                {
                    "any": [
                        _clause("plan", "in", "enterprise"),
                        _clause("email", "ends_with", "@acme.com"),
                    ]
                },
                {"variant": "high"},
            )
        ],
        fallthrough={"variant": "low"},
    ),
    _flag(
        "image-cdn",
        kind="ops",
        type="string",
        variants={"fastly": "fastly", "cloudfront": "cloudfront"},
        off_variant="fastly",
        fallthrough=_rollout({"fastly": 70, "cloudfront": 30}),
    ),
    _flag("dark-mode", fallthrough=_rollout({"on": 50, "off": 50})),
    _flag(PROPAGATION_KEY, kind="ops", fallthrough={"variant": "on"}),
]


def _context_template() -> str:
    """The OFREP request body, `%d` standing for the user number (wrk's Lua fills it)."""
    signup = (datetime.now(UTC) - timedelta(days=10)).isoformat(timespec="seconds")
    context = {
        "targetingKey": "user-TKEY",
        "country": "US",
        "plan": "pro",
        "email": "ana@acme.com",
        "appVersion": "5.3.1",
        "platform": "ios",
        "ip": "10.2.3.4",
        "signupDate": signup,
    }
    return json.dumps({"context": context}, separators=(",", ":")).replace("TKEY", "%d")


# ---------------------------------------------------------------- the workspace and the server


@dataclass(frozen=True)
class Workspace:
    db_url: str
    sdk_key: str
    admin_token: str


def build_workspace(directory: Path) -> Workspace:
    from launchdeck.auth.model import Scope
    from launchdeck.auth.service import TokenService
    from launchdeck.client import utc_now
    from launchdeck.flags.model import FlagSpec, SegmentSpec
    from launchdeck.flags.service import FlagService
    from launchdeck.store import Database
    from launchdeck.workspace.service import WorkspaceService
    from launchdeck.workspace.spec import WorkspaceSpec

    url = f"sqlite:///{directory / 'state.db'}"
    db = Database(url)
    try:
        db.ensure_schema()
        WorkspaceService(db, actor="bench", clock=utc_now).apply(
            WorkspaceSpec.model_validate(WORKSPACE)
        )
        flags = FlagService(db, actor="bench", clock=utc_now)
        for segment in SEGMENTS:
            flags.put_segment(SegmentSpec.model_validate(segment))
        for flag in FLAGS:
            flags.create(FlagSpec.model_validate(flag))
        sdk_key = flags.create_sdk_key("web-bench", "production").key
        admin = TokenService(db, actor="bench", clock=utc_now).create("bench", [Scope.ADMIN])
    finally:
        db.dispose()
    return Workspace(url, sdk_key, admin.token)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def serving(workspace: Workspace, directory: Path) -> Iterator[Server]:
    """`launchdeck serve` on the workspace until the block ends (also on errors)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDECK_")}
    env.update(
        LAUNCHDECK_WORKSPACE=str(directory),
        LAUNCHDECK_DATABASE_URL=workspace.db_url,
        LAUNCHDECK_OFREP_RATE_LIMIT="0",
        LAUNCHDECK_LOG_LEVEL="warning",
        # the gate's SLO checks read a closed port: a Prometheus on :9090 is not ours
        LAUNCHDECK_PROMETHEUS_URL=f"http://127.0.0.1:{_free_port()}",
    )
    log = directory / "serve.log"
    for attempt in range(3):
        port = _free_port()
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(BIN / "launchdeck"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=directory,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, f"http://127.0.0.1:{port}", log)
        try:
            if _ready(server):
                break
        except BaseException:
            _stop(process)
            raise
        if attempt == 2 or "address already in use" not in server.log_tail():
            raise SystemExit(f"launchdeck serve did not start:\n{server.log_tail()}")
    try:
        yield server
    finally:
        _stop(server.process)


def _ready(server: Server) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        with contextlib.suppress(httpx.TransportError):  # not listening yet
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return True
        time.sleep(0.05)
    _stop(server.process)
    raise SystemExit(f"launchdeck serve was not up within {START_TIMEOUT_S:.0f} s")


# ---------------------------------------------------------------- load


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    authorised: bool
    body: str | None
    """A template with `%d` for the user number; None for a GET."""


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    """Socket errors, timeouts and answers other than 2xx."""

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds


_WRK_SCRIPT = """
local n = 0
local body = [==[{body}]==]
wrk.method = "{method}"
{headers}
request = function()
  n = n + 1
  if body == "" then return wrk.format(nil, "{path}") end
  return wrk.format(nil, "{path}", nil, string.format(body, n % 100000))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "\\nRESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _wrk_command(
    endpoint: Endpoint, url: str, token: str, seconds: float, directory: Path
) -> list[str]:
    headers = [f'wrk.headers["Authorization"] = "Bearer {token}"'] if endpoint.authorised else []
    if endpoint.body is not None:
        headers.append('wrk.headers["Content-Type"] = "application/json"')
    script = directory / f"wrk-{endpoint.name.replace(' ', '-').replace('/', '')}.lua"
    script.write_text(
        _WRK_SCRIPT.format(
            body=endpoint.body or "",
            method=endpoint.method,
            headers="\n".join(headers),
            path=endpoint.path,
        )
    )
    return [
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{seconds:g}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]


def _parse_result(output: str) -> Load:
    """The RESULT line wrk's `done` (or the Python load generator) prints."""
    found = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.MULTILINE)
    if found is None:
        raise SystemExit(f"the load generator gave no result:\n{output[-2000:]}")
    requests, duration_us, p50_us, p99_us, errors = map(int, found.groups())
    return Load(requests, duration_us / 1e6, p50_us / 1000, p99_us / 1000, errors)


def _loadgen_command(endpoint: Endpoint, url: str, token: str, seconds: float) -> list[str]:
    spec = {
        "url": url,
        "method": endpoint.method,
        "path": endpoint.path,
        "token": token if endpoint.authorised else None,
        "body": endpoint.body,
        "seconds": seconds,
    }
    return [sys.executable, str(Path(__file__).resolve()), "--loadgen", json.dumps(spec)]


def run_load(
    endpoint: Endpoint,
    url: str,
    token: str,
    seconds: float,
    directory: Path,
    tick: Callable[[], None],
) -> Load:
    """One pass of the load generator (a separate process) on `endpoint`."""
    if shutil.which("wrk") is not None:
        command = _wrk_command(endpoint, url, token, seconds, directory)
    else:
        command = _loadgen_command(endpoint, url, token, seconds)
    output = directory / "load.out"
    with output.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        while process.poll() is None:
            tick()
            time.sleep(0.25)
    return _parse_result(output.read_text(errors="replace"))


async def _one_connection(
    spec: dict[str, Any], deadline: float, latencies: list[float], errors: list[int], first: int
) -> None:
    host, _, port = spec["url"].removeprefix("http://").partition(":")
    head = f"{spec['method']} {spec['path']} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if spec["token"]:
        head += f"Authorization: Bearer {spec['token']}\r\n"
    reader, writer = await asyncio.open_connection(host, int(port))
    n = first
    try:
        while (started := time.perf_counter()) < deadline:
            n += 1
            if spec["body"] is None:
                request = (head + "\r\n").encode()
            else:
                body = (spec["body"] % (n % 100_000)).encode()
                request = (
                    head + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
            writer.write(request)
            answer = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", answer)
            if length is None:
                raise ValueError("an answer without Content-Length")
            await reader.readexactly(int(length.group(1)))
            latencies.append(time.perf_counter() - started)
            if answer[9:10] != b"2":
                errors.append(1)
    finally:
        writer.close()


async def _loadgen(spec: dict[str, Any]) -> None:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    deadline = started + float(spec["seconds"])
    outcomes = await asyncio.gather(
        *(
            _one_connection(spec, deadline, latencies, errors, i * 1_000_000)
            for i in range(CONNECTIONS)
        ),
        return_exceptions=True,
    )
    seconds = time.perf_counter() - started
    failed = sum(isinstance(o, BaseException) for o in outcomes)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0.0
    print(
        f"\nRESULT {len(latencies)} {seconds * 1e6:.0f} {p50 * 1e6:.0f} {p99 * 1e6:.0f} "
        f"{len(errors) + failed}"
    )


def endpoints() -> list[Endpoint]:
    body = _context_template()
    return [
        Endpoint("GET /healthz", "GET", "/healthz", False, None),
        Endpoint("POST /ofrep/v1/evaluate/flags", "POST", "/ofrep/v1/evaluate/flags", True, body),
        Endpoint(
            f"POST /ofrep/v1/evaluate/flags/{SINGLE_KEY}",
            "POST",
            f"/ofrep/v1/evaluate/flags/{SINGLE_KEY}",
            True,
            body,
        ),
        Endpoint("GET /ofrep/v1/configuration", "GET", "/ofrep/v1/configuration", True, None),
    ]


def check_answers(url: str, sdk_key: str, body: str) -> tuple[int, int]:
    """Each endpoint answers 200 and the bulk answer holds every flag without an error, before
    any load: a fast 4xx would be a meaningless figure. Returns (flags, bytes) of the bulk."""
    auth = {"Authorization": f"Bearer {sdk_key}", "Content-Type": "application/json"}
    context = body % 1
    with httpx.Client(base_url=url, timeout=10) as http:
        answers = {
            "GET /healthz": http.get("/healthz"),
            "OFREP bulk": http.post("/ofrep/v1/evaluate/flags", content=context, headers=auth),
            "OFREP single": http.post(
                f"/ofrep/v1/evaluate/flags/{SINGLE_KEY}", content=context, headers=auth
            ),
            "OFREP configuration": http.get("/ofrep/v1/configuration", headers=auth),
        }
    for name, answer in answers.items():
        if answer.status_code != 200:
            raise SystemExit(f"{name} answered {answer.status_code}: {answer.text[:300]}")
    bulk = answers["OFREP bulk"]
    flags = bulk.json()["flags"]
    failed = [f for f in flags if "errorCode" in f]
    if len(flags) != len(FLAGS) or failed:
        raise SystemExit(f"the bulk answer has {len(flags)} flags, errors: {failed[:3]}")
    return len(flags), len(bulk.content)


def measure_load(
    server: Server, workspace: Workspace, seconds: float, directory: Path, progress: Progress
) -> tuple[dict[str, Load], dict[str, list[float]], dict[str, int]]:
    """The better pass of each endpoint, every pass's requests/s, and the errors of all passes."""
    targets = endpoints()
    task = progress.add_task("load", total=ROUNDS * len(targets) * (seconds + WARM_UP_S))
    done = 0.0
    best: dict[str, Load] = {}
    rates: dict[str, list[float]] = {e.name: [] for e in targets}
    errors = dict.fromkeys(rates, 0)
    for r in range(ROUNDS):
        for endpoint in targets:
            for label, length in (("warm-up", WARM_UP_S), (f"pass {r + 1}/{ROUNDS}", seconds)):
                progress.update(task, description=f"{endpoint.name}: {label}")
                started, base = time.monotonic(), done

                def tick(started: float = started, base: float = base) -> None:
                    progress.update(task, completed=base + time.monotonic() - started)

                load = run_load(endpoint, server.url, workspace.sdk_key, length, directory, tick)
                done = base + length
                progress.update(task, completed=done)
                errors[endpoint.name] += load.errors
                if server.process.poll() is not None:
                    raise SystemExit(f"the server exited under load:\n{server.log_tail()}")
            rates[endpoint.name].append(load.per_s)
            if endpoint.name not in best or load.per_s > best[endpoint.name].per_s:
                best[endpoint.name] = load
    progress.remove_task(task)
    return best, rates, errors


# ---------------------------------------------------------------- propagation


@dataclass(frozen=True)
class Propagation:
    name: str
    changes: int
    write_s: list[float]
    """Sending the change until the API answered (or FlagService returned)."""
    seen_s: list[float]
    """Sending the change until the provider answered the new value."""
    timeouts: int


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class _Changer:
    """Turns PROPAGATION_KEY on or off in production: through the management API, or as
    another process would (FlagService on the same database, the server not told)."""

    def __init__(self, server: Server, workspace: Workspace, *, through_api: bool) -> None:
        from launchdeck.store import Database

        self._db = None if through_api else Database(workspace.db_url)
        self._http = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {workspace.admin_token}"},
            timeout=CHANGE_TIMEOUT_S,
        )

    def __call__(self, enabled: bool) -> None:
        from launchdeck.client import utc_now
        from launchdeck.flags.model import EnvPatch
        from launchdeck.flags.requests import ChangeBody
        from launchdeck.flags.service import FlagService

        if self._db is not None:
            FlagService(self._db, actor="bench", clock=utc_now).change(
                PROPAGATION_KEY,
                ChangeBody(environment="production", patch=EnvPatch(enabled=enabled)),
            )
            return
        answer = self._http.post(
            f"/api/v1/flags/{PROPAGATION_KEY}/changes",
            json={"environment": "production", "patch": {"enabled": enabled}},
        )
        if answer.status_code != 200 or answer.json()["outcome"] != "applied":
            raise SystemExit(f"the change was not applied ({answer.status_code}): {answer.text}")

    def close(self) -> None:
        self._http.close()
        if self._db is not None:
            self._db.dispose()


def _time_change(
    change: _Changer, value: bool, answer: Callable[[bool], bool], woke: threading.Event
) -> tuple[float, float | None]:
    """(seconds until the change was committed, seconds until the provider answered it, None
    if it did not within CHANGE_TIMEOUT_S)."""
    want = not value
    woke.clear()
    started = time.perf_counter()
    change(want)
    written = time.perf_counter() - started
    while answer(value) is not want:
        if time.perf_counter() - started > CHANGE_TIMEOUT_S:
            return written, None
        woke.wait(0.005)  # the handler wakes this at once; the timeout is a backstop
        woke.clear()
    return written, time.perf_counter() - started


def measure_propagation(
    name: str,
    server: Server,
    workspace: Workspace,
    *,
    stream: bool,
    poll_s: float,
    changes: int,
    through_api: bool,
    cycle_s: float,
    progress: Progress,
    rng: random.Random,
) -> Propagation:
    """Turn PROPAGATION_KEY off and on `changes` times; time each until the provider sees it.
    Each change waits a random time spanning `cycle_s`, the period of what the path waits on
    (the stream's look at the cache, the revision check, the provider's poll): a change made
    just after the last one was seen would always land early in that cycle."""
    from openfeature import api
    from openfeature.evaluation_context import EvaluationContext
    from openfeature.event import EventDetails, ProviderEvent

    from launchdeck.flags.openfeature import LaunchdeckProvider

    task = progress.add_task(f"propagation, {name}", total=changes)
    provider = LaunchdeckProvider(
        server.url, sdk_key=workspace.sdk_key, stream=stream, poll_interval_s=poll_s
    )
    domain = f"bench-{stream}-{through_api}"
    api.set_provider_and_wait(provider, domain=domain)
    client = api.get_client(domain=domain)
    woke = threading.Event()

    def changed(_details: EventDetails) -> None:
        woke.set()

    client.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, changed)
    user = EvaluationContext("user-1", {"country": "FR"})

    def answer(default: bool) -> bool:
        return client.get_boolean_value(PROPAGATION_KEY, default, user)

    change = _Changer(server, workspace, through_api=through_api)
    write_s: list[float] = []
    seen_s: list[float] = []
    try:
        deadline = time.monotonic() + CHANGE_TIMEOUT_S
        while stream and not provider.sync_status().streaming:
            if time.monotonic() > deadline:
                raise SystemExit("the provider's event stream did not connect")
            time.sleep(0.01)
        value = answer(False)
        for _ in range(changes):
            time.sleep(rng.uniform(0.1, 0.1 + cycle_s))
            written, seen = _time_change(change, value, answer, woke)
            write_s.append(written)
            if seen is not None:
                seen_s.append(seen)
            value = answer(value)
            progress.advance(task)
    finally:
        change.close()
        provider.shutdown()
        api.clear_providers()
        progress.remove_task(task)
    return Propagation(name, changes, write_s, seen_s, changes - len(seen_s))


# ---------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red bold]MISS[/red bold]"


def load_report(
    best: dict[str, Load], rates: dict[str, list[float]], errors: dict[str, int], seconds: float
) -> None:
    names = list(best)
    floor = best[names[0]].per_s
    tool = "wrk" if shutil.which("wrk") is not None else "Python asyncio load generator"
    table = Table(
        title=f"launchdeck serve (uvicorn, 1 worker): {tool}, {CONNECTIONS} keep-alive "
        f"connections, {seconds:g} s a pass",
        caption="req/s: the better of the passes (each pass listed); latency of that pass; "
        "× trivial: req/s ÷ those of GET /healthz",
    )
    for column, justify in (
        ("endpoint", "left"),
        ("req/s", "right"),
        ("passes", "right"),
        ("p50 ms", "right"),
        ("p99 ms", "right"),
        ("errors", "right"),
        ("× trivial", "right"),
    ):
        table.add_column(column, justify=justify, no_wrap=column == "endpoint")
    for name in names:
        load = best[name]
        table.add_row(
            name,
            f"{load.per_s:,.0f}",
            " / ".join(f"{r:,.0f}" for r in rates[name]),
            f"{load.p50_ms:.2f}",
            f"{load.p99_ms:.2f}",
            f"{errors[name]:,}",
            f"{load.per_s / floor:.2f}×",
        )
    console.print(table)
    ratio = best[names[1]].per_s / floor
    console.print(
        f"Target: OFREP bulk ({len(FLAGS)} flags) ≥ {TARGET_RATIO:g}× the requests/s of the "
        f"trivial endpoint: {ratio:.2f}× {verdict(ratio >= TARGET_RATIO)}"
    )
    floor_name = names[-1]
    console.print(
        f"[dim]For information: bulk ÷ {floor_name} (async, authenticated, a constant body): "
        f"{best[names[1]].per_s / best[floor_name].per_s:.2f}×[/dim]"
    )
    if any(errors.values()):
        console.print(
            "[red bold]Errors under load[/red bold] (socket errors, timeouts or non-2xx answers): "
            + ", ".join(f"{n}: {e:,}" for n, e in errors.items() if e)
        )


def propagation_report(rows: list[Propagation]) -> None:
    table = Table(
        title=f"Flag change → LaunchdeckProvider answer ({PROPAGATION_KEY} off/on in production)",
        caption="write: sending the change until it was committed; "
        "seen: sending it until the provider answered the new value",
    )
    for column in ("path", "changes", "write p50 ms", "seen p50 ms", "seen p90 ms", "seen max ms"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for row in rows:
        seen = [s * 1000 for s in row.seen_s]
        table.add_row(
            row.name,
            f"{len(seen)}/{row.changes}",
            f"{statistics.median(row.write_s) * 1000:.1f}",
            f"{_percentile(seen, 0.5):.0f}",
            f"{_percentile(seen, 0.9):.0f}",
            f"{max(seen, default=float('nan')):.0f}",
        )
    console.print(table)
    sse = rows[0]
    worst = max(sse.seen_s, default=float("inf")) if not sse.timeouts else float("inf")
    console.print(
        f"Target: a change reaches a connected provider within {TARGET_PROPAGATION_S:g} s with "
        f"SSE: p50 {_percentile(sse.seen_s, 0.5) * 1000:.0f} ms, max {worst * 1000:.0f} ms "
        f"{verdict(worst <= TARGET_PROPAGATION_S)}"
    )
    for row in rows:
        if row.timeouts:
            console.print(
                f"[red bold]{row.name}: {row.timeouts} change(s) not seen within "
                f"{CHANGE_TIMEOUT_S:g} s[/red bold]"
            )


_FRAME = re.compile(r'File "[^"]*/(src/launchdeck/[^"]+)", line (\d+), in (\w+)')


def server_errors(log: str) -> dict[tuple[str, str, str], int]:
    """(the message logged with it, exception, innermost launchdeck frame) → how many
    tracebacks the server logged. One failed request may be logged by more than one logger."""
    found: dict[tuple[str, str, str], int] = {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line != "Traceback (most recent call last):":
            continue
        message = next((m.strip() for m in reversed(lines[:i]) if m.strip()), "")
        frames: list[tuple[str, str, str]] = []
        exception = "?"
        for rest in lines[i + 1 :]:
            if rest.startswith(" ") or not rest:
                frames += _FRAME.findall(rest)
                continue
            exception = rest.split(":")[0].rsplit(".", 1)[-1]
            break
        where = f"{frames[-1][0]}:{frames[-1][1]} ({frames[-1][2]})" if frames else "no frame"
        key = (" ".join(message.split()), exception, where)
        found[key] = found.get(key, 0) + 1
    return found


def errors_report(logged: dict[tuple[str, str, str], int]) -> None:
    if not logged:
        console.print("The server logged no errors.")
        return
    console.print("[yellow]The server logged errors[/yellow] (tracebacks, by message):")
    for (message, exception, where), count in sorted(logged.items(), key=lambda i: -i[1]):
        console.print(f"  {count:,} × {message!r}: {exception} at {where}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds a measured pass")
    parser.add_argument("--changes", type=int, default=20, help="flag changes per propagation row")
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loadgen:
        asyncio.run(_loadgen(json.loads(args.loadgen)))
        return 0
    rng = random.Random(4)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with (
        tempfile.TemporaryDirectory() as tmp,
        Progress(*columns, console=console, transient=True) as progress,
    ):
        directory = Path(tmp)
        setup = progress.add_task(f"a workspace with {len(FLAGS)} flags", total=None)
        workspace = build_workspace(directory)
        progress.update(setup, description="starting launchdeck serve")
        with serving(workspace, directory) as server:
            flags, size = check_answers(server.url, workspace.sdk_key, _context_template())
            progress.remove_task(setup)
            progress.console.print(
                f"[dim]launchdeck serve on {server.url}; bulk answer: {flags} flags, "
                f"{size:,} bytes; {os.cpu_count()} CPUs[/dim]"
            )
            best, rates, errors = measure_load(
                server, workspace, args.duration, directory, progress
            )
            rows = [
                measure_propagation(
                    "SSE, change through the API",
                    server,
                    workspace,
                    stream=True,
                    poll_s=30.0,
                    changes=args.changes,
                    through_api=True,
                    cycle_s=SSE_CYCLE_S,
                    progress=progress,
                    rng=rng,
                ),
                measure_propagation(
                    "SSE, change by another process",
                    server,
                    workspace,
                    stream=True,
                    poll_s=30.0,
                    changes=max(1, args.changes // 2),
                    through_api=False,
                    cycle_s=SSE_CYCLE_S,
                    progress=progress,
                    rng=rng,
                ),
                measure_propagation(
                    f"no stream, polling every {POLL_FALLBACK_S:g} s",
                    server,
                    workspace,
                    stream=False,
                    poll_s=POLL_FALLBACK_S,
                    changes=args.changes,
                    through_api=True,
                    cycle_s=POLL_FALLBACK_S,
                    progress=progress,
                    rng=rng,
                ),
            ]
            logged = server_errors(server.log.read_text(errors="replace"))
    load_report(best, rates, errors, args.duration)
    propagation_report(rows)
    errors_report(logged)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
