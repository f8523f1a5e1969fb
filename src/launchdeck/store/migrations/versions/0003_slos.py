"""SLOs and error budgets: the SLO resources, the reliability policy, protected campaign windows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from launchdeck.store.tables import Json, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(sa.Column("reliability", Json, nullable=True))
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("slo_objectives", Json, nullable=False, server_default="{}"))
    op.create_table(
        "slos",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("file", sa.String(500), nullable=False),
        sa.Column("document", Json, nullable=False),
        sa.Column("datasource", Json, nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_slos_system", "slos", ["system"])


def downgrade() -> None:
    op.drop_table("slos")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("slo_objectives")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("reliability")
