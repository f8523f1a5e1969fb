"""Releases: progressive-delivery releases, one active per system and environment.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from launchdeck.store.tables import ACTIVE_RELEASE, Json, UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("previous", sa.String(128), nullable=True),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("state", Json, nullable=False),
        sa.Column("target", Json, nullable=False),
        sa.Column("controller", Json, nullable=False),
        sa.Column("artifact", sa.String(1000), nullable=False),
        sa.Column("change_type", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("passed_at", UtcDateTime(), nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_index(
        "ux_releases_active",
        "releases",
        ["system", "environment"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_RELEASE),
        postgresql_where=sa.text(ACTIVE_RELEASE),
    )
    op.create_index("ix_releases_system_environment", "releases", ["system", "environment", "id"])


def downgrade() -> None:
    op.drop_table("releases")
