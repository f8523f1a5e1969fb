"""API tokens: create (shown once), verify, list and revoke, each change on the timeline."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from launchdeck.auth.model import (
    CreatedToken,
    Scope,
    TokenInfo,
    check_token_name,
    grants,
    hash_secret,
    make_token,
    secret_matches,
    split_token,
)
from launchdeck.client.http import HttpTransport, segment
from launchdeck.errors import Forbidden, Unauthorized, UsageError
from launchdeck.store import Database, SqlTimeline, SqlTokenStore
from launchdeck.timeline.model import NewEvent

__all__ = ["RemoteTokens", "TokenApi", "TokenService", "authenticate", "authorize"]


class TokenApi(Protocol):
    def create(
        self, name: str, scopes: Iterable[Scope], *, expires_at: datetime | None = None
    ) -> CreatedToken: ...
    def list(self) -> list[TokenInfo]: ...
    def revoke(self, token_id: str) -> TokenInfo: ...


def _token_event(kind: str, info: TokenInfo, *, actor: str, now: datetime) -> NewEvent:
    return NewEvent(
        occurred_at=now,
        actor=actor,
        kind=kind,
        subject=f"token/{info.id}",
        payload={
            "name": info.name,
            "scopes": [str(s) for s in info.scopes],
            "expires_at": info.expires_at.isoformat() if info.expires_at else None,
        },
    )


class TokenService:
    def __init__(self, db: Database, *, actor: str, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock

    def create(
        self, name: str, scopes: Iterable[Scope], *, expires_at: datetime | None = None
    ) -> CreatedToken:
        """A new token; its plain text is in the result and nowhere else, ever."""
        scope_set = tuple(sorted(set(scopes), key=list(Scope).index))
        name = check_token_name(name)
        if not scope_set:
            raise UsageError("a token needs at least one scope", hint="e.g. --scope read")
        now = self.clock()
        if expires_at is not None and expires_at <= now:
            raise UsageError("the expiry must be in the future")
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        info = TokenInfo(
            id=token_id,
            name=name,
            scopes=scope_set,
            created_at=now,
            created_by=self.actor,
            expires_at=expires_at,
        )
        with self.db.unit_of_work() as uow:
            SqlTokenStore(uow.session).add(info, secret_hash=hash_secret(secret))
            SqlTimeline(uow.session).append(
                _token_event("token.created", info, actor=self.actor, now=now)
            )
            uow.commit()
        return CreatedToken(token=make_token(token_id, secret), info=info)

    def list(self) -> list[TokenInfo]:
        with self.db.read() as session:
            return SqlTokenStore(session).list()

    def revoke(self, token_id: str) -> TokenInfo:
        now = self.clock()
        with self.db.unit_of_work() as uow:
            tokens = SqlTokenStore(uow.session)
            found = tokens.find(token_id)
            already = found is not None and found[0].revoked_at is not None
            info = tokens.revoke(token_id, now=now)
            if not already:  # revoking twice changes nothing and records nothing
                SqlTimeline(uow.session).append(
                    _token_event("token.revoked", info, actor=self.actor, now=now)
                )
                uow.commit()
        return info


def authenticate(db: Database, token: str, *, now: datetime) -> TokenInfo:
    """The active token `token` names; Unauthorized, never echoing the token, otherwise."""
    token_id, secret = split_token(token)
    with db.read() as session:
        found = SqlTokenStore(session).find(token_id)
    if found is None or not secret_matches(secret, found[1]):
        raise Unauthorized("unknown API token", hint="create one with 'launchdeck token create'")
    info = found[0]
    if info.revoked_at is not None:
        raise Unauthorized(f"API token {info.name!r} was revoked")
    if not info.active(now):
        raise Unauthorized(f"API token {info.name!r} expired", hint="create a new one")
    return info


def authorize(info: TokenInfo, required: Scope) -> None:
    """Forbidden unless the token's scopes grant `required`."""
    if not grants(frozenset(info.scopes), required):
        raise Forbidden(
            f"token {info.name!r} lacks the {required.value!r} scope",
            hint=f"create a token with --scope {required.value}",
        )


class RemoteTokens:
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def create(
        self, name: str, scopes: Iterable[Scope], *, expires_at: datetime | None = None
    ) -> CreatedToken:
        body = {
            "name": name,
            "scopes": [str(s) for s in scopes],
            "expires_at": expires_at.isoformat() if expires_at else None,
        }
        return self.http.request("POST", "/api/v1/tokens", CreatedToken, json=body)

    def list(self) -> list[TokenInfo]:
        return self.http.request("GET", "/api/v1/tokens", list[TokenInfo])

    def revoke(self, token_id: str) -> TokenInfo:
        return self.http.request("DELETE", f"/api/v1/tokens/{segment(token_id)}", TokenInfo)
