"""Release hooks for real: a receiver on loopback that checks signatures on its own, and tiny
programs written to tmp_path as command hooks.

The receiver verifies HMAC-SHA256 with hmac/hashlib directly (not launchdeck's `verify`), so a
change to how launchdeck signs cannot pass by changing both sides. Timeouts are 0.2-0.5 s and the
waits between attempts are recorded, not slept: the slowest test takes about half a second.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from launchdeck.rollout.hook_runner import run_hook, run_hooks
from launchdeck.rollout.hooks import HookSpec, HookType, failed_check, gate_results

NOW = datetime(2026, 11, 27, 9, 45, tzinfo=UTC)
KEY = "whsec_hooks_0f1e2d3c4b5a"
ENVIRON = {"HOOK_KEY": KEY, "PATH": "/usr/bin:/bin"}
PAYLOAD: dict[str, object] = {
    "system": "landing-pages",
    "environment": "production",
    "version": "v42",
    "phase": "progressing",
    "step": 1,
    "weight": 10.0,
}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    hang_s: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Hit:
    headers: dict[str, str]
    body: bytes

    def signature_is_valid(self, key: str = KEY) -> bool:
        """Checked here with hmac/hashlib: HMAC-SHA256(key, timestamp + "." + body)."""
        stamp = self.headers["X-Launchdeck-Timestamp"]
        signed = stamp.encode() + b"." + self.body
        expected = "v1=" + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers["X-Launchdeck-Signature"])


@dataclass
class Receiver:
    url: str
    replies: list[Reply]
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, hit: Hit) -> Reply:
        with self.lock:
            self.hits.append(hit)
            return self.replies[min(len(self.hits), len(self.replies)) - 1]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Answers 200 unless a test sets `replies` (the last reply repeats)."""
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = owner.answer(Hit(dict(self.headers.items()), body))
            if reply.hang_s:
                release.wait(reply.hang_s)
            try:
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:  # the client gave up first
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: a test reads what it needs from the handler, not from stderr."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    owner = Receiver(f"http://{host!s}:{port}/launchdeck/hook", [Reply()])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield owner
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def url_hook(url: str, **fields: object) -> HookSpec:
    spec = {"name": "qa", "type": "confirm-promotion", "url": url, "secret": {"env": "HOOK_KEY"}}
    return HookSpec.model_validate(spec | {"timeout": "1s"} | fields)


def command_hook(tmp_path: Path, script: str, **fields: object) -> HookSpec:
    path = tmp_path / "hook.py"
    path.write_text(script)
    spec = {"name": "smoke", "type": "pre-rollout", "command": [sys.executable, str(path)]}
    return HookSpec.model_validate(spec | {"timeout": "5s"} | fields)


def call(hook: HookSpec, waits: list[float] | None = None, **options: Any) -> Any:
    recorded = [] if waits is None else waits
    return run_hook(
        hook,
        PAYLOAD,
        environ=options.pop("environ", ENVIRON),
        clock=lambda: NOW,
        backoff_s=0.05,
        sleep=recorded.append,
        **options,
    )


def test_a_url_hook_posts_the_release_signed_and_a_2xx_is_a_yes(receiver: Receiver) -> None:
    result = call(url_hook(receiver.url, metadata={"team": "web"}))

    assert (result.name, result.type, result.ok, result.status) == (
        "qa",
        HookType.CONFIRM_PROMOTION,
        True,
        200,
    )
    assert (result.detail, result.attempts) == ("HTTP 200: ok", 1)
    (hit,) = receiver.hits
    assert hit.signature_is_valid()
    assert not hit.signature_is_valid("another key")
    assert hit.headers["X-Launchdeck-Timestamp"] == str(int(NOW.timestamp()))
    assert hit.headers["Content-Type"] == "application/json"
    assert json.loads(hit.body) == {
        **PAYLOAD,
        "name": "qa",
        "type": "confirm-promotion",
        "metadata": {"team": "web"},
    }


def test_a_hook_without_a_secret_is_sent_unsigned(receiver: Receiver) -> None:
    result = call(url_hook(receiver.url, secret=None))

    assert result.ok
    assert "X-Launchdeck-Signature" not in receiver.hits[0].headers


def test_a_503_is_retried_and_the_next_200_counts(receiver: Receiver) -> None:
    receiver.replies = [Reply(503, b"busy"), Reply(200)]
    waits: list[float] = []

    result = call(url_hook(receiver.url, retries=2), waits)

    assert (result.ok, result.status, result.attempts) == (True, 200, 2)
    assert len(receiver.hits) == 2
    assert all(hit.signature_is_valid() for hit in receiver.hits)
    assert len(waits) == 1 and 0 <= waits[0] <= 0.05  # jittered: within [0, backoff]


def test_retries_stop_at_the_limit_with_the_last_answer(receiver: Receiver) -> None:
    receiver.replies = [Reply(503, b"still busy")]
    waits: list[float] = []

    result = call(url_hook(receiver.url, retries=2), waits)

    assert (result.ok, result.status, result.attempts) == (False, 503, 3)
    assert result.detail == "HTTP 503: still busy"
    assert len(receiver.hits) == 3
    assert len(waits) == 2 and all(0 <= w <= 0.1 for w in waits)


def test_a_429_waits_as_long_as_retry_after_asks(receiver: Receiver) -> None:
    receiver.replies = [Reply(429, headers=(("Retry-After", "2"),)), Reply(204, b"")]
    waits: list[float] = []

    result = call(url_hook(receiver.url, retries=1), waits, max_wait_s=3.0)

    assert (result.ok, result.status, result.detail) == (True, 204, "HTTP 204")
    assert waits == [2.0]


def test_a_no_is_not_retried_and_its_reason_holds_the_release(receiver: Receiver) -> None:
    receiver.replies = [Reply(403, b"waiting for QA sign-off\nmore lines")]

    result = call(url_hook(receiver.url, retries=2))

    assert (result.ok, result.status, result.attempts) == (False, 403, 1)
    assert gate_results([result]) == (
        False,
        "hook 'qa' (confirm-promotion): HTTP 403: waiting for QA sign-off",
    )


def test_a_receiver_slower_than_the_timeout_fails_the_hook(receiver: Receiver) -> None:
    receiver.replies = [Reply(hang_s=3.0)]
    hook = url_hook(receiver.url, type="pre-rollout", timeout="0.2s", retries=1)

    started = time.monotonic()
    result = call(hook)

    assert (result.ok, result.status, result.attempts) == (False, None, 2)
    assert result.detail == "timed out after 0.2 s"
    assert time.monotonic() - started < 1.5
    assert failed_check([result]) == "hook 'qa' (pre-rollout): timed out after 0.2 s"


def test_an_endpoint_nobody_listens_on_fails_after_every_attempt() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = call(url_hook(f"http://127.0.0.1:{port}/hook", retries=1))

    assert (result.ok, result.attempts) == (False, 2)
    assert result.detail.startswith("could not connect")


def test_a_secret_that_is_not_set_fails_the_hook_naming_the_variable(receiver: Receiver) -> None:
    result = call(url_hook(receiver.url), environ={"PATH": "/usr/bin"})

    assert (result.ok, result.attempts) == (False, 0)
    assert result.detail == "environment variable HOOK_KEY is not set (the hook's secret)"
    assert receiver.hits == []


def test_a_secret_file_that_is_missing_fails_the_hook_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-key"
    hook = url_hook("http://127.0.0.1:9/hook", secret={"file": str(missing)})

    result = call(hook)

    assert not result.ok
    assert result.detail == (
        f"file {missing} cannot be read (No such file or directory) (the hook's secret)"
    )


def test_the_secret_reaches_no_detail_and_no_log_line(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.replies = [Reply(500, f"bad signature for key {KEY}".encode())]
    caplog.set_level(logging.DEBUG)

    result = call(url_hook(receiver.url, retries=1))

    assert not result.ok
    assert result.detail == "HTTP 500: bad signature for key [redacted]"
    assert KEY not in repr(result)
    assert caplog.records, "the failure is logged"
    assert KEY not in caplog.text
    assert all(KEY not in str(r.args) for r in caplog.records)


def test_a_shared_client_is_used_and_left_open(receiver: Receiver) -> None:
    with httpx.Client() as client:
        first = call(url_hook(receiver.url), client=client)
        second = call(url_hook(receiver.url), client=client)
        assert not client.is_closed

    assert first.ok and second.ok


CHECK_WEIGHT = """\
import json, os, sys
payload = json.load(sys.stdin)
print("weight", payload["weight"], "env", os.environ["LAUNCHDECK_WEIGHT"], file=sys.stderr)
if payload["weight"] > float(sys.argv[1]):
    print("canary weight above the limit", file=sys.stderr)
    sys.exit(1)
print("fine at", os.environ["LAUNCHDECK_HOOK_TYPE"], os.environ["LAUNCHDECK_VERSION"])
"""


def test_a_command_hook_reads_the_payload_on_stdin_and_exit_0_is_a_yes(tmp_path: Path) -> None:
    hook = command_hook(tmp_path, CHECK_WEIGHT)
    hook = hook.model_copy(update={"command": (*(hook.command or ()), "50")})

    result = call(hook)

    assert (result.ok, result.status, result.attempts) == (True, None, 1)
    assert result.detail == "exit status 0: weight 10.0 env 10"


def test_a_command_hook_that_exits_1_fails_with_its_last_words(tmp_path: Path) -> None:
    hook = command_hook(tmp_path, CHECK_WEIGHT)
    hook = hook.model_copy(update={"command": (*(hook.command or ()), "5")})

    result = call(hook)

    assert not result.ok
    assert result.detail == "exit status 1: canary weight above the limit"
    assert failed_check([result]) == (
        "hook 'smoke' (pre-rollout): exit status 1: canary weight above the limit"
    )


LEAKY = """\
import os, sys
print("db:", os.environ.get("LAUNCHDECK_DATABASE_URL"), "token:", os.environ["CDN_API_TOKEN"])
sys.exit(2)
"""


def test_a_command_hook_gets_no_launchdeck_setting_and_shows_no_secret(tmp_path: Path) -> None:
    environ = ENVIRON | {
        "LAUNCHDECK_DATABASE_URL": "postgresql://launchdeck:pw@db/launchdeck",
        "CDN_API_TOKEN": "tok_9f8e7d6c5b4a",
    }

    result = call(command_hook(tmp_path, LEAKY), environ=environ)

    assert result.detail == "exit status 2: db: None token: ***"


SLOW = """\
import subprocess, sys
sys.stdin.read()
child = subprocess.Popen(["sleep", "30"])  # it holds our pipes too: the whole group must go
with open(sys.argv[1], "w") as out:
    out.write(str(child.pid))
child.wait()
"""


def gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie waiting for its new parent counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def test_a_command_hook_is_killed_with_its_children_at_the_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    hook = command_hook(tmp_path, SLOW, timeout="0.5s")
    hook = hook.model_copy(update={"command": (*(hook.command or ()), str(pid_file))})
    started = time.monotonic()

    result = call(hook)

    assert (result.ok, result.detail) == (False, "timed out after 0.5 s (killed)")
    assert time.monotonic() - started < 2.0  # not the 2 s grace for pipes held elsewhere
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 2.0
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(child)


def test_a_payload_json_cannot_hold_fails_the_hook_instead_of_raising(tmp_path: Path) -> None:
    hook = command_hook(tmp_path, "import sys; sys.exit(0)\n")

    result = run_hook(hook, {"system": object()})

    assert (result.ok, result.attempts) == (False, 0)
    assert result.detail == "the payload cannot be sent: a value of type object is not JSON"


def test_a_command_that_does_not_exist_fails_to_start(tmp_path: Path) -> None:
    hook = HookSpec.model_validate(
        {"name": "smoke", "type": "rollout", "command": [str(tmp_path / "missing.sh")]}
    )

    result = call(hook)

    assert not result.ok
    assert result.detail.startswith("could not start") and "No such file" in result.detail


def test_run_hooks_calls_every_hook_of_one_type_in_order(
    receiver: Receiver, tmp_path: Path
) -> None:
    receiver.replies = [Reply(200, b"approved")]
    hooks = [
        url_hook(receiver.url, name="cab"),
        url_hook(receiver.url, name="notify", type="event"),
        command_hook(tmp_path, "import sys; sys.exit(3)\n", type="confirm-promotion"),
    ]

    results = run_hooks(hooks, HookType.CONFIRM_PROMOTION, PAYLOAD, environ=ENVIRON)

    assert [(r.name, r.ok, r.detail) for r in results] == [
        ("cab", True, "HTTP 200: approved"),
        ("smoke", False, "exit status 3"),
    ]
    assert len(receiver.hits) == 1
    assert gate_results(results) == (False, "hook 'smoke' (confirm-promotion): exit status 3")
    assert run_hooks(hooks, HookType.ROLLBACK, PAYLOAD, environ=ENVIRON) == []
