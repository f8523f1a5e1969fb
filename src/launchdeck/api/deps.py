"""Request dependencies: the database, the clock, and the token with the scope a route needs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, AwareDatetime

from launchdeck.auth.model import Scope, TokenInfo
from launchdeck.auth.service import authenticate, authorize
from launchdeck.errors import Unauthorized
from launchdeck.store import Database

if TYPE_CHECKING:
    from launchdeck.notify.outbox import Notifications as NotificationsType
    from launchdeck.reliability.service import SourceFactory

__all__ = ["RequireScope", "UtcInstant", "app_clock", "app_db"]

_bearer = HTTPBearer(auto_error=False, scheme_name="token", description="launchdeck API token")


def app_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def app_sources(request: Request) -> SourceFactory:
    """Where SLIs are read (Prometheus by default; tests pass their own)."""
    sources: SourceFactory = request.app.state.sources
    return sources


def app_notifications(request: Request) -> NotificationsType:
    """Where news goes (Slack, Teams, webhooks, as the workspace routes it)."""
    notifications: NotificationsType = request.app.state.notifications
    return notifications


def app_clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock


class RequireScope:
    """Depend on this to require a valid token holding `scope`; it resolves to the token.

    The route table is introspected for these (tests/integration/api/test_api_auth.py), so every
    new mutating route is checked for 401/403 automatically.
    """

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> TokenInfo:
        if credentials is None:
            raise Unauthorized(
                "this endpoint needs an API token",
                hint="send 'Authorization: Bearer <token>'; create one with "
                "'launchdeck token create'",
            )
        info = authenticate(app_db(request), credentials.credentials, now=app_clock(request)())
        authorize(info, self.scope)
        request.state.actor = info.name
        return info


Reader = Annotated[TokenInfo, Depends(RequireScope(Scope.READ))]
Admin = Annotated[TokenInfo, Depends(RequireScope(Scope.ADMIN))]
Deployer = Annotated[TokenInfo, Depends(RequireScope(Scope.DEPLOY))]
Db = Annotated[Database, Depends(app_db)]
Clock = Annotated[Callable[[], datetime], Depends(app_clock)]
Sources = Annotated[Callable[..., Any], Depends(app_sources)]
"""A SourceFactory (Indicator -> SliSource); typed loosely so the API need not import it."""
Notifications = Annotated[Any, Depends(app_notifications)]
"""launchdeck.notify.outbox.Notifications; typed loosely so routes need not import it."""


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 has no UTC form
        raise ValueError("the instant is out of range once converted to UTC") from None


UtcInstant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An aware instant from a request, as UTC; a 422 (not a 500) when it has no UTC form."""
