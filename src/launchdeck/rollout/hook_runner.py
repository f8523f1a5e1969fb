"""Calling release hooks: a signed POST with retries, or a program with a deadline. The shell.

`run_hook` never raises: an endpoint that cannot be reached, a program that cannot start or
runs too long, a secret that is not set all become a `HookResult` with `ok=False` and a detail
saying so. What a result means for the release is decided by the pure helpers of `hooks.py`.

url hooks: `POST` of `hook_body` as JSON, signed as notify signs webhooks (`notify.webhook.sign`:
`X-Launchdeck-Timestamp` and `X-Launchdeck-Signature: v1=<hex HMAC-SHA256(key, ts + "." + body)>`)
when the hook has a secret. 2xx is yes; anything else no. A lost connection, a timeout, a 429 or
a 5xx is tried again, up to the hook's retries, after a jittered exponential wait (full jitter:
uniform in [0, `backoff_s` × 2ⁿ], at most `max_wait_s`; longer if a 429's Retry-After asks, up to
`max_wait_s`). The timeout applies to each attempt's connect, send and every read. Redirects
are not followed (a 3xx is a no).

command hooks: the program runs with the body on stdin and `hook_environment` added to the
inherited environment (minus launchdeck's own `LAUNCHDECK_*` settings, as the command target
does), in its own process group; exit status 0 is yes. At the timeout the whole group is killed
(SIGKILL) and the result says it timed out. The last line the program wrote (stderr first, else
stdout) is kept in the detail, with the value of every secret-looking variable (`*TOKEN*`,
`*KEY*` …, the command target's rule) masked as `***`.

The secret is read when the hook runs (`{env: NAME}` or `{file: PATH}`, as notify reads its
secrets) and appears in no log line, exception and `HookResult`: a detail is also scrubbed of it.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from launchdeck import __version__
from launchdeck.notify.spec import SecretRef
from launchdeck.notify.webhook import sign
from launchdeck.rollout.hooks import (
    GATE_TYPES,
    HookResult,
    HookSpec,
    HookType,
    hook_body,
    hook_environment,
)
from launchdeck.secrets import SecretUnavailable, read_secret

__all__ = ["MAX_WORKERS", "run_hook", "run_hooks"]

logger = logging.getLogger(__name__)

MAX_WORKERS: Final = 8
"""Hooks of one type run at the same time, this many at most."""
_BODY_BYTES: Final = 2048
"""Read no more of an answer than this: only its first line is kept."""
_DETAIL_CHARS: Final = 200
_REAP_S: Final = 2.0
"""After killing a command's group, how long to wait for its pipes to close."""
_REDACTED: Final = "[redacted]"
_SECRET_NAME: Final = re.compile(
    r"TOKEN|SECRET|PASSW|CREDENTIAL|PRIVATE|KEY|AUTH|COOKIE|SESSION|DSN|SIGNATURE", re.I
)
_SECRET_MIN: Final = 8
_QUIET: Final = {HookType.ROLLBACK: logging.DEBUG} | dict.fromkeys(GATE_TYPES, logging.INFO)
"""A rollback hook says no every pass, and a gate holding a release is not a fault: log them
lower than a failed check, post-rollout or event hook (WARNING)."""


class _NoSecret(Exception):
    """The hook's secret could not be read; the message names where it was looked for."""


class _NoBody(Exception):
    """The payload holds a value JSON cannot (a caller's mistake)."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    ok: bool
    detail: str
    status: int | None
    attempts: int


class _Retryable(Exception):
    """An attempt worth repeating: a timeout, a lost connection, a 429 or a 5xx."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def run_hook(
    hook: HookSpec,
    payload: Mapping[str, object],
    *,
    client: httpx.Client | None = None,
    environ: Mapping[str, str] = os.environ,
    cwd: Path | None = None,
    clock: Callable[[], datetime] = _wall_clock,
    backoff_s: float = 0.5,
    max_wait_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> HookResult:
    """Call `hook` once (with its retries) about `payload`; never raises.

    `environ` is where `{env: NAME}` secrets are read and what a command inherits; `cwd` is
    where a command runs; `clock` stamps signatures; `sleep` waits between attempts.
    """
    started = time.monotonic()
    secret: str | None = None
    try:
        try:
            body = hook_body(hook, payload)
        except TypeError as exc:  # a caller's mistake, said in our own words (no values)
            raise _NoBody(str(exc)) from None
        if hook.url is not None:
            secret = _read_secret(hook.secret, environ) if hook.secret is not None else None
            with httpx.Client() if client is None else nullcontext(client) as using:
                outcome = _post(
                    hook,
                    hook.url,
                    body,
                    using,
                    secret,
                    clock=clock,
                    backoff_s=backoff_s,
                    max_wait_s=max_wait_s,
                    sleep=sleep,
                )
        else:
            # The controller's own LAUNCHDECK_* settings (a database URL …) are not the hook's
            # business, as for the command target.
            env = {k: v for k, v in environ.items() if not k.startswith("LAUNCHDECK_")}
            env |= hook_environment(hook, payload)
            outcome = _run_command(hook, body, env, cwd)
    except _NoSecret as exc:
        outcome = _Outcome(False, str(exc), None, 0)
    except _NoBody as exc:
        outcome = _Outcome(False, f"the payload cannot be sent: {exc}", None, 0)
    except Exception as exc:  # a hook must never break the pass that calls it
        outcome = _Outcome(False, f"unexpected error ({type(exc).__name__})", None, 0)
    detail = outcome.detail.replace(secret, _REDACTED) if secret else outcome.detail
    result = HookResult(
        hook.name,
        hook.type,
        outcome.ok,
        detail,
        outcome.status,
        outcome.attempts,
        time.monotonic() - started,
    )
    if not result.ok:
        logger.log(
            _QUIET.get(hook.type, logging.WARNING),
            "hook %s (%s) did not say yes after %d attempt(s): %s",
            hook.name,
            hook.type.value,
            result.attempts,
            result.detail,
        )
    return result


def run_hooks(
    hooks: Sequence[HookSpec],
    type: HookType,
    payload: Mapping[str, object],
    *,
    client: httpx.Client | None = None,
    environ: Mapping[str, str] = os.environ,
    cwd: Path | None = None,
    clock: Callable[[], datetime] = _wall_clock,
    backoff_s: float = 0.5,
    max_wait_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[HookResult]:
    """Every hook of `type`, called at the same time; their results in declaration order.

    All of them run, whatever the first answers ([] when none has that type); never raises.
    """
    chosen = [hook for hook in hooks if hook.type is type]
    if not chosen:
        return []
    own = httpx.Client() if client is None and any(h.url for h in chosen) else None
    shared = client or own

    def call(hook: HookSpec) -> HookResult:
        return run_hook(
            hook,
            payload,
            client=shared,
            environ=environ,
            cwd=cwd,
            clock=clock,
            backoff_s=backoff_s,
            max_wait_s=max_wait_s,
            sleep=sleep,
        )

    try:
        if len(chosen) == 1:
            return [call(chosen[0])]
        workers = min(len(chosen), MAX_WORKERS)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="launchdeck-hook") as pool:
            return list(pool.map(call, chosen))
    finally:
        if own is not None:
            own.close()


def _read_secret(ref: SecretRef, environ: Mapping[str, str]) -> str:
    """The secret `ref` points at; _NoSecret naming the variable or file, never it."""
    try:
        return read_secret(ref, environ=environ)
    except SecretUnavailable as exc:
        raise _NoSecret(f"{exc.message} (the hook's secret)") from None


def _first_line(data: bytes) -> str:
    """The first non-blank line of `data`, printable and short."""
    for line in data.decode("utf-8", "replace").splitlines():
        if text := "".join(c for c in line.strip() if c.isprintable()):
            return text[:_DETAIL_CHARS]
    return ""


def _last_line(data: bytes) -> str:
    """The last non-blank line of `data`, printable and short."""
    for line in reversed(data.decode("utf-8", "replace").splitlines()):
        if text := "".join(c for c in line.strip() if c.isprintable()):
            return text[:_DETAIL_CHARS]
    return ""


def _head(chunks: Iterator[bytes], limit: int) -> bytes:
    """The first `limit` bytes of a body, without reading the rest."""
    out = b""
    for chunk in chunks:
        out += chunk
        if len(out) >= limit:
            break
    return out[:limit]


def _network_error(exc: httpx.TransportError) -> str:
    """ "could not connect: Connection refused (ConnectError)": the OS's words when it has some."""
    seen: BaseException | None = exc
    reason = None
    for _ in range(5):
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.strerror:
            reason = seen.strerror[:_DETAIL_CHARS]
            break
        seen = seen.__cause__ or seen.__context__
    what = "could not connect" if isinstance(exc, httpx.ConnectError) else "connection failed"
    name = type(exc).__name__
    return f"{what}: {reason} ({name})" if reason else f"{what} ({name})"


def _retry_after_s(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for, if given as delta-seconds."""
    value = (value or "").strip()
    return float(value) if value.isascii() and value.isdigit() else None


def _post(
    hook: HookSpec,
    url: str,
    body: bytes,
    client: httpx.Client,
    secret: str | None,
    *,
    clock: Callable[[], datetime],
    backoff_s: float,
    max_wait_s: float,
    sleep: Callable[[float], None],
) -> _Outcome:
    """POST with retries; the outcome of the last attempt."""
    timeout_s = hook.timeout.total_seconds()
    tries = 0

    def attempt() -> tuple[int, str]:
        nonlocal tries
        tries += 1
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"launchdeck/{__version__}",
        }
        if secret is not None:
            headers |= sign(body, secret, int(clock().timestamp()))
        try:
            with client.stream(
                "POST", url, content=body, headers=headers, timeout=timeout_s
            ) as response:
                status = response.status_code
                line = _first_line(_head(response.iter_bytes(), _BODY_BYTES))
                retry_after = response.headers.get("Retry-After")
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out after {timeout_s:g} s") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(_network_error(exc)) from exc
        described = f"HTTP {status}" + (f": {line}" if line else "")
        if status == 429 or status >= 500:
            raise _Retryable(described, status=status, retry_after=_retry_after_s(retry_after))
        return status, described

    jitter = wait_random_exponential(multiplier=backoff_s, max=max_wait_s)

    def wait(state: RetryCallState) -> float:
        delay = jitter(state)
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        return min(delay, max_wait_s)

    retrying = Retrying(
        stop=stop_after_attempt(hook.attempts),
        wait=wait,
        retry=retry_if_exception_type(_Retryable),
        sleep=sleep,
        reraise=True,
    )
    try:
        status, described = retrying(attempt)
    except _Retryable as exc:
        return _Outcome(False, exc.reason, exc.status, tries)
    except httpx.HTTPError as exc:
        return _Outcome(False, f"request failed ({type(exc).__name__})", None, tries)
    return _Outcome(200 <= status < 300, described, status, tries)


def _run_command(hook: HookSpec, body: bytes, env: Mapping[str, str], cwd: Path | None) -> _Outcome:
    """Run the hook's argv with `body` on stdin, in its own process group, killed at the timeout."""
    argv = list(hook.command or ())
    timeout_s = hook.timeout.total_seconds()
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,  # its own group: a timeout kills what it started too
        )
    except OSError as exc:  # argv[0] only: arguments may hold secrets
        reason = exc.strerror or type(exc).__name__
        return _Outcome(False, f"could not start {argv[0]!r}: {reason}", None, 1)
    with process:  # pipes closed and the process reaped, whatever happens
        try:
            out, err = process.communicate(body, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return _Outcome(False, f"timed out after {timeout_s:g} s (killed)", None, 1)
        except BaseException:  # interrupted: leave nothing of it running
            _kill_group(process)
            raise
    code = process.returncode
    line = _masked(_last_line(err) or _last_line(out), env)
    said = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    return _Outcome(code == 0, said + (f": {line}" if line else ""), None, 1)


def _masked(text: str, env: Mapping[str, str]) -> str:
    """`text` with the value of every secret-looking variable of `env` replaced by `***`.

    The command target's rule (`targets/command.py`): names with TOKEN, SECRET, KEY … and
    values of 8 characters or more.
    """
    secrets = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _SECRET_MIN}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the command's process group and reap it; close pipes a runaway still holds."""
    with suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.communicate(timeout=_REAP_S)
    except subprocess.TimeoutExpired:  # a descendant left the group and keeps the pipes open
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait()
