"""A system's release target in one environment: resolved once when a release is created,
opened again by whichever process runs the controller.

`resolve` turns the workspace's `target:` (or its absence: the embedded nginx-static default)
into plain settings kept on the release (so a restarted controller, or the API server, finds
the same site); `open_target` makes the target from them. An nginx-static site picks its two
ports once and keeps them in `site.json` in its root, so every release of a system in an
environment is served from the same address.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from launchdeck.errors import ConfigError
from launchdeck.rollout.access_log import AccessLog
from launchdeck.rollout.targets.base import Target
from launchdeck.rollout.targets.nginx import NginxStatic
from launchdeck.rollout.targets.nginx_config import DEFAULT_PAID_PARAMETERS, SiteLayout
from launchdeck.workspace.spec import TargetSpec

__all__ = ["access_log_path", "open_target", "preview_url", "resolve", "site_url"]

SITE_FILE = "site.json"


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def resolve(
    spec: TargetSpec | None, *, system: str, environment: str, sites_dir: Path
) -> dict[str, Any]:
    """Concrete settings of the target (JSON), with the site's ports chosen once."""
    spec = spec or TargetSpec()
    if spec.kind == "command":
        root = Path(spec.root) if spec.root else sites_dir / system / environment
        return {
            "kind": "command",
            "root": str(root.resolve()),
            "commands": {k: list(v) for k, v in (spec.commands or {}).items()},
            "timeout_s": spec.timeout_s,
        }
    root = (Path(spec.root) if spec.root else sites_dir / system / environment).resolve()
    kept: dict[str, Any] = {}
    site_file = root / SITE_FILE
    if site_file.exists():
        try:
            kept = json.loads(site_file.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{site_file} is not the JSON launchdeck wrote",
                where=str(site_file),
                hint="delete it: the site picks its ports again",
            ) from exc
    port = spec.port or kept.get("port") or _free_port(spec.host)
    preview = spec.preview_port or kept.get("preview_port") or _free_port(spec.host)
    settings = {
        "kind": "nginx-static",
        "root": str(root),
        "host": spec.host,
        "port": int(port),
        "preview_port": int(preview),
        "paid_parameters": list(spec.paid_parameters or DEFAULT_PAID_PARAMETERS),
    }
    if {k: kept.get(k) for k in ("port", "preview_port", "host")} != {
        k: settings[k] for k in ("port", "preview_port", "host")
    }:
        root.mkdir(parents=True, exist_ok=True)
        temporary = site_file.with_name(f".{SITE_FILE}.{os.getpid()}")
        temporary.write_text(json.dumps({k: settings[k] for k in ("host", "port", "preview_port")}))
        temporary.replace(site_file)
    return settings


def open_target(settings: dict[str, Any], *, system: str, environment: str) -> Target:
    """The target the settings describe, ready (an nginx-static site's nginx started)."""
    if settings["kind"] == "command":
        from launchdeck.rollout.targets.command import CommandTarget

        return CommandTarget(
            settings["commands"],
            system=system,
            environment=environment,
            state_dir=Path(settings["root"]),
            timeout_s=float(settings["timeout_s"]),
        )
    site = _nginx(settings)
    site.start()
    return site


def _nginx(settings: dict[str, Any]) -> NginxStatic:
    return NginxStatic(
        Path(settings["root"]),
        port=int(settings["port"]),
        preview_port=int(settings["preview_port"]),
        host=str(settings["host"]),
        paid_parameters=tuple(settings["paid_parameters"]),
    )


def access_log_path(settings: dict[str, Any]) -> Path | None:
    """The JSON access log the judge reads (None: the target has none, e.g. command)."""
    if settings["kind"] != "nginx-static":
        return None
    return SiteLayout(Path(settings["root"])).access_log


def open_log(settings: dict[str, Any], offset: int, inode: int | None) -> AccessLog | None:
    path = access_log_path(settings)
    return None if path is None else AccessLog(path, offset=offset, inode=inode)


def site_url(settings: dict[str, Any]) -> str | None:
    if settings["kind"] != "nginx-static":
        return None
    return f"http://{settings['host']}:{settings['port']}"


def preview_url(settings: dict[str, Any]) -> str | None:
    if settings["kind"] != "nginx-static":
        return None
    return f"http://{settings['host']}:{settings['preview_port']}"
