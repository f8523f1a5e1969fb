"""API tokens: scopes, the token format and hashing. Pure.

A token reads `ld_<id>_<secret>`. Only SHA-256 of the secret is stored: tokens carry 256 bits
of randomness, so a fast hash is safe here (no dictionary to guess from), and lookups by `id`
need no scan. The plain token is returned once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from launchdeck.errors import Unauthorized, UsageError

__all__ = [
    "CreatedToken",
    "Scope",
    "TokenInfo",
    "check_token_name",
    "grants",
    "hash_secret",
    "make_token",
    "secret_matches",
    "split_token",
]

PREFIX = "ld"
NAME_PATTERN = r"^[\w.@:-]{1,100}$"
"""A token's name is the actor of its timeline events: one word, as the API's schema says."""


class Scope(StrEnum):
    READ = "read"
    FLAGS_WRITE = "flags:write"
    DEPLOY = "deploy"
    INCIDENTS = "incidents"
    EVENTS_WRITE = "events:write"
    ADMIN = "admin"


def grants(granted: frozenset[Scope] | set[Scope], required: Scope) -> bool:
    """Whether a token with `granted` scopes may do what needs `required`.

    `admin` grants everything; any scope grants `read`.
    """
    if Scope.ADMIN in granted or required in granted:
        return True
    return required is Scope.READ and bool(granted)


class TokenInfo(BaseModel):
    """What is known about a token after creation: never its secret."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    scopes: tuple[Scope, ...]
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class CreatedToken(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: str
    """The plain token. Shown once; only its hash is stored."""
    info: TokenInfo


def check_token_name(name: str) -> str:
    """`name` without surrounding blanks; UsageError when it is not a valid token name."""
    name = name.strip()
    if re.fullmatch(NAME_PATTERN, name) is None:
        raise UsageError(
            f"invalid token name {name!r}",
            hint="use 1 to 100 letters, digits, '.', '_', '@', ':' or '-', e.g. ci-deploy",
        )
    return name


def make_token(token_id: str, secret: str) -> str:
    return f"{PREFIX}_{token_id}_{secret}"


def split_token(token: str) -> tuple[str, str]:
    """(id, secret) of a token; Unauthorized (without echoing it) if it is not one of ours."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        raise Unauthorized(
            "malformed API token",
            hint="tokens look like ld_<id>_<secret>; create one with 'launchdeck token create' "
            "(an SDK key, lds_…, reads flags through /ofrep/v1 and /api/v1/sdk/snapshot only)",
        )
    return parts[1], parts[2]


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
