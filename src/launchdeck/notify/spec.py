"""The `notifications:` section of launchdeck.yaml, and which channels a message goes to. Pure.

```yaml
notifications:
  channels:
    - id: payments-oncall
      type: slack                            # slack | teams | webhook
      url: {env: SLACK_PAYMENTS_WEBHOOK}     # or {file: /run/secrets/slack-payments}
  routes:
    - channels: [payments-oncall]
      events: ["incident.*", "gate.blocked"]
      systems: [checkout-api]
      min_severity: SEV2
```

A webhook URL is a secret (whoever has it can post), so the file names where to find it and
never holds it: a literal URL or HMAC key is refused, and the refused value is never echoed in
the error (the error carries a placeholder instead of the text that was written).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from enum import StrEnum
from fnmatch import fnmatchcase
from os.path import isabs
from typing import Annotated, Final, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from launchdeck.notify.model import Audience, Message, Severity, severity_rank

__all__ = [
    "ChannelSpec",
    "ChannelType",
    "NotificationsSpec",
    "RouteSpec",
    "SecretRef",
    "route",
]

_ID: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ENV_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_USE_A_REF: Final = "use {env: NAME} or {file: PATH}"
_REF_HINT: Final = (
    "write `{env: NAME}` with the name of an environment variable that holds it, or "
    "`{file: PATH}` with the absolute path of a file that holds it (a mounted secret)"
)


def _problem(*problems: tuple[tuple[str | int, ...], str, str | None]) -> PydanticCustomError:
    """A validation error the workspace loader reports as one located problem each."""
    return PydanticCustomError(
        "notifications", "{message}", {"message": problems[0][1], "problems": problems}
    )


class _Hidden:
    """Stands in for a refused value in the error, so a pasted secret is never echoed."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<hidden>"


_HIDDEN: Final = _Hidden()


def _guard(
    allowed: Callable[[object], bool], message: str, hint: str
) -> tuple[BeforeValidator, BeforeValidator]:
    """Validators that refuse what `allowed` rejects, with `message`, without echoing it.

    Pydantic runs "before" validators last-declared first: the second hides the value, then
    the first raises, so the error's input is the placeholder.
    """

    def refuse(value: object) -> object:
        if value is _HIDDEN:
            raise _problem(((), message, hint))
        return value

    def hide(value: object) -> object:
        return value if allowed(value) else _HIDDEN

    return BeforeValidator(refuse), BeforeValidator(hide)


def _not_text(value: object) -> bool:
    return not isinstance(value, str | int | float)


def _env_name(value: object) -> bool:
    return not isinstance(value, str) or bool(_ENV_NAME.match(value.strip()))


def _absolute_path(value: object) -> bool:
    return not isinstance(value, str) or (isabs(value.strip()) and "://" not in value)


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True
    )


class ChannelType(StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    WEBHOOK = "webhook"


EnvName = Annotated[
    str,
    *_guard(
        _env_name,
        "env: takes the name of an environment variable (letters, digits and _), not its value",
        "for example {env: SLACK_PAYMENTS_WEBHOOK}",
    ),
]
SecretPath = Annotated[
    str,
    *_guard(
        _absolute_path,
        "file: takes the absolute path of a file that holds the secret",
        "for example {file: /run/secrets/slack-payments}",
    ),
]


class SecretRef(_Spec):
    """Where a secret is found at send time: an environment variable or a file."""

    env: EnvName | None = None
    file: SecretPath | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.env is None) == (self.file is None):
            raise _problem(((), "give exactly one of env: or file:", _REF_HINT))
        return self

    def describe(self) -> str:
        """ "environment variable NAME" or "file PATH": safe to show, it is not the secret."""
        return f"environment variable {self.env}" if self.env else f"file {self.file}"


WebhookUrl = Annotated[
    SecretRef,
    *_guard(_not_text, f"a webhook URL is a secret: {_USE_A_REF}, not the URL itself", _REF_HINT),
]
HmacSecret = Annotated[
    SecretRef | None,
    *_guard(_not_text, f"an HMAC key is a secret: {_USE_A_REF}, not the key itself", _REF_HINT),
]
Id = Annotated[str, Field(pattern=_ID.pattern)]
EventPattern = Annotated[str, Field(pattern=r"^[a-z0-9_.*?\[\]!-]{1,100}$")]
"""An fnmatch pattern on `Message.kind`: "incident.*", "gate.blocked", "*"."""


class ChannelSpec(_Spec):
    id: Id
    type: ChannelType
    url: WebhookUrl
    secret: HmacSecret = None
    """The HMAC-SHA256 key of a `webhook` channel (required there, refused elsewhere)."""

    @model_validator(mode="after")
    def _secret_only_for_webhooks(self) -> Self:
        if self.type is ChannelType.WEBHOOK and self.secret is None:
            raise _problem(
                (
                    (),
                    "a webhook channel needs secret:, the key its receiver checks signatures with",
                    "add secret: {env: NAME}; see docs/notifications.md#signatures",
                )
            )
        if self.type is not ChannelType.WEBHOOK and self.secret is not None:
            raise _problem(
                (
                    ("secret",),
                    f"secret: is only for type webhook; {self.type} webhooks are not signed",
                    "remove secret:",
                )
            )
        return self


class RouteSpec(_Spec):
    """Which messages go to which channels. Every condition given must hold."""

    channels: Annotated[tuple[Id, ...], Field(min_length=1)]
    events: Annotated[tuple[EventPattern, ...], Field(min_length=1)] = ("*",)
    systems: tuple[Id, ...] = ()
    """Messages about at least one of these systems; empty means every message."""
    min_severity: Severity | None = None
    """SEV1 is the most severe: SEV2 lets SEV1 and SEV2 through. Messages without one pass."""
    audience: Audience = Audience.ENGINEERS

    def matches(self, message: Message) -> bool:
        """True if `message` is for this route's audience and passes every condition."""
        if message.audience is not self.audience:
            return False
        if not any(fnmatchcase(message.kind, pattern) for pattern in self.events):
            return False
        if self.systems and not set(self.systems) & set(message.systems):
            return False
        if self.min_severity is None or message.severity is None:
            return True
        return severity_rank(message.severity) <= severity_rank(self.min_severity)


class NotificationsSpec(_Spec):
    channels: tuple[ChannelSpec, ...] = ()
    routes: tuple[RouteSpec, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> Self:
        problems: list[tuple[tuple[str | int, ...], str, str | None]] = []
        seen: set[str] = set()
        for index, channel in enumerate(self.channels):
            if channel.id in seen:
                problems.append(
                    (("channels", index, "id"), f"channel {channel.id!r} is declared twice", None)
                )
            seen.add(channel.id)
        declared = ", ".join(sorted(seen)) or "none"
        for r_index, spec in enumerate(self.routes):
            for c_index, name in enumerate(spec.channels):
                if name in seen:
                    continue
                close = difflib.get_close_matches(name, sorted(seen), n=1, cutoff=0.6)
                guess = f": did you mean {close[0]!r}?" if close else ""
                problems.append(
                    (
                        ("routes", r_index, "channels", c_index),
                        f"unknown channel {name!r}{guess}",
                        f"declared channels: {declared}",
                    )
                )
        if problems:
            raise _problem(*problems)
        return self


def route(spec: NotificationsSpec, message: Message) -> tuple[ChannelSpec, ...]:
    """The channels `message` goes to: each once, in the order routes and channels are written."""
    by_id = {channel.id: channel for channel in spec.channels}
    chosen: dict[str, ChannelSpec] = {}
    for rule in spec.routes:
        if rule.matches(message):
            for name in rule.channels:
                chosen.setdefault(name, by_id[name])
    return tuple(chosen.values())
