"""`launchdeck init`: write a commented starter workspace."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from launchdeck.errors import UsageError
from launchdeck.settings import STATE_DIR, WORKSPACE_FILE

__all__ = ["scaffold"]


def scaffold(directory: Path, *, force: bool = False) -> list[Path]:
    """Create launchdeck.yaml (and a .gitignore for the local state) in `directory`."""
    target = directory / WORKSPACE_FILE
    if target.exists() and not force:
        raise UsageError(
            f"{target} already exists",
            hint="edit it, or pass --force to overwrite it with the starter file",
        )
    directory.mkdir(parents=True, exist_ok=True)
    template = files("launchdeck.workspace").joinpath("templates", WORKSPACE_FILE).read_text()
    target.write_text(template, encoding="utf-8")
    written = [target]
    ignore = directory / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    if f"{STATE_DIR}/" not in lines:
        ignore.write_text("\n".join([*lines, f"{STATE_DIR}/"]) + "\n", encoding="utf-8")
        written.append(ignore)
    return written
