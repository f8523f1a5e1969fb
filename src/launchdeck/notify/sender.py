"""Sending a message: route it, render it per channel, POST it with retries. The shell of notify.

`Dispatcher.dispatch` never raises: a channel that cannot be reached, answers an error or has
no secret becomes a failed `Delivery`, so a notification can never fail the action it reports.
Webhook URLs and HMAC keys are read at send time (`resolve_secret`) and appear in no error, no
log line and no `Delivery`: requests go straight to an httpx transport, which logs no URL (the
httpx `Client` logs each request's URL at INFO level, and a Slack or Teams URL is its secret).

Timing: channels are sent at the same time (one thread each, up to `MAX_WORKERS`). A channel
makes up to `attempts` attempts of at most `timeout_s` each (connect, write and read each time
out after `timeout_s`), waiting `backoff_s`, 2 × `backoff_s` … between them, or what a 429's
Retry-After asks, never more than `max_wait_s`. `dispatch` returns after at most
`worst_case_s` (per wave of `MAX_WORKERS` channels) plus a second, whatever the receivers do.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from launchdeck import __version__
from launchdeck.errors import ConfigError
from launchdeck.notify.model import Delivery, Message, encode_json
from launchdeck.notify.slack import render_slack
from launchdeck.notify.spec import ChannelSpec, ChannelType, NotificationsSpec, SecretRef, route
from launchdeck.notify.teams import render_teams
from launchdeck.notify.webhook import render_generic, sign
from launchdeck.secrets import read_secret

__all__ = ["MAX_WORKERS", "Dispatcher", "proxy_for", "resolve_secret"]

logger = logging.getLogger(__name__)

MAX_WORKERS: Final = 8
GRACE_S: Final = 1.0
"""Margin on the overall deadline, for starting threads and reading the last answer."""
_BODY_BYTES: Final = 2048
"""Read no more of an answer than this: only a short error code is ever used."""
_ERROR_CODE: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
"""Slack answers a refused post with a bare code ("invalid_blocks", "channel_is_archived")."""
_REDACTED: Final = "[redacted]"


def resolve_secret(ref: SecretRef, *, environ: Mapping[str, str]) -> str:
    """The secret `ref` points at, stripped; ConfigError naming the variable or file, never it."""
    return read_secret(ref, environ=environ, where="notifications")


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy for `url` from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY, unless NO_PROXY exempts it.

    NO_PROXY is read as curl does: `*`, or host names that also cover their subdomains.
    """
    lowered = {key.lower(): value.strip() for key, value in environ.items() if value.strip()}
    parsed = httpx.URL(url)
    proxy = lowered.get(f"{parsed.scheme}_proxy") or lowered.get("all_proxy")
    if proxy is None:
        return None
    host = parsed.host.lower()
    for entry in lowered.get("no_proxy", "").split(","):
        name = entry.strip().lower().lstrip(".")
        name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name.strip("[]")
        if name == "*" or (name and (host == name or host.endswith("." + name))):
            return None
    return proxy


class _Retryable(Exception):
    """An attempt worth repeating: a timeout, a lost connection, a 429 or a 5xx."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    retry_after: str | None
    body: bytes

    def describe(self) -> str:
        code = self.body.decode("utf-8", "replace").strip()
        return f"HTTP {self.status}" + (f" ({code})" if _ERROR_CODE.match(code) else "")


@dataclass(frozen=True, slots=True)
class _Prepared:
    channel: ChannelSpec
    url: str
    body: bytes
    secret: str | None

    def redact(self, text: str) -> str:
        """`text` with the URL, its path and the secret cut out (a last line of defence)."""
        parsed = httpx.URL(self.url)
        tail = parsed.raw_path.decode("ascii", "replace")
        for secret in (self.url, self.secret, tail if len(tail) > 1 else None):
            if secret:
                text = text.replace(secret, _REDACTED)
        return text


def _cause_reason(exc: BaseException) -> str | None:
    """The operating system's words for a network failure ("Connection refused"), if any."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror[:200]
        seen = seen.__cause__ or seen.__context__
    return None


def _network_error(exc: httpx.TransportError) -> str:
    reason = _cause_reason(exc)
    what = "could not connect" if isinstance(exc, httpx.ConnectError) else "connection failed"
    name = type(exc).__name__
    return f"{what}: {reason} ({name})" if reason else f"{what} ({name})"


def _retry_after_s(value: str | None, clock: Callable[[], datetime]) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - clock()).total_seconds(), 0.0)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """The `Notifier` over the channels and routes of a `NotificationsSpec`."""

    def __init__(
        self,
        spec: NotificationsSpec,
        *,
        environ: Mapping[str, str] = os.environ,
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        max_wait_s: float = 10.0,
        clock: Callable[[], datetime] = _wall_clock,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1 or timeout_s <= 0 or backoff_s < 0 or max_wait_s < 0:
            raise ValueError("attempts >= 1, timeout_s > 0, backoff_s >= 0 and max_wait_s >= 0")
        self.spec = spec
        self.environ = environ
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.transport = transport
        self.sleep = sleep

    @property
    def worst_case_s(self) -> float:
        """The longest one channel can take: every attempt times out, every wait is capped."""
        return self.attempts * self.timeout_s + (self.attempts - 1) * self.max_wait_s

    def notify(self, message: Message) -> tuple[Delivery, ...]:
        """The `Notifier` protocol: the same as `dispatch`."""
        return self.dispatch(message)

    def dispatch(self, message: Message) -> tuple[Delivery, ...]:
        """One Delivery per routed channel, in route order; () if no route matches. Never raises."""
        try:
            channels = route(self.spec, message)
        except Exception:
            logger.exception("could not route a %s notification", message.kind)
            return ()
        if not channels:
            return ()
        try:
            deliveries = self._send_all(message, channels)
        except Exception as exc:
            reason = f"unexpected error ({type(exc).__name__})"
            deliveries = tuple(Delivery(c.id, ok=False, attempts=0, error=reason) for c in channels)
        for delivery in deliveries:
            if not delivery.ok:
                logger.warning(
                    "notification %s to channel %s failed after %d attempt(s): %s",
                    message.kind,
                    delivery.channel,
                    delivery.attempts,
                    delivery.error,
                )
        return deliveries

    def _prepare(self, message: Message, channel: ChannelSpec) -> _Prepared | Delivery:
        try:
            url = resolve_secret(channel.url, environ=self.environ)
            secret = (
                resolve_secret(channel.secret, environ=self.environ) if channel.secret else None
            )
        except ConfigError as exc:
            return Delivery(channel.id, ok=False, attempts=0, error=exc.message)
        if not url.startswith(("https://", "http://")):
            error = f"{channel.url.describe()} does not hold an http(s) URL"
            return Delivery(channel.id, ok=False, attempts=0, error=error)
        try:
            if channel.type is ChannelType.SLACK:
                body = encode_json(render_slack(message))
            elif channel.type is ChannelType.TEAMS:
                body = encode_json(render_teams(message))
            else:
                body = render_generic(message)
        except Exception as exc:
            error = f"could not render the message ({type(exc).__name__})"
            return Delivery(channel.id, ok=False, attempts=0, error=error)
        return _Prepared(channel, url, body, secret)

    def _send_all(
        self, message: Message, channels: tuple[ChannelSpec, ...]
    ) -> tuple[Delivery, ...]:
        ready = {c.id: self._prepare(message, c) for c in channels}
        transports = self._transports([j for j in ready.values() if isinstance(j, _Prepared)])
        for name, job in ready.items():
            if isinstance(job, _Prepared) and job.url not in transports:
                error = "the proxy set for it (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) is not a URL"
                ready[name] = Delivery(name, ok=False, attempts=0, error=error)
        jobs = [job for job in ready.values() if isinstance(job, _Prepared)]
        if not jobs:
            return tuple(d for d in ready.values() if isinstance(d, Delivery))
        progress: dict[str, int] = {}
        workers = min(len(jobs), MAX_WORKERS)
        bound = math.ceil(len(jobs) / workers) * self.worst_case_s + GRACE_S
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="launchdeck-notify")
        try:
            futures: dict[str, Future[Delivery]] = {
                job.channel.id: pool.submit(self._send, job, transports[job.url], progress)
                for job in jobs
            }
            _, late = wait(futures.values(), timeout=bound)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        if not late:  # a late thread may still be using its transport: leave it be
            owned = {id(t): t for t in transports.values() if t is not self.transport}
            for transport in owned.values():
                transport.close()
        results: list[Delivery] = []
        for channel in channels:
            job = ready[channel.id]
            if isinstance(job, Delivery):
                results.append(job)
            elif (future := futures[channel.id]) in late:
                tries = progress.get(channel.id, 0)
                error = f"no answer within {bound:g} s"
                results.append(Delivery(channel.id, ok=False, attempts=tries, error=error))
            else:
                results.append(future.result())
        return tuple(results)

    def _transports(self, jobs: list[_Prepared]) -> dict[str, httpx.BaseTransport]:
        """The transport for each URL: the injected one, else one per proxy (or none) in use."""
        if self.transport is not None:
            return {job.url: self.transport for job in jobs}
        by_proxy: dict[str | None, httpx.BaseTransport] = {}
        chosen: dict[str, httpx.BaseTransport] = {}
        for job in jobs:
            proxy = proxy_for(job.url, self.environ)
            if proxy not in by_proxy:
                try:
                    by_proxy[proxy] = httpx.HTTPTransport(proxy=proxy)
                except (ValueError, httpx.InvalidURL, httpx.UnsupportedProtocol):
                    continue  # the job's Delivery says so; the proxy URL is not repeated
            chosen[job.url] = by_proxy[proxy]
        return chosen

    def _send(
        self, job: _Prepared, transport: httpx.BaseTransport, progress: dict[str, int]
    ) -> Delivery:
        """POST with retries; a failed Delivery for anything that goes wrong."""
        channel = job.channel.id
        tries = 0

        def attempt() -> _Answer:
            nonlocal tries
            tries += 1
            progress[channel] = tries
            return self._attempt(job, transport)

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            answer = retrying(attempt)
        except _Retryable as exc:
            return Delivery(channel, False, tries, exc.status, job.redact(exc.reason))
        except httpx.HTTPError as exc:
            return Delivery(channel, False, tries, error=f"request failed ({type(exc).__name__})")
        except Exception as exc:
            return Delivery(channel, False, tries, error=f"unexpected error ({type(exc).__name__})")
        if 200 <= answer.status < 300:
            return Delivery(channel, True, tries, answer.status)
        return Delivery(channel, False, tries, answer.status, job.redact(answer.describe()))

    def _attempt(self, job: _Prepared, transport: httpx.BaseTransport) -> _Answer:
        """One POST; raises _Retryable for what is worth another try."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"launchdeck/{__version__}",
        }
        if job.secret is not None:
            headers |= sign(job.body, job.secret, int(self.clock().timestamp()))
        request = httpx.Request(
            "POST",
            job.url,
            content=job.body,
            headers=headers,
            extensions={"timeout": httpx.Timeout(self.timeout_s).as_dict()},
        )
        try:
            response = transport.handle_request(request)
            try:
                answer = _Answer(
                    response.status_code,
                    response.headers.get("Retry-After"),
                    b"".join(_head(response.iter_bytes(), _BODY_BYTES)),
                )
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out after {self.timeout_s:g} s") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(_network_error(exc)) from exc
        if answer.status == 429 or answer.status >= 500:
            retry_after = _retry_after_s(answer.retry_after, self.clock)
            raise _Retryable(answer.describe(), status=answer.status, retry_after=retry_after)
        return answer

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff, or longer if a 429 asked, capped at `max_wait_s`."""
        delay = self.backoff_s * 2.0 ** (state.attempt_number - 1)
        failure = state.outcome.exception() if state.outcome is not None else None
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            delay = max(delay, failure.retry_after)
        return min(delay, self.max_wait_s)


def _head(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """The first `limit` bytes of a body, without reading the rest."""
    left = limit
    for chunk in chunks:
        yield chunk[:left]
        left -= len(chunk)
        if left <= 0:
            return
