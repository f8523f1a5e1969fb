"""OFREP (OpenFeature Remote Evaluation Protocol) bodies: answers, errors, ETags, SSE lines. Pure.

The wire format is open-feature/protocol `service/openapi.yaml`, with the v0.3 additions: a
success without `value` defers to the caller's code default (`codeDefaultFlag`, ADR-0006), and
a bulk answer names `eventStreams` whose SSE events say `refetchEvaluation` (ADR-0008).

Two choices the spec leaves open, made for the official providers:
- `variant` is always a string (the Python provider reads `data["variant"]`): "" when the
  caller's code default is served.
- A float flag's whole-number value is sent as a float (`1.0`): the Python provider checks
  `isinstance(value, float)`.

Bodies are plain dicts serialised once with `dumps`; nothing here validates a response model,
so the evaluation hot path stays a few dictionary operations per flag.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

from launchdeck.flags.evaluate import Resolution
from launchdeck.flags.model import FlagType

__all__ = [
    "CONFIGURATION",
    "CONFIGURATION_ETAG",
    "CONFIGURATION_JSON",
    "FLAG_NOT_FOUND",
    "GENERAL",
    "INVALID_CONTEXT",
    "MAX_BODY_BYTES",
    "PARSE_ERROR",
    "SSE_CONNECTED",
    "SSE_KEEPALIVE",
    "BadRequest",
    "bulk_body",
    "dumps",
    "etag_matches",
    "etag_of",
    "evaluation",
    "failure",
    "parse_context",
    "retry_after_s",
    "sse_refetch",
]

PARSE_ERROR: Final = "PARSE_ERROR"
INVALID_CONTEXT: Final = "INVALID_CONTEXT"
GENERAL: Final = "GENERAL"
FLAG_NOT_FOUND: Final = "FLAG_NOT_FOUND"
_FAILURE_CODES = frozenset({PARSE_ERROR, INVALID_CONTEXT, GENERAL, "TARGETING_KEY_MISSING"})

MAX_BODY_BYTES: Final = 1 << 20
"""An evaluation request carries a context, not a payload: 1 MiB is far beyond any real one."""

SSE_INACTIVITY_DELAY_S: Final = 120
"""What a bulk answer tells a client: close the stream after this long in the background."""

SUPPORTED_TYPES: Final = ("boolean", "string", "int", "float", "object")

CONFIGURATION: Final[Mapping[str, Any]] = {
    "name": "launchdeck",
    "capabilities": {
        "cacheInvalidation": {"polling": {"enabled": True, "minPollingIntervalMs": 1000}},
        "flagEvaluation": {"supportedTypes": list(SUPPORTED_TYPES)},
    },
}


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON; NaN and infinities are refused (they are not JSON)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def etag_of(body: bytes) -> str:
    """A strong ETag naming exactly these bytes."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


CONFIGURATION_JSON: Final = dumps(CONFIGURATION)
CONFIGURATION_ETAG: Final = etag_of(CONFIGURATION_JSON)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 §13.1.2)."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    candidates = (c.strip() for c in if_none_match.split(","))
    return any(c == "*" or c.removeprefix("W/") == wanted for c in candidates)


class BadRequest(ValueError):
    """A request OFREP answers with 400 and an error code (PARSE_ERROR, INVALID_CONTEXT …)."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _not_json(why: str) -> BadRequest:
    return BadRequest(PARSE_ERROR, f'the body is not JSON ({why}); send {{"context": {{...}}}}')


def parse_context(body: bytes) -> dict[str, Any]:
    """The evaluation context of a request body `{"context": {...}}`; an empty body, a body
    without `context` or a null context is the empty context. BadRequest otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(PARSE_ERROR, f"the body is over {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    try:
        document = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise _not_json("nested too deeply") from None
    except UnicodeDecodeError:
        raise _not_json("not UTF-8 text") from None
    except ValueError as exc:
        raise _not_json(str(exc)) from None
    if not isinstance(document, dict):
        raise BadRequest(
            PARSE_ERROR,
            f"the body is a JSON {_json_type(document)}, not an object; "
            'send {"context": {...}}',
        )
    context = document.get("context")
    if context is None:
        return {}
    if not isinstance(context, dict):
        raise BadRequest(
            INVALID_CONTEXT,
            f"context is a JSON {_json_type(context)}; it must be an object of attributes, "
            'e.g. {"targetingKey": "user-1", "country": "US"}',
        )
    return context


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else type(value).__name__


def failure(key: str | None, code: str, details: str) -> dict[str, Any]:
    """An evaluationFailure (with `key`) or a bulk/general failure (without)."""
    body: dict[str, Any] = {"errorCode": code, "errorDetails": details}
    if key is not None:
        body = {"key": key, **body}
    return body


def evaluation(
    key: str, answer: Resolution, flag_type: FlagType | None, *, environment: str
) -> dict[str, Any]:
    """One flag's answer: an evaluationSuccess (no `value` when the code default is served)
    or an evaluationFailure."""
    if answer.error_code is not None:
        if answer.error_code == FLAG_NOT_FOUND:
            return failure(key, FLAG_NOT_FOUND, f"no flag {key!r} in environment {environment!r}")
        code = answer.error_code if answer.error_code in _FAILURE_CODES else GENERAL
        return failure(key, code, answer.error_message or "the flag could not be evaluated")
    body: dict[str, Any] = {
        "key": key,
        "reason": answer.reason,
        "variant": answer.variant or "",
        "metadata": dict(answer.metadata) if answer.metadata else {},
    }
    if not answer.code_default:
        value = answer.value
        if flag_type is FlagType.FLOAT and type(value) is int:
            value = float(value)
        body["value"] = value
    return body


def bulk_body(
    answers: Iterable[tuple[str, Resolution, FlagType | None]],
    *,
    environment: str,
    event_stream_url: str | None,
) -> dict[str, Any]:
    """A bulkEvaluationSuccess: every flag's answer, and the SSE stream announcing changes."""
    body: dict[str, Any] = {
        "flags": [evaluation(k, a, t, environment=environment) for k, a, t in answers]
    }
    if event_stream_url is not None:
        body["eventStreams"] = [
            {
                "type": "sse",
                "url": event_stream_url,
                "inactivityDelaySec": SSE_INACTIVITY_DELAY_S,
            }
        ]
    return body


def retry_after_s(wait_s: float) -> int:
    """A Retry-After value: whole seconds, at least 1 (the official providers pause that long)."""
    return max(1, math.ceil(wait_s))


SSE_CONNECTED: Final = ": connected\n\n"
SSE_KEEPALIVE: Final = ": keep-alive\n\n"


def sse_refetch(etag: str) -> str:
    """The SSE event telling a client the flag configuration changed: re-fetch evaluations."""
    return f"data: {json.dumps({'type': 'refetchEvaluation', 'etag': etag})}\n\n"
