"""The `nginx-static` target: a real nginx, started by launchdeck, serving immutable releases.

The layout and the routing are in `nginx_config`. This module moves the pieces:

- `start()` writes nginx.conf and split.conf, checks them (`nginx -t`) and starts nginx as a
  daemon of its own (it keeps serving when the controller dies; `running()` finds it again by
  its pid file). On a site that runs already it only reloads when the configuration changed,
  so a controller may call it at every pass. `stop()` asks it to finish its requests and quit.
- `install(version, artifact)` copies an artifact directory to `releases/<version>/` once; a
  version is immutable afterwards (installing it again with other content is refused).
- `point(link, target)` makes `live/<link>` point at a release (or at another link) by
  creating a new symlink and renaming it over the old one: rename(2) is atomic, so every
  request sees the old target or the new one, never neither, and nginx needs no reload.
- `set_weight(w)` rewrites split.conf (a temporary file renamed over it), checks the whole
  configuration, and reloads nginx gracefully (old workers finish their requests). Reloads are
  spaced by at least `min_reload_interval_s`; a bad configuration is put back and refused.
- `served()` reads back what the site serves now (the links and the weight), which is what a
  restarted controller reconciles against.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Final

from launchdeck.errors import ConfigError, UpstreamError, UsageError
from launchdeck.rollout.targets.base import LINKS, Link, Served
from launchdeck.rollout.targets.nginx_config import (
    DEFAULT_PAID_PARAMETERS,
    SiteLayout,
    main_config,
    parse_weight,
    split_config,
)

__all__ = ["NginxStatic", "Served", "find_nginx"]

_MIME_TYPES: Final = Path("/etc/nginx/mime.types")
OLD_WORKERS_WAIT_S: Final = 5.0
"""How long a reload waits for the old workers to finish their requests before returning."""


def find_nginx() -> Path:
    """The nginx binary (PATH, then /usr/sbin); ConfigError naming how to get it."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise ConfigError(
            "nginx is not installed",
            hint="apt-get install nginx (make test and make demo install it themselves)",
        )
    return Path(found)


class NginxStatic:
    """One site: its directory, its ports, its nginx."""

    def __init__(
        self,
        root: Path,
        *,
        port: int,
        preview_port: int,
        host: str = "127.0.0.1",
        paid_parameters: tuple[str, ...] = DEFAULT_PAID_PARAMETERS,
        min_reload_interval_s: float = 1.0,
        nginx: Path | None = None,
    ) -> None:
        self.layout = SiteLayout(root.resolve())
        self.port = port
        self.preview_port = preview_port
        self.host = host
        self.paid_parameters = paid_parameters
        self.min_reload_interval_s = min_reload_interval_s
        self._nginx = nginx
        self._last_reload = 0.0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def preview_url(self) -> str:
        return f"http://{self.host}:{self.preview_port}"

    @property
    def nginx(self) -> Path:
        if self._nginx is None:
            self._nginx = find_nginx()
        return self._nginx

    # ---------------------------------------------------------------------------- process

    def start(self) -> None:
        """Write the configuration and start nginx (nothing to do if it runs already)."""
        layout = self.layout
        self._directories()
        if not layout.split.exists():
            _write_atomically(layout.split, split_config(0, canary=False))
        user = "root root" if os.geteuid() == 0 else None
        config = main_config(
            layout,
            port=self.port,
            preview_port=self.preview_port,
            host=self.host,
            paid_parameters=self.paid_parameters,
            user=user,
            mime_types=_MIME_TYPES if _MIME_TYPES.exists() else None,
        )
        changed = not layout.config.exists() or layout.config.read_text() != config
        if changed:
            _write_atomically(layout.config, config)
        if self.running() is not None:  # already serving: reloaded only for a new config
            if changed:
                self.reload()
            return
        self._check()
        self._run("-c", str(layout.config), "-p", str(layout.root))
        deadline = time.monotonic() + 10
        while self.running() is None:
            if time.monotonic() > deadline:
                raise UpstreamError(
                    f"nginx did not start on {self.url}",
                    hint=f"see {layout.logs / 'error.log'}",
                )
            time.sleep(0.02)

    def _directories(self) -> None:
        layout = self.layout
        for directory in (
            layout.releases,
            layout.live,
            layout.logs,
            layout.tmp,
            layout.pid_file.parent,
        ):
            directory.mkdir(parents=True, exist_ok=True)

    def running(self) -> int | None:
        """The nginx master's pid while it runs, else None."""
        try:
            pid = int(self.layout.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def workers(self) -> set[int]:
        """The pids of nginx's worker processes (none while it is stopped)."""
        master = self.running()
        return _children(master) if master is not None else set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Let nginx finish its requests and quit (then kill it if it has not)."""
        pid = self.running()
        if pid is None:
            return
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + timeout_s
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.02)

    def reload(self) -> None:
        """Check the configuration and reload nginx gracefully, spaced by the minimum interval."""
        with self._lock:
            self._check()
            wait = self._last_reload + self.min_reload_interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            master = self.running()
            before = _children(master) if master is not None else set()
            self._signal(signal.SIGHUP)
            self._last_reload = time.monotonic()
            # Applied once the master has started workers on the new configuration and the old
            # ones have left (they stop accepting at once, and quit when their requests are
            # answered): every connection from then on gets the new configuration.
            deadline = time.monotonic() + 10
            while master is not None and not (_children(master) - before):
                if time.monotonic() > deadline:
                    raise UpstreamError(
                        f"nginx of {self.layout.root} did not reload within 10 s",
                        hint=f"see {self.layout.logs / 'error.log'}",
                    )
                time.sleep(0.005)
            settle = time.monotonic() + OLD_WORKERS_WAIT_S
            while master is not None and before & _children(master) and time.monotonic() < settle:
                time.sleep(0.005)

    # --------------------------------------------------------------------------- releases

    def install(self, version: str, artifact: Path) -> Path:
        """Copy `artifact` (a directory) to releases/<version>/ once; the release's path."""
        if not version or "/" in version or version.startswith("."):
            raise UsageError(f"version {version!r} cannot name a directory", hint="e.g. v2.4.1")
        if not artifact.is_dir():
            raise UsageError(
                f"artifact {artifact} is not a directory", hint="a built site: index.html …"
            )
        target = self.layout.releases / version
        if target.exists():
            if _same_tree(artifact, target):
                return target
            raise UsageError(
                f"release {version} exists with other content: releases are immutable",
                hint="give the new build a new version",
            )
        self._directories()
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self.layout.releases))
        try:
            shutil.copytree(artifact, staging, dirs_exist_ok=True)
            staging.chmod(0o755)  # mkdtemp's 0700 would hide it from nginx's workers
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    def point(self, link: Link, target: str | None) -> None:
        """`live/<link>` → releases/<target> (a version) or → another link (`@stable`);
        None removes the link. Atomic: a new symlink renamed over the old one."""
        self._directories()
        path = self.layout.live / link
        if target is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return
        if target.startswith("@"):
            destination = Path(target[1:])
            if target[1:] not in LINKS:
                raise UsageError(f"no link {target[1:]!r}", hint=f"one of {', '.join(LINKS)}")
        else:
            destination = Path("..") / "releases" / target
            if not (self.layout.releases / target).is_dir():
                raise UsageError(f"release {target} is not installed", hint="install it first")
        temporary = path.with_name(f".{link}.{os.getpid()}.{threading.get_ident()}")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        temporary.symlink_to(destination)
        temporary.replace(path)

    def set_weight(self, weight: float, *, canary: bool = True) -> None:
        """Send `weight` % of visitors (by their cookie) to the canary and reload nginx."""
        previous = self.layout.split.read_text() if self.layout.split.exists() else None
        _write_atomically(self.layout.split, split_config(weight, canary=canary))
        try:
            self.reload()
        except BaseException:
            if previous is not None:  # leave nginx's configuration as it was
                _write_atomically(self.layout.split, previous)
            raise

    def served(self) -> Served:
        """What the site serves now, read from the links and split.conf."""
        versions = {link: self._resolve(link) for link in LINKS}
        split = self.layout.split.read_text() if self.layout.split.exists() else ""
        return Served(
            stable=versions["stable"],
            canary=versions["canary"],
            preview=versions["preview"],
            weight=parse_weight(split),
        )

    def _resolve(self, link: Link) -> str | None:
        path = self.layout.live / link
        try:
            resolved = path.resolve(strict=True)
        except (FileNotFoundError, RuntimeError):
            return None
        return resolved.name if resolved.parent == self.layout.releases else None

    # ---------------------------------------------------------------------------- helpers

    def _check(self) -> None:
        try:
            self._run("-t", "-q", "-c", str(self.layout.config), "-p", str(self.layout.root))
        except UpstreamError as exc:
            raise ConfigError(
                f"nginx refuses the configuration of {self.layout.root}: {exc.message}",
                hint="launchdeck wrote it; report the nginx version with this message",
            ) from None

    def _signal(self, sig: signal.Signals) -> None:
        pid = self.running()
        if pid is None:
            raise UpstreamError(f"nginx of {self.layout.root} is not running", hint="start it")
        os.kill(pid, sig)

    def _run(self, *arguments: str) -> None:
        result = subprocess.run(
            [str(self.nginx), *arguments], capture_output=True, text=True, timeout=30, check=False
        )
        if result.returncode != 0:
            raise UpstreamError((result.stderr or result.stdout).strip()[-500:], retryable=False)


def _children(pid: int) -> set[int]:
    """The pids of a process's children (Linux /proc)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(ChildProcessError):
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    return True


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    temporary.replace(path)


def _same_tree(left: Path, right: Path) -> bool:
    comparison = filecmp.dircmp(left, right)
    if comparison.left_only or comparison.right_only or comparison.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(left / d, right / d) for d in comparison.common_dirs)
