"""Release hooks: what a strategy's `hooks:` asks outside launchdeck, and what answers mean. Pure.

    hooks:
      - name: release-manager
        type: confirm-promotion              # asked before promotion: anything but a yes holds it
        url: https://hooks.example.com/launchdeck/confirm
        secret: {env: LAUNCHDECK_HOOK_KEY}   # the HMAC key that signs the request, by reference
        timeout: 5s                          # per attempt (default 10s)
        retries: 2                           # url hooks: after a lost connection, 429 or 5xx
        metadata: {team: web}
      - name: smoke
        type: pre-rollout                    # before traffic moves: a failure fails the release
        command: [./scripts/smoke.sh, --env, production]   # argv, not a shell string
        timeout: 2m

The types are Flagger's webhook types, with Flagger's meanings (`GATE_TYPES` hold the release
while any of them says no, `CHECK_TYPES` fail it, `rollback` asks to roll back when it says yes,
`post-rollout` and `event` are informational). launchdeck adds `command:` hooks (a program run
with the payload on stdin) and signs url hooks the way notify signs webhooks (one verifier for
receivers: `launchdeck.notify.webhook.verify`).

A hook answers yes with HTTP 2xx or exit status 0. This module holds the spec, what is sent
(`hook_payload`, `hook_body`, `hook_environment`) and the rules that turn results into a
decision (`gate_results`, `failed_check`, `rollback_requested`); `hook_runner` sends them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Annotated, Final, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from launchdeck.durations import coerce_duration
from launchdeck.notify.spec import HmacSecret

if TYPE_CHECKING:
    from launchdeck.rollout.release import Release

__all__ = [
    "CHECK_TYPES",
    "DEFAULT_HTTP_RETRIES",
    "GATE_TYPES",
    "HookResult",
    "HookSpec",
    "HookType",
    "failed_check",
    "gate_results",
    "hook_body",
    "hook_environment",
    "hook_payload",
    "rollback_requested",
]

DEFAULT_HTTP_RETRIES: Final = 2
"""Retries of a url hook unless it says otherwise; a command hook runs once."""
MAX_TIMEOUT: Final = timedelta(hours=1)
"""A controller pass waits for its hooks: longer work belongs in a background job."""
_NAME: Final = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_ENV_KEY: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RESERVED: Final = frozenset({"name", "type", "metadata"})
"""Payload keys the hook itself sets in the body."""


class HookType(StrEnum):
    """When a hook is called; the values are Flagger's webhook types, spelled as Flagger does."""

    CONFIRM_ROLLOUT = "confirm-rollout"
    PRE_ROLLOUT = "pre-rollout"
    ROLLOUT = "rollout"
    CONFIRM_TRAFFIC_INCREASE = "confirm-traffic-increase"
    CONFIRM_PROMOTION = "confirm-promotion"
    POST_ROLLOUT = "post-rollout"
    ROLLBACK = "rollback"
    EVENT = "event"


GATE_TYPES: Final = frozenset(
    {HookType.CONFIRM_ROLLOUT, HookType.CONFIRM_TRAFFIC_INCREASE, HookType.CONFIRM_PROMOTION}
)
"""Asked before a move, every pass until all say yes: anything else holds the release."""
CHECK_TYPES: Final = frozenset({HookType.PRE_ROLLOUT, HookType.ROLLOUT})
"""Checks: a failure counts as a failed check (pre-rollout) or measurement (rollout)."""


def _problem(at: tuple[str | int, ...], message: str, hint: str | None) -> PydanticCustomError:
    """An error the strategy loader reports at the field `at` (relative to the hook)."""
    return PydanticCustomError(
        "hook", "{message}", {"message": message, "problems": ((at, message, hint),)}
    )


def _http_url(value: object) -> object:
    """An http(s) URL with a host and no credentials; never echoed in the error."""
    if not isinstance(value, str):
        return value
    parts = urlsplit(value.strip())
    example = "for example url: https://hooks.example.com/launchdeck"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _problem((), "must be an http:// or https:// URL with a host", example)
    if parts.username is not None or parts.password is not None:
        raise _problem(
            (),
            "holds credentials, which would sit in the strategy file in clear",
            "remove them; secret: {env: NAME} signs the request so the receiver knows it's us",
        )
    return value.strip()


def _argv(value: object) -> object:
    """A list of arguments; a string (a shell command line) is refused, numbers become text."""
    if isinstance(value, str):
        raise _problem(
            (),
            "is a list of arguments, not a shell string",
            "write command: [./scripts/smoke.sh, --env, production]; for a shell: [sh, -c, '…']",
        )
    if isinstance(value, list | tuple):
        return [
            str(item) if isinstance(item, int | float) and not isinstance(item, bool) else item
            for item in value
        ]
    return value


Duration = Annotated[timedelta, BeforeValidator(coerce_duration)]
HookUrl = Annotated[str, BeforeValidator(_http_url)]
Argv = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], BeforeValidator(_argv)]


class HookSpec(BaseModel):
    """One hook: an HTTP endpoint (`url`) or a program (`command`), called at `type`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=_NAME)]
    type: HookType
    url: HookUrl | None = None
    command: Annotated[Argv, Field(min_length=1)] | None = None
    timeout: Duration = timedelta(seconds=10)
    """Per attempt: a url hook's connect, send and each read; a command's whole run."""
    retries: Annotated[int, Field(ge=0, le=10)] | None = None
    """url hooks only; `DEFAULT_HTTP_RETRIES` when not given."""
    secret: HmacSecret = None
    """url hooks only: the HMAC-SHA256 key the request is signed with, by reference."""
    metadata: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if self.url is not None and self.command is not None:
            raise _problem(
                ("command",), "give url: or command:, not both", "one hook calls one thing"
            )
        if self.url is None and self.command is None:
            raise _problem(
                (),
                "a hook needs url: (an HTTP endpoint) or command: (a program to run)",
                "url: https://hooks.example.com/launchdeck or command: [./scripts/check.sh]",
            )
        if self.command is not None and self.secret is not None:
            raise _problem(
                ("secret",),
                "secret: signs HTTP requests; a command hook is run, not sent one",
                "remove secret:",
            )
        if self.command is not None and self.retries:
            raise _problem(
                ("retries",),
                "a command hook runs once per call: its exit status is its answer",
                "remove retries:, or retry inside the command",
            )
        if not timedelta(0) < self.timeout <= MAX_TIMEOUT:
            raise _problem(
                ("timeout",),
                "must be more than 0s and at most 1h",
                "for example timeout: 30s",
            )
        return self

    @property
    def attempts(self) -> int:
        """How many times the hook may be called per run: 1 + its retries (commands: 1)."""
        if self.command is not None:
            return 1
        return 1 + (DEFAULT_HTTP_RETRIES if self.retries is None else self.retries)


@dataclass(frozen=True, slots=True)
class HookResult:
    """What one hook answered. `detail` never holds the hook's secret."""

    name: str
    type: HookType
    ok: bool
    """HTTP 2xx or exit status 0; what "ok" means depends on the type (see the helpers)."""
    detail: str
    """"HTTP 200", "exit status 1: not signed off", "timed out after 5 s (killed)" …"""
    status: int | None = None
    """The last HTTP status (None for a command, or when none came back)."""
    attempts: int = 0
    seconds: float = 0.0
    """Wall time of the whole call, waits between attempts included."""


def hook_payload(release: Release, *, now: datetime) -> dict[str, object]:
    """What every hook is told about `release` at `now`; callers may add keys (`next_weight` …).

    `weight` is the canary's share in percent, as in the strategy; `step` counts from 0.
    """
    return {
        "system": release.system,
        "environment": release.environment,
        "version": release.version,
        "previous": release.previous,
        "strategy": release.strategy.strategy,
        "phase": release.phase.value,
        "step": release.step,
        "weight": release.weight,
        "reason": release.reason,
        "at": now.isoformat(),
    }


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} is not JSON")


def hook_body(hook: HookSpec, payload: Mapping[str, object]) -> bytes:
    """The JSON sent (POST body or stdin): `payload` plus the hook's name, type and metadata.

    Compact UTF-8; the hook's own `name`, `type` and `metadata` replace any payload keys of those
    names. TypeError for a payload value JSON cannot hold.
    """
    document = {
        **payload,
        "name": hook.name,
        "type": hook.type.value,
        "metadata": dict(hook.metadata),
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=_json_value)
    return text.encode("utf-8")


def _env_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Enum):
        return _env_text(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None:
        return ""
    return value if isinstance(value, str) else None


def hook_environment(hook: HookSpec, payload: Mapping[str, object]) -> dict[str, str]:
    """The variables a command hook gets besides its inherited environment.

    `LAUNCHDECK_HOOK_NAME`, `LAUNCHDECK_HOOK_TYPE`, and `LAUNCHDECK_<KEY>` for every scalar
    payload key in lower snake case (`weight` 10.0 → `LAUNCHDECK_WEIGHT=10`, None → empty);
    lists, mappings and the metadata are on stdin only.
    """
    env = {"LAUNCHDECK_HOOK_NAME": hook.name, "LAUNCHDECK_HOOK_TYPE": hook.type.value}
    for key, value in payload.items():
        if key in _RESERVED or not _ENV_KEY.match(key):
            continue
        text = _env_text(value)
        if text is not None and "\0" not in text:
            env[f"LAUNCHDECK_{key.upper()}"] = text
    return env


def _of_types(results: Sequence[HookResult], allowed: frozenset[HookType], what: str) -> None:
    wrong = sorted({r.type.value for r in results if r.type not in allowed})
    if wrong:
        raise ValueError(f"{what} takes {', '.join(sorted(allowed))} results, not {wrong}")


def _named(result: HookResult) -> str:
    return f"hook {result.name!r} ({result.type.value}): {result.detail}"


def gate_results(results: Sequence[HookResult]) -> tuple[bool, str]:
    """(True, "") if every confirm-* hook said yes (or there were none); else (False, why).

    `why` names every hook that did not say yes: a "no" and a hook that could not be reached
    both hold the release, which asks again at its next pass. ValueError for other types.
    """
    _of_types(results, GATE_TYPES, "gate_results")
    refused = [_named(r) for r in results if not r.ok]
    return (not refused, "; ".join(refused))


def failed_check(results: Sequence[HookResult]) -> str | None:
    """Why pre-rollout or rollout hooks failed (every failing hook named), or None if all passed.

    An unreachable hook fails too: a check that cannot be made is not a pass. ValueError for
    other types.
    """
    _of_types(results, CHECK_TYPES, "failed_check")
    failed = [_named(r) for r in results if not r.ok]
    return "; ".join(failed) if failed else None


def rollback_requested(results: Sequence[HookResult]) -> str | None:
    """Why to roll back now (each rollback hook that said yes named), or None.

    Flagger's manual rollback: a yes means "roll back", and a hook that fails or cannot be
    reached asks for nothing. ValueError for other types.
    """
    _of_types(results, frozenset({HookType.ROLLBACK}), "rollback_requested")
    asked = [f"hook {r.name!r} asked for a rollback ({r.detail})" for r in results if r.ok]
    return "; ".join(asked) if asked else None
