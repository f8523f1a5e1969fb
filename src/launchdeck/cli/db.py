"""`launchdeck db upgrade|current`: schema migrations of the local store."""

from __future__ import annotations

import typer

from launchdeck.cli.context import app_context

__all__ = ["register"]

db_app = typer.Typer(help="The state store's schema.", no_args_is_help=True)


def _database(ctx: typer.Context) -> object:
    from launchdeck.errors import UsageError
    from launchdeck.store import Database

    settings = app_context(ctx).settings
    if settings.remote:
        raise UsageError("db commands act on a database directly", hint="unset LAUNCHDECK_URL")
    return Database(settings.resolved_database_url, migrate=False)


@db_app.command("upgrade")
def upgrade_cmd(ctx: typer.Context) -> None:
    """Apply pending migrations (they also run automatically on first use)."""
    from launchdeck.cli.render import console
    from launchdeck.store import HEAD_REVISION, Database, safe_url, upgrade

    db = _database(ctx)
    assert isinstance(db, Database)
    before = upgrade(db.engine)
    db.dispose()
    if before == HEAD_REVISION:
        console().print(f"{safe_url(db.url)} is up to date (revision {HEAD_REVISION})")
    else:
        console().print(f"upgraded {safe_url(db.url)}: {before or 'empty'} → {HEAD_REVISION}")


@db_app.command("current")
def current_cmd(ctx: typer.Context) -> None:
    """Print the schema revision of the database."""
    from launchdeck.cli.render import console
    from launchdeck.store import Database
    from launchdeck.store.db import current_revision

    db = _database(ctx)
    assert isinstance(db, Database)
    with db.engine.connect() as connection:
        revision = current_revision(connection)
    db.dispose()
    console().print(revision or "empty (run 'launchdeck db upgrade')")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
