"""Experiments: the metrics and experiments of launchdeck.yaml, and on the workspace its
`events:` section. Events themselves live in DuckDB (`experiments/store.py`), not here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from launchdeck.store.tables import Json, UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(sa.Column("events", Json, nullable=True))
    op.create_table(
        "metrics",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("document", Json, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("flag", sa.String(100), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("document", Json, nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_experiments_flag", "experiments", ["flag"])


def downgrade() -> None:
    op.drop_index("ix_experiments_flag", table_name="experiments")
    op.drop_table("experiments")
    op.drop_table("metrics")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("events")
