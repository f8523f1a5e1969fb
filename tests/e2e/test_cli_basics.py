"""`launchdeck --version`, `init`, `db upgrade|current` and `serve`'s refusal in remote mode."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_driver import CLEAN_ENV, SQLITE_ONLY, Cli
from typer.testing import CliRunner

from launchdeck import __version__
from launchdeck.cli.main import build_app
from launchdeck.store import HEAD_REVISION, safe_url

CONSOLE_SCRIPT = Path(sys.executable).parent / "launchdeck"


def _subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDECK_")}
    env["LAUNCHDECK_URL"] = "http://127.0.0.1:9"  # --version must not care about the mode
    return env


@pytest.mark.parametrize("flag", ["--version", "-V"], ids=["long flag", "short flag"])
def test_version_prints_the_package_version(file_mode: Cli, flag: str) -> None:
    result = file_mode(flag)

    assert result.exit_code == 0
    assert result.stdout == f"launchdeck {__version__}\n"


@pytest.mark.parametrize("flag", ["--version", "-V"], ids=["long flag", "short flag"])
def test_the_console_script_prints_the_same_version(flag: str) -> None:
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), flag],
        capture_output=True,
        text=True,
        env=_subprocess_env(),
        timeout=60,
        check=False,
    )

    assert (done.returncode, done.stdout, done.stderr) == (0, f"launchdeck {__version__}\n", "")


def test_the_version_fast_path_imports_neither_the_cli_nor_the_store() -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['launchdeck', '--version']\n"
        "from launchdeck.cli.entry import main\n"
        "main()\n"
        "heavy = ('typer', 'rich', 'sqlalchemy', 'fastapi', 'httpx', 'pydantic')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=_subprocess_env(),
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"launchdeck {__version__}\n[]\n"


def test_the_console_script_runs_commands_past_the_fast_path(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHDECK_")}
    env["COLUMNS"] = "300"  # Rich wraps piped output at 80 columns otherwise
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "init", str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert f"created {tmp_path / 'ws' / 'launchdeck.yaml'}" in done.stdout


def test_init_writes_a_workspace_and_gitignore_that_validate(
    file_mode: Cli, tmp_path: Path
) -> None:
    target = tmp_path / "new-workspace"

    result = file_mode("init", str(target))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"created {target / 'launchdeck.yaml'}",
        f"created {target / '.gitignore'}",
        f"next: edit {target / 'launchdeck.yaml'}, then run 'launchdeck validate' and "
        "'launchdeck plan'",
    ]
    assert (target / ".gitignore").read_text(encoding="utf-8") == ".launchdeck/\n"
    validated = file_mode("--workspace", str(target), "validate")
    assert validated.exit_code == 0, validated.output
    assert "is valid: 2 environments, 2 systems, 1 campaign" in validated.stdout


def test_init_refuses_to_overwrite_without_force(file_mode: Cli, tmp_path: Path) -> None:
    target = tmp_path / "ws"
    assert file_mode("init", str(target)).exit_code == 0
    workspace_file = target / "launchdeck.yaml"
    workspace_file.write_text("# my own edits\n", encoding="utf-8")

    refused = file_mode("init", str(target))

    assert refused.exit_code == 2
    assert f"error: {workspace_file} already exists" in refused.stderr
    assert "hint: edit it, or pass --force to overwrite it with the starter file" in refused.stderr
    assert workspace_file.read_text(encoding="utf-8") == "# my own edits\n"

    forced = file_mode("init", str(target), "--force")

    assert forced.exit_code == 0, forced.output
    assert workspace_file.read_text(encoding="utf-8").startswith("# launchdeck.yaml:")
    assert (target / ".gitignore").read_text(encoding="utf-8") == ".launchdeck/\n"


def test_init_keeps_an_existing_gitignore_and_adds_the_state_dir_once(
    file_mode: Cli, tmp_path: Path
) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n", encoding="utf-8")

    first = file_mode("init", str(tmp_path))
    again = file_mode("init", str(tmp_path), "--force")

    assert (first.exit_code, again.exit_code) == (0, 0)
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == "node_modules/\n.launchdeck/\n"
    assert f"created {tmp_path / '.gitignore'}" not in again.stdout


@SQLITE_ONLY
def test_the_scaffolded_workspace_plans_and_applies(mode: Cli, tmp_path: Path) -> None:
    target = tmp_path / "starter"
    assert mode("init", str(target)).exit_code == 0
    starter = mode.with_env(LAUNCHDECK_WORKSPACE=str(target))

    applied = starter("apply")

    assert applied.exit_code == 0, applied.output
    assert "Applied revision 1: 6 added, 0 changed, 0 removed" in applied.stdout
    assert [s["id"] for s in starter.json("systems", "list")] == ["cms", "landing-pages"]


@SQLITE_ONLY
def test_db_commands_print_the_revision_locally_and_refuse_remotely(mode: Cli) -> None:
    current, upgrade = mode("db", "current"), mode("db", "upgrade")

    if mode.mode == "local":
        assert (current.exit_code, current.stdout) == (0, f"{HEAD_REVISION}\n")
        assert (upgrade.exit_code, upgrade.stdout) == (
            0,
            f"{mode.target} is up to date (revision {HEAD_REVISION})\n",
        )
    else:
        for result in (current, upgrade):
            assert result.exit_code == 2
            assert "error: db commands act on a database directly" in result.stderr
            assert "hint: unset LAUNCHDECK_URL" in result.stderr


@SQLITE_ONLY
def test_serve_refuses_to_run_against_another_api(cli_in: Callable[[str], Cli]) -> None:
    remote = cli_in("remote")

    result = remote("serve")

    assert result.exit_code == 2
    assert "error: serve runs on a database, not against another API" in result.stderr


def test_db_upgrade_migrates_an_empty_database(db_url: str, workspace_dir: Path) -> None:
    env = {**CLEAN_ENV, "LAUNCHDECK_WORKSPACE": str(workspace_dir)}
    env["LAUNCHDECK_DATABASE_URL"] = db_url
    app, runner = build_app(), CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.stdout

    assert run("db", "current") == (0, "empty (run 'launchdeck db upgrade')\n")
    assert run("db", "upgrade") == (0, f"upgraded {safe_url(db_url)}: empty → {HEAD_REVISION}\n")
    assert run("db", "current") == (0, f"{HEAD_REVISION}\n")
    code, status = run("status", "--json")
    assert code == 0
    assert '"revision": 0' in status
