"""The console script. `--version` answers before anything heavy is imported (CI calls it often)."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from launchdeck import __version__

        sys.stdout.write(f"launchdeck {__version__}\n")
        return
    from launchdeck.cli.main import run

    run()
