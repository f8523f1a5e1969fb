"""Incidents: incidents with their entries and tasks, the incident policy, notification routing
and campaign owners.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from launchdeck.store.tables import OPEN_DEDUPE, EventId, Json, UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(sa.Column("incidents", Json, nullable=True))
        batch.add_column(sa.Column("notifications", Json, nullable=True))
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("owners", Json, nullable=False, server_default="[]"))
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("type", sa.String(63), nullable=True),
        sa.Column("systems", Json, nullable=False),
        sa.Column("signal", sa.String(16), nullable=False),
        sa.Column("traffic_share", sa.Float, nullable=True),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("severity_manual", sa.Boolean, nullable=False),
        sa.Column("priority", sa.String(4), nullable=False),
        sa.Column("priority_manual", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("roles", Json, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("dedupe_key", sa.String(300), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("detected_at", UtcDateTime(), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("mitigated_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("postmortem_at", UtcDateTime(), nullable=True),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("assessment", Json, nullable=False),
        sa.Column("assessed_at", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index(
        "ux_incidents_open_dedupe_key",
        "incidents",
        ["dedupe_key"],
        unique=True,
        sqlite_where=sa.text(OPEN_DEDUPE),
        postgresql_where=sa.text(OPEN_DEDUPE),
    )
    op.create_index("ix_incidents_detected_at", "incidents", ["detected_at"])
    op.create_table(
        "incident_entries",
        sa.Column("id", EventId, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.Integer,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("pinned", sa.Boolean, nullable=False),
        sa.Column("data", Json, nullable=False),
    )
    op.create_index("ix_incident_entries_incident_id", "incident_entries", ["incident_id"])
    op.create_table(
        "incident_tasks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.Integer,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("action_type", sa.String(16), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("due_at", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("done_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_incident_tasks_incident_id", "incident_tasks", ["incident_id"])


def downgrade() -> None:
    op.drop_table("incident_tasks")
    op.drop_table("incident_entries")
    op.drop_table("incidents")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("owners")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("notifications")
        batch.drop_column("incidents")
