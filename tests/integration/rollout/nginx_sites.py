"""Sites on a real nginx for the rollout tests: free ports, builds written from their pages."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

from launchdeck.rollout.targets.nginx import NginxStatic, find_nginx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build(directory: Path, version: str, pages: Mapping[str, str]) -> Path:
    """directory/builds/<version>/ holding `pages` (relative path → content)."""
    root = directory / "builds" / version
    for name, content in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    return root


def new_site(
    directory: Path, releases: Mapping[str, Mapping[str, str]], *, stable: str
) -> NginxStatic:
    """A started site with `releases` installed (version → its pages) and `stable` served."""
    find_nginx()  # make test installs it; a clear error otherwise
    site = NginxStatic(
        directory / "site", port=free_port(), preview_port=free_port(), min_reload_interval_s=0
    )
    for version, pages in releases.items():
        site.install(version, build(directory, version, pages))
    site.point("stable", stable)
    site.start()
    return site
