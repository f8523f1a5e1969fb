"""The `command` target: the user's own scripts behind the `Target` interface, so Netlify,
Vercel, kubectl, a CDN API … can be release targets.

Five operations, each an argv list (never a shell string), run once per call:

    deploy      install(version, artifact)       LAUNCHDECK_VERSION, LAUNCHDECK_ARTIFACT
    promote     point(link, version)             LAUNCHDECK_LINK, LAUNCHDECK_VERSION
    withdraw    point(link, None)                LAUNCHDECK_LINK
    set-weight  set_weight(weight)  (optional)   LAUNCHDECK_WEIGHT (percent, 0 to 100)
    status      served()            (optional)   prints {"stable", "canary", "preview", "weight"}

A rollback is not an operation: it is another desired state, which `reconcile` reaches with
the same commands (set-weight 0 and withdraw the canary; promote the previous version to
stable). Every command also gets LAUNCHDECK_OPERATION, LAUNCHDECK_SYSTEM and
LAUNCHDECK_ENVIRONMENT, and the same fields as one JSON object on stdin. Exit 0 is success;
anything else, or running past the timeout (the whole process group is killed), raises
`CommandFailed` naming the operation, argv[0], the exit code and the tail of stderr with the
values of secret-looking environment variables masked. Commands must be idempotent: after a
crash the controller runs again the operation whose success it did not see.

With `status`, `served()` asks the platform what it really serves. Without it, the target
keeps its own record (`<state_dir>/<system>/<environment>.json`, replaced atomically only
after a command succeeded) — and then a script that half-applies a change and exits non-zero
leaves a state nobody can see. The contract is documented in docs/rollout.md.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import json
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from launchdeck.errors import ConfigError, UpstreamError, UsageError, ValidationFailed
from launchdeck.rollout.targets.base import LINKS, Link, Served

__all__ = ["OPERATIONS", "REQUIRED", "STDERR_TAIL_BYTES", "CommandFailed", "CommandTarget"]

OPERATIONS: Final[tuple[str, ...]] = ("deploy", "promote", "withdraw", "set-weight", "status")
REQUIRED: Final[frozenset[str]] = frozenset({"deploy", "promote", "withdraw"})
STDERR_TAIL_BYTES: Final = 2048
"""How much of a failed command's stderr (its end) an error carries."""
STATUS_MAX_BYTES: Final = 1 << 20
DRAIN_S: Final = 5.0
"""How long output is still read after a timed-out command's process group was killed."""

_ALIASES: Final[Mapping[str, str]] = {"set_weight": "set-weight"}
_NOT_OPERATIONS: Final[Mapping[str, str]] = {
    "rollback": "a rollback is a desired state, not a command: launchdeck runs set-weight 0 "
    "and withdraw (canary), or promote with the previous version (blue-green)",
    "install": "call it deploy",
    "point": "call it promote (and withdraw, to remove a link)",
    "route": "call it promote (and withdraw, to remove a link)",
    "switch": "a blue-green switch is promote with LAUNCHDECK_LINK=stable",
    "remove": "call it withdraw",
    "undeploy": "call it withdraw",
    "weight": "call it set-weight",
    "served": "call it status",
}
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_VERSION: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_SECRET_NAME: Final = re.compile(
    r"TOKEN|SECRET|PASSW|CREDENTIAL|PRIVATE|KEY|AUTH|COOKIE|SESSION|DSN|SIGNATURE", re.I
)
_SECRET_MIN_LENGTH: Final = 8
_MASK: Final = "***"


class CommandFailed(UpstreamError):
    """A target command exited non-zero or ran past its timeout."""

    code = "command_failed"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        program: str,
        exit_code: int | None,
        stderr_tail: str,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, retryable=True)
        self.operation = operation
        self.program = program
        self.exit_code = exit_code
        """None when the command was killed at its timeout."""
        self.stderr_tail = stderr_tail


class CommandTarget:
    """A release target whose operations are the user's commands (see the module docstring)."""

    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        *,
        system: str,
        environment: str,
        state_dir: Path,
        timeout_s: float = 300,
        cwd: Path | None = None,
    ) -> None:
        problems: list[ConfigError] = []
        for field, value in (("system", system), ("environment", environment)):
            if not _NAME.match(value):
                problems.append(
                    ConfigError(
                        f"{field} {value!r} cannot name a state file",
                        where=field,
                        hint="letters, digits, '.', '_' and '-'",
                    )
                )
        if not timeout_s > 0:
            problems.append(
                ConfigError(
                    f"timeout {timeout_s} s is not positive", where="timeout", hint="e.g. 300"
                )
            )
        parsed = _parse_commands(commands, problems)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise ValidationFailed(problems, source="the command target's configuration")
        self.commands: Mapping[str, tuple[str, ...]] = parsed
        self.system = system
        self.environment = environment
        self.timeout_s = float(timeout_s)
        self.cwd = cwd
        self.state_file = state_dir / system / f"{environment}.json"
        """The target's own record of what it serves (only used without a status command)."""

    @property
    def reads_back(self) -> bool:
        """True when `served()` asks the platform (a status command), not the state file."""
        return "status" in self.commands

    def install(self, version: str, artifact: Path) -> None:
        """Run `deploy` for `version` from `artifact` (which must exist); serves nothing yet."""
        _check_version(version)
        if not artifact.exists():
            raise UsageError(f"artifact {artifact} does not exist", hint="build it first")
        with self._locked():
            self._run("deploy", version=version, artifact=str(artifact.resolve()))

    def point(self, link: Link, target: str | None) -> None:
        """Run `promote` (`link` serves `target`) or, for None, `withdraw`; then record it."""
        if link not in LINKS:
            raise UsageError(f"no link {link!r}", hint=f"one of {', '.join(LINKS)}")
        if target is None:
            with self._locked():
                self._run("withdraw", link=link)
                self._record(link, None)
            return
        if target.startswith("@"):
            raise UsageError(
                f"the command target points links at versions, not at {target!r}",
                hint="name the version the other link serves",
            )
        _check_version(target)
        with self._locked():
            self._run("promote", link=link, version=target)
            self._record(link, target)

    def set_weight(self, weight: float, *, canary: bool = True) -> None:
        """Run `set-weight` with `weight` % (0 when `canary` is False); 0 needs no command."""
        if not 0 <= weight <= 100:
            raise UsageError(f"a canary weight is 0 to 100 (%), not {weight:g}")
        effective = float(weight) if canary else 0.0
        with self._locked():
            if "set-weight" in self.commands:
                self._run("set-weight", weight=effective)
            elif effective > 0:
                raise ConfigError(
                    f"the command target of {self.system}/{self.environment} cannot send "
                    f"{effective:g} % to a canary: it has no set-weight command",
                    where="commands.set-weight",
                    hint="add a set-weight command, or use a blue-green strategy",
                )
            self._record("weight", effective)

    def served(self) -> Served:
        """What is served: the status command's answer, else the state file (empty if none)."""
        if self.reads_back:
            stdout = self._run("status")
            program = self.commands["status"][0]
            try:
                if len(stdout) > STATUS_MAX_BYTES:
                    raise ValueError(f"it printed more than {STATUS_MAX_BYTES:,} bytes")
                return _decode_served(json.loads(stdout))
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                raise UpstreamError(
                    f"{self._who()}: status ({program}) printed no valid status: {exc}",
                    hint='print one JSON object: {"stable": "v1", "canary": null, '
                    '"preview": null, "weight": 0}',
                    retryable=False,
                ) from None
        return self._recorded()

    # --------------------------------------------------------------------------- the record

    def _recorded(self) -> Served:
        try:
            text = self.state_file.read_text()
        except FileNotFoundError:
            return Served(stable=None, canary=None, preview=None, weight=0.0)
        try:
            return _decode_served(json.loads(text))
        except ValueError as exc:
            raise ConfigError(
                f"the command target's state file is unreadable: {exc}",
                where=str(self.state_file),
                hint="delete it: the next reconcile runs every command again (they are "
                "idempotent) and records the result",
            ) from None

    def _record(self, key: str, value: str | float | None) -> None:
        """Write one change to the state file, atomically (a temporary file renamed over it)."""
        if self.reads_back:
            return
        served = self._recorded()
        fields: dict[str, str | float | None] = {
            "stable": served.stable,
            "canary": served.canary,
            "preview": served.preview,
            "weight": served.weight,
        }
        fields[key] = value
        directory = self.state_file.parent
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.state_file.name}.", dir=directory)
        try:
            with os.fdopen(descriptor, "w") as handle:
                json.dump(fields, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.state_file)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        directory_descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_descriptor)  # the rename itself survives a power cut
        finally:
            os.close(directory_descriptor)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One operation at a time on this system/environment, across processes too."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        lock = self.state_file.with_name(f".{self.environment}.lock")
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    # -------------------------------------------------------------------------- running one

    def _who(self) -> str:
        return f"command target {self.system}/{self.environment}"

    def _run(self, operation: str, **given: str | float) -> bytes:
        """Run one operation's command with its inputs; its stdout, or CommandFailed."""
        argv = self.commands[operation]
        fields: dict[str, str | float] = {
            "operation": operation,
            "system": self.system,
            "environment": self.environment,
            **given,
        }
        # The parent's own LAUNCHDECK_* settings (a database URL …) are not the script's business.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDECK_")}
        env.update({f"LAUNCHDECK_{k.upper()}": _env_value(v) for k, v in fields.items()})
        try:
            process = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group, killed as a whole
            )
        except OSError as exc:
            raise ConfigError(
                f"{self._who()}: cannot run the {operation} command {argv[0]!r}: "
                f"{exc.strerror or exc}",
                where=f"commands.{operation}",
                hint="give an executable path (relative to the target's cwd) or a program on PATH",
            ) from None
        with process:  # its pipes closed and the process reaped, whatever happens
            try:
                stdout, stderr = process.communicate(json.dumps(fields).encode(), self.timeout_s)
            except subprocess.TimeoutExpired as exc:
                _kill_group(process)
                stderr = _drain(process, exc.stderr or b"")
                raise CommandFailed(
                    f"{self._who()}: {operation} ({argv[0]}) ran past its timeout of "
                    f"{self.timeout_s:g} s and was killed{_tail_suffix(stderr, env)}",
                    operation=operation,
                    program=argv[0],
                    exit_code=None,
                    stderr_tail=_tail(stderr, env),
                    hint="raise the target's timeout_s, or find what the command waits for",
                ) from None
            except BaseException:  # interrupted: leave nothing of it running
                _kill_group(process)
                raise
        if process.returncode != 0:
            output = stderr if stderr.strip() else stdout
            raise CommandFailed(
                f"{self._who()}: {operation} ({argv[0]}) exited with {process.returncode}"
                f"{_tail_suffix(output, env)}",
                operation=operation,
                program=argv[0],
                exit_code=process.returncode,
                stderr_tail=_tail(output, env),
                hint="the operation is run again by the next reconcile: fix the cause, or roll "
                "back",
            )
        return stdout


def _parse_commands(
    commands: Mapping[str, Sequence[str]], problems: list[ConfigError]
) -> dict[str, tuple[str, ...]]:
    """The commands by canonical operation name; what is wrong is appended to `problems`."""
    parsed: dict[str, tuple[str, ...]] = {}
    named: set[str] = set()
    for name, argv in commands.items():
        operation = _ALIASES.get(name, name)
        where = f"commands.{name}"
        if operation not in OPERATIONS:
            close = difflib.get_close_matches(name, OPERATIONS, n=1)
            hint = _NOT_OPERATIONS.get(name) or (f"did you mean {close[0]!r}?" if close else None)
            problems.append(
                ConfigError(
                    f"unknown operation {name!r}",
                    where=where,
                    hint=f"{hint}; the operations are {', '.join(OPERATIONS)}"
                    if hint
                    else f"the operations are {', '.join(OPERATIONS)}",
                )
            )
            continue
        if operation in named:
            problems.append(ConfigError(f"{operation} is given twice", where=where))
            continue
        named.add(operation)
        if isinstance(argv, str | bytes) or not argv or not all(isinstance(a, str) for a in argv):
            problems.append(
                ConfigError(
                    f"the {operation} command must be a non-empty list of arguments",
                    where=where,
                    hint='e.g. ["./deploy.sh"] or ["sh", "-c", "netlify deploy --prod"]',
                )
            )
            continue
        if not argv[0]:
            problems.append(ConfigError(f"the {operation} command has no program", where=where))
            continue
        parsed[operation] = tuple(argv)
    for operation in sorted(REQUIRED - named):
        problems.append(
            ConfigError(
                f"the {operation} command is missing",
                where=f"commands.{operation}",
                hint=f"{', '.join(sorted(REQUIRED))} are required; a platform with nothing "
                'to do for one can give ["true"]',
            )
        )
    return parsed


def _decode_served(data: object) -> Served:
    """A `Served` from status JSON; ValueError naming the first problem."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    missing = [key for key in (*LINKS, "weight") if key not in data]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    versions: dict[str, str | None] = {}
    for link in LINKS:
        value = data[link]
        if value is not None and not (isinstance(value, str) and value):
            raise ValueError(f"{link} must be a version or null, not {value!r}")
        versions[link] = value
    weight = data["weight"]
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 100:
        raise ValueError(f"weight must be a number from 0 to 100, not {weight!r}")
    return Served(
        stable=versions["stable"],
        canary=versions["canary"],
        preview=versions["preview"],
        weight=float(weight),
    )


def _check_version(version: str) -> None:
    if not _VERSION.match(version):
        raise UsageError(
            f"version {version!r} is not a version a command can be given safely",
            hint="letters, digits, '.', '_', '+' and '-', starting with a letter or digit",
        )


def _env_value(value: str | float) -> str:
    return f"{value:g}" if isinstance(value, float) else value


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _drain(process: subprocess.Popen[bytes], stderr_so_far: bytes) -> bytes:
    """The stderr of a killed command (what was read, if an escaped child holds the pipe)."""
    try:
        _, stderr = process.communicate(timeout=DRAIN_S)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr or stderr_so_far
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait()
    return stderr


def _tail(output: bytes, env: Mapping[str, str]) -> str:
    """The end of `output`: at most STDERR_TAIL_BYTES, whole lines, secrets masked first."""
    text = output.decode("utf-8", errors="replace")
    secrets = sorted(
        {
            value
            for name, value in env.items()
            if _SECRET_NAME.search(name) and len(value) >= _SECRET_MIN_LENGTH
        },
        key=len,
        reverse=True,
    )
    for secret in secrets:  # before cutting, so no half of a secret survives at the edge
        text = text.replace(secret, _MASK)
    encoded = text.encode()
    if len(encoded) > STDERR_TAIL_BYTES:
        text = encoded[-STDERR_TAIL_BYTES:].decode("utf-8", errors="ignore")
        text = text.split("\n", 1)[1] if "\n" in text else text
    return text.strip()


def _tail_suffix(output: bytes, env: Mapping[str, str]) -> str:
    tail = _tail(output, env)
    return f":\n{tail}" if tail else " (and printed nothing)"
