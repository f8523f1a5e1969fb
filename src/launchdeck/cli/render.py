"""Output: Rich tables for people, JSON (`--json`) for machines. Renderers never decide."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter
from rich.console import Console
from rich.table import Table

__all__ = ["console", "emit_json", "err_console", "fmt_time", "table"]


def console() -> Console:
    # soft_wrap: long paths and file:line:column stay whole in CI logs and pipes.
    return Console(highlight=False, soft_wrap=True)


def err_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Frozen dataclasses of the pure core (FreezeWindow …) as JSON, not as their repr.
        return TypeAdapter(type(value)).dump_python(value, mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def emit_json(value: Any) -> None:
    """Print `value` (models, lists, dicts) as indented JSON on stdout."""
    sys.stdout.write(json.dumps(_plain(value), indent=2, default=str) + "\n")


def fmt_time(value: datetime | None, tz: str | None = None) -> str:
    if value is None:
        return "-"
    if tz:
        from zoneinfo import ZoneInfo

        value = value.astimezone(ZoneInfo(tz))
        return value.strftime("%Y-%m-%d %H:%M %Z")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    show_header: bool = True,
) -> Table:
    """A Rich table; cells are shown with str(), None as '-'."""
    out = Table(title=title, title_justify="left", header_style="bold", show_header=show_header)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*("-" if cell is None else str(cell) for cell in row))
    return out
