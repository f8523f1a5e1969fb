"""Calendar and gate: campaign sources, freeze policies, ad-hoc freezes and gate overrides.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from launchdeck.store.tables import Json, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("source", sa.String(500), nullable=True))
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(sa.Column("freezes", Json, nullable=True))
        batch.add_column(sa.Column("longest_campaign_s", sa.Integer(), nullable=True))
    op.create_table(
        "freezes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("system", sa.String(63), nullable=True),
        sa.Column("environment", sa.String(63), nullable=True),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("ends_at", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("allow", Json, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("lifted_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_freezes_ends_at", "freezes", ["ends_at"])
    op.create_table(
        "gate_overrides",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("environment", sa.String(63), nullable=True),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("ends_at", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_gate_overrides_system", "gate_overrides", ["system"])


def downgrade() -> None:
    op.drop_table("gate_overrides")
    op.drop_table("freezes")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("longest_campaign_s")
        batch.drop_column("freezes")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("source")
