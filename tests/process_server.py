"""A server binary for the tests on a free loopback port: started, waited for, stopped.

What the real Prometheus (prometheus_server.py) and Alertmanager (alertmanager_server.py) share:
`running(what, argv, workdir=, log_file=, server=port -> Server)` starts a Prometheus-family
binary, waits for its /-/ready, and stops it (terminate, then kill) when the block ends.
A port another process takes between `free_port()` and the bind is retried on a fresh one.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
import pytest

__all__ = ["Server", "free_port", "log_tail", "running", "stop_process", "wait_ready"]

START_TIMEOUT_S = 30.0
_ATTEMPTS = 3


class Server(Protocol):
    """A started server: its base `url` (answering /-/ready) and the end of its log."""

    @property
    def url(self) -> str: ...

    def log_tail(self, lines: int = 20) -> str: ...


S = TypeVar("S", bound=Server)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(log_file: Path, lines: int = 20) -> str:
    """The last `lines` of `log_file` ("" before the server wrote it)."""
    text = log_file.read_text(errors="replace") if log_file.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(server: Server, process: subprocess.Popen[bytes], *, what: str) -> bool:
    """True once /-/ready answers 200; False if the process exited first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with suppress(httpx.TransportError):  # not listening yet
            if httpx.get(f"{server.url}/-/ready", timeout=1).status_code == 200:
                return True
        time.sleep(0.05)
    pytest.fail(f"{what} was not ready within {START_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill what does not exit within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def running(
    what: str,
    argv: Sequence[str],
    *,
    workdir: Path,
    log_file: Path,
    server: Callable[[int], S],
) -> Iterator[S]:
    """Run `argv` in `workdir`, logging warnings to `log_file`, until it is ready; stop it on exit.

    The binary takes Prometheus' `--web.listen-address` and `--log.level` flags; `server(port)`
    describes it once started. Fails the test (naming `what`, with the log's end) if it never
    gets ready, retrying a fresh port only when the one chosen was taken meanwhile.
    """
    for attempt in range(_ATTEMPTS):
        port = free_port()
        with log_file.open("w") as log:
            process = subprocess.Popen(
                [*argv, f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        started = server(port)
        try:
            if wait_ready(started, process, what=what):
                break
            if attempt == _ATTEMPTS - 1 or "address already in use" not in started.log_tail():
                pytest.fail(f"{what} did not start:\n{started.log_tail()}")
        except BaseException:
            stop_process(process)
            raise
    try:
        yield started
    finally:
        stop_process(process)
