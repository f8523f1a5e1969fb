"""API tokens: which scope grants what, the token format and secret hashing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launchdeck.auth.model import (
    Scope,
    TokenInfo,
    grants,
    hash_secret,
    make_token,
    secret_matches,
    split_token,
)
from launchdeck.errors import Unauthorized
from strategies import property_settings

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
R, F, D, INC, A = Scope.READ, Scope.FLAGS_WRITE, Scope.DEPLOY, Scope.INCIDENTS, Scope.ADMIN


@pytest.mark.parametrize(
    ("granted", "required", "allowed"),
    [
        ({A}, R, True),
        ({A}, F, True),
        ({A}, D, True),
        ({A}, INC, True),
        ({A}, A, True),
        ({R}, R, True),
        ({F}, R, True),
        ({D}, R, True),
        ({INC}, R, True),
        ({R}, F, False),
        ({R}, D, False),
        ({R}, A, False),
        ({D}, D, True),
        ({D}, A, False),
        ({D}, F, False),
        ({F}, D, False),
        ({F}, A, False),
        ({INC}, INC, True),
        ({INC}, D, False),
        ({F, D}, D, True),
        ({F, D}, A, False),
        (set(), R, False),
        (set(), A, False),
    ],
    ids=[
        "admin grants read",
        "admin grants flags:write",
        "admin grants deploy",
        "admin grants incidents",
        "admin grants admin",
        "read grants read",
        "flags:write implies read",
        "deploy implies read",
        "incidents implies read",
        "read does not grant flags:write",
        "read does not grant deploy",
        "read does not grant admin",
        "deploy grants deploy",
        "deploy does not imply admin",
        "deploy does not imply flags:write",
        "flags:write does not imply deploy",
        "flags:write does not imply admin",
        "incidents grants incidents",
        "incidents does not imply deploy",
        "two scopes grant each of them",
        "two scopes do not add up to admin",
        "no scope grants not even read",
        "no scope grants no admin",
    ],
)
def test_grants(granted: set[Scope], required: Scope, allowed: bool) -> None:
    assert grants(frozenset(granted), required) is allowed


@property_settings(max_examples=100)
@given(st.frozensets(st.sampled_from(Scope)), st.sampled_from(Scope))
def test_granting_is_monotonic_in_the_scopes_held(granted: frozenset[Scope], extra: Scope) -> None:
    for required in Scope:
        if grants(granted, required):
            assert grants(granted | {extra}, required)


def test_scopes_are_stable_wire_values() -> None:
    assert [s.value for s in Scope] == [
        "read",
        "flags:write",
        "deploy",
        "incidents",
        "events:write",
        "admin",
    ]


def test_a_token_splits_into_id_and_secret() -> None:
    assert split_token(make_token("0123abcd", "s3cret")) == ("0123abcd", "s3cret")


def test_a_secret_containing_underscores_splits_whole() -> None:
    assert split_token("ld_0123abcd_se_cr_et_") == ("0123abcd", "se_cr_et_")


@property_settings(max_examples=200)
@given(
    st.text("0123456789abcdef", min_size=1, max_size=16),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1),
)
def test_every_token_made_by_make_token_splits_back(token_id: str, secret: str) -> None:
    assert split_token(make_token(token_id, secret)) == (token_id, secret)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "ld",
        "ld_",
        "ld_abc",
        "ld__secret-value",
        "ld_abc_",
        "xx_abc_secret-value",
        "LD_abc_secret-value",
        "Bearer ld_abc_secret-value",
        "secret-value-without-structure",
    ],
    ids=[
        "empty",
        "only the prefix",
        "the prefix and a separator",
        "no secret",
        "an empty id",
        "an empty secret",
        "another prefix",
        "an uppercase prefix",
        "the auth scheme included",
        "no separators",
    ],
)
def test_a_malformed_token_is_unauthorized_without_echoing_it(token: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        split_token(token)
    error = caught.value
    assert error.message == "malformed API token"
    assert error.hint is not None
    assert "ld_<id>_<secret>" in error.hint
    if len(token) > 3:
        assert token not in str(error)
        assert token not in error.hint


def test_the_stored_hash_is_the_sha256_of_the_secret() -> None:
    assert hash_secret("s3cret") == hashlib.sha256(b"s3cret").hexdigest()
    assert len(hash_secret("s3cret")) == 64


@property_settings(max_examples=100)
@given(st.text(min_size=1), st.text(min_size=1))
def test_a_secret_matches_its_own_hash_and_no_other(secret: str, other: str) -> None:
    stored = hash_secret(secret)
    assert secret_matches(secret, stored) is True
    assert secret_matches(other, stored) is (other == secret)


def _info(**fields: object) -> TokenInfo:
    return TokenInfo.model_validate(
        {
            "id": "0123abcd",
            "name": "ci",
            "scopes": ["deploy"],
            "created_at": NOW - timedelta(days=1),
            "created_by": "alice",
            **fields,
        }
    )


@pytest.mark.parametrize(
    ("fields", "active"),
    [
        ({}, True),
        ({"expires_at": NOW + timedelta(seconds=1)}, True),
        ({"expires_at": NOW}, False),
        ({"expires_at": NOW - timedelta(hours=1)}, False),
        ({"revoked_at": NOW - timedelta(hours=1)}, False),
        ({"revoked_at": NOW - timedelta(hours=1), "expires_at": NOW + timedelta(days=1)}, False),
    ],
    ids=[
        "no expiry and not revoked",
        "expires in a second",
        "expires right now",
        "expired an hour ago",
        "revoked",
        "revoked before it expires",
    ],
)
def test_a_token_is_active_until_it_expires_or_is_revoked(
    fields: dict[str, object], active: bool
) -> None:
    assert _info(**fields).active(NOW) is active
