"""/ofrep/v1/… (the OpenFeature Remote Evaluation Protocol) and /api/v1/sdk/snapshot: flags
served to SDKs. Authenticate, pick the environment, answer from the `FlagCache`; no flag logic.

A caller sends `Authorization: Bearer <credential>` or `X-API-Key: <credential>`. An SDK key
(`lds_…`) reads its own environment; an API token (any scope) names one with `?environment=`
or `X-Launchdeck-Environment`. The handlers are `async` and touch the database only when the
cache must (off the event loop, through `anyio.to_thread`), so an evaluation costs no thread
hop and no query. OFREP answers keep OFREP's error bodies; 401/403 are problem+json.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Request, Response, Security
from fastapi.responses import StreamingResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.requests import ClientDisconnect

from launchdeck.api.problems import problem_response
from launchdeck.errors import Forbidden, NotFound, Unauthorized
from launchdeck.flags import ofrep
from launchdeck.flags.evaluate import Evaluator
from launchdeck.flags.serving import Caller, FlagCache, RateLimiter

__all__ = ["SSE_KEEPALIVE_S", "SSE_POLL_S", "router"]

log = logging.getLogger("launchdeck.flags.ofrep")

SSE_POLL_S: Final = 0.2
"""How often an open stream looks at the cache: changes reach clients within about this."""
SSE_KEEPALIVE_S: Final = 15.0
"""A comment line this often keeps proxies from closing a quiet stream."""
_ENVIRONMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CREDENTIAL_HINT = (
    "send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' with an SDK key "
    "('launchdeck flags sdk-key create') or an API token"
)

router = APIRouter(tags=["ofrep"])
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="sdkBearer",
    description="An SDK key (lds_<id>_<secret>) or a launchdeck API token",
)
_api_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="sdkApiKey",
    description="An SDK key or a launchdeck API token, as OFREP's API key header",
)
_ENVIRONMENT_HEADER = "x-launchdeck-environment"
# The handlers read the credential, the environment and If-None-Match from the request
# themselves: FastAPI solving parameters and security dependencies took a fifth of an
# evaluation. The OpenAPI document still declares them, from here.
_SECURED: Final = [Security(_bearer), Security(_api_key)]
_SECURITY: Final[list[dict[str, list[str]]]] = [{"sdkBearer": []}, {"sdkApiKey": []}]
_ENVIRONMENT_PARAMETERS: Final = [
    {
        "name": "environment",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "The environment an API token reads (an SDK key reads its own)",
    },
    {
        "name": "X-Launchdeck-Environment",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "The same as ?environment=, as a header",
    },
]
_IF_NONE_MATCH: Final = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag of the answer the client holds: 304 if it is still the answer",
}


class _Refused(Exception):
    """A request answered before evaluating: 400 (no environment …) or 429."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str = "usage",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code, self.headers = status, detail, code, headers


def _ofrep_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(ofrep.dumps(body), status, headers, media_type="application/json")


def _ofrep_refusal(key: str | None, refused: _Refused) -> Response:
    return _ofrep_json(
        ofrep.failure(key, ofrep.GENERAL, refused.detail), refused.status, refused.headers
    )


def _problem(refused: _Refused) -> Response:
    return problem_response(
        status=refused.status,
        code=refused.code,
        title=refused.code.replace("_", " ").capitalize(),
        detail=refused.detail,
        headers=refused.headers,
    )


def _credential(request: Request) -> str | None:
    """`Authorization: Bearer <credential>`, else `X-API-Key: <credential>` (as the security
    schemes `_bearer` and `_api_key` read them, without a dependency to solve per request)."""
    headers = request.headers
    scheme, _, value = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key") or None


async def _caller(request: Request) -> tuple[FlagCache, Caller]:
    """Rate limit, then authenticate (cached); Unauthorized without a valid credential."""
    credential = _credential(request)
    if not credential:
        raise Unauthorized("this endpoint needs an SDK key or an API token", hint=_CREDENTIAL_HINT)
    limiter: RateLimiter = request.app.state.ofrep_limiter
    wait_s = limiter.wait_s(credential)
    if wait_s > 0:
        retry = ofrep.retry_after_s(wait_s)
        raise _Refused(
            429,
            f"over {limiter.rate:g} requests a second with this credential; retry in {retry} s",
            code="rate_limited",
            headers={"Retry-After": str(retry)},
        )
    cache: FlagCache = request.app.state.flag_cache
    caller = cache.cached_caller(credential)
    if caller is None:
        caller = await anyio.to_thread.run_sync(cache.authenticate, credential)
    request.state.actor = caller.name
    return cache, caller


def _environment(caller: Caller, query: str | None, header: str | None) -> str:
    """The environment the request reads: an SDK key's own, or the one an API token names."""
    if query and header and query != header:
        raise _Refused(400, "the environment is named twice, differently (query and header)")
    named = query or header
    if caller.environment is not None:
        if named and named != caller.environment:
            raise Forbidden(
                f"SDK key {caller.name!r} reads environment {caller.environment!r} only",
                hint="drop ?environment=, or use an SDK key of that environment",
            )
        return caller.environment
    if not named:
        raise _Refused(
            400,
            "an API token reads the environment the request names: add ?environment=<id> or "
            "the header 'X-Launchdeck-Environment: <id>' (an SDK key names its own)",
        )
    if _ENVIRONMENT.match(named) is None:
        raise _Refused(
            400, f"{named[:70]!r} is not an environment id (lowercase letters, digits and '-')"
        )
    return named


async def _admit(request: Request) -> tuple[FlagCache, Caller, str]:
    cache, caller = await _caller(request)
    named = request.query_params.get("environment")
    return cache, caller, _environment(caller, named, request.headers.get(_ENVIRONMENT_HEADER))


async def _body(request: Request) -> bytes:
    """The request body; a client gone before sending it all is a PARSE_ERROR (not a 500)."""
    try:
        return await request.body()
    except ClientDisconnect:
        raise ofrep.BadRequest(
            ofrep.PARSE_ERROR, "the client left before sending the body"
        ) from None


async def _evaluator(cache: FlagCache, environment: str) -> Evaluator:
    """The environment's evaluator; an unknown environment is a 400 GENERAL for OFREP (a 404
    would read as FLAG_NOT_FOUND to a provider)."""
    evaluator = cache.cached(environment)
    if evaluator is not None:
        return evaluator
    try:
        return await anyio.to_thread.run_sync(cache.get, environment)
    except NotFound as exc:
        raise _Refused(400, f"{exc.message}; {exc.hint}" if exc.hint else exc.message) from None


_REQUEST_BODY: Final = {
    "required": False,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "context": {
                        "type": "object",
                        "description": "The evaluation context: `targetingKey` and attributes",
                        "example": {"targetingKey": "user-1", "country": "US", "plan": "pro"},
                    }
                },
            }
        }
    },
}
_SUCCESS: Final = {
    "type": "object",
    "required": ["key", "reason", "variant"],
    "properties": {
        "key": {"type": "string"},
        "value": {"description": "Absent: use the code's default (OFREP codeDefaultFlag)"},
        "reason": {"type": "string", "examples": ["STATIC", "TARGETING_MATCH", "SPLIT"]},
        "variant": {"type": "string", "description": "Empty when the code default is served"},
        "metadata": {"type": "object"},
    },
}
_FAILURE: Final = {
    "type": "object",
    "required": ["errorCode"],
    "properties": {
        "key": {"type": "string"},
        "errorCode": {"type": "string"},
        "errorDetails": {"type": "string"},
    },
}
_RATE_LIMITED: Final = {
    "description": "Over the rate limit of the credential (LAUNCHDECK_OFREP_RATE_LIMIT)",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}},
}
_NOT_MODIFIED: Final = {"description": "Not modified since the ETag sent in If-None-Match"}


def _exposed(
    request: Request, env: str, answers: Mapping[str, Any], context: Mapping[str, Any]
) -> None:
    """Hand the answers to the app's exposure hook (experiments: `events: ofrep_exposures`),
    which returns at once and records off the event loop when there is anything to record."""
    hook = getattr(request.app.state, "ofrep_exposures", None)
    if hook is not None:
        hook(env, answers, context)


def _content(schema: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@router.post(
    "/ofrep/v1/evaluate/flags/{key}",
    summary="Evaluate one flag (OFREP)",
    response_class=Response,
    responses={
        200: _content(_SUCCESS, "The flag's value, variant and reason"),
        400: _content(_FAILURE, "PARSE_ERROR, INVALID_CONTEXT or GENERAL"),
        404: _content(_FAILURE, "FLAG_NOT_FOUND"),
        429: _RATE_LIMITED,
    },
    openapi_extra={
        "requestBody": _REQUEST_BODY,
        "parameters": _ENVIRONMENT_PARAMETERS,
        "security": _SECURITY,
    },
)
async def evaluate_flag(key: str, request: Request) -> Response:
    try:
        cache, _, env = await _admit(request)
        evaluator = await _evaluator(cache, env)
        context = ofrep.parse_context(await _body(request))
    except _Refused as refused:
        return _ofrep_refusal(key, refused)
    except ofrep.BadRequest as bad:
        return _ofrep_json(ofrep.failure(key, bad.code, bad.details), 400)
    answer = evaluator.resolve(key, context)
    _exposed(request, env, {key: answer}, context)
    body = ofrep.evaluation(key, answer, evaluator.flag_type(key), environment=env)
    if answer.error_code is None:
        return _ofrep_json(body)
    return _ofrep_json(body, 404 if answer.error_code == ofrep.FLAG_NOT_FOUND else 400)


@router.post(
    "/ofrep/v1/evaluate/flags",
    summary="Evaluate every flag (OFREP bulk); ETag / If-None-Match; an SSE stream of changes",
    response_class=Response,
    responses={
        200: _content(
            {
                "type": "object",
                "properties": {
                    "flags": {"type": "array", "items": {"oneOf": [_SUCCESS, _FAILURE]}},
                    "eventStreams": {"type": "array", "items": {"type": "object"}},
                },
            },
            "Every flag's answer",
        ),
        304: _NOT_MODIFIED,
        400: _content(_FAILURE, "PARSE_ERROR, INVALID_CONTEXT or GENERAL"),
        429: _RATE_LIMITED,
    },
    openapi_extra={
        "requestBody": _REQUEST_BODY,
        "parameters": [*_ENVIRONMENT_PARAMETERS, _IF_NONE_MATCH],
        "security": _SECURITY,
    },
)
async def evaluate_flags(request: Request) -> Response:
    try:
        cache, caller, env = await _admit(request)
        evaluator = await _evaluator(cache, env)
        context = ofrep.parse_context(await _body(request))
    except _Refused as refused:
        return _ofrep_refusal(None, refused)
    except ofrep.BadRequest as bad:
        return _ofrep_json(ofrep.failure(None, bad.code, bad.details), 400)
    flag_type = evaluator.flag_type
    answers = evaluator.resolve_all(context)
    _exposed(request, env, answers, context)
    stream = f"{request.base_url}ofrep/v1/sse"
    if caller.environment is None:  # an API token: the stream must name the environment too
        stream += f"?environment={quote(env)}"
    body = ofrep.dumps(
        ofrep.bulk_body(
            ((k, a, flag_type(k)) for k, a in answers.items()),
            environment=env,
            event_stream_url=stream,
        )
    )
    # The ETag names the answer itself: a context, a flag change, a scheduled change coming
    # due or a relative-time clause ("-30d") moving on all change it exactly when they change
    # what the client would read.
    etag = ofrep.etag_of(body)
    if ofrep.etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, headers={"ETag": etag}, media_type="application/json")


@router.get(
    "/ofrep/v1/configuration",
    summary="What this OFREP server supports (polling, flag types)",
    response_class=Response,
    dependencies=_SECURED,
    responses={
        200: _content({"type": "object"}, "The configuration"),
        304: _NOT_MODIFIED,
        429: _RATE_LIMITED,
    },
    openapi_extra={"parameters": [_IF_NONE_MATCH]},
)
async def configuration(request: Request) -> Response:
    try:
        await _caller(request)
    except _Refused as refused:
        return _ofrep_refusal(None, refused)
    headers = {"ETag": ofrep.CONFIGURATION_ETAG}
    if ofrep.etag_matches(request.headers.get("if-none-match"), ofrep.CONFIGURATION_ETAG):
        return Response(status_code=304, headers=headers)
    return Response(ofrep.CONFIGURATION_JSON, headers=headers, media_type="application/json")


@router.get(
    "/api/v1/sdk/snapshot",
    summary="The environment's flags and segments, for SDKs that evaluate in process",
    tags=["flags"],
    response_class=Response,
    dependencies=_SECURED,
    responses={
        200: _content({"type": "object"}, "The snapshot (ETag: its content digest)"),
        304: _NOT_MODIFIED,
        429: _RATE_LIMITED,
    },
    openapi_extra={"parameters": [*_ENVIRONMENT_PARAMETERS, _IF_NONE_MATCH]},
)
async def sdk_snapshot(request: Request) -> Response:
    try:
        cache, _, env = await _admit(request)
    except _Refused as refused:
        return _problem(refused)
    etag, data = await anyio.to_thread.run_sync(cache.snapshot_json, env)
    if ofrep.etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(data, headers={"ETag": etag}, media_type="application/json")


@router.get(
    "/ofrep/v1/sse",
    name="ofrep_sse",
    summary="Server-sent events: `refetchEvaluation` whenever the environment's flags change",
    response_class=StreamingResponse,
    dependencies=_SECURED,
    responses={
        200: {"description": "An event stream", "content": {"text/event-stream": {}}},
        429: _RATE_LIMITED,
    },
    openapi_extra={"parameters": _ENVIRONMENT_PARAMETERS},
)
async def sse(request: Request) -> Response:
    try:
        cache, _, env = await _admit(request)
    except _Refused as refused:
        return _problem(refused)
    state = await anyio.to_thread.run_sync(cache.state, env)
    max_s: float = request.app.state.sse_max_stream_s
    return StreamingResponse(
        _events(cache, env, state, max_s=max_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    cache: FlagCache, environment: str, state: tuple[str, int], *, max_s: float
) -> AsyncIterator[str]:
    """`: connected`, then a `refetchEvaluation` each time (ETag, generation) moves and a
    keep-alive comment when quiet. Ends after `max_s` (the client reconnects and re-fetches),
    so a server shutting down waits at most that long for open streams; a client leaving
    cancels it (Starlette listens for the disconnect)."""
    yield ofrep.SSE_CONNECTED
    started = now = time.monotonic()
    quiet_until = started + SSE_KEEPALIVE_S
    while now - started < max_s:
        await anyio.sleep(SSE_POLL_S)
        current = cache.cached_state(environment)
        if current is None:
            try:
                current = await anyio.to_thread.run_sync(cache.state, environment)
            except Exception:  # the environment went away or the database is down: reconnect
                log.warning("ending the flag event stream of %s", environment, exc_info=True)
                return
        now = time.monotonic()
        if current != state:
            state = current
            quiet_until = now + SSE_KEEPALIVE_S
            yield ofrep.sse_refetch(current[0])
        elif now >= quiet_until:
            quiet_until = now + SSE_KEEPALIVE_S
            yield ofrep.SSE_KEEPALIVE
