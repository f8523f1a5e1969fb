"""`launchdeck token create|list|revoke`."""

from __future__ import annotations

from typing import Annotated

import typer

from launchdeck.cli.context import app_context

__all__ = ["register"]

token_app = typer.Typer(
    help="API tokens: scoped, expiring, revocable; stored only as hashes.", no_args_is_help=True
)


@token_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who uses it; the actor of its timeline events.")],
    scope: Annotated[
        list[str],
        typer.Option(help="read, flags:write, deploy, incidents or admin (repeatable)."),
    ],
    expires_in: Annotated[
        str | None, typer.Option(help="Lifetime such as 90d; no expiry when omitted.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a token and print it once: it cannot be shown again."""
    from launchdeck.auth.model import Scope, check_token_name
    from launchdeck.cli.render import console, emit_json, err_console
    from launchdeck.client import utc_now
    from launchdeck.durations import parse_duration
    from launchdeck.errors import UsageError

    name = check_token_name(name)  # here too, so remote mode refuses exactly as local mode does
    unknown = [s for s in scope if s not in {v.value for v in Scope}]
    if unknown:
        allowed = ", ".join(s.value for s in Scope)
        raise UsageError(f"unknown scope {unknown[0]!r}", hint=f"use one of: {allowed}")
    scopes = [Scope(s) for s in scope]
    expires_at = utc_now() + parse_duration(expires_in) if expires_in else None
    created = app_context(ctx).client.tokens.create(name, scopes, expires_at=expires_at)
    if as_json:
        emit_json(created)
        return
    console().print(created.token)
    err_console().print(
        f"[green]created[/] token {created.info.id} '{created.info.name}' "
        f"with scopes {', '.join(created.info.scopes)}; store it now, it is not shown again."
    )


@token_app.command("list")
def list_tokens(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Tokens with their scopes and state (never their secrets)."""
    from launchdeck.cli.render import console, emit_json, fmt_time, table
    from launchdeck.client import utc_now

    tokens = app_context(ctx).client.tokens.list()
    if as_json:
        emit_json(tokens)
        return
    now = utc_now()
    rows = [
        (
            t.id,
            t.name,
            ", ".join(t.scopes),
            fmt_time(t.created_at),
            fmt_time(t.expires_at),
            "revoked" if t.revoked_at else ("active" if t.active(now) else "expired"),
        )
        for t in tokens
    ]
    console().print(
        table("API tokens", ["id", "name", "scopes", "created", "expires", "state"], rows)
    )


@token_app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id (see 'token list').")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Revoke a token; requests with it are refused from now on."""
    from launchdeck.cli.render import console, emit_json

    info = app_context(ctx).client.tokens.revoke(token_id)
    if as_json:
        emit_json(info)
        return
    console().print(f"[yellow]revoked[/] token {info.id} '{info.name}'")


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")
