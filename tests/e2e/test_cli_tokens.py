"""`launchdeck token create|list|revoke`, and how remote mode reacts to tokens and URLs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_driver import (
    ADMIN_TOKEN_NAME,
    CLEAN_ENV,
    SQLITE_ONLY,
    TOKEN_PATTERN,
    Cli,
    closed_port_url,
    issue_token,
    table_rows,
)
from typer.testing import CliRunner

from launchdeck.auth.model import CreatedToken, Scope
from launchdeck.cli.main import build_app

TOKEN_FIELDS = {"id", "name", "scopes", "created_at", "created_by", "expires_at", "revoked_at"}


def _create(cli: Cli, *args: str) -> tuple[str, str]:
    """Create a token with `args`; its (id, plain text)."""
    result = cli("token", "create", *args)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert TOKEN_PATTERN.match(token), token
    return token.split("_")[1], token


@SQLITE_ONLY
def test_token_create_prints_the_token_once_on_stdout(mode: Cli) -> None:
    result = mode("token", "create", "--name", "ci", "--scope", "deploy")

    assert result.exit_code == 0, result.output
    token = result.stdout.removesuffix("\n")
    assert TOKEN_PATTERN.match(token), result.stdout
    assert result.stdout.count(token) == 1
    token_id = token.split("_")[1]
    assert result.stderr == (
        f"created token {token_id} 'ci' with scopes deploy; store it now, it is not shown again.\n"
    )
    assert token not in result.stderr


@SQLITE_ONLY
def test_token_list_never_shows_the_secret(mode: Cli) -> None:
    token_id, token = _create(mode, "--name", "ci", "--scope", "deploy")
    secret = token.split("_", 2)[2]

    table, listed = mode("token", "list"), mode("token", "list", "--json")

    assert (table.exit_code, listed.exit_code) == (0, 0)
    for result in (table, listed):
        assert secret not in result.output
        assert token not in result.output
    infos = json.loads(listed.stdout)
    assert [set(i) for i in infos] == [TOKEN_FIELDS, TOKEN_FIELDS]
    ci = next(i for i in infos if i["name"] == "ci")
    assert (ci["id"], ci["scopes"], ci["created_by"]) == (token_id, ["deploy"], mode.actor)
    assert (ci["expires_at"], ci["revoked_at"]) == (None, None)
    row = next(r for r in table_rows(table.stdout) if r[1] == "ci")
    assert [row[0], row[2], row[4], row[5]] == [token_id, "deploy", "-", "active"]


@SQLITE_ONLY
def test_token_create_json_carries_the_token_and_its_info(mode: Cli) -> None:
    result = mode(
        "token", "create", "--name", "deployer", "--scope", "deploy", "--scope", "read", "--json"
    )

    assert result.exit_code == 0, result.output
    created = CreatedToken.model_validate_json(result.stdout)
    assert TOKEN_PATTERN.match(created.token)
    assert created.info.name == "deployer"
    assert created.info.scopes == (Scope.READ, Scope.DEPLOY)
    assert created.info.created_by == mode.actor


@SQLITE_ONLY
def test_token_expiry_is_set_from_a_duration(mode: Cli) -> None:
    before = datetime.now(UTC)
    token_id, _ = _create(mode, "--name", "temp", "--scope", "read", "--expires-in", "90d")
    after = datetime.now(UTC)

    info = next(i for i in mode.json("token", "list") if i["id"] == token_id)

    expires_at = datetime.fromisoformat(info["expires_at"])
    assert before + timedelta(days=90) <= expires_at <= after + timedelta(days=90)


@SQLITE_ONLY
def test_token_revoke_marks_it_revoked_and_records_it(mode: Cli) -> None:
    token_id, _ = _create(mode, "--name", "ci", "--scope", "deploy")

    result = mode("token", "revoke", token_id)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"revoked token {token_id} 'ci'\n"
    row = next(r for r in table_rows(mode("token", "list").stdout) if r[0] == token_id)
    assert row[5] == "revoked"
    events = mode.json("timeline", "--kind", "token")["events"]
    assert [(e["kind"], e["subject"], e["actor"]) for e in events[:2]] == [
        ("token.revoked", f"token/{token_id}", mode.actor),
        ("token.created", f"token/{token_id}", mode.actor),
    ]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (
            ["--scope", "root"],
            "unknown scope 'root'",
            "use one of: read, flags:write, deploy, incidents, events:write, admin",
        ),
        (
            ["--scope", "read", "--expires-in", "soon"],
            "not a duration: 'soon'",
            "use a number and a unit: 30s, 15m, 2h, 7d or 1w",
        ),
    ],
    ids=["an unknown scope", "an expiry that is not a duration"],
)
def test_token_create_with_a_bad_option_is_a_usage_error(
    mode: Cli, args: list[str], error: str, hint: str
) -> None:
    result = mode("token", "create", "--name", "ci", *args)

    assert result.exit_code == 2
    assert f"error: {error}" in result.stderr
    assert f"hint: {hint}" in result.stderr
    assert result.stdout == ""
    assert [i["name"] for i in mode.json("token", "list")] == [ADMIN_TOKEN_NAME]


@SQLITE_ONLY
@pytest.mark.parametrize(
    "name",
    ["ci bot", "   ", "x" * 101, "deploy/prod"],
    ids=["a space", "blank", "too long", "a slash"],
)
def test_token_create_refuses_a_bad_name_the_same_way_in_both_modes(mode: Cli, name: str) -> None:
    result = mode("token", "create", "--name", name, "--scope", "read")

    assert result.exit_code == 2
    assert f"error: invalid token name {name.strip()!r}" in result.stderr
    assert "hint: use 1 to 100 letters, digits, '.', '_', '@', ':' or '-'" in result.stderr
    assert [i["name"] for i in mode.json("token", "list")] == [ADMIN_TOKEN_NAME]


@SQLITE_ONLY
def test_token_create_strips_the_name_in_both_modes(mode: Cli) -> None:
    token_id, _ = _create(mode, "--name", "  ci-deploy ", "--scope", "read")

    names = {i["id"]: i["name"] for i in mode.json("token", "list")}

    assert names[token_id] == "ci-deploy"


@SQLITE_ONLY
def test_token_revoke_of_an_unknown_id_fails(mode: Cli) -> None:
    result = mode("token", "revoke", "0123456789abcdef")

    assert result.exit_code == 1
    assert "error: no API token with id '0123456789abcdef'" in result.stderr
    assert "hint: see 'launchdeck token list'" in result.stderr


# Remote mode only: what the server says about the token, and an API that is not there.


@pytest.fixture
def remote(cli_in: Callable[[str], Cli]) -> Cli:
    return cli_in("remote")


def _as(remote: Cli, name: str, *scopes: Scope, clock: Any) -> Cli:
    assert remote.db is not None
    return remote.with_env(LAUNCHDECK_TOKEN=issue_token(remote.db, name, *scopes, clock=clock))


def test_a_read_token_reads_and_plans_but_cannot_apply_or_manage_tokens(
    remote: Cli, clock: Any
) -> None:
    viewer = _as(remote, "viewer", Scope.READ, clock=clock)

    assert viewer("plan", "--detailed-exitcode").exit_code == 4
    assert viewer("systems", "list").exit_code == 0
    assert viewer("timeline").exit_code == 0
    for args in (
        ["apply"],
        ["token", "create", "--name", "sneaky", "--scope", "admin"],
        ["token", "list"],
    ):
        result = viewer(*args)
        assert result.exit_code == 1, args
        assert "error: token 'viewer' lacks the 'admin' scope" in result.stderr
        assert "hint: create a token with --scope admin" in result.stderr
    assert remote.json("status")["revision"] == 0
    assert [i["name"] for i in remote.json("token", "list")] == [ADMIN_TOKEN_NAME, "viewer"]


@SQLITE_ONLY
def test_a_created_token_works_remotely_with_its_scopes(remote: Cli) -> None:
    _, token = _create(remote, "--name", "ci", "--scope", "deploy")
    ci = remote.with_env(LAUNCHDECK_TOKEN=token)

    assert ci("status").exit_code == 0
    refused = ci("apply")
    assert refused.exit_code == 1
    assert "token 'ci' lacks the 'admin' scope" in refused.stderr


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("make_token", "error"),
    [
        (lambda admin_id: "ld_0123456789abcdef_" + "s3cr3t" * 8, "unknown API token"),
        (lambda admin_id: f"ld_{admin_id}_" + "wrong" * 9, "unknown API token"),
        (lambda admin_id: "not-a-launchdeck-token-" + "x" * 20, "malformed API token"),
    ],
    ids=["an unknown token id", "a known id with a wrong secret", "a malformed token"],
)
def test_a_wrong_token_is_refused_without_echoing_it(
    remote: Cli, make_token: Callable[[str], str], error: str
) -> None:
    admin_id = str(remote.env["LAUNCHDECK_TOKEN"]).split("_")[1]
    token = make_token(admin_id)

    result = remote.with_env(LAUNCHDECK_TOKEN=token)("status")

    assert result.exit_code == 1
    assert f"error: {error}" in result.stderr
    assert token not in result.output
    assert token.rsplit("_", 1)[-1] not in result.output


@SQLITE_ONLY
def test_a_revoked_or_expired_token_is_refused(remote: Cli, clock: Any) -> None:
    token_id, token = _create(remote, "--name", "ci", "--scope", "read")
    assert remote("token", "revoke", token_id).exit_code == 0
    assert remote.db is not None
    expiring = remote.with_env(
        LAUNCHDECK_TOKEN=issue_token(
            remote.db,
            "short-lived",
            Scope.READ,
            clock=clock,
            expires_at=clock.now + timedelta(hours=1),
        )
    )
    assert expiring("status").exit_code == 0

    revoked = remote.with_env(LAUNCHDECK_TOKEN=token)("status")
    clock.advance(timedelta(hours=2))
    expired = expiring("status")

    assert revoked.exit_code == 1
    assert "error: API token 'ci' was revoked" in revoked.stderr
    assert expired.exit_code == 1
    assert "error: API token 'short-lived' expired" in expired.stderr
    assert "hint: create a new one" in expired.stderr


@SQLITE_ONLY
def test_remote_mode_without_a_token_says_how_to_get_one(remote: Cli) -> None:
    result = remote.with_env(LAUNCHDECK_TOKEN=None)("systems", "list")

    assert result.exit_code == 1
    assert "error: this endpoint needs an API token" in result.stderr
    assert "launchdeck token create" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["status"], ["plan"], ["apply"], ["timeline"], ["systems", "list"], ["token", "list"]],
    ids=["status", "plan", "apply", "timeline", "systems list", "token list"],
)
def test_an_unreachable_api_fails_with_a_hint(workspace_dir: Path, args: list[str]) -> None:
    url, token = closed_port_url(), "ld_0123456789abcdef_" + "s3cr3t" * 8
    env = {
        **CLEAN_ENV,
        "LAUNCHDECK_WORKSPACE": str(workspace_dir),
        "LAUNCHDECK_URL": url,
        "LAUNCHDECK_TOKEN": token,
    }

    result = CliRunner().invoke(build_app(), args, env=env, catch_exceptions=False)

    assert result.exit_code == 1
    assert f"error: cannot reach the launchdeck API at {url}" in result.stderr
    assert "hint: check LAUNCHDECK_URL and that 'launchdeck serve' is running" in result.stderr
    assert token not in result.output
    assert "Traceback" not in result.output
