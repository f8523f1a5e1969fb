"""Engines, schema migrations and the unit of work: the transaction boundary of every change."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from launchdeck.errors import Conflict, UpstreamError

__all__ = [
    "HEAD_REVISION",
    "Database",
    "UnitOfWork",
    "current_revision",
    "is_lock_conflict",
    "safe_url",
    "upgrade",
]

HEAD_REVISION = "0007"
"""The newest migration; a test keeps it equal to Alembic's head."""

_MIGRATION_LOCK = 7_461_001  # PostgreSQL advisory lock id: one migrator at a time


def _normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    _enable_wal(cursor)
    cursor.close()


def _enable_wal(cursor: Any, *, patience_s: float = 5.0) -> None:
    """Put the file in WAL mode (a no-op once it is).

    While another process switches a fresh file to WAL, SQLite answers "database is locked"
    at once instead of waiting out the busy timeout, so wait here.
    """
    deadline = time.monotonic() + patience_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at, or None for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "launchdeck.store:migrations")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database to `revision`; returns the revision it was at before."""
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        elif connection.dialect.name == "sqlite":
            # SQLite's write lock plays the advisory lock's part: without it, two processes
            # starting on a fresh file both read "empty" and both create the tables.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        before = current_revision(connection)
        if before != HEAD_REVISION or revision != "head":
            command.upgrade(_alembic_config(connection), revision)
    return before


class Database:
    """An engine and its session factory, migrated to head on first use."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = _normalise_url(url)
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(self.url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrate = migrate
        self._ready = False

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ensure_schema(self) -> None:
        """Run pending migrations once per process; the database being down is an UpstreamError."""
        if self._ready or not self._migrate:
            return
        try:
            with self.engine.connect() as connection:
                at_head = current_revision(connection) == HEAD_REVISION
            if not at_head:
                upgrade(self.engine)
        except OperationalError as exc:
            raise UpstreamError(
                f"cannot reach the database at {safe_url(self.url)}",
                hint="check LAUNCHDECK_DATABASE_URL and that the server is running",
            ) from exc
        self._ready = True

    def ping(self) -> None:
        """Raise UpstreamError unless the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise UpstreamError(f"database {safe_url(self.url)} is not reachable") from exc

    def unit_of_work(self) -> UnitOfWork:
        self.ensure_schema()
        return UnitOfWork(self.sessions())

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries only; rolled back at the end."""
        with self.unit_of_work() as uow:
            yield uow.session

    def dispose(self) -> None:
        self.engine.dispose()


class UnitOfWork:
    """One transaction. Nothing is written unless `commit()` is called; leaving rolls back."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        try:
            self.session.commit()
        except OperationalError as exc:
            if is_lock_conflict(exc):
                raise Conflict(
                    "another change was committed at the same time",
                    hint="run the command again; it will see the other change",
                ) from exc
            raise


def is_lock_conflict(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return "database is locked" in message or "could not serialize" in message
