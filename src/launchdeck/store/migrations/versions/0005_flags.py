"""Feature flags: flags with their append-only version history, segments, change requests,
SDK keys, and on the workspace the flags revision and the flag governance policy.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from launchdeck.store.tables import Json, UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_APPEND_ONLY = "flag history is append-only"


def upgrade() -> None:
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(
            sa.Column("flags_revision", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("flag_governance", Json, nullable=True))
    op.create_table(
        "flags",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("definition", Json, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("managed_by", sa.String(10), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("archived_at", UtcDateTime(), nullable=True),
    )
    op.create_table(
        "flag_versions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("definition", Json, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.UniqueConstraint("key", "version", name="uq_flag_versions_key_version"),
    )
    op.create_table(
        "segments",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("definition", Json, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("managed_by", sa.String(10), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "flag_change_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("flag_key", sa.String(100), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("patch", Json, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("approvals", Json, nullable=False),
        sa.Column("apply_at", UtcDateTime(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_flag_change_requests_flag_key", "flag_change_requests", ["flag_key"])
    op.create_index("ix_flag_change_requests_status", "flag_change_requests", ["status"])
    op.create_table(
        "sdk_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("environment", sa.String(63), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
    )
    _append_only_flag_versions()


def _append_only_flag_versions() -> None:
    """Refuse UPDATE and DELETE on flag history in the database itself (as 0001 does for the
    timeline)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION launchdeck_flag_versions_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER flag_versions_append_only BEFORE UPDATE OR DELETE ON flag_versions "
            "FOR EACH ROW EXECUTE FUNCTION launchdeck_flag_versions_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER flag_versions_no_{verb.lower()} BEFORE {verb} ON flag_versions "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS flag_versions_append_only ON flag_versions")
        op.execute("DROP FUNCTION IF EXISTS launchdeck_flag_versions_append_only()")
    op.drop_table("sdk_keys")
    op.drop_table("flag_change_requests")
    op.drop_table("segments")
    op.drop_table("flag_versions")
    op.drop_table("flags")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("flag_governance")
        batch.drop_column("flags_revision")
