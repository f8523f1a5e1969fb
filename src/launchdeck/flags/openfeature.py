"""`LaunchdeckProvider`: an OpenFeature provider that evaluates in process. Client side.

The provider keeps one environment's `Snapshot` compiled into an `Evaluator` and answers every
resolution from memory, with no network and no lock on the hot path: a refresh compiles the new
snapshot aside and swaps one reference. One daemon thread keeps the copy fresh. It holds the
server's event stream (`GET /ofrep/v1/sse`; a `refetchEvaluation` event means "fetch again")
and fetches `GET /api/v1/sdk/snapshot` with `If-None-Match` every `poll_interval_s` (a 304 when
nothing changed; while the stream is up, at its next line, a keep-alive comes every 15 s), so a
lost stream costs at most one interval. The stream reconnects with jittered exponential
backoff, capped at 30 s, and fetches on every reconnection.

When the server cannot be reached the last configuration keeps serving, with `Reason.STALE`
instead of the usual reason: as soon as a fetch fails while the stream is down, or once fetches
have failed for two poll intervals. Without a server (`base_url=None`) the provider serves a
`Snapshot` or a bootstrap file (`launchdeck flags export --snapshot`) and is never stale.

fork(): the child (gunicorn --preload, Celery prefork) keeps the parent's configuration and
starts its own refresh thread, with its own connections, on its first resolution.

Exposures: with `on_exposure`, every successful resolution hands the sink an `Exposure` (flag,
variant, reason, targeting key, instant) and `track()` hands it the tracked event, so the
experiments capability counts exposures and conversions from one stream. `ExposureHook` does
the same for any other provider.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import socket
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar

import httpx
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode, GeneralError, ProviderFatalError
from openfeature.flag_evaluation import (
    FlagEvaluationDetails,
    FlagResolutionDetails,
    FlagValueType,
    Reason,
)
from openfeature.hook import Hook, HookContext, HookHints
from openfeature.provider import AbstractProvider, Metadata
from openfeature.track import TrackingEventDetails
from pydantic import ValidationError

from launchdeck import __version__
from launchdeck.errors import ConfigError
from launchdeck.flags.evaluate import Evaluator, Resolution
from launchdeck.flags.model import (
    AllOf,
    AnyOf,
    Clause,
    Condition,
    FlagSpec,
    FlagType,
    NotOf,
    SegmentSpec,
    Snapshot,
)

__all__ = [
    "Exposure",
    "ExposureHook",
    "LaunchdeckProvider",
    "SyncStatus",
    "changed_flags",
    "load_snapshot",
]

SNAPSHOT_PATH: Final = "/api/v1/sdk/snapshot"
SSE_PATH: Final = "/ofrep/v1/sse"
ENVIRONMENT_HEADER: Final = "X-Launchdeck-Environment"
SDK_KEY_PREFIX: Final = "lds_"
"""SDK keys name their environment; any other bearer token is an API token and needs one."""
MAX_BACKOFF_S: Final = 30.0
FIRST_BACKOFF_S: Final = 1.0
STALE_AFTER_INTERVALS: Final = 2
SSE_SILENCE_S: Final = 45.0
"""A stream silent this long is dead (the server sends a keep-alive comment every 15 s): the
provider reconnects, which also fetches."""

_log = logging.getLogger(__name__)
_NEVER: Final = math.inf
_NOW: Final = -math.inf
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_REASONS: Final[Mapping[str, Reason]] = {reason.value: reason for reason in Reason}
_METADATA: Final = Metadata(name="launchdeck")
_NO_HOOKS: Final[list[Hook]] = []
_BOOLEAN, _STRING, _INTEGER, _FLOAT, _OBJECT = (
    FlagType.BOOLEAN,
    FlagType.STRING,
    FlagType.INTEGER,
    FlagType.FLOAT,
    FlagType.OBJECT,
)
_ORPHANS: list[object] = []
"""What a fork child inherited and must neither use nor close (the parent's sockets)."""

V = TypeVar("V")
ObjectValue = Sequence[FlagValueType] | Mapping[str, FlagValueType]


@dataclass(frozen=True, slots=True)
class Exposure:
    """What the experiments capability counts. An exposure (`event` None): a unit was served a
    flag's variant. A tracked event (`event` set, from `track()`): a unit did something worth
    counting, such as a conversion, with its optional `value` and `attributes`."""

    flag_key: str | None
    variant: str | None
    reason: str | None
    targeting_key: str | None
    timestamp: float
    """Unix seconds, from the provider's clock."""
    event: str | None = None
    value: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def is_exposure(self) -> bool:
        return self.event is None


ExposureSink = Callable[[Exposure], None]
"""Called on the evaluating thread: keep it cheap (append to a queue, count)."""


class ExposureHook(Hook):
    """An OpenFeature hook that records an exposure after each successful evaluation, for
    applications on another provider. Not needed (it would count twice) with a
    `LaunchdeckProvider` given `on_exposure`."""

    def __init__(self, sink: ExposureSink, *, clock: Callable[[], float] = time.time) -> None:
        self._sink = sink
        self._clock = clock

    def after(
        self,
        hook_context: HookContext,
        details: FlagEvaluationDetails[FlagValueType],
        hints: HookHints,
    ) -> None:
        reason = details.reason
        self._sink(
            Exposure(
                details.flag_key,
                details.variant,
                None if reason is None else str(reason),
                hook_context.evaluation_context.targeting_key,
                self._clock(),
            )
        )


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """How fresh the provider's copy is, for health pages and tests."""

    environment: str | None
    etag: str | None
    revision: int | None
    stale: bool
    streaming: bool
    """The event stream is connected."""
    refreshing: bool
    """The refresh thread runs (online, initialised, not shut down)."""
    fetched: int
    """Snapshots received (200)."""
    not_modified: int
    """Fetches answered 304."""
    failures: int
    last_error: str | None


class _FetchFailed(Exception):
    """A fetch did not give a usable answer; the provider state already says so."""

    def __init__(self, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.fatal = fatal


@dataclass(frozen=True, slots=True)
class _Live:
    """What the hot path reads, swapped as one reference."""

    snapshot: Snapshot
    types: Mapping[str, FlagType]
    resolve: Callable[[str, Mapping[str, Any]], Resolution]


def load_snapshot(path: str | Path) -> Snapshot:
    """The Snapshot JSON at `path` (what `launchdeck flags export --snapshot` writes)."""
    where = str(path)
    hint = "write one with `launchdeck flags export --env <env> --snapshot -o <file>`"
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the bootstrap file: {exc.strerror}", where=where, hint=hint
        ) from exc
    try:
        return Snapshot.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(the document)"
        more = exc.error_count() - 1
        also = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(
            f"not a launchdeck snapshot: {field}: {first['msg']}{also}",
            where=where,
            field=field,
            hint=hint,
        ) from None


def _segment_refs(condition: Condition) -> set[str]:
    if isinstance(condition, Clause):
        return {str(v) for v in condition.values} if condition.op == "in_segment" else set()
    if isinstance(condition, AllOf):
        parts: tuple[Condition, ...] = condition.all
    elif isinstance(condition, AnyOf):
        parts = condition.any
    else:
        assert isinstance(condition, NotOf)
        parts = (condition.not_,)
    return set().union(*(_segment_refs(c) for c in parts))


def _flag_segments(flag: FlagSpec) -> set[str]:
    refs: set[str] = set()
    for config in flag.environments.values():
        rules = list(config.rules)
        for change in config.schedule:
            rules.extend(change.set.rules or ())
        for rule in rules:
            refs |= _segment_refs(rule.when)
    return refs


def _documents(items: tuple[FlagSpec, ...] | tuple[SegmentSpec, ...]) -> dict[str, Any]:
    return {item.key: item.document() for item in items}


def changed_flags(old: Snapshot | None, new: Snapshot) -> list[str]:
    """The keys whose answers may differ between `old` and `new`: flags added, removed or
    changed, flags using a changed segment, and flags whose prerequisites changed."""
    if old is None:
        return sorted(f.key for f in new.flags)
    flags_before, flags_after = _documents(old.flags), _documents(new.flags)
    segs_before, segs_after = _documents(old.segments), _documents(new.segments)
    segments = {k for k in segs_before | segs_after if segs_before.get(k) != segs_after.get(k)}
    uses = {s.key: set().union(*(_segment_refs(r) for r in s.rules)) for s in new.segments}
    grew = True
    while grew:
        more = {key for key, refs in uses.items() if refs & segments} - segments
        segments |= more
        grew = bool(more)
    changed = {k for k in flags_before | flags_after if flags_before.get(k) != flags_after.get(k)}
    changed |= {f.key for f in new.flags if _flag_segments(f) & segments}
    grew = True
    while grew:
        more = {f.key for f in new.flags if any(p.flag in changed for p in f.prerequisites)}
        more -= changed
        changed |= more
        grew = bool(more)
    return sorted(changed)


def _same_etag(a: str | None, b: str | None) -> bool:
    def bare(tag: str) -> str:
        return tag.strip().removeprefix("W/").strip('"')

    return a is not None and b is not None and bare(a) == bare(b)


def _detail(response: httpx.Response) -> str:
    """ ", <the server's explanation>" from a problem+json or OFREP error body, else ""."""
    try:
        body = response.json()
    except ValueError:
        return ""
    detail = body.get("detail") or body.get("errorDetails") if isinstance(body, dict) else None
    return f", {str(detail)[:300]}" if detail else ""


def _interrupt(response: httpx.Response) -> None:
    """Wake the thread blocked reading `response` (shutting the socket down ends its read at
    once; closing it from another thread would not)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        return
    try:
        response.close()
    except Exception:  # a test transport's stream; the read ends on its own
        _log.debug("could not close the event stream", exc_info=True)


def _check_arguments(
    base_url: str | None,
    sdk_key: str | None,
    environment: str | None,
    snapshot: Snapshot | None,
    bootstrap: str | Path | None,
) -> None:
    if base_url is None and snapshot is None and bootstrap is None:
        raise ValueError(
            "LaunchdeckProvider needs a server (`base_url` and `sdk_key`) or, offline, "
            "a `snapshot` or a `bootstrap` file"
        )
    if base_url is None:
        return
    if not sdk_key:
        raise ValueError(
            f"`sdk_key` is required to read flags from {base_url}: an SDK key (lds_…) "
            "or an API token with `environment`"
        )
    if not sdk_key.startswith(SDK_KEY_PREFIX) and environment is None:
        raise ValueError(
            "an API token reads any environment: pass `environment=` (an SDK key, lds_…, "
            "names its own)"
        )


def _jitter() -> float:
    """Spread reconnections of many processes after a server restart (not cryptographic)."""
    return random.uniform(0.5, 1.0)  # noqa: S311


def _register_at_fork(provider: LaunchdeckProvider) -> None:
    ref = weakref.ref(provider)

    def after_in_child() -> None:
        alive = ref()
        if alive is not None:
            alive._reset_in_child()

    os.register_at_fork(after_in_child=after_in_child)


class LaunchdeckProvider(AbstractProvider):
    """Evaluates launchdeck flags in process, from a local copy of one environment.

    Online: `LaunchdeckProvider("https://launchdeck.example", sdk_key="lds_…")` (an API token
    works too, with `environment=`); `bootstrap=` (or `snapshot=`) is served until the first
    fetch and whenever the server is unreachable at start-up. Offline: `base_url=None` with
    `snapshot=` or `bootstrap=`. `transport` is a test seam (an `httpx.MockTransport`).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        sdk_key: str | None = None,
        environment: str | None = None,
        snapshot: Snapshot | None = None,
        bootstrap: str | Path | None = None,
        poll_interval_s: float = 30.0,
        stream: bool = True,
        timeout_s: float = 5.0,
        on_exposure: ExposureSink | None = None,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        _check_arguments(base_url, sdk_key, environment, snapshot, bootstrap)
        if not poll_interval_s > 0 or not timeout_s > 0:
            raise ValueError(
                f"poll_interval_s and timeout_s are positive seconds, got {poll_interval_s!r} "
                f"and {timeout_s!r}"
            )
        self._base_url = base_url.rstrip("/") if base_url is not None else None
        self._sdk_key = sdk_key
        self._environment = environment
        self._poll_interval_s = float(poll_interval_s)
        self._stream = stream
        self._timeout_s = float(timeout_s)
        self._on_exposure = on_exposure
        self._clock = clock
        self._transport = transport

        self._live: _Live | None = None
        self._stale_at = _NEVER
        """Past this clock reading answers carry Reason.STALE (-inf: now; inf: never)."""
        self._lock = threading.Lock()
        """Serialises fetches and swaps; never taken on the hot path."""
        self._events_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None
        self._held: httpx.Response | None = None
        self._etag: str | None = None
        self._next_poll = 0.0
        self._running = False
        self._forked = False
        self._sse_up = False
        self._fetch_ok = True
        self._failing_since: float | None = None
        self._refused = False
        """The server refused the credentials or named another environment."""
        self._announced = "ready"
        """The state the SDK was last told: "ready", "stale" or "error"."""
        self._fetched = self._not_modified = self._failures = 0
        self._last_error: str | None = None

        initial = snapshot
        if initial is None and bootstrap is not None:
            initial = load_snapshot(bootstrap)
        if initial is not None:
            if environment is not None and initial.environment != environment:
                source = "the snapshot" if bootstrap is None else str(bootstrap)
                raise ConfigError(
                    f"{source} holds environment {initial.environment!r}, not {environment!r}",
                    hint="export the snapshot of the environment this process runs in",
                )
            self._live = self._compile(initial)
        _register_at_fork(self)

    # ------------------------------------------------------------------ OpenFeature surface

    def get_metadata(self) -> Metadata:
        return _METADATA

    def get_provider_hooks(self) -> list[Hook]:
        return _NO_HOOKS

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        """Fetch the first snapshot and start the refresh thread. Unreachable with a bootstrap:
        serve it (STALE) and keep trying; without one: raise (the SDK reports an error)."""
        if self._base_url is None:
            return
        self._running = True
        try:
            self._fetch()
        except _FetchFailed as failed:
            if failed.fatal and self._live is None:
                self._running = False
                raise ProviderFatalError(failed.message) from None
            retry_s = min(FIRST_BACKOFF_S, self._poll_interval_s)
            self._start(connect_in_s=retry_s, poll_in_s=retry_s)
            if self._live is None:
                self._announced = "error"  # the SDK reports the error raised below
                raise GeneralError(
                    f"{failed.message}; no bootstrap to serve meanwhile (pass `bootstrap=`), "
                    "retrying in the background"
                ) from None
            _log.warning("launchdeck flags: serving the bootstrap configuration: %s", failed)
            return
        self._start(connect_in_s=0.0, poll_in_s=self._poll_interval_s)

    def shutdown(self) -> None:
        """Stop the refresh thread and close connections; answers keep the last configuration."""
        self._running = False
        self._stop.set()
        held = self._held
        if held is not None:
            _interrupt(held)
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self._timeout_s + 1)
        http, self._http = self._http, None
        if http is not None:
            http.close()

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, _BOOLEAN)

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, _STRING)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, _INTEGER)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, _FLOAT)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: ObjectValue,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[ObjectValue]:
        """The variant's own dict or list, shared by every answer: treat it as read-only."""
        return self._resolve(flag_key, default_value, evaluation_context, _OBJECT)

    # The SDK's async resolvers (AbstractProvider) call these synchronous ones: evaluation is
    # in memory and never blocks.

    def track(
        self,
        tracking_event_name: str,
        evaluation_context: EvaluationContext | None = None,
        tracking_event_details: TrackingEventDetails | None = None,
    ) -> None:
        """Hand the tracked event (a conversion) to `on_exposure`; nothing without a sink."""
        sink = self._on_exposure
        if sink is None:
            return
        value, attributes = None, _EMPTY
        if tracking_event_details is not None:
            value = tracking_event_details.value
            attributes = MappingProxyType(dict(tracking_event_details.attributes))
        targeting_key = None if evaluation_context is None else evaluation_context.targeting_key
        sink(
            Exposure(
                None,
                None,
                None,
                targeting_key,
                self._clock(),
                event=tracking_event_name,
                value=value,
                attributes=attributes,
            )
        )

    # ------------------------------------------------------------------ the hot path

    def _resolve(
        self, key: str, default: V, context: EvaluationContext | None, want: FlagType
    ) -> FlagResolutionDetails[V]:
        if self._forked:
            self._restart_in_child()
        live = self._live
        if live is None:
            return FlagResolutionDetails(
                default,
                ErrorCode.PROVIDER_NOT_READY,
                "no flag configuration yet: the first fetch has not succeeded",
                Reason.ERROR,
            )
        kind = live.types.get(key)
        if kind is not want:
            return self._mismatch(live, key, default, kind, want)
        targeting_key = None
        ctx: Mapping[str, Any]
        if context is None:
            ctx = _EMPTY
        else:
            targeting_key = context.targeting_key
            if targeting_key:
                ctx = dict(context.attributes)
                ctx["targetingKey"] = targeting_key
            else:
                ctx = context.attributes
        answer = live.resolve(key, ctx)
        stale_at = self._stale_at
        if stale_at != _NEVER and self._clock() > stale_at:
            reason = Reason.STALE
        else:
            reason = _REASONS[answer.reason]
        value: Any
        if answer.code_default:
            if answer.error_code is not None:
                return self._mismatch(live, key, default, None, want)
            value = default
        else:
            value = answer.value
            if want is _FLOAT and type(value) is int:
                value = float(value)
        if self._on_exposure is not None:
            self._expose(key, answer.variant, reason, targeting_key)
        return FlagResolutionDetails(
            value=value, reason=reason, variant=answer.variant, flag_metadata=answer.metadata
        )

    def _mismatch(
        self, live: _Live, key: str, default: V, kind: FlagType | None, want: FlagType
    ) -> FlagResolutionDetails[V]:
        if kind is None:
            env = live.snapshot.environment
            return FlagResolutionDetails(
                default,
                ErrorCode.FLAG_NOT_FOUND,
                f"flag {key!r} is not in environment {env!r} (revision {live.snapshot.revision})",
                Reason.ERROR,
            )
        return FlagResolutionDetails(
            default,
            ErrorCode.TYPE_MISMATCH,
            f"flag {key!r} is a {kind} flag; it was asked for as {want}",
            Reason.ERROR,
        )

    def _expose(
        self, key: str, variant: str | None, reason: str, targeting_key: str | None
    ) -> None:
        sink = self._on_exposure
        assert sink is not None
        try:
            sink(Exposure(key, variant, reason, targeting_key, self._clock()))
        except Exception:
            _log.exception("launchdeck flags: the exposure sink failed for flag %r", key)

    # ------------------------------------------------------------------ state

    def sync_status(self) -> SyncStatus:
        live = self._live
        snapshot = live.snapshot if live is not None else None
        return SyncStatus(
            environment=snapshot.environment if snapshot else self._environment,
            etag=self._etag or (snapshot.etag if snapshot else None) or None,
            revision=snapshot.revision if snapshot else None,
            stale=self._stale(),
            streaming=self._sse_up,
            refreshing=self._thread is not None and self._thread.is_alive(),
            fetched=self._fetched,
            not_modified=self._not_modified,
            failures=self._failures,
            last_error=self._last_error,
        )

    def refresh(self) -> bool:
        """Fetch the snapshot now (`If-None-Match`); True if the server gave a usable answer.
        The refresh thread does this every `poll_interval_s` and on every stream event."""
        if self._base_url is None:
            return False
        try:
            self._fetch()
        except _FetchFailed:
            return False
        finally:
            self._announce()
        return True

    def _stale(self) -> bool:
        return self._clock() > self._stale_at

    def _compile(self, snapshot: Snapshot) -> _Live:
        evaluator = Evaluator(snapshot, clock=self._clock)
        types = {flag.key: flag.type for flag in snapshot.flags}
        return _Live(snapshot, types, evaluator.resolve)

    def _freshness(self) -> None:
        if not self._fetch_ok and not self._sse_up:
            self._stale_at = _NOW
        elif self._failing_since is not None:
            interval = STALE_AFTER_INTERVALS * self._poll_interval_s
            self._stale_at = self._failing_since + interval
        else:
            self._stale_at = _NEVER

    def _succeeded(self) -> None:
        self._fetch_ok = True
        self._refused = False
        self._failing_since = None
        self._last_error = None
        self._freshness()

    def _failed(self, message: str, *, fatal: bool = False) -> _FetchFailed:
        self._fetch_ok = False
        self._refused = fatal
        self._failures += 1
        if self._failing_since is None:
            self._failing_since = self._clock()
        if message != self._last_error:
            _log.warning("launchdeck flags: %s", message)
        self._last_error = message
        self._freshness()
        return _FetchFailed(message, fatal=fatal)

    def _set_streaming(self, up: bool) -> None:
        self._sse_up = up
        self._freshness()

    def _client(self) -> httpx.Client:
        http = self._http
        if http is None:
            assert self._base_url is not None and self._sdk_key is not None
            headers = {
                "Authorization": f"Bearer {self._sdk_key}",
                "User-Agent": f"launchdeck-openfeature/{__version__}",
            }
            if self._environment is not None:
                headers[ENVIRONMENT_HEADER] = self._environment
            http = httpx.Client(
                base_url=self._base_url,
                headers=headers,
                timeout=self._timeout_s,
                transport=self._transport,
            )
            self._http = http
        return http

    def _fetch(self) -> None:
        """One conditional fetch; swaps in a new snapshot. Raises _FetchFailed."""
        changed: list[str] | None = None
        with self._lock:
            changed = self._fetch_locked()
        if changed:
            self.emit_provider_configuration_changed(
                ProviderEventDetails(
                    flags_changed=changed,
                    message=f"flag configuration changed (ETag {self._etag})",
                )
            )

    def _fetch_locked(self) -> list[str] | None:
        where = f"{self._base_url}{SNAPSHOT_PATH}"
        headers = {"Accept": "application/json"}
        if self._etag is not None:
            headers["If-None-Match"] = self._etag
        try:
            response = self._client().get(SNAPSHOT_PATH, headers=headers)
        except httpx.HTTPError as exc:
            raise self._failed(f"cannot reach {where}: {exc or type(exc).__name__}") from None
        status = response.status_code
        if status == 304:
            self._not_modified += 1
            self._succeeded()
            return None
        if status in (401, 403):
            raise self._failed(
                f"{where} refused the {'SDK key' if self._is_sdk_key else 'API token'} "
                f"({status}{_detail(response)}): check that it exists, is not revoked and "
                "reads this environment",
                fatal=True,
            )
        if status != 200:
            raise self._failed(f"{where} answered {status}{_detail(response)}")
        try:
            snapshot = Snapshot.model_validate_json(response.content)
        except ValidationError as exc:
            raise self._failed(f"{where} answered a body that is not a snapshot: {exc}") from None
        if self._environment is not None and snapshot.environment != self._environment:
            raise self._failed(
                f"{where} answered environment {snapshot.environment!r}, not "
                f"{self._environment!r}: the credential reads another environment",
                fatal=True,
            )
        try:
            live = self._compile(snapshot)
        except Exception as exc:
            raise self._failed(f"the snapshot from {where} does not compile: {exc}") from None
        previous = self._live
        self._live = live
        self._etag = response.headers.get("ETag") or snapshot.etag or None
        self._fetched += 1
        self._succeeded()
        if previous is None:
            return None
        return changed_flags(previous.snapshot, snapshot)

    @property
    def _is_sdk_key(self) -> bool:
        return bool(self._sdk_key and self._sdk_key.startswith(SDK_KEY_PREFIX))

    def _announce(self) -> None:
        """Tell the SDK when the copy turns stale or unusable, and when it is fresh again."""
        with self._events_lock:
            self._announce_locked()

    def _announce_locked(self) -> None:
        if self._live is None or self._refused:
            state = "error"
        elif self._stale():
            state = "stale"
        else:
            state = "ready"
        if state == self._announced:
            return
        self._announced = state
        if state == "ready":
            self.emit_provider_ready(ProviderEventDetails(message="flag configuration is fresh"))
        elif state == "stale":
            self.emit_provider_stale(
                ProviderEventDetails(
                    message=f"serving the last known flag configuration: {self._last_error}"
                )
            )
        else:
            self.emit_provider_error(
                ProviderEventDetails(message=self._last_error, error_code=ErrorCode.GENERAL)
            )

    # ------------------------------------------------------------------ the refresh thread

    def _start(self, *, connect_in_s: float, poll_in_s: float) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        thread = threading.Thread(
            target=self._run,
            args=(self._stop, connect_in_s, poll_in_s),
            name="launchdeck-flags-refresh",
            daemon=True,
        )
        self._thread = thread
        thread.start()

    def _run(self, stop: threading.Event, connect_in_s: float, poll_in_s: float) -> None:
        backoff = FIRST_BACKOFF_S
        next_connect = time.monotonic() + connect_in_s
        self._next_poll = time.monotonic() + poll_in_s
        while not stop.is_set():
            try:
                if self._stream and time.monotonic() >= next_connect:
                    outcome = self._listen(stop)
                    if stop.is_set():
                        break
                    if outcome == "quiet":
                        backoff, next_connect = FIRST_BACKOFF_S, time.monotonic()
                    else:
                        if outcome == "lived":
                            backoff = FIRST_BACKOFF_S
                        next_connect = time.monotonic() + backoff * _jitter()
                        backoff = min(backoff * 2, MAX_BACKOFF_S)
                    self._announce()
                if time.monotonic() >= self._next_poll:
                    self._poll()
                wake = self._next_poll if not self._stream else min(self._next_poll, next_connect)
                stop.wait(max(0.0, wake - time.monotonic()))
            except Exception:  # never let the thread die: the next interval tries again
                _log.exception("launchdeck flags: the refresh thread failed; retrying")
                stop.wait(self._poll_interval_s)

    def _poll(self) -> None:
        self._next_poll = time.monotonic() + self._poll_interval_s
        with contextlib.suppress(_FetchFailed):
            self._fetch()
        self._announce()

    def _listen(self, stop: threading.Event) -> str:
        """Hold the event stream until it fails ("failed"), ends ("lived" if it lasted, else
        "failed": a server dropping every stream at once is retried with backoff), or stays
        silent too long ("quiet"). Polls when due between lines."""
        connected = False
        opened = time.monotonic()
        timeout = httpx.Timeout(self._timeout_s, read=SSE_SILENCE_S)
        try:
            with self._client().stream(
                "GET", SSE_PATH, headers={"Accept": "text/event-stream"}, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    _log.info(
                        "launchdeck flags: %s%s answered %s",
                        self._base_url,
                        SSE_PATH,
                        response.status_code,
                    )
                    return "failed"
                self._held = response
                if stop.is_set():
                    return "failed"
                connected = True
                self._set_streaming(True)
                self._poll()  # what changed while no stream was listening
                data: list[str] = []
                for line in response.iter_lines():
                    if stop.is_set():
                        return "failed"
                    if not line:
                        if data:
                            self._on_event("\n".join(data))
                            data = []
                    elif line.startswith("data:"):
                        data.append(line[5:].removeprefix(" "))
                    if time.monotonic() >= self._next_poll:
                        self._poll()
                if data:
                    self._on_event("\n".join(data))
        except httpx.ReadTimeout:
            return "quiet" if connected else "failed"
        except (httpx.HTTPError, httpx.StreamError, OSError) as exc:
            if not stop.is_set():
                _log.info("launchdeck flags: the event stream failed: %s", exc)
        finally:
            self._held = None
            if connected:
                self._set_streaming(False)
        return "lived" if time.monotonic() - opened >= MAX_BACKOFF_S else "failed"

    def _on_event(self, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            _log.debug("launchdeck flags: an event that is not JSON: %r", payload[:200])
            return
        if not isinstance(event, dict) or event.get("type") != "refetchEvaluation":
            return
        etag = event.get("etag")
        if isinstance(etag, str) and _same_etag(etag, self._etag):
            return
        self._poll()

    # ------------------------------------------------------------------ fork

    def _reset_in_child(self) -> None:
        """Right after fork(), in the child: nothing the parent's thread held is usable."""
        _ORPHANS.append((self._http, self._held, self._thread))
        self._lock = threading.Lock()
        self._events_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._http = None
        self._held = None
        self._sse_up = False
        self._freshness()
        self._forked = self._running

    def _restart_in_child(self) -> None:
        with self._lock:
            if not self._forked:
                return
            self._forked = False
            if self._running:
                self._start(connect_in_s=0.0, poll_in_s=0.0)
