"""A real Alertmanager for the tests: /usr/bin/prometheus-alertmanager on a free loopback port,
with its own config and storage, clustering off.

    config = {"route": {"receiver": "api"}, "receivers": [{"name": "api", "webhook_configs": ...}]}
    with running_alertmanager(tmp_path / "am", config) as am:
        with running_prometheus(..., alertmanagers=[am.address]) as prom: ...

A missing binary fails the test with the command that installs it; it never skips it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from process_server import log_tail, running

__all__ = ["AlertmanagerServer", "alertmanager_binary", "running_alertmanager"]

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
        return log_tail(self.log_file, lines)


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
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.path={workdir / 'data'}",
        "--cluster.listen-address=",
    ]

    def server(port: int) -> AlertmanagerServer:
        return AlertmanagerServer(
            address=f"127.0.0.1:{port}", workdir=workdir, config_file=config_file, log_file=log_file
        )

    with running("Alertmanager", argv, workdir=workdir, log_file=log_file, server=server) as am:
        yield am
