"""Fixtures of the API suite: an HTTP client on the live server, tokens with chosen scopes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from api_builders import IssueToken

from launchdeck.auth.model import Scope
from launchdeck.auth.service import TokenService
from launchdeck.store import Database


@pytest.fixture
def http(live_server: Any) -> Iterator[httpx.Client]:
    """A client on the real API server (uvicorn on loopback) for the test's database."""
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def issue_token(db: Database, clock: Any) -> IssueToken:
    """Create a token directly in the store: issue_token("name", Scope.READ, expires_at=...)."""

    def issue(name: str, *scopes: Scope, expires_at: datetime | None = None) -> str:
        service = TokenService(db, actor="test-setup", clock=clock)
        return service.create(name, scopes, expires_at=expires_at).token

    return issue


@pytest.fixture
def admin_token(issue_token: IssueToken) -> str:
    return issue_token("admin-bot", Scope.ADMIN)


@pytest.fixture
def read_token(issue_token: IssueToken) -> str:
    return issue_token("dashboard", Scope.READ)
