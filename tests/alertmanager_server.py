"""A real Alertmanager for the tests: /usr/bin/prometheus-alertmanager on a free loopback port,
with its own config and storage, clustering off.

    config = {"route": {"receiver": "api"}, "receivers": [{"name": "api", "webhook_configs": ...}]}
    with running_alertmanager(tmp_path / "am", config) as am:
        with running_prometheus(..., alertmanagers=[am.address]) as prom: ...

A missing binary fails the test with the command that installs it; it never skips it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from prometheus_server import free_port

__all__ = ["AlertmanagerServer", "alertmanager_binary", "running_alertmanager"]

_START_TIMEOUT_S = 30.0
_NAMES = ("prometheus-alertmanager", "alertmanager")
"""The Debian package's name for the binary, then upstream's."""


def alertmanager_binary() -> str:
    """Path of the Alertmanager binary; fails the test (never skips) when it is missing."""
    for name in _NAMES:
        found = shutil.which(name) or f"/usr/bin/{name}"
        if Path(found).is_file():
            return found
    pytest.fail(
        "/usr/bin/prometheus-alertmanager not found: this test runs a real Alertmanager. "
        "Run 'make test', or 'bash scripts/ensure-services.sh', which installs it"
    )


@dataclass
class AlertmanagerServer:
    """A running Alertmanager: its `address` (host:port, for Prometheus), `url` and files."""

    address: str
    workdir: Path
    config_file: Path
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts it holds (GET /api/v2/alerts), as Prometheus last sent them."""
        response = httpx.get(f"{self.url}/api/v2/alerts", timeout=10)
        response.raise_for_status()
        alerts: list[dict[str, Any]] = response.json()
        return alerts

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def running_alertmanager(workdir: Path, config: Mapping[str, Any]) -> Iterator[AlertmanagerServer]:
    """Start Alertmanager in `workdir` with `config` (alertmanager.yml as data); stop it on exit.

    Storage (silences, the notification log) is workdir/data. `--cluster.listen-address=` turns
    gossip off: a lone test instance would otherwise wait for peers before it notifies.
    """
    binary = alertmanager_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    log_file = workdir / "alertmanager.log"
    for attempt in range(3):
        port = free_port()
        with log_file.open("w") as log:
            process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_file}",
                    f"--storage.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
            )
        server = AlertmanagerServer(
            address=f"127.0.0.1:{port}", workdir=workdir, config_file=config_file, log_file=log_file
        )
        try:
            if _wait_ready(server, process):
                break
            if attempt == 2 or "address already in use" not in server.log_tail():
                pytest.fail(f"Alertmanager did not start:\n{server.log_tail()}")
        except BaseException:
            _stop(process)
            raise
    try:
        yield server
    finally:
        _stop(process)


def _wait_ready(server: AlertmanagerServer, process: subprocess.Popen[bytes]) -> bool:
    """True once /-/ready answers 200; False if the process exited first."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with suppress(httpx.TransportError):  # not listening yet
            if httpx.get(f"{server.url}/-/ready", timeout=1).status_code == 200:
                return True
        time.sleep(0.05)
    pytest.fail(f"Alertmanager was not ready within {_START_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
