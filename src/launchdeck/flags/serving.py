"""What the server keeps in memory to serve flags to SDKs: one compiled `Evaluator` per
environment, the callers it has authenticated, and a rate limit per credential.

The OFREP and SDK routes (ofrep_api.py) answer from these without touching the database: the
cache looks at the store's flags revision at most every `check_interval_s` (one cheap query)
and rebuilds an environment's snapshot only when it changed; writes made through this process
drop it at once (`FlagService.on_change` calls `invalidate`). Every method is thread-safe.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from launchdeck.auth.model import TokenInfo, secret_matches
from launchdeck.auth.service import authenticate
from launchdeck.errors import Unauthorized
from launchdeck.flags.evaluate import Evaluator
from launchdeck.flags.service import SDK_KEY_PREFIX, FlagService
from launchdeck.store import Database
from launchdeck.store.flags import SqlFlagStore

__all__ = ["CREDENTIAL_TTL_S", "Caller", "FlagCache", "RateLimiter"]

CREDENTIAL_TTL_S: Final = 5.0
"""How long an authenticated SDK key or API token is trusted without asking the database again:
a revoked one stops working on OFREP within this (at once after any flag write through this
server, which calls `invalidate`)."""
_MAX_CALLERS: Final = 10_000
_SDK_KEY_ID = re.compile(r"[0-9a-f]{1,32}")
_SDK_KEY_HINT = (
    "send an SDK key (lds_<id>_<secret>, 'launchdeck flags sdk-key create') or an API token, "
    "as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who reads flags: an SDK key (bound to its environment) or an API token (any)."""

    name: str
    environment: str | None
    """An SDK key's environment; None for an API token, which names one per request."""
    token: TokenInfo | None = None
    trusted_until: float = 0.0
    """Monotonic instant until which the cache serves this without asking the store."""


@dataclass(frozen=True, slots=True)
class _Entry:
    evaluator: Evaluator
    instants: tuple[float, ...]
    """The snapshot's scheduled changes, as Unix seconds, sorted."""
    snapshot_json: bytes | None = field(default=None, compare=False)


class FlagCache:
    """Compiled evaluators per environment, kept in step with the store."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        check_interval_s: float = 0.25,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._clock = clock
        self._interval = check_interval_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._revision: int | None = None
        self._checked_at = -math.inf
        self._callers: dict[str, Caller] = {}
        self._callers_lock = threading.Lock()
        self._epoch = 0
        """Moves at every `invalidate`: an authentication read before it is not remembered."""

    def _now_s(self) -> float:
        return self._clock().timestamp()

    # evaluators ----------------------------------------------------------------------------

    def _fresh(self, environment: str) -> _Entry | None:
        if self._monotonic() - self._checked_at >= self._interval:
            return None
        return self._entries.get(environment)

    def cached(self, environment: str) -> Evaluator | None:
        """The environment's evaluator if it needs no database read now (else None: call `get`
        off the event loop)."""
        entry = self._fresh(environment)
        return entry.evaluator if entry is not None else None

    def get(self, environment: str) -> Evaluator:
        """The environment's evaluator, up to date; NotFound for an unknown environment."""
        evaluator = self._entry(environment).evaluator
        evaluator.refresh()
        return evaluator

    def _entry(self, environment: str) -> _Entry:
        entry = self._fresh(environment)
        if entry is not None:
            return entry
        with self._lock:
            started = self._monotonic()
            if started - self._checked_at >= self._interval:
                with self._db.read() as session:
                    revision = SqlFlagStore(session).revision()
                if revision != self._revision:
                    self._entries, self._revision = {}, revision
                self._checked_at = started
            entry = self._entries.get(environment)
            if entry is None:
                entry = self._build(environment)
                self._entries = {**self._entries, environment: entry}
            return entry

    def _build(self, environment: str) -> _Entry:
        # The revision was read before the snapshot, so a write landing in between shows up as
        # a newer revision at the next check: at worst one rebuild too many, never a stale one.
        snapshot = FlagService(self._db, actor="launchdeck", clock=self._clock).snapshot(
            environment
        )
        instants = sorted(
            change.at.timestamp()
            for flag in snapshot.flags
            for change in flag.environment(environment).schedule
            if change.at is not None
        )
        return _Entry(Evaluator(snapshot, clock=self._now_s), tuple(instants))

    def state(self, environment: str) -> tuple[str, int]:
        """(ETag, generation): what the environment serves. The generation counts the
        snapshot's scheduled changes that have come due, so it moves when one fires, and two
        evaluators of the same snapshot at the same instant agree (unlike a compile counter)."""
        entry = self._entry(environment)
        entry.evaluator.refresh()
        return self._state(entry)

    def cached_state(self, environment: str) -> tuple[str, int] | None:
        """`state` when it needs no database read now, else None."""
        entry = self._fresh(environment)
        return self._state(entry) if entry is not None else None

    def _state(self, entry: _Entry) -> tuple[str, int]:
        return entry.evaluator.etag, bisect_right(entry.instants, self._now_s())

    def snapshot_json(self, environment: str) -> tuple[str, bytes]:
        """(ETag, the snapshot as JSON): what SDKs evaluating in process download."""
        entry = self._entry(environment)
        if entry.snapshot_json is None:
            document = entry.evaluator.snapshot.model_dump(mode="json", by_alias=True)
            data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
            entry = _Entry(entry.evaluator, entry.instants, data)
            with self._lock:  # keep it, unless a newer snapshot replaced this one meanwhile
                current = self._entries.get(environment)
                if current is not None and current.evaluator is entry.evaluator:
                    self._entries = {**self._entries, environment: entry}
        assert entry.snapshot_json is not None
        return entry.evaluator.etag, entry.snapshot_json

    def invalidate(self) -> None:
        """Forget everything: the next request reads the store (a write just committed)."""
        with self._lock, self._callers_lock:
            self._entries, self._revision, self._checked_at = {}, None, -math.inf
            self._callers = {}
            self._epoch += 1

    # callers -------------------------------------------------------------------------------

    def cached_caller(self, credential: str) -> Caller | None:
        """The caller `credential` authenticated as lately, if still trusted (no database)."""
        caller = self._callers.get(credential)
        if caller is None or caller.trusted_until < self._monotonic():
            return None
        if caller.token is not None and not caller.token.active(self._clock()):
            return None
        return caller

    def authenticate(self, credential: str) -> Caller:
        """The SDK key or API token `credential` names; Unauthorized, never echoing it."""
        epoch, until = self._epoch, self._monotonic() + CREDENTIAL_TTL_S
        if credential.startswith(f"{SDK_KEY_PREFIX}_"):
            caller = self._sdk_key(credential, until)
        else:
            try:
                info = authenticate(self._db, credential, now=self._clock())
            except Unauthorized as exc:
                raise Unauthorized(exc.message, hint=_SDK_KEY_HINT) from None
            caller = Caller(name=info.name, environment=None, token=info, trusted_until=until)
        with self._callers_lock:
            if epoch == self._epoch:
                if len(self._callers) >= _MAX_CALLERS:
                    self._callers = {}
                self._callers[credential] = caller
        return caller

    def _sdk_key(self, credential: str, until: float) -> Caller:
        _, key_id, secret = [*credential.split("_", 2), "", ""][:3]
        if _SDK_KEY_ID.fullmatch(key_id) is None or not secret:
            raise Unauthorized("malformed SDK key", hint=_SDK_KEY_HINT)
        with self._db.read() as session:
            found = SqlFlagStore(session).sdk_key(key_id)
        if found is None or not secret_matches(secret, found[1]):
            raise Unauthorized("unknown SDK key", hint=_SDK_KEY_HINT)
        info = found[0]
        if info.revoked_at is not None:
            raise Unauthorized(f"SDK key {info.name!r} was revoked", hint=_SDK_KEY_HINT)
        return Caller(name=info.name, environment=info.environment, trusted_until=until)


class RateLimiter:
    """Token buckets per key: `rate` requests a second on average, bursts of `burst`
    (twice the rate by default). A rate of 0 lets everything through."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(2 * rate, 1.0)
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        """key → (tokens, when they were counted)."""

    def wait_s(self, key: str) -> float:
        """0 and one request counted if `key` may go on now; else how long until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1 - 1e-9:  # a bucket refilled to the instant counts as full
                if len(self._buckets) >= self._max_keys and key not in self._buckets:
                    self._prune(now)
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        """Drop the buckets that have filled up again: forgetting them changes nothing."""
        full = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
