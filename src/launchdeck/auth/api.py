"""/api/v1/tokens: create (the secret is in this one response), list, revoke. Scope admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from launchdeck.api.deps import Admin, Clock, Db, UtcInstant
from launchdeck.auth.model import NAME_PATTERN, CreatedToken, Scope, TokenInfo
from launchdeck.auth.service import TokenService

__all__ = ["router"]

router = APIRouter(tags=["tokens"])


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]
    scopes: Annotated[list[Scope], Field(min_length=1)]
    expires_at: UtcInstant | None = None


@router.post("/tokens", status_code=201, summary="Create a token; its secret is shown once")
def create_token(body: TokenRequest, token: Admin, db: Db, clock: Clock) -> CreatedToken:
    service = TokenService(db, actor=token.name, clock=clock)
    return service.create(body.name, body.scopes, expires_at=body.expires_at)


@router.get("/tokens", summary="Tokens (never their secrets)")
def list_tokens(token: Admin, db: Db, clock: Clock) -> list[TokenInfo]:
    return TokenService(db, actor=token.name, clock=clock).list()


@router.delete("/tokens/{token_id}", summary="Revoke a token")
def revoke_token(
    token_id: Annotated[str, Path(min_length=1, max_length=64)], token: Admin, db: Db, clock: Clock
) -> TokenInfo:
    return TokenService(db, actor=token.name, clock=clock).revoke(token_id)
