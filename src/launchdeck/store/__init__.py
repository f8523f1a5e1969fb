"""The state store: SQLAlchemy tables, migrations and repositories (SQLite and PostgreSQL)."""

from launchdeck.store.db import HEAD_REVISION, Database, UnitOfWork, safe_url, upgrade
from launchdeck.store.state import SqlStateStore
from launchdeck.store.timeline import SqlTimeline
from launchdeck.store.tokens import SqlTokenStore

__all__ = [
    "HEAD_REVISION",
    "Database",
    "SqlStateStore",
    "SqlTimeline",
    "SqlTokenStore",
    "UnitOfWork",
    "safe_url",
    "upgrade",
]
