"""`launchdeck serve`: the HTTP API on the local store."""

from __future__ import annotations

from typing import Annotated

import typer

from launchdeck.cli.context import app_context

__all__ = ["register"]


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8474,
) -> None:
    """Run the HTTP API (OpenAPI at /api/openapi.json, docs at /api/docs)."""
    import uvicorn

    from launchdeck.api.app import create_app
    from launchdeck.cli.render import err_console
    from launchdeck.errors import UsageError
    from launchdeck.store import Database, safe_url

    settings = app_context(ctx).settings
    if settings.remote:
        raise UsageError(
            "serve runs on a database, not against another API",
            hint="unset LAUNCHDECK_URL",
        )
    db = Database(settings.resolved_database_url)
    db.ensure_schema()
    err_console().print(
        f"launchdeck API on http://{host}:{port}  (state: {safe_url(db.url)}; "
        f"docs: http://{host}:{port}/api/docs)"
    )
    uvicorn.run(
        create_app(settings, db=db),
        host=host,
        port=port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,  # open flag event streams do not hold a shutdown up
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
