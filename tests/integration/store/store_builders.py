"""Builders for the store suite: the Black Friday spec, edited copies of it, table snapshots."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from launchdeck.store import Database
from launchdeck.store.tables import Base
from launchdeck.workspace.spec import WorkspaceSpec

EXAMPLE_YAML = Path(__file__).resolve().parents[3] / "examples" / "black-friday" / "launchdeck.yaml"
_EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_YAML.read_text(encoding="utf-8"))

Data = dict[str, Any]
Snapshot = dict[str, list[tuple[Any, ...]]]


def example_data() -> Data:
    """A private, editable copy of examples/black-friday/launchdeck.yaml as plain data."""
    return copy.deepcopy(_EXAMPLE)


def spec_of(data: Data) -> WorkspaceSpec:
    return WorkspaceSpec.model_validate(data)


def edited(edit: Callable[[Data], None]) -> WorkspaceSpec:
    """The example spec after `edit` changed its data in place."""
    data = example_data()
    edit(data)
    return spec_of(data)


def item(data: Data, section: str, item_id: str) -> Data:
    """The entry of `section` (systems, campaigns …) whose id is `item_id`."""
    matches = [entry for entry in data[section] if entry["id"] == item_id]
    assert len(matches) == 1, f"{section} has no single {item_id!r}"
    return matches[0]


def snapshot(db: Database) -> Snapshot:
    """Every row of every launchdeck table, ordered, straight from the database."""
    out: Snapshot = {}
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(row) for row in rows]
    return out


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Alembic's downgrade on the connection launchdeck's env.py expects."""
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", "launchdeck.store:migrations")
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def table_names(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def column_names(database: Database, table: str) -> set[str]:
    with database.engine.connect() as connection:
        return {c["name"] for c in sa.inspect(connection).get_columns(table)}
