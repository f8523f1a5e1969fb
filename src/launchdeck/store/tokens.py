"""Stored API tokens: hashes only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from launchdeck.auth.model import Scope, TokenInfo
from launchdeck.errors import NotFound
from launchdeck.store.tables import ApiTokenRow

__all__ = ["SqlTokenStore"]


def _to_info(row: ApiTokenRow) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        scopes=tuple(Scope(s) for s in row.scopes),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class SqlTokenStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, info: TokenInfo, *, secret_hash: str) -> None:
        self.session.add(
            ApiTokenRow(
                id=info.id,
                name=info.name,
                secret_hash=secret_hash,
                scopes=[str(s) for s in info.scopes],
                created_at=info.created_at,
                created_by=info.created_by,
                expires_at=info.expires_at,
                revoked_at=None,
            )
        )

    def find(self, token_id: str) -> tuple[TokenInfo, str] | None:
        """The token's info and stored hash, or None."""
        row = self.session.get(ApiTokenRow, token_id)
        return (_to_info(row), row.secret_hash) if row is not None else None

    def list(self) -> list[TokenInfo]:
        rows = self.session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at))
        return [_to_info(r) for r in rows]

    def revoke(self, token_id: str, *, now: datetime) -> TokenInfo:
        row = self.session.get(ApiTokenRow, token_id)
        if row is None:
            raise NotFound(f"no API token with id {token_id!r}", hint="see 'launchdeck token list'")
        if row.revoked_at is None:
            row.revoked_at = now
        return _to_info(row)
