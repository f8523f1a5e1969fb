"""/api/v1/events: batched exposure and metric events in, ingest counts out. No event logic here.

`POST /api/v1/events` takes `{"events": [...]}` (at most `MAX_EVENTS` events and
`MAX_BODY_BYTES`) from an SDK key (`lds_…`, as OFREP takes it: browsers and apps send their own
exposures) or an API token with `events:write`. It answers 200 once the accepted events are
durable: `{"accepted", "duplicates", "rejected", "rejects": [{index, id, reason, field,
message}]}`. A bad event is a reject, never a failed request; a failed request (401, 403, 413,
429, 503) stored nothing, and a retry of any request stores nothing twice.

The body is read once, then decoded, validated and turned into Arrow tables by a worker
process (`decode.Decoders`: no pydantic model, and none of that per-event Python in the server's
process, whose GIL the event loop and the writer need); the batch then joins the writer's next
group commit. `GET /api/v1/events/stats` (any token)
counts what ingest made of everything it was sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import anyio
from fastapi import APIRouter, Query, Request, Response, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.requests import ClientDisconnect

from launchdeck.api.deps import Clock, Reader
from launchdeck.api.problems import problem_response
from launchdeck.auth.model import Scope
from launchdeck.auth.service import authorize
from launchdeck.errors import (
    ConfigError,
    Forbidden,
    LaunchdeckError,
    Unauthorized,
    UpstreamError,
    UsageError,
)
from launchdeck.experiments.decode import (
    MAX_EVENTS,
    BodyError,
    Decoded,
    Decoders,
    PayloadTooLarge,
)
from launchdeck.experiments.events import EventStats, Reject, validate_batch
from launchdeck.experiments.model import Catalog, EventsSpec
from launchdeck.flags.serving import Caller, FlagCache, RateLimiter

if TYPE_CHECKING:  # DuckDB and Arrow load with the first event, not with the server
    from launchdeck.experiments.store import EventStore, WriteResult
    from launchdeck.experiments.writer import EventWriter

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_EVENTS",
    "EventIngest",
    "PayloadTooLarge",
    "router",
]

MAX_BODY_BYTES: Final = 10 * 2**20
OFREP_SEEN: Final = 100_000
RULES_TTL_S: Final = 1.0
"""How long the experiments and limits are reused: a new experiment is known within this."""
_CREDENTIAL_HINT: Final = (
    "send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' with an SDK key "
    "('launchdeck flags sdk-key create') or an API token with the events:write scope"
)

log = logging.getLogger("launchdeck.experiments.events")
router = APIRouter(tags=["events"])
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="eventsBearer",
    description="An SDK key (lds_<id>_<secret>) or an API token with events:write",
)
_api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="eventsApiKey", description="The same"
)


@dataclass(frozen=True, slots=True)
class _Rules:
    catalog: Catalog
    limits: EventsSpec
    until: float


class EventIngest:
    """The events side of one server process: the store and its writer, opened on first use
    (so a server that never sees an event never creates the file) and closed with the app;
    the experiments and limits events are checked against, re-read every `RULES_TTL_S`."""

    def __init__(
        self,
        path: Path,
        *,
        catalog: Callable[[], Catalog],
        limits: Callable[[], EventsSpec],
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        decoders: Decoders | None = None,
    ) -> None:
        self.path = path
        self.decoders = decoders or Decoders()
        """Where bodies are decoded and validated: worker processes (see decode.py)."""
        self._catalog = catalog
        self._limits = limits
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._store: EventStore | None = None
        self._writer: EventWriter | None = None
        self._rules: _Rules | None = None
        self._clock = clock
        self._exposed: dict[tuple[str, str], None] = {}
        """(experiment, unit) of the latest OFREP exposures: a unit evaluated again is not
        written again (at most `OFREP_SEEN` remembered; after a restart the store dedupes)."""

    @property
    def opened(self) -> bool:
        """Whether the store is open (then `writer()` does not block)."""
        return self._writer is not None

    def writer(self) -> EventWriter:
        """The writer, opening the store on first use. Blocks: call it off the event loop.
        UpstreamError (retryable) when the store cannot be opened, say because another process
        holds it: the events are not lost, the client sends them again."""
        from launchdeck.experiments.store import EventStore
        from launchdeck.experiments.writer import EventWriter

        with self._lock:
            if self._writer is None:
                try:
                    self._store = EventStore(self.path)
                except ConfigError as exc:
                    log.error("the event store cannot be opened: %s", exc)
                    raise UpstreamError(
                        "the event store is unavailable", hint="retry shortly"
                    ) from exc
                self._writer = EventWriter(self._store)
            return self._writer

    def rules(self) -> tuple[Catalog, EventsSpec]:
        """The experiments and the `events:` limits in force (cached for `RULES_TTL_S`)."""
        rules = self._rules
        now = self._monotonic()
        if rules is None or now >= rules.until:
            rules = _Rules(self._catalog(), self._limits(), now + RULES_TTL_S)
            self._rules = rules
        return rules.catalog, rules.limits

    def fresh_rules(self) -> tuple[Catalog, EventsSpec] | None:
        """The cached rules while they are fresh (no database read), else None."""
        rules = self._rules
        if rules is None or self._monotonic() >= rules.until:
            return None
        return rules.catalog, rules.limits

    async def decode(self, body: bytes, *, now: datetime, allow_old: bool) -> Decoded:
        """The request body decoded and validated by a worker process (UsageError,
        PayloadTooLarge for the body; UpstreamError when a worker died)."""
        rules = self.fresh_rules()
        if rules is None:  # read from the database, off the event loop
            rules = await anyio.to_thread.run_sync(self.rules)
        catalog, limits = rules
        future = self.decoders.submit(
            body,
            catalog=catalog,
            now=now,
            max_skew=limits.max_skew,
            max_age=None if allow_old else limits.max_age,
        )
        decoded = await asyncio.wrap_future(future)
        if isinstance(decoded, BodyError):
            raise decoded.error()
        return decoded

    def on_ofrep(
        self, environment: str, answers: Mapping[str, Any], context: Mapping[str, Any]
    ) -> None:
        """The OFREP handlers' hook, on the event loop: nothing at all while OFREP exposures
        are off or no answered flag runs an experiment (the rules as last read); otherwise
        `ofrep_exposures` on a worker thread, not awaited."""
        rules = self._rules
        if (
            rules is not None
            and self._monotonic() < rules.until
            and (
                not rules.limits.ofrep_exposures
                or not any(flag in rules.catalog.by_flag for flag in answers)
            )
        ):
            return
        asyncio.get_running_loop().run_in_executor(
            None, self.ofrep_exposures, environment, dict(answers), dict(context)
        )

    def ofrep_exposures(
        self, environment: str, answers: Mapping[str, Any], context: Mapping[str, Any]
    ) -> None:
        """With `events: ofrep_exposures: true`, the exposures an OFREP answer made: each flag
        that runs an experiment in `environment` and put the unit in its split (reason SPLIT;
        the consent rule answers TARGETING_MATCH and logs nothing). The id is the experiment
        and unit, so evaluating again never counts twice. Fire and forget: the answer does not
        wait for the commit, and a failure is logged, never raised."""
        try:
            catalog, limits = self.rules()
        except Exception:
            log.exception("the experiments could not be read for OFREP exposures")
            return
        if not limits.ofrep_exposures:
            return
        now = self._clock()
        items = []
        for flag, answer in answers.items():
            experiment = catalog.by_flag.get(flag)
            if experiment is None or catalog.environments.get(experiment) != environment:
                continue
            start, end = catalog.windows.get(experiment, (None, None))
            if (start is not None and now < start) or (end is not None and now >= end):
                continue  # only a running experiment counts
            unit = context.get(catalog.units.get(experiment, "targetingKey"))
            if getattr(answer, "reason", None) != "SPLIT" or not isinstance(unit, str | int):
                continue
            seen = (experiment, str(unit))
            with self._lock:
                if seen in self._exposed:
                    continue
                self._exposed[seen] = None
                if len(self._exposed) > OFREP_SEEN:
                    del self._exposed[next(iter(self._exposed))]
            items.append(
                {
                    "id": f"ofrep:{experiment}:{unit}",
                    "type": "exposure",
                    "experiment": experiment,
                    "variant": answer.variant,
                    "unit": str(unit),
                    "timestamp": now.timestamp(),
                    "attributes": {"source": "ofrep"},
                }
            )
        if not items:
            return
        checked = validate_batch(
            items, catalog=catalog, now=now, max_skew=limits.max_skew, max_age=limits.max_age
        )
        try:
            self.writer().submit(checked.accepted, checked.rejects, now=now)
        except LaunchdeckError as exc:
            log.warning("OFREP exposures dropped: %s", exc)

    def stats(self, *, since: date | None) -> EventStats:
        """The store's counts; all zero while no event was ever stored (no file is made)."""
        with self._lock:
            store = self._store
        if store is None:
            if not self.path.exists():
                return EventStats(path=str(self.path), exposures=0, metric_events=0, since=since)
            store = self.writer().store
        return store.stats(since=since)

    def close(self) -> None:
        """Commit what is queued and close the store."""
        with self._lock:
            writer, store = self._writer, self._store
            self._writer = self._store = None
        if writer is not None:
            writer.close()
        if store is not None:
            store.close()
        self.decoders.close()


def _credential(request: Request) -> str | None:
    headers = request.headers
    scheme, _, value = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or None


class _RateLimited(Exception):
    def __init__(self, wait_s: float, rate: float) -> None:
        super().__init__(f"over {rate:g} requests a second with this credential")
        self.retry_after = max(1, int(wait_s + 0.999))


async def _caller(request: Request) -> Caller:
    """Rate limit, then the SDK key or an API token holding events:write (or admin)."""
    credential = _credential(request)
    if not credential:
        raise Unauthorized("posting events needs an SDK key or an API token", hint=_CREDENTIAL_HINT)
    limiter: RateLimiter = request.app.state.ofrep_limiter
    wait_s = limiter.wait_s(credential)
    if wait_s > 0:
        raise _RateLimited(wait_s, limiter.rate)
    cache: FlagCache = request.app.state.flag_cache
    caller = cache.cached_caller(credential)
    if caller is None:
        caller = await anyio.to_thread.run_sync(cache.authenticate, credential)
    if caller.token is not None:
        authorize(caller.token, Scope.EVENTS_WRITE)
    request.state.actor = caller.name
    return caller


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"the body has {int(declared):,} bytes; at most {MAX_BODY_BYTES:,}",
            hint="split the batch",
        )
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise PayloadTooLarge(
                    f"the body has more than {MAX_BODY_BYTES:,} bytes", hint="split the batch"
                )
            chunks.append(chunk)
    except ClientDisconnect:
        raise UsageError("the client left before sending the body") from None
    return b"".join(chunks)


def _answer(result: WriteResult, rejects: list[Reject]) -> Response:
    body = {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
        "rejects": [
            {
                "index": r.index,
                "id": r.id,
                "reason": str(r.reason),
                "field": r.field,
                "message": r.message,
            }
            for r in rejects
        ],
    }
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


_REQUEST_BODY: Final = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["events"],
                "properties": {
                    "events": {
                        "type": "array",
                        "maxItems": MAX_EVENTS,
                        "items": {"type": "object"},
                        "description": "Exposures and metric events (see the module docs)",
                    }
                },
            },
            "example": {
                "events": [
                    {
                        "id": "5b0c9a1e-2f41-4a57-9d0b-9f3f3b1f6a10",
                        "type": "exposure",
                        "experiment": "hero-banner-bf",
                        "variant": "bold",
                        "unit": "user-1",
                        "timestamp": "2026-11-27T10:00:00Z",
                        "attributes": {"browser": "chrome", "country": "US"},
                    },
                    {
                        "type": "metric",
                        "event": "purchase",
                        "value": 59.9,
                        "unit": "user-1",
                        "timestamp": 1795773600,
                    },
                ]
            },
        }
    },
}
_ANSWER: Final = {
    "type": "object",
    "properties": {
        "accepted": {"type": "integer", "description": "Newly stored"},
        "duplicates": {"type": "integer", "description": "Stored before (a retry): not again"},
        "rejected": {"type": "integer"},
        "rejects": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "id": {"type": ["string", "null"]},
                    "reason": {"type": "string", "examples": ["unknown_variant", "too_old"]},
                    "field": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


@router.post(
    "/events",
    summary="Ingest exposures and metric events (an SDK key, or events:write)",
    response_class=Response,
    dependencies=[Security(_bearer), Security(_api_key)],
    responses={
        200: {
            "description": "Stored (durably) what was valid; the rejects with their reasons",
            "content": {"application/json": {"schema": _ANSWER}},
        },
        413: {"description": f"More than {MAX_EVENTS:,} events or {MAX_BODY_BYTES:,} bytes"},
        429: {"description": "Over the credential's rate limit (Retry-After)"},
        503: {"description": "The writer is overloaded or the store is unavailable: retry"},
    },
    openapi_extra={
        "requestBody": _REQUEST_BODY,
        "parameters": [
            {
                "name": "allow_old",
                "in": "query",
                "required": False,
                "schema": {"type": "boolean"},
                "description": "Accept events older than max_age (a backfill; API tokens only)",
            }
        ],
    },
)
async def post_events(request: Request) -> Response:
    from launchdeck.experiments.writer import Overloaded

    ingest: EventIngest = request.app.state.events
    try:
        caller = await _caller(request)
    except _RateLimited as limited:
        return problem_response(
            status=429,
            code="rate_limited",
            title="Rate limited",
            detail=f"{limited}; retry in {limited.retry_after} s",
            headers={"Retry-After": str(limited.retry_after)},
        )
    allow_old = request.query_params.get("allow_old", "").lower() in {"1", "true", "yes"}
    if allow_old and caller.token is None:
        raise Forbidden(
            "an SDK key cannot backfill old events", hint="use an API token with events:write"
        )
    body = await _body(request)
    now = request.app.state.clock()

    # A bad body is refused here, before the store is opened: it creates no store file.
    decoded = await ingest.decode(body, now=now, allow_old=allow_old)
    try:
        writer = ingest.writer() if ingest.opened else await anyio.to_thread.run_sync(ingest.writer)
        future = writer.submit_batch(decoded.batch(now))
    except Overloaded as busy:
        return problem_response(
            status=503,
            code=busy.code,
            title="Overloaded",
            detail=busy.message,
            hint=busy.hint,
            headers={"Retry-After": str(busy.retry_after_s)},
        )
    try:
        result = await asyncio.wrap_future(future)
    except Exception as exc:  # nothing was committed: the client retries the same batch
        log.error("an event batch was not stored: %s", type(exc).__name__)
        raise UpstreamError(
            "the event store could not commit the batch", hint="retry the same batch shortly"
        ) from exc
    return _answer(result, decoded.rejects)


@router.get("/events/stats", summary="What ingest stored and refused, by experiment and outcome")
def event_stats(
    _token: Reader,
    request: Request,
    clock: Clock,
    days: Annotated[
        int | None, Query(ge=1, le=3660, description="Only the last N days (UTC), today included")
    ] = None,
) -> EventStats:
    ingest: EventIngest = request.app.state.events
    since = None if days is None else (clock() - timedelta(days=days - 1)).date()
    return ingest.stats(since=since)
