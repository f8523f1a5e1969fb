"""Alembic environment: migrations run on the connection launchdeck hands over (see store.db)."""

from __future__ import annotations

from alembic import context

from launchdeck.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - launchdeck always passes a connection
    raise RuntimeError("run migrations through 'launchdeck db upgrade'")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
