"""The one exception hierarchy of launchdeck.

    LaunchdeckError            code, status, message, hint, where
     ├── UsageError            (400) the request or command line is malformed
     ├── ConfigError           (422) a workspace, ICS or OpenSLO file is invalid; carries `where`
     │    └── ValidationFailed (422) several ConfigErrors found in one pass (`problems`)
     ├── Unauthorized          (401) no token, or a token that is unknown, expired or revoked
     ├── Forbidden             (403) the token lacks the scope the operation needs
     ├── NotFound              (404)
     ├── Conflict              (409) the state changed under us (a concurrent apply)
     │    └── Blocked          (409) the gate refused a change (the CLI exits 3, as `gate check`)
     └── UpstreamError         (502/503) the database, Prometheus or nginx cannot be reached

Raise the most specific class. The CLI renders `error: <message>` and `hint: <hint>`;
the API renders RFC 9457 problem+json from the same fields.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "Blocked",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "LaunchdeckError",
    "NotFound",
    "Unauthorized",
    "UpstreamError",
    "UsageError",
    "ValidationFailed",
]


class LaunchdeckError(Exception):
    """Base of every error launchdeck raises on purpose."""

    code: str = "error"
    status: int = 500

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class UsageError(LaunchdeckError):
    code = "usage"
    status = 400


class ConfigError(LaunchdeckError):
    code = "invalid_config"
    status = 422

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, where=where)
        self.field = field


class ValidationFailed(ConfigError):
    """Every problem found in one validation pass, so a user fixes them all at once."""

    code = "validation_failed"

    def __init__(self, problems: Sequence[ConfigError], *, source: str | None = None) -> None:
        noun = "problem" if len(problems) == 1 else "problems"
        origin = f" in {source}" if source else ""
        super().__init__(f"{len(problems)} {noun}{origin}", where=None)
        self.problems = tuple(problems)


class Unauthorized(LaunchdeckError):
    code = "unauthorized"
    status = 401


class Forbidden(LaunchdeckError):
    code = "forbidden"
    status = 403


class NotFound(LaunchdeckError):
    code = "not_found"
    status = 404


class Conflict(LaunchdeckError):
    code = "conflict"
    status = 409


class Blocked(Conflict):
    """The gate refused the change; the message says why and the hint what is still allowed."""

    code = "blocked"


class UpstreamError(LaunchdeckError):
    code = "upstream_unavailable"
    status = 503

    def __init__(self, message: str, *, hint: str | None = None, retryable: bool = True) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
