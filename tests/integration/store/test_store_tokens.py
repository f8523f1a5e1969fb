"""API tokens on a real database: shown once, stored as a SHA-256 hash, refused once dead."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from store_builders import snapshot

from launchdeck.auth.model import Scope, make_token, split_token
from launchdeck.auth.service import TokenService, authenticate
from launchdeck.errors import NotFound, Unauthorized, UsageError
from launchdeck.store import Database
from launchdeck.timeline.model import TimelineQuery
from launchdeck.timeline.service import TimelineService


@pytest.fixture
def tokens(db: Database, clock: Any) -> TokenService:
    return TokenService(db, actor="admin-alice", clock=clock)


def test_create_returns_the_plain_token_once_and_stores_only_its_sha256(
    tokens: TokenService, db: Database
) -> None:
    created = tokens.create("ci-deployer", [Scope.READ, Scope.DEPLOY])

    token_id, secret = split_token(created.token)
    stored = snapshot(db)
    assert created.token == make_token(created.info.id, secret)
    assert token_id == created.info.id
    assert len(secret) >= 43  # 32 random bytes, url-safe base64
    assert [(row[0], row[1], row[2]) for row in stored["api_tokens"]] == [
        (token_id, "ci-deployer", hashlib.sha256(secret.encode()).hexdigest())
    ]
    everything = repr(stored)
    assert secret not in everything
    assert created.token not in everything
    assert "token" not in type(tokens.list()[0]).model_fields


def test_the_secret_is_in_no_timeline_event(tokens: TokenService, db: Database) -> None:
    created = tokens.create("ci-deployer", [Scope.ADMIN])
    tokens.revoke(created.info.id)

    events = TimelineService(db).query(TimelineQuery(kind="token")).events
    _, secret = split_token(created.token)

    assert [(e.kind, e.actor, e.subject) for e in events] == [
        ("token.revoked", "admin-alice", f"token/{created.info.id}"),
        ("token.created", "admin-alice", f"token/{created.info.id}"),
    ]
    assert events[1].payload == {"name": "ci-deployer", "scopes": ["admin"], "expires_at": None}
    assert secret not in repr(snapshot(db)["events"])


def test_authenticate_returns_the_token_it_names(
    tokens: TokenService, db: Database, clock: Any
) -> None:
    created = tokens.create("ci-deployer", [Scope.DEPLOY, Scope.READ])

    info = authenticate(db, created.token, now=clock())

    assert info == created.info
    assert info.scopes == (Scope.READ, Scope.DEPLOY)
    assert info.created_by == "admin-alice"


def test_a_revoked_token_is_refused(tokens: TokenService, db: Database, clock: Any) -> None:
    created = tokens.create("ci-deployer", [Scope.ADMIN])

    revoked = tokens.revoke(created.info.id)

    assert revoked.revoked_at == clock()
    with pytest.raises(Unauthorized, match="'ci-deployer' was revoked"):
        authenticate(db, created.token, now=clock())


def test_revoking_twice_keeps_the_first_revocation_time(tokens: TokenService, clock: Any) -> None:
    created = tokens.create("ci-deployer", [Scope.READ])
    first = tokens.revoke(created.info.id)
    clock.advance(timedelta(hours=1))

    second = tokens.revoke(created.info.id)

    assert second.revoked_at == first.revoked_at


@pytest.mark.parametrize(
    ("elapsed", "accepted"),
    [
        (timedelta(minutes=59, seconds=59), True),
        (timedelta(hours=1), False),
        (timedelta(days=30), False),
    ],
    ids=["a second before expiry", "at the expiry instant", "long after"],
)
def test_a_token_expires_at_its_expiry_instant(
    tokens: TokenService, db: Database, clock: Any, elapsed: timedelta, accepted: bool
) -> None:
    created = tokens.create("short-lived", [Scope.READ], expires_at=clock() + timedelta(hours=1))
    clock.advance(elapsed)

    if accepted:
        assert authenticate(db, created.token, now=clock()).name == "short-lived"
    else:
        with pytest.raises(Unauthorized, match="'short-lived' expired"):
            authenticate(db, created.token, now=clock())


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: make_token("0123456789abcdef", split_token(t)[1]),
        lambda t: t + "x",
    ],
    ids=["a wrong secret", "an unknown id", "a longer secret"],
)
def test_a_token_that_matches_no_stored_hash_is_unknown(
    tokens: TokenService, db: Database, clock: Any, mangle: Any
) -> None:
    created = tokens.create("ci-deployer", [Scope.ADMIN])

    with pytest.raises(Unauthorized, match="unknown API token"):
        authenticate(db, mangle(created.token), now=clock())


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token-at-all",
        "ld_deadbeefcafe",
        "ld__s3cr3t-value",
        "ld_deadbeefcafe_",
        "xx_deadbeefcafe_s3cr3t-value",
    ],
    ids=["no parts", "no secret part", "an empty id", "an empty secret", "a foreign prefix"],
)
def test_a_malformed_token_is_refused_without_echoing_it(
    db: Database, clock: Any, token: str
) -> None:
    with pytest.raises(Unauthorized, match="malformed API token") as raised:
        authenticate(db, token, now=clock())

    assert token not in f"{raised.value} {raised.value.hint}"


def test_an_expiry_in_the_past_is_a_usage_error(tokens: TokenService, clock: Any) -> None:
    with pytest.raises(UsageError, match="expiry must be in the future"):
        tokens.create("late", [Scope.READ], expires_at=clock() - timedelta(seconds=1))


def test_revoking_an_unknown_token_is_not_found(tokens: TokenService) -> None:
    with pytest.raises(NotFound, match="no API token with id '0123456789abcdef'"):
        tokens.revoke("0123456789abcdef")


def test_list_shows_every_token_oldest_first(tokens: TokenService, clock: Any) -> None:
    first = tokens.create("first", [Scope.READ])
    clock.advance(timedelta(minutes=1))
    second = tokens.create("second", [Scope.ADMIN], expires_at=clock() + timedelta(days=1))

    assert tokens.list() == [first.info, second.info]
