"""The HTTP side of the client interface: one transport that every remote service uses.

It sends the token, turns RFC 9457 problem+json answers back into the same LaunchdeckError
subclasses the local implementation raises, and parses bodies into the shared models, so a
command cannot tell (and its output does not show) whether it ran locally or remotely.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from launchdeck import __version__
from launchdeck.errors import (
    Blocked,
    ConfigError,
    Conflict,
    Forbidden,
    LaunchdeckError,
    NotFound,
    Unauthorized,
    UpstreamError,
    UsageError,
    ValidationFailed,
)

__all__ = ["HttpTransport", "segment"]

T = TypeVar("T")

_BY_STATUS: Mapping[int, type[LaunchdeckError]] = {
    400: UsageError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ConfigError,
}


def _error_from(response: httpx.Response) -> LaunchdeckError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    hint, where = body.get("hint"), body.get("where")
    if body.get("code") == ValidationFailed.code:
        problems = [
            ConfigError(
                str(p.get("message", "")),
                where=p.get("where"),
                field=p.get("field"),
                hint=p.get("hint"),
            )
            for p in body.get("errors", [])
        ]
        return ValidationFailed(problems, source="the workspace sent to the server")
    if body.get("code") == Blocked.code:
        return Blocked(detail, hint=hint, where=where)
    if body.get("code") == "invalid_request":  # the request itself was malformed: a usage error
        return UsageError(detail, hint=hint)
    if response.status_code >= 500:
        return UpstreamError(f"the launchdeck server failed: {detail}", hint=hint)
    error_type = _BY_STATUS.get(response.status_code, LaunchdeckError)
    return error_type(detail, hint=hint, where=where)


def segment(value: str) -> str:
    """`value` as one URL path segment: every '/' escaped, and '.' / '..' unable to climb."""
    if value in {".", ".."}:
        return value.replace(".", "%2E")
    return quote(value, safe=":")


class HttpTransport:
    """Talks to a launchdeck API at `base_url` with a bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": f"launchdeck/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout_s, transport=transport
        )

    def request(
        self,
        method: str,
        path: str,
        result: type[T] | Any,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> T:
        """Send one request and parse the answer as `result`; errors become LaunchdeckErrors."""
        response = self._send(method, path, json=json, params=params)
        adapter: TypeAdapter[T] = TypeAdapter(result)
        return adapter.validate_json(response.content)

    def raw(self, method: str, path: str) -> bytes:
        """The body of a non-JSON answer (an ICS feed); errors become LaunchdeckErrors."""
        return self._send(method, path).content

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._client.request(method, path, json=json, params=clean)
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"cannot reach the launchdeck API at {self._client.base_url}: {type(exc).__name__}",
                hint="check LAUNCHDECK_URL and that 'launchdeck serve' is running",
            ) from None
        if response.is_error:
            raise _error_from(response)
        return response

    def close(self) -> None:
        self._client.close()
